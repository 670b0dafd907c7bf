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
    rank_agreement,
    repeat_noise,
    resolvable_gap,
)
from mirabench.types import Score

__all__ = ["NOT_MEASURED", "comparable", "judge_section"]

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
        others = [o for o in columns if o != col and comparable(o, col)]
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


def comparable(column: str, other: str) -> bool:
    """Two columns of different metrics that score the same criterion: their agreement is worth reporting."""
    kind = _kind(column)
    return kind is not None and _kind(other) == kind and column.rpartition("-")[0] != other.rpartition("-")[0]
