"""Bounded memory: a 1 KB YAML alias bomb in --config is refused before anything expands it; a tiny 1-bit PNG
whose decoded pixels would be huge is refused by the decoded-bytes budget; the live pool admits samples by the
bytes their images hold, not only by count. Hostile inputs run in a child whose address space is capped, so a
regression fails the test (MemoryError or a kill) instead of eating the machine."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from toyworld import CounterAgent, grey

from mirabench.registry import agents
from mirabench.run.runner import run
from mirabench.spec import RunSpec
from mirabench.types import Action, AgentState

BOMB = "\n".join(
    ["a: &a [x, x, x, x, x, x, x, x, x]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]" for i in range(8)]
    + ["suite: toy", "agent: counter", "editor: toy", "suite_options: {n: 1, extra: *i}"]
)
CAPPED = (
    "import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30)); "
    "from mirabench.cli.root import main; sys.argv = ['mirabench', *sys.argv[1:]]; main()"
)


def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    config = tmp_path / "bomb.yaml"
    config.write_text(BOMB)
    assert len(BOMB) < 1024  # 9**9 = 387 million strings once its aliases are followed
    t0 = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", CAPPED, "run", "--config", str(config), "--out", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.monotonic() - t0
    assert done.returncode == 2, done.stderr[-2000:]
    assert "alias bomb" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "r").exists()
    assert elapsed < 30  # the refusal itself is milliseconds; the margin is for interpreter start on a busy box


def test_ordinary_anchors_still_load(tmp_path: Path) -> None:
    from mirabench.spec import load_spec

    config = tmp_path / "ok.yaml"
    config.write_text("base: &b {n: 3}\nsuite: toy\nsuite_options: *b\nmetric_options: {'*': *b}\n")
    assert load_spec(config)["suite_options"] == {"n": 3}


def test_a_tiny_1bit_png_over_the_decoded_budget_fails_alone(tmp_path: Path) -> None:
    from PIL import Image

    from mirabench.images import ImageLoadError, load_image

    data = tmp_path / "data"
    data.mkdir()
    Image.new("1", (7999, 7999)).save(data / "flat.png")
    grey(0).save(data / "ok.png")
    assert (data / "flat.png").stat().st_size < 20_000  # a few kB on disk ...
    with pytest.raises(ImageLoadError, match=r"7999x7999 1 needs 256 MB decoded, over the 192 MB budget"):
        load_image(data / "flat.png")  # ... 256 MB decoded: refused before a byte of it is decoded
    rows = [
        {"id": "flat", "image": "flat.png", "instruction": "reach 10", "target": 10},
        {"id": "ok", "image": "ok.png", "instruction": "reach 10", "target": 10},
    ]
    (data / "set.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    spec = RunSpec(suite="jsonl", agent="counter", editor="toy", metrics=["grey"], max_steps=2)
    spec.suite_options = {"path": str(data / "set.jsonl")}
    summary = run(spec, tmp_path / "r", use_cache=False).summary
    assert summary["n_done"] == 1 and [f["id"] for f in summary["failed_samples"]] == ["flat"]
    assert "over the 192 MB budget" in summary["failed_samples"][0]["error"]


BATCHES: list[int] = []


@agents.register("batch-recorder")
class BatchRecorder(CounterAgent):
    """The counter agent, recording how many samples each wave asked about (= samples in flight)."""

    def plan_batch(self, states: Sequence[AgentState]) -> list[Action]:
        BATCHES.append(len(states))
        return super().plan_batch(states)


@pytest.mark.parametrize(("budget_mb", "most_live"), [(0, 6), (7, 2), (1, 1)])
def test_the_live_pool_admits_by_decoded_bytes(tmp_path: Path, budget_mb: int, most_live: int) -> None:
    """1024 x 1024 RGB sources hold 3 MiB each: a 7 MiB pool admits two at a time, 1 MiB still one (never none)."""
    data = tmp_path / "data"
    data.mkdir()
    rows = []
    for i in range(6):
        grey(0, size=1024).save(data / f"{i}.png")
        rows.append({"id": f"s{i}", "image": f"{i}.png", "instruction": "reach 20", "target": 20})
    (data / "set.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    spec = RunSpec(suite="jsonl", agent="batch-recorder", editor="toy", metrics=["grey"], max_steps=3)
    spec.suite_options = {"path": str(data / "set.jsonl")}
    BATCHES.clear()
    result = run(spec, tmp_path / "r", use_cache=False, max_live_mb=budget_mb)
    assert result.summary["n_done"] == 6 and result.summary["metrics"]["grey-hit"]["mean"] == 10.0
    assert max(BATCHES) == most_live and sum(BATCHES) == 6 * 3  # every sample: two edits and a stop
