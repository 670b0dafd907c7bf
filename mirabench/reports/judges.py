"""Judges across several runs: agreement between judge columns (`mirabench judges agree`), with people
(`mirabench judges human`), and the "Judge reliability" section of the leaderboard page.

What one run measures about its own judges (repeat noise, served fingerprints, drift) is in summary.json, made by
mirabench.reliability.section; this module adds what needs several runs (one system each): system-level Kendall
between judges, fingerprints that differ between runs, and marks on pairwise gaps smaller than the resolvable gap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mirabench.reliability.human import criterion_of
from mirabench.reliability.records import HUMAN, JUDGES_DIR, write_json
from mirabench.reliability.section import NOT_MEASURED, comparable
from mirabench.reliability.stats import (
    krippendorff_interval,
    pairwise_accuracy,
    rank_agreement,
    rater_accuracy,
    resolvable_gap,
    system_agreement,
)
from mirabench.rundir.rundir import Run

__all__ = ["human_agreement", "mark_deltas", "pair_agreement", "record_in_runs", "report_view"]


def _num(v: Any) -> float:
    return float(v) if v is not None else np.nan


def _est(e: Any, digits: int = 2) -> str:
    if not isinstance(e, dict) or e.get("value") is None:
        return "–"
    ci = f" [{e['ci95'][0]:.{digits}f}, {e['ci95'][1]:.{digits}f}]" if e.get("ci95") else ""
    return f"{e['value']:.{digits}f}{ci} n={e['n']}"


def _matrix(runs: Sequence[Run], column: str) -> tuple[list[str], np.ndarray]:
    """Samples x runs of one column, over the samples every run has (NaN where a judgement failed)."""
    ids = sorted(set.intersection(*(set(r.by_id) for r in runs))) if runs else []
    scores = [r.scores(column) for r in runs]
    m = np.array([[_num(s[i]) for s in scores] for i in ids], dtype=float)
    return ids, m.reshape(len(ids), len(runs))


def report_view(
    runs: Sequence[Run], names: Sequence[str], columns: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """One row of display text per judge column with anything measured, over the runs of the page."""
    keys = [c["key"] for c in columns if not c.get("reported_only")]
    sections = [r.summary.judge_reliability for r in runs]
    pairs = pair_agreement(runs)
    out = []
    for key in keys:
        per_run: list[tuple[str, dict[str, Any]]] = [
            (name, s[key]) for name, s in zip(names, sections, strict=True) if isinstance(s.get(key), dict)
        ]
        if not per_run:
            continue
        row: dict[str, Any] = {"column": key, "flags": []}
        row["repeat"] = [
            f"{name}: sd {_est(e['repeat']['std'])} k={e['repeat']['k']}; ICC(2,1) {_est(e['repeat']['icc21'])}"
            for name, e in per_run
            if isinstance(e.get("repeat"), dict)
        ] or [NOT_MEASURED]
        row["gap"] = [
            f"{name}: {e['resolvable_gap']['value']:.3f} at n={e['resolvable_gap']['n']}"
            for name, e in per_run
            if isinstance(e.get("resolvable_gap"), dict) and e["resolvable_gap"].get("value") is not None
        ] or [NOT_MEASURED]
        row["agreement"] = _agreement_lines(pairs, key, len(runs)) or [NOT_MEASURED]
        served: dict[str, set[str]] = {
            name: set(e["fingerprints"]["served"]) for name, e in per_run if isinstance(e.get("fingerprints"), dict)
        }
        row["served"] = sorted(set().union(*served.values())) if served else [NOT_MEASURED]
        for name, e in per_run:
            if isinstance(e.get("fingerprints"), dict) and e["fingerprints"].get("changed"):
                row["flags"].append(f"what served this column changed within {name}")
        if len({frozenset(v) for v in served.values()}) > 1:
            row["flags"].append("what served this column differs between the runs")
        row["drift"] = [
            f"{name}: {'DRIFTED' if e['drift'].get('drifted') else 'no drift'} (shift {e['drift'].get('shift', 0):+.3f}"
            f", p={e['drift'].get('p', 1):.3g}, n={e['drift'].get('n')}, {e['drift'].get('checked')})"
            for name, e in per_run
            if isinstance(e.get("drift"), dict)
        ] or [NOT_MEASURED]
        human = next((e["human"] for _, e in per_run if isinstance(e.get("human"), dict)), None)
        row["human"] = (
            [
                f"sample Spearman {_est(human['sample']['spearman'])}",
                f"system Kendall {_est(human['system']['kendall'])}",
                f"pairwise accuracy {_est(human['pairwise_accuracy'])}"
                f" (a rater vs the others: {_est(human['raters'].get('rater_pairwise_accuracy'))})",
                f"raters' alpha ({human['criterion']}) {_est(human['raters']['alpha'])}",
            ]
            if human
            else [NOT_MEASURED]
        )
        has_judge = any(r != [NOT_MEASURED] for r in (row["repeat"], row["served"], row["drift"], row["human"])) or any(
            isinstance(e.get("agreement"), dict) for _, e in per_run
        )
        if has_judge:
            out.append(row)
    return out


def pair_agreement(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """Every pair of columns of the same kind from different metrics, over the runs (one system each): sample-level
    Spearman and Kendall over all runs' shared samples pooled, Kendall's tau and Spearman of the system means, and
    pairwise preference accuracy of the first column with the second as reference."""
    keys = list(dict.fromkeys(k for r in runs for k in r.summary.columns))
    out = []
    for i, key in enumerate(keys):
        for other in keys[i + 1 :]:
            if not comparable(key, other):
                continue
            _, a = _matrix(runs, key)
            _, b = _matrix(runs, other)
            out.append(
                {
                    "column": key,
                    "other": other,
                    "sample": {k: v.as_dict() for k, v in rank_agreement(a.ravel(), b.ravel()).items()},
                    "system": {k: v.as_dict() for k, v in system_agreement(a, b).items()},
                    "pairwise_accuracy": pairwise_accuracy(a, b).as_dict(),
                }
            )
    return out


def _agreement_lines(pairs: Sequence[Mapping[str, Any]], key: str, systems: int) -> list[str]:
    lines = []
    for p in pairs:
        if key not in (p["column"], p["other"]):
            continue
        other = p["other"] if p["column"] == key else p["column"]
        text = f"vs {other}: sample Spearman {_est(p['sample']['spearman'])}"
        if systems > 1:
            tau = _est(p["system"]["kendall"]) if systems > 2 else "needs 3+ systems"
            text += f"; system Kendall {tau}; pairwise accuracy {_est(p['pairwise_accuracy'])}"
        lines.append(text)
    return lines


def _repeat_var(section: Mapping[str, Any], key: str) -> float | None:
    entry = section.get(key)
    if not isinstance(entry, dict) or not isinstance(entry.get("repeat"), dict):
        return None
    std = entry["repeat"]["std"].get("value")
    return None if std is None else float(std) ** 2


def mark_deltas(runs: Sequence[Run], deltas: list[dict[str, Any]], baseline: int) -> None:
    """Give each delta cell the resolvable gap of its column (`resolvable`) and whether |delta| is below it
    (`within_noise`), where the column's repeat noise is known. The gap uses the pair's own paired variance:
    observed variance of the per-sample differences minus the two judgements' noise (see `resolvable_gap`)."""
    others = [i for i in range(len(runs)) if i != baseline]
    base = runs[baseline]
    for i, d in zip(others, deltas, strict=True):
        for key, cell in d["cells"].items():
            if not cell:
                continue
            rep = [
                v
                for v in (
                    _repeat_var(base.summary.judge_reliability, key),
                    _repeat_var(runs[i].summary.judge_reliability, key),
                )
                if v is not None
            ]
            if not rep:
                continue
            _, m = _matrix([base, runs[i]], key)
            m = m[np.all(np.isfinite(m), axis=1)]
            if len(m) < 2:
                continue
            repeat_var = float(np.mean(rep))
            paired_var = float(np.var(m[:, 1] - m[:, 0], ddof=1)) - 2 * repeat_var
            gap = resolvable_gap(repeat_var, len(m), paired_var)
            if gap is not None:
                cell["resolvable"] = gap
                cell["within_noise"] = abs(cell["delta"]) < gap


