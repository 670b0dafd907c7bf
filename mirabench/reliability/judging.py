"""Asking a run's judges again about the images they judged: the run's judged items and fresh judgements.

A fresh judgement bypasses the judge cache (a metric with a `cache` option gets `cache=False`), so it is a new
call to the provider, never the stored answer; results go to their own files and never replace the run's scores.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from mirabench.aggregate import final_image
from mirabench.manifest import read_manifest
from mirabench.plugins import Metric, ScoreItem
from mirabench.registry import metrics, suites
from mirabench.runner import _manifest_spec, load_samples
from mirabench.store import RunStore
from mirabench.types import Sample, Score

__all__ = ["JudgedItem", "fresh_metric", "judge", "run_items", "run_manifest", "subset"]


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
    manifest = run_manifest(run_dir)
    spec = _manifest_spec(manifest)
    samples = {s.id: s for s in load_samples(suites.build(spec.suite, **spec.suite_options), spec.limit)}
    store = RunStore(Path(run_dir), exclusive=False)
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
    cls = metrics.get(name)
    opts = dict(options)
    if "cache" in cls.Options.model_fields:
        opts["cache"] = False
    return metrics.build(name, **opts)


def judge(metric: Metric, items: Sequence[JudgedItem]) -> list[dict[str, Score]]:
    """One judgement per item by `metric` (a failure is a failed Score, as in a run; a metric that raises
    fails the command rather than becoming a number)."""
    results = list(metric.score_batch([ScoreItem(i.sample, i.source, i.edited) for i in items]))
    if len(results) != len(items):
        raise RuntimeError(f"metric {metric.name!r} returned {len(results)} results for {len(items)} items")
    return results
