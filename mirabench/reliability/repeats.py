"""`mirabench judges repeat`: re-ask one metric k times about a seeded subset of a run's final images.

The repeats live in RUN/judges/repeats-<metric>.json (one file per metric, replaced by the next repeat of that
metric); the run's own scores are never touched. The report reads them for each column's repeat noise.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from mirabench.images import atomic_write_text
from mirabench.reliability.served import fingerprint

__all__ = ["JUDGES_DIR", "load_repeats", "run_repeats"]

JUDGES_DIR = "judges"


def run_repeats(
    run_dir: Path, metric: str, n: int = 50, k: int = 3, seed: int = 0, options: dict[str, Any] | None = None
) -> Path:
    """Judge n seeded samples k times each with `metric` as the run configured it (plus `options`); returns the
    file written."""
    from mirabench.reliability.judging import fresh_metric, judge, run_items, run_manifest, subset  # loads the runner

    if k < 2:
        raise ValueError("--k must be at least 2: repeat noise needs two judgements of the same image")
    manifest = run_manifest(run_dir)
    names = manifest.get("metrics", [])
    if metric not in names:
        raise ValueError(f"metric {metric!r} is not one of this run's metrics: {', '.join(names)}")
    opts = {**manifest.get("metric_options", {}).get(metric, {}), **(options or {})}
    every = [i.sample.id for i in run_items(run_dir)]
    items = run_items(run_dir, subset(every, n, seed))
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
    record = {"metric": metric, "n": len(items), "k": k, "seed": seed, "identity": identity, "rows": rows}
    out = Path(run_dir) / JUDGES_DIR / f"repeats-{metric}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(record, indent=1, sort_keys=True, default=str) + "\n")
    return out


def load_repeats(run_dir: Path) -> dict[str, dict[str, Any]]:
    """Per column: its samples x repeats matrix (NaN = failed judgement), k, and what served each repeat."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted((Path(run_dir) / JUDGES_DIR).glob("repeats-*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        k = int(record["k"])
        ids = list(dict.fromkeys(r["sample_id"] for r in record["rows"]))
        pos = {sid: i for i, sid in enumerate(ids)}
        for row in record["rows"]:
            for col, s in row["scores"].items():
                entry = out.setdefault(col, {"values": np.full((len(ids), k), np.nan), "k": k, "served": []})
                if s["value"] is not None:
                    entry["values"][pos[row["sample_id"]], row["repeat"]] = s["value"]
                if s.get("served"):
                    entry["served"].append(s["served"])
    return out
