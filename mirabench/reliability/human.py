"""Agreement with people: `mirabench judges human RATINGS.csv RUN...`.

The ratings are a long CSV `rater,sample_id,system,criterion,score` (criterion sc, pq or bp; score 0-10), as the
user-study app exports it. Per criterion: how far the raters agree among themselves (Krippendorff's alpha,
interval, over the rated (sample, system) units), and for every judge column of that criterion (a column named
`*-sc`, `*-pq`, or `*-bp`/`*-bg` for background preservation) how far it agrees with the raters' mean: Spearman
and Kendall per (sample, system) unit, Kendall and Spearman of the system means, and pairwise preference accuracy
(per sample, does the judge order two systems as the raters' mean does), each with a bootstrap interval; the
human ceiling of that accuracy is each rater against the mean of the others (`rater_pairwise_accuracy`).
A system of the CSV is matched to a run by the run folder's name or its "editor + agent" name.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mirabench.reliability.records import HUMAN, JUDGES_DIR, write_json
from mirabench.reliability.stats import (
    krippendorff_interval,
    pairwise_accuracy,
    rank_agreement,
    rater_accuracy,
    system_agreement,
)

__all__ = ["CRITERIA", "FIELDS", "criterion_of", "human_agreement", "read_ratings", "record_in_runs"]

FIELDS = ("rater", "sample_id", "system", "criterion", "score")
CRITERIA = {"sc": ("sc",), "pq": ("pq",), "bp": ("bp", "bg")}
"""Each criterion and the column-name suffixes of judges that score it."""


def criterion_of(column: str) -> str | None:
    """The human criterion a judge column scores, from its suffix (gpt-sc -> sc, shapes-bg -> bp)."""
    suffix = column.rpartition("-")[2]
    return next((c for c, suffixes in CRITERIA.items() if suffix in suffixes), None)


def read_ratings(path: Path) -> pd.DataFrame:
    """The ratings CSV, checked: the five columns, a known criterion and a finite number on every row."""
    try:
        frame = pd.read_csv(path, dtype={"rater": str, "sample_id": str, "system": str, "criterion": str})
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a readable CSV ({exc})") from None
    missing = [f for f in FIELDS if f not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)} (expected {','.join(FIELDS)})")
    frame = frame[list(FIELDS)]
    bad = frame[~frame["criterion"].isin(CRITERIA)]
    if len(bad):
        raise ValueError(f"{path} line {bad.index[0] + 2}: criterion {bad.iloc[0]['criterion']!r} is not sc, pq or bp")
    scores = pd.to_numeric(frame["score"], errors="coerce")
    bad_scores = frame[~np.isfinite(scores.to_numpy(dtype=float))]
    if len(bad_scores):
        line, value = bad_scores.index[0] + 2, bad_scores.iloc[0]["score"]
        raise ValueError(f"{path} line {line}: score {value!r} is not a number")
    empty = frame[frame[["rater", "sample_id", "system"]].isna().any(axis=1)]
    if len(empty):
        raise ValueError(f"{path} line {empty.index[0] + 2}: rater, sample_id and system must not be empty")
    return frame.assign(score=scores.astype(float))


def _match(systems: Sequence[str], runs: Sequence[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for system in systems:
        hits = [i for i, r in enumerate(runs) if system in (Path(r["dir"]).name, r["name"], str(r["dir"]))]
        if len(hits) == 1:
            out[system] = hits[0]
    return out


def human_agreement(ratings: pd.DataFrame, runs: Sequence[dict[str, Any]], seed: int = 0) -> dict[str, Any]:
    """Inter-rater and judge-vs-human agreement (see the module docstring). `runs`: `report.load_run` dicts."""
    systems = sorted(ratings["system"].unique())
    matched = _match(systems, runs)
    if not matched:
        names = ", ".join(f"{Path(r['dir']).name} ({r['name']})" for r in runs)
        raise ValueError(f"no system of the ratings ({', '.join(systems)}) is one of the runs: {names}")
    criteria: dict[str, Any] = {}
    columns: dict[str, Any] = {}
    judge_columns = sorted({c for r in runs for c in r["summary"].get("columns", [])})
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
        "systems": {s: Path(runs[i]["dir"]).name for s, i in sorted(matched.items())},
        "unmatched_systems": [s for s in systems if s not in matched],
    }


def _score(run: dict[str, Any], sample_id: str, column: str) -> float:
    value = run["samples"].get(sample_id, {}).get("scores", {}).get(column)
    return float(value) if value is not None else np.nan


def record_in_runs(result: dict[str, Any], runs: Sequence[dict[str, Any]]) -> None:
    """Keep the result in each run's judges/ folder, so every report of those runs shows it."""
    for r in runs:
        write_json(Path(r["dir"]) / JUDGES_DIR / HUMAN, result)
