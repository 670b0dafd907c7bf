"""Asking a run's judges again about the images they judged (`mirabench judges repeat`), and refreshing the run's
"Judge reliability" section afterwards.

A fresh judgement bypasses the judge cache (a metric with a `cache` option gets `cache=False`), so it is a new
call to the provider, never the stored answer; results go to RUN/judges/ and never replace the run's scores.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from mirabench.plugins import Metric, ScoreItem
from mirabench.registry import metrics, suites
from mirabench.reliability.records import JUDGES_DIR, write_json
from mirabench.reliability.section import judge_section
from mirabench.reliability.served import fingerprint
from mirabench.run.runner import _manifest_spec, load_samples
from mirabench.rundir.manifest import read_manifest
from mirabench.rundir.outputs import final_image
from mirabench.rundir.rundir import RunDir, RunDirError
from mirabench.rundir.store import RunStore
from mirabench.rundir.writer import writer_lock
from mirabench.types import Sample, Score

__all__ = ["JudgedItem", "fresh_metric", "judge", "refresh", "run_items", "run_manifest", "run_repeats", "subset"]


@dataclass(frozen=True)
class JudgedItem:
    """A sample of a run with the final image its metrics judged (`image`: that image's hash)."""

    sample: Sample
    source: Image.Image
    edited: Image.Image
    image: str


def run_manifest(run_dir: Path) -> dict[str, Any]:
    manifest = read_manifest(Path(run_dir))
    if manifest is None:
        raise FileNotFoundError(f"{run_dir} is not a mirabench run (no run.json)")
    return manifest


def run_items(run_dir: Path, ids: Sequence[str] | None = None) -> list[JudgedItem]:
    """Finished samples with a final image, in suite order (only `ids` when given); images from the run dir."""
    spec = _manifest_spec(run_manifest(run_dir))
    samples = {s.id: s for s in load_samples(suites.build(spec.suite, **spec.suite_options), spec.limit)}
    store = RunStore(Path(run_dir))
    try:
        records = {r.id: r for r in store.records() if r.finished}
        wanted = list(ids) if ids is not None else [sid for sid in samples if sid in records]
        out = []
        for sid in wanted:
            rec = records.get(sid)
            final = final_image(rec) if rec else None
            if rec is None or final is None or sid not in samples:
                raise ValueError(f"sample {sid!r} has no judged final image in {run_dir}")
            source = store.images.get(rec.source_image or final)
            out.append(JudgedItem(samples[sid], source, store.images.get(final), final))
        return out
    finally:
        store.close()


def subset(ids: Sequence[str], n: int, seed: int) -> list[str]:
    """A seeded choice of n ids (all when there are fewer), kept in their given order."""
    if n >= len(ids):
        return list(ids)
    chosen = set(random.Random(seed).sample(list(ids), n))
    return [i for i in ids if i in chosen]


def fresh_metric(name: str, options: Mapping[str, Any]) -> Metric:
    """The metric as configured, its judge cache off where it has one."""
    opts = dict(options)
    if "cache" in metrics.get(name).Options.model_fields:
        opts["cache"] = False
    return metrics.build(name, **opts)


def judge(metric: Metric, items: Sequence[JudgedItem]) -> list[dict[str, Score]]:
    """One judgement per item by `metric` (a failure is a failed Score, as in a run; a metric that raises fails
    the command rather than becoming a number)."""
    results = list(metric.score_batch([ScoreItem(i.sample, i.source, i.edited) for i in items]))
    if len(results) != len(items):
        raise RuntimeError(f"metric {metric.name!r} returned {len(results)} results for {len(items)} items")
    return results


def run_repeats(
    run_dir: Path, metric: str, n: int = 50, k: int = 3, seed: int = 0, options: Mapping[str, Any] | None = None
) -> Path:
    """Judge n seeded samples k times each with `metric` as the run configured it (plus `options`); returns the
    file written (RUN/judges/repeats-<metric>.json)."""
    if k < 2:
        raise ValueError("--k must be at least 2: repeat noise needs two judgements of the same image")
    manifest = run_manifest(run_dir)
    names = manifest.get("metrics", [])
    if metric not in names:
        raise ValueError(f"metric {metric!r} is not one of this run's metrics: {', '.join(names)}")
    opts = {**manifest.get("metric_options", {}).get(metric, {}), **(options or {})}
    items = run_items(run_dir, subset([i.sample.id for i in run_items(run_dir)], n, seed))
    built = fresh_metric(metric, opts)
    try:
        rounds = [judge(built, items) for _ in range(k)]
        identity = built.identity()
    finally:
        built.close()
    rows = [
        {
            "sample_id": item.sample.id,
            "image": item.image,
            "repeat": r,
            "scores": {
                col: {"value": s.value, "status": s.status.value, "served": fingerprint(s.detail)}
                for col, s in sorted(rounds[r][i].items())
            },
        }
        for r in range(k)
        for i, item in enumerate(items)
    ]
    path = Path(run_dir) / JUDGES_DIR / f"repeats-{metric}.json"
    write_json(path, {"metric": metric, "n": len(items), "k": k, "seed": seed, "identity": identity, "rows": rows})
    return path


def refresh(run_dir: Path) -> dict[str, Any]:
    """Recompute the run's judge_reliability in summary.json from RUN/judges/ and re-render its report."""
    from mirabench.reports.leaderboard import write_report

    run_dir = Path(run_dir)
    try:
        run = RunDir(run_dir).read()
    except RunDirError as exc:
        raise FileNotFoundError(str(exc)) from None
    with writer_lock(run_dir):  # a run still being written would overwrite summary.json: refuse instead
        rows = [s.model_dump(exclude_unset=True) for s in run.samples]
        store = RunStore(run_dir)
        try:
            scores = store.scores()
        finally:
            store.close()
        section = judge_section(run_dir, run.summary.headline(), rows, scores)
        summary = RunDir(run_dir).set_summary_field("judge_reliability", section)
        write_report([run_dir], run_dir / "report.html")
    return summary
