"""The "Judge reliability" section of summary.json and of the leaderboard page.

Per judge column: repeat noise (RUN/judges/repeats-*.json), the smallest system difference it resolves at the
run's n, agreement with the run's other judges of the same criterion (sample-level Spearman and Kendall), what
served its scores (and whether that changed within the run), the latest drift check recorded in the run, and
agreement with people where ratings were given. Each number carries its n and 95% interval; what was never
measured says "not measured". The page adds what needs several runs: system-level Kendall between judges,
fingerprints that differ between the runs, and marks on pairwise gaps smaller than the resolvable gap.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mirabench.reliability.human import criterion_of
from mirabench.reliability.records import DRIFT, HUMAN, JUDGES_DIR, load_repeats, read_json
from mirabench.reliability.served import fingerprint
from mirabench.reliability.stats import (
    ALPHA,
    POWER,
    pairwise_accuracy,
    rank_agreement,
    repeat_noise,
    resolvable_gap,
    system_agreement,
)
from mirabench.types import Score

__all__ = ["NOT_MEASURED", "judge_section", "mark_deltas", "pair_agreement", "report_view"]

NOT_MEASURED = "not measured"
GAP_FORMULA = "(z[1-alpha/2] + z[power]) * sqrt((paired_var + 2 * repeat_var) / n), paired_var = 0 here"


def _kind(column: str) -> str | None:
    """What a column measures, for pairing judges: the human criterion, or `o` for an overall score."""
    return criterion_of(column) or ("o" if column.endswith("-o") else None)


def judge_section(
    run_dir: Path,
    columns: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    scores: Mapping[tuple[str, str], Mapping[str, Score]],
) -> dict[str, Any]:
    """summary.json's `judge_reliability`: one entry per column (see the module docstring)."""
    repeats = load_repeats(run_dir)
    drift = read_json(Path(run_dir) / JUDGES_DIR / DRIFT)
    human = read_json(Path(run_dir) / JUDGES_DIR / HUMAN)
    values = {c: np.array([_num(r["scores"].get(c)) for r in rows], dtype=float) for c in columns}
    served: dict[str, Counter[str]] = {c: Counter() for c in columns}
    for got in scores.values():
        for col, s in got.items():
            fp = fingerprint(s.detail) if col in served and s.value is not None else None
            if fp:
                served[col][fp] += 1
    pairs: dict[frozenset[str], dict[str, Any]] = {}

    def agreement(x: str, y: str) -> dict[str, Any]:  # once per pair of columns
        key = frozenset((x, y))
        if key not in pairs:
            pairs[key] = {k: v.as_dict() for k, v in rank_agreement(values[x], values[y]).items()}
        return pairs[key]

    out: dict[str, Any] = {}
    for col in columns:
        n_run = int(np.isfinite(values[col]).sum())
        entry: dict[str, Any] = {"n_run": n_run}
        if col in repeats:
            noise = repeat_noise(repeats[col]["values"])
            entry["repeat"] = {**noise.as_dict(), "served": sorted(set(repeats[col]["served"]))}
            std = noise.std.value
            gap = resolvable_gap(std**2, n_run) if std is not None else None
            entry["resolvable_gap"] = {
                "value": None if gap is None else round(gap, 6),
                "n": n_run,
                "alpha": ALPHA,
                "power": POWER,
                "formula": GAP_FORMULA,
            }
        else:
            entry["repeat"] = entry["resolvable_gap"] = NOT_MEASURED
        others = [o for o in columns if o != col and _kind(o) and _kind(o) == _kind(col) and _metric(o) != _metric(col)]
        entry["agreement"] = {o: agreement(col, o) for o in others} or NOT_MEASURED
        entry["fingerprints"] = (
            {"served": dict(sorted(served[col].items())), "changed": len(served[col]) > 1}
            if served[col]
            else NOT_MEASURED
        )
        check = (drift or {}).get("columns", {}).get(col)
        entry["drift"] = (
            {**check, "checked": drift["checked"], "calibration": drift["calibration"]}
            if check and drift
            else NOT_MEASURED
        )
        about = (human or {}).get("columns", {}).get(col)
        entry["human"] = {**about, "raters": human["criteria"][about["criterion"]]} if about and human else NOT_MEASURED
        out[col] = entry
    return out


def _num(v: Any) -> float:
    return float(v) if v is not None else np.nan


def _metric(column: str) -> str:
    return column.rpartition("-")[0]


# -- the page -------------------------------------------------------------------------------------------------


def _est(e: Any, digits: int = 2) -> str:
    if not isinstance(e, dict) or e.get("value") is None:
        return "–"
    ci = f" [{e['ci95'][0]:.{digits}f}, {e['ci95'][1]:.{digits}f}]" if e.get("ci95") else ""
    return f"{e['value']:.{digits}f}{ci} n={e['n']}"


def _matrix(runs: Sequence[Mapping[str, Any]], column: str) -> tuple[list[str], np.ndarray]:
    ids = sorted(set.intersection(*(set(r.get("samples", {})) for r in runs))) if runs else []
    m = np.array([[_num(r["samples"][i].get("scores", {}).get(column)) for r in runs] for i in ids], dtype=float)
    return ids, m.reshape(len(ids), len(runs))


def report_view(
    runs: Sequence[Mapping[str, Any]], names: Sequence[str], columns: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """One row of display text per judge column with anything measured, over the runs of the page."""
    keys = [c["key"] for c in columns if not c.get("reported_only")]
    sections = [r["summary"].get("judge_reliability") or {} for r in runs]
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


def pair_agreement(runs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every pair of columns of the same kind from different metrics, over the runs (one system each): sample-level
    Spearman and Kendall over all runs' shared samples pooled, Kendall's tau and Spearman of the system means, and
    pairwise preference accuracy of the first column with the second as reference."""
    keys = list(dict.fromkeys(k for r in runs for k in r["summary"].get("columns") or []))
    out = []
    for i, key in enumerate(keys):
        for other in keys[i + 1 :]:
            if _kind(key) is None or _kind(other) != _kind(key) or _metric(other) == _metric(key):
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


def mark_deltas(runs: Sequence[Mapping[str, Any]], deltas: list[dict[str, Any]], baseline: int) -> None:
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
                    _repeat_var(base["summary"].get("judge_reliability") or {}, key),
                    _repeat_var(runs[i]["summary"].get("judge_reliability") or {}, key),
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
