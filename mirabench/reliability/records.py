"""What `mirabench judges` keeps in a run directory (RUN/judges/), read back by the report and summary.json.

- repeats-<metric>.json: the metric asked k more times about a seeded subset (one file per metric, replaced by
  the next repeat of that metric); the run's own scores are never touched;
- drift.json: the latest drift check of a calibration set recorded for this run (`judges drift --record-in`);
- human.json: agreement with human ratings (`judges human`).
A calibration folder keeps its own latest check in CALIB/drift.json, which `compare --require-drift` reads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from mirabench.images import atomic_write_text

__all__ = [
    "DRIFT",
    "HUMAN",
    "JUDGES_DIR",
    "DriftCheckError",
    "load_repeats",
    "read_json",
    "require_drift",
    "write_json",
]

JUDGES_DIR = "judges"
DRIFT = "drift.json"
HUMAN = "human.json"


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


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(data, indent=1, sort_keys=True, default=str) + "\n")


def read_json(path: Path) -> Any:
    """A record's content, or None when it was never written."""
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


class DriftCheckError(ValueError):
    """A required drift check is missing or did not pass."""


def require_drift(calib: Path) -> dict[str, Any]:
    """The calibration set's latest drift check, raising DriftCheckError unless it passed (compare's gate)."""
    result = read_json(Path(calib) / DRIFT)
    if result is None:
        raise DriftCheckError(f"{calib}: no drift check yet; run `mirabench judges drift {calib}` first")
    if not result.get("passed"):
        columns = result["columns"].items()
        drifted = [f"{c} shift {v['shift']:+.3f} (p={v['p']:.3g})" for c, v in columns if v.get("drifted")]
        raise DriftCheckError(
            f"drift check {Path(calib) / DRIFT} did not pass: " + (", ".join(drifted) or "nothing was compared")
        )
    return dict(result)
