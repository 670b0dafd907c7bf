"""Pipelining: the scorer's bounded queue (backpressure, dead worker), lazy shapes sources, unchanged results."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from toyworld import GreyMetric, ToyEditor

import mirabench.suites.shapes as shapes_suite
from mirabench.images import ImageLoadError, source_image
from mirabench.plugins import Column, Metric, ScoreItem
from mirabench.registry import suites
from mirabench.run.demo import demo_spec
from mirabench.run.runner import run
from mirabench.run.scoring import PENDING_BATCHES, ScoreJob, Scorer
from mirabench.spec import RunSpec
from mirabench.types import Sample, Score

BASELINE = Path(__file__).resolve().parents[1] / "results" / "baselines" / "shapes-demo" / "heuristic"


class GatedMetric(Metric):
    """Scores 1.0, but only once `gate` is open: a judge slower than the editor, under the test's control."""

    name = "gated"
    columns = (Column("gated", 0, 1),)

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.seen = 0

    def score_batch(self, items: Sequence[ScoreItem]) -> list[dict[str, Score]]:
        assert self.gate.wait(10), "test gate never opened"
        self.seen += len(items)
        return [{"gated": Score.ok(1.0)} for _ in items]


class NoOriginals:
    """An image folder holding no imported originals (every image was made by an editor)."""

    def original(self, digest: str, sample_id: str) -> None:
        return None


class MemoryStore:
    """The RunStore surface the scorer uses; `fail` makes put_scores raise like a full disk."""

    def __init__(self, fail: bool = False) -> None:
        self.rows: list[tuple[Any, ...]] = []
        self.fail = fail
        self.images = NoOriginals()

    def put_scores(self, rows: list[tuple[Any, ...]]) -> None:
        if self.fail:
            raise OSError(28, "No space left on device")
        self.rows.extend(rows)


def jobs(n: int) -> list[ScoreJob]:
    img = Image.new("RGB", (4, 4))
    return [ScoreJob(Sample(f"s{i}", "do it", img), img, img, f"h{i}") for i in range(n)]