# -- agreement with people --------------------------------------------------------------------------------------


def _match(systems: Sequence[str], runs: Sequence[Run], names: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for system in systems:
        hits = [i for i, (r, n) in enumerate(zip(runs, names, strict=True)) if system in (r.path.name, n, str(r.path))]
        if len(hits) == 1:
            out[system] = hits[0]
    return out


def human_agreement(
    ratings: pd.DataFrame, runs: Sequence[Run], names: Sequence[str] | None = None, seed: int = 0
) -> dict[str, Any]:
    """Inter-rater and judge-vs-human agreement (see mirabench.reliability.human). A rated system is matched to a
    run by its folder's name or its name (`names`, default: each run's label)."""
    names = list(names) if names is not None else [r.label for r in runs]
    systems = sorted(ratings["system"].unique())
    matched = _match(systems, runs, names)
    if not matched:
        have = ", ".join(f"{r.path.name} ({n})" for r, n in zip(runs, names, strict=True))
        raise ValueError(f"no system of the ratings ({', '.join(systems)}) is one of the runs: {have}")
    criteria: dict[str, Any] = {}
    columns: dict[str, Any] = {}
    judge_columns = sorted({c for r in runs for c in r.summary.columns})
    for crit, sub in sorted(ratings.groupby("criterion")):
        grid = sub.pivot_table(index="rater", columns=["sample_id", "system"], values="score", aggfunc="mean")
        cube = sub.pivot_table(index=["rater", "sample_id"], columns="system", values="score", aggfunc="mean")
        raters, samples = sorted(sub["rater"].unique()), sorted(sub["sample_id"].unique())
        full = pd.MultiIndex.from_product([raters, samples])
        per_rater = cube.reindex(full).to_numpy(dtype=float).reshape(len(raters), len(samples), cube.shape[1])
        criteria[crit] = {
            "alpha": krippendorff_interval(grid.to_numpy(dtype=float), seed=seed).as_dict(),
            "rater_pairwise_accuracy": rater_accuracy(per_rater, seed).as_dict(),
            "raters": int(grid.shape[0]),
            "units": int(grid.shape[1]),
            "ratings": len(sub),
        }
        human = sub[sub["system"].isin(matched)].groupby(["sample_id", "system"])["score"].mean()
        order = sorted(matched)
        ids = sorted(human.index.get_level_values(0).unique())
        h = np.array([[human.get((sid, s), np.nan) for s in order] for sid in ids], dtype=float)
        for col in [c for c in judge_columns if criterion_of(c) == crit]:
            j = np.array(
                [[_score(runs[matched[s]], sid, col) for s in order] for sid in ids],
                dtype=float,
            )
            columns[col] = {
                "criterion": crit,
                "sample": {k: v.as_dict() for k, v in rank_agreement(j.ravel(), h.ravel(), seed).items()},
                "system": {k: v.as_dict() for k, v in system_agreement(j, h, seed).items()},
                "pairwise_accuracy": pairwise_accuracy(j, h, seed).as_dict(),
            }
    return {
        "criteria": criteria,
        "columns": columns,
        "systems": {s: runs[i].path.name for s, i in sorted(matched.items())},
        "unmatched_systems": [s for s in systems if s not in matched],
    }


def _score(run: Run, sample_id: str, column: str) -> float:
    row = run.by_id.get(sample_id)
    return _num(row.scores.get(column) if row else None)


def record_in_runs(result: dict[str, Any], runs: Sequence[Run]) -> None:
    """Keep the result in each run's judges/ folder, so every report of those runs shows it."""
    for r in runs:
        write_json(r.path / JUDGES_DIR / HUMAN, result)
