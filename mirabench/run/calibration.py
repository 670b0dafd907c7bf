"""A frozen calibration set and drift checks against it (`mirabench judges calibrate` / `judges drift`).

`calibrate` copies n seeded samples of a run into a small folder that can be committed: the source and final
images (PNG), instruction and ground truth, every score the run's judges gave them, what served each score and
each metric's configuration and prompt hash. `drift` judges those same images again now (cache off) and reports,
per column, the shift now minus then with a paired t-test and a bootstrap interval, plus whether the
served model or the prompt changed. The latest check is CALIB/drift.json; `compare --require-drift CALIB`
reads it (reliability.records).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mirabench.images import decode_image
from mirabench.registry import metrics
from mirabench.reliability.records import DRIFT, JUDGES_DIR, write_json
from mirabench.reliability.served import fingerprint
from mirabench.reliability.stats import ALPHA, drift
from mirabench.run.rejudge import JudgedItem, fresh_metric, judge, run_items, run_manifest, subset
from mirabench.rundir.store import RunStore
from mirabench.types import Sample

__all__ = ["CALIBRATION", "calibrate", "check_drift", "record_in_run"]

CALIBRATION = "calibration.json"


def _prompt_sha(identity: Mapping[str, Any]) -> str | None:
    prompts = identity.get("prompts")
    return str(prompts.get("sha256")) if isinstance(prompts, dict) and prompts.get("sha256") else None


def calibrate(run_dir: Path, out: Path, n: int = 100, seed: int = 0, only: Sequence[str] = ()) -> Path:
    """Freeze n seeded samples of a run (metrics: all of the run's, or `only`) into `out`; returns calibration.json."""
    run_dir, out = Path(run_dir), Path(out)
    manifest = run_manifest(run_dir)
    names = list(only) or list(manifest.get("metrics", []))
    unknown = set(names) - set(manifest.get("metrics", []))
    if unknown:
        raise ValueError(f"not metrics of this run: {', '.join(sorted(unknown))}")
    items = run_items(run_dir, subset([i.sample.id for i in run_items(run_dir)], n, seed))
    store = RunStore(run_dir)
    try:
        scores = store.scores()
    finally:
        store.close()
    infos = manifest.get("metric_info", {})
    options = manifest.get("metric_options", {})
    frozen = {}
    for name in names:
        identity = infos.get(name, {}).get("identity", {})
        frozen[name] = {
            "options": options.get(name, {}),
            "identity": identity,
            "prompt_sha256": _prompt_sha(identity),
        }
    columns = {col: name for name in names for col in _columns(name)}
    (out / "images").mkdir(parents=True, exist_ok=True)
    samples = []
    for item in items:
        got = scores.get((item.sample.id, item.image), {})
        for image in {_png(item.sample.id, "source"): item.source, _png(item.sample.id, "edited"): item.edited}.items():
            image[1].save(out / image[0], format="PNG")
        samples.append(
            {
                "id": item.sample.id,
                "instruction": item.sample.instruction,
                "category": item.sample.category,
                "suite": item.sample.suite,
                "extra": item.sample.extra,
                "image": item.image,
                "source": _png(item.sample.id, "source"),
                "edited": _png(item.sample.id, "edited"),
                "scores": {c: got[c].value if c in got else None for c in columns},
                "served": {c: fingerprint(got[c].detail) if c in got else None for c in columns},
            }
        )
    record = {
        "source_run": str(run_dir),
        "suite": manifest.get("spec", {}).get("suite"),
        "made": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seed": seed,
        "metrics": frozen,
        "columns": columns,
        "samples": samples,
    }
    path = out / CALIBRATION
    write_json(path, record)
    return path


def _columns(metric: str) -> list[str]:
    return [c.key for c in metrics.get(metric).columns]


def _png(sample_id: str, kind: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in sample_id)
    return f"images/{safe}.{kind}.png"


def _load(calib: Path) -> dict[str, Any]:
    path = Path(calib) / CALIBRATION
    if not path.exists():
        raise FileNotFoundError(f"{calib} is not a calibration set (no {CALIBRATION}; make one with judges calibrate)")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _items(calib: Path, record: Mapping[str, Any]) -> list[JudgedItem]:
    out = []
    for s in record["samples"]:
        source = decode_image((Path(calib) / s["source"]).read_bytes(), s["source"])
        edited = decode_image((Path(calib) / s["edited"]).read_bytes(), s["edited"])
        sample = Sample(s["id"], s["instruction"], source, s.get("suite", ""), s.get("category", ""), extra=s["extra"])
        out.append(JudgedItem(sample, source, edited, s["image"]))
    return out


def check_drift(
    calib: Path,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    alpha: float = ALPHA,
    tolerance: float = 0.0,
    seed: int = 0,
) -> dict[str, Any]:
    """Judge the calibration images again now and compare with the frozen scores; writes and returns drift.json.

    `options` overrides a metric's recorded options (`{"gpt-sc": {"model": ...}}`: e.g. a judge moved to another
    endpoint). The check passes when no column drifted (see `stats.drift`)."""
    calib = Path(calib)
    record = _load(calib)
    items = _items(calib, record)
    columns: dict[str, Any] = {}
    metrics_now: dict[str, Any] = {}
    for name, meta in record["metrics"].items():
        built = fresh_metric(name, {**meta["options"], **(options or {}).get(name, {})})
        try:
            results = judge(built, items)
            sha_now = _prompt_sha(built.identity())
        finally:
            built.close()
        metrics_now[name] = {"prompt_sha256": sha_now, "prompt_changed": sha_now != meta.get("prompt_sha256")}
        for col in [c for c, m in record["columns"].items() if m == name]:
            then = {s["id"]: s["scores"].get(col) for s in record["samples"]}
            now = {i.sample.id: r[col].value if col in r else None for i, r in zip(items, results, strict=True)}
            served_then = Counter(s["served"].get(col) for s in record["samples"] if s["served"].get(col))
            served_now = Counter(fingerprint(r[col].detail) for r in results if col in r and r[col].value is not None)
            served_now.pop(None, None)
            res = drift(then, now, alpha, tolerance, seed)
            columns[col] = {
                "metric": name,
                **(res.as_dict() if res else {"n": 0, "drifted": None}),
                "served_then": dict(sorted(served_then.items())),
                "served_now": dict(sorted((str(k), v) for k, v in served_now.items())),
                "served_changed": set(served_then) != set(served_now),
            }
    result = {
        "calibration": str(calib),
        "source_run": record.get("source_run"),
        "checked": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "alpha": alpha,
        "tolerance": tolerance,
        "n": len(items),
        "passed": not any(c.get("drifted") for c in columns.values()) and any(c["n"] for c in columns.values()),
        "columns": columns,
        "metrics": metrics_now,
    }
    write_json(calib / DRIFT, result)
    return result


def record_in_run(run_dir: Path, result: Mapping[str, Any]) -> None:
    """Keep a drift check in a run's judges/ folder, so its report shows the drift status."""
    write_json(Path(run_dir) / JUDGES_DIR / DRIFT, result)
