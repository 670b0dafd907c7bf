"""From the store to `samples.jsonl` and `summary.json`: per-sample rows and honest aggregates.

Means are over successful judgements only, always shown with their coverage and failure counts; nothing
missing is ever counted as zero. Outputs carry no timestamps or timings, so a resumed run and an uninterrupted
run of the same config produce byte-identical files.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mirabench.images import atomic_write_text
from mirabench.plugins import Column
from mirabench.protocols import protocol_for
from mirabench.reliability.section import judge_section
from mirabench.rundir.store import RunStore, SampleRecord
from mirabench.types import Edit, Score, Step

__all__ = ["bootstrap_ci", "final_image", "sample_rows", "summarize", "write_outputs"]


def final_image(record: SampleRecord, max_steps: int | None = None) -> str | None:
    """The image a sample ends with (under an optional smaller budget); the source when nothing was edited."""
    traj = record.trajectory if max_steps is None else record.trajectory.cut(max_steps)
    return traj.final_image or record.source_image


def _step_json(step: Step) -> dict[str, Any]:
    row: dict[str, Any] = {"t": step.index, "kind": step.kind, "seed": step.seed}
    if isinstance(step.action, Edit):
        row["instruction"] = step.action.instruction
        row["image"] = f"images/{step.image}.png" if step.image else None
    else:
        row["reason"] = step.action.reason
    if step.action.critique:
        row["critique"] = step.action.critique
    if step.error:
        row["error"] = step.error
    return row


def sample_rows(
    records: Sequence[SampleRecord],
    scores: dict[tuple[str, str], dict[str, Score]],
    columns: Sequence[Column],
    suite: str,
) -> list[dict[str, Any]]:
    rows = []
    for rec in records:
        final = final_image(rec)
        got = scores.get((rec.id, final), {}) if final else {}
        row: dict[str, Any] = {
            "id": rec.id,
            "suite": suite,
            "category": rec.category,
            "instruction": rec.instruction,
            "status": rec.status,
            "stop_reason": rec.trajectory.stop_reason.value if rec.trajectory.stop_reason else None,
            "n_steps": rec.trajectory.n_edits,
            "source_image": f"images/{rec.source_image}.png" if rec.source_image else None,
            "final_image": f"images/{final}.png" if final else None,
            "scores": {c.key: got[c.key].value if c.key in got else None for c in columns},
            "score_status": {c.key: got[c.key].status.value if c.key in got else "missing" for c in columns},
            "steps": [_step_json(s) for s in rec.trajectory.steps],
        }
        if rec.trajectory.error:
            row["error"] = rec.trajectory.error
        rows.append(row)
    return rows


def _prompt_texts(
    records: Sequence[SampleRecord], scores: dict[tuple[str, str], dict[str, Score]], key: str
) -> list[str]:
    labels = set()
    for rec in records:
        got = scores.get((rec.id, final_image(rec) or ""), {}).get(key)
        if got is not None and got.detail.get("prompt_text"):
            labels.add(str(got.detail["prompt_text"]))
    return sorted(labels)


def bootstrap_ci(values: np.ndarray, n_boot: int = 1000, seed: int = 0) -> tuple[float, float] | None:
    """Percentile bootstrap 95% interval of the mean (seeded, so summaries are reproducible)."""
    if len(values) < 2:
        return None
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(n_boot, len(values)))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return round(float(lo), 6), round(float(hi), 6)


def summarize(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[Column],
    records: Sequence[SampleRecord],
    scores: dict[tuple[str, str], dict[str, Score]],
    header: dict[str, Any],
    budgets: Sequence[int] = (),
    tags: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Sample means with coverage, per category, and the suite's own protocol headline (`protocol`)."""
    n = len(rows)
    stop = Counter(r["stop_reason"] for r in rows if r["stop_reason"])
    failed = [{"id": r["id"], "error": r.get("error", "")} for r in rows if r["status"] == "failed"]
    frame = pd.DataFrame([{"category": r["category"], **r["scores"]} for r in rows]) if rows else pd.DataFrame()
    metrics: dict[str, Any] = {}
    for col in columns:
        vals = np.array([r["scores"][col.key] for r in rows if r["scores"][col.key] is not None], dtype=float)
        statuses = Counter(r["score_status"][col.key] for r in rows)
        ci = bootstrap_ci(vals)
        metrics[col.key] = {
            "mean": round(float(vals.mean()), 6) if len(vals) else None,
            "ci95": list(ci) if ci else None,
            "n_ok": int(len(vals)),
            "n_failed": int(n - len(vals)),
            "coverage": round(len(vals) / n, 6) if n else 0.0,
            "status_counts": dict(sorted(statuses.items())),
            "range": [col.low, col.high],
            "higher_is_better": col.higher_is_better,
        }
        texts = _prompt_texts(records, scores, col.key)
        if texts:  # which prompt text judged this column (e.g. VIEScore's own or the editscore wheel's fork)
            metrics[col.key]["prompt_text"] = texts[0] if len(texts) == 1 else texts
    categories: dict[str, Any] = {}
    if rows and columns:
        grouped = frame.groupby("category", sort=True)[[c.key for c in columns]].mean()
        for cat, series in grouped.iterrows():
            categories[str(cat)] = {k: (None if pd.isna(v) else round(float(v), 6)) for k, v in series.items()}
    summary: dict[str, Any] = {
        **header,
        "n_samples": n,
        "n_done": sum(1 for r in rows if r["status"] == "done"),
        "n_failed": len(failed),
        "n_pending": sum(1 for r in rows if r["status"] not in ("done", "failed")),
        "failed_samples": failed,
        "stop_reasons": dict(sorted(stop.items())),
        "mean_steps": round(float(np.mean([r["n_steps"] for r in rows])), 6) if rows else None,
        "steps_histogram": {str(k): v for k, v in sorted(Counter(r["n_steps"] for r in rows).items())},
        "columns": [c.key for c in columns],  # declared order: the first is each metric's headline number
        "metrics": metrics,
        "categories": categories,
    }
    protocol = protocol_for(str(header.get("suite", "")), rows, columns, tags)
    if protocol is not None:
        summary["protocol"] = protocol
    if budgets:
        summary["budget_curve"] = budget_curve(records, scores, columns, budgets)
    return summary