def until(cond: Callable[[], bool], timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return False


def submit_in_thread(scorer: Scorer, n: int) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def go() -> None:
        try:
            scorer.submit(jobs(n))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    return thread, errors


def test_default_bound_is_a_few_batches() -> None:
    scorer = Scorer([], MemoryStore(), batch_size=8)  # type: ignore[arg-type]
    assert scorer.max_pending == PENDING_BATCHES * 8 > 0
    scorer.join()


def test_submit_blocks_when_the_queue_is_full_and_resumes_when_the_worker_drains() -> None:
    metric, store = GatedMetric(), MemoryStore()
    scorer = Scorer([metric], store, batch_size=1, max_pending=2)  # type: ignore[arg-type]
    thread, errors = submit_in_thread(scorer, 6)
    # the worker holds one job (blocked in the metric), two wait in the queue, the other three are not taken
    assert until(lambda: scorer.pending == 2)
    time.sleep(0.2)
    assert thread.is_alive() and scorer.pending == 2 and metric.seen == 0
    metric.gate.set()
    thread.join(5)
    assert not thread.is_alive() and not errors
    scorer.join()
    assert metric.seen == 6 and scorer.judgements == 6 and len(store.rows) == 6


def test_unbounded_queue_never_blocks() -> None:
    metric = GatedMetric()
    scorer = Scorer([metric], MemoryStore(), batch_size=1, max_pending=0)  # type: ignore[arg-type]
    scorer.submit(jobs(50))  # returns although nothing was scored yet
    assert metric.seen == 0 and scorer.pending >= 49
    metric.gate.set()
    scorer.join()
    assert metric.seen == 50


def test_a_blocked_submit_raises_the_workers_error_instead_of_hanging() -> None:
    metric = GatedMetric()
    scorer = Scorer([metric], MemoryStore(fail=True), batch_size=1, max_pending=1)  # type: ignore[arg-type]
    thread, errors = submit_in_thread(scorer, 5)
    assert until(lambda: scorer.pending == 1)
    time.sleep(0.1)
    assert thread.is_alive()  # blocked on the full queue
    metric.gate.set()  # the worker now scores, fails to store, and dies
    thread.join(5)
    assert not thread.is_alive(), "submit hung on a dead worker"
    assert len(errors) == 1 and isinstance(errors[0], OSError) and errors[0].errno == 28
    assert scorer.pending == 0  # the queued images were released
    with pytest.raises(OSError):
        scorer.join()
    with pytest.raises(OSError):
        scorer.submit(jobs(1))


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts shapes renders (the suite's lazy images call the module's `render`)."""
    calls: list[int] = []
    real = shapes_suite.render

    def counted(*args: Any, **kw: Any) -> Image.Image:
        calls.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(shapes_suite, "render", counted)
    return calls


def test_shapes_samples_render_only_when_read(renders: list[int]) -> None:
    samples = list(suites.build("shapes", n=30, size=512).samples())
    assert not renders
    image = source_image(samples[3])
    assert len(renders) == 1 and image.size == (512, 512) and image.mode == "RGB"


def test_a_run_renders_each_source_once(renders: list[int], tmp_path: Path) -> None:
    spec = demo_spec("heuristic", n=10)
    run(spec, tmp_path / "r", max_live=3, max_pending=1)
    assert len(renders) == 10


def test_source_image_reads_every_form(tmp_path: Path) -> None:
    img = Image.new("L", (3, 2), 7)
    img.save(tmp_path / "a.png")
    for form in (img, tmp_path / "a.png", str(tmp_path / "a.png"), lambda: img):
        got = source_image(Sample("s", "x", form))  # type: ignore[arg-type]
        assert got.mode == "RGB" and got.size == (3, 2) and got.getpixel((0, 0)) == (7, 7, 7)
    with pytest.raises(ImageLoadError, match="returned str"):
        source_image(Sample("s", "x", lambda: "nope"))  # type: ignore[arg-type, return-value]
    with pytest.raises(ImageLoadError, match="not found"):
        source_image(Sample("s", "x", tmp_path / "missing.png"))


def outputs(run_dir: Path) -> tuple[bytes, bytes]:
    return (run_dir / "samples.jsonl").read_bytes(), (run_dir / "summary.json").read_bytes()


def test_lazy_bounded_runs_match_eager_unbounded_ones_and_the_committed_baseline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = demo_spec("heuristic", n=12)
    lazy = run(spec, tmp_path / "lazy", max_live=4, max_pending=1)

    real_sample = shapes_suite.ShapesSuite.sample

    def eager(self: shapes_suite.ShapesSuite, i: int) -> Sample:  # the suite as it was: rendered up front
        s = real_sample(self, i)
        return replace(s, image=source_image(s))

    monkeypatch.setattr(shapes_suite.ShapesSuite, "sample", eager)
    assert isinstance(next(iter(suites.build("shapes", n=1).samples())).image, Image.Image)
    eager_run = run(spec, tmp_path / "eager", max_live=0, max_pending=0, use_cache=False)
    assert outputs(lazy.run_dir) == outputs(eager_run.run_dir)
    # the demo baseline was committed before samples became lazy; sample i does not depend on n
    baseline = BASELINE.joinpath("samples.jsonl").read_text().splitlines()
    got = (lazy.run_dir / "samples.jsonl").read_text().splitlines()
    assert [json.loads(x)["id"] for x in got] == [f"shapes-{i:05d}" for i in range(12)]
    assert got == baseline[:12]


def test_between_waves_no_metric_runs_while_the_editor_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    busy = {"scoring": 0, "overlaps": 0, "scored": 0}
    real_score, real_edit = GreyMetric.score_batch, ToyEditor.edit_batch

    def slow_score(self: GreyMetric, items: Sequence[ScoreItem]) -> list[dict[str, Score]]:
        busy["scoring"] += 1
        time.sleep(0.02)  # long enough that a background scorer would still run during the next wave's edits
        busy["scored"] += len(items)
        busy["scoring"] -= 1
        return real_score(self, items)

    def watched_edit(self: ToyEditor, requests: Sequence[Any]) -> list[Image.Image]:
        busy["overlaps"] += busy["scoring"]
        return real_edit(self, requests)

    monkeypatch.setattr(GreyMetric, "score_batch", slow_score)
    monkeypatch.setattr(ToyEditor, "edit_batch", watched_edit)
    spec = RunSpec(suite="toy", agent="counter", editor="toy", metrics=["grey"], suite_options={"n": 12})
    between = run(spec, tmp_path / "between", use_cache=False, score_between_waves=True)
    assert busy["overlaps"] == 0 and busy["scored"] == 12
    background = run(spec, tmp_path / "background", use_cache=False)
    assert background.summary == between.summary
    for name in ("samples.jsonl", "summary.json"):
        assert (tmp_path / "between" / name).read_text() == (tmp_path / "background" / name).read_text()