def budget_curve(
    records: Sequence[SampleRecord],
    scores: dict[tuple[str, str], dict[str, Score]],
    columns: Sequence[Column],
    budgets: Sequence[int],
) -> dict[str, Any]:
    """Metric means at Max=k for each k, from the one set of trajectories (each cut at k)."""
    curve: dict[str, Any] = {}
    for k in budgets:
        steps: list[int] = []
        per_col: dict[str, list[float]] = {c.key: [] for c in columns}
        for rec in records:
            if not rec.finished:
                continue
            steps.append(rec.trajectory.cut(k).n_edits)
            got = scores.get((rec.id, final_image(rec, k) or ""), {})
            for c in columns:
                s = got.get(c.key)
                if s is not None and s.value is not None:
                    per_col[c.key].append(s.value)
        curve[str(k)] = {
            "mean_steps": round(float(np.mean(steps)), 6) if steps else None,
            **{key: (round(float(np.mean(v)), 6) if v else None) for key, v in per_col.items()},
        }
    return curve


def write_outputs(
    store: RunStore,
    columns: Sequence[Column],
    header: dict[str, Any],
    budgets: Sequence[int] = (),
    tags: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """(Re)write samples.jsonl and summary.json atomically from the store; returns the summary.

    `tags` (sample id -> suite fields such as GEdit's language and intersection flag) feed the protocol headline."""
    records = store.records()
    scores = store.scores()
    rows = sample_rows(records, scores, columns, header.get("suite", ""))
    summary = summarize(rows, columns, records, scores, header, budgets, tags)
    run_dir: Path = store.run_dir
    summary["judge_reliability"] = judge_section(run_dir, [c.key for c in columns], rows, scores)
    atomic_write_text(
        run_dir / "samples.jsonl",
        "".join(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n" for r in rows),
    )
    atomic_write_text(run_dir / "summary.json", json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return summary
