"""Table D from a study's ratings: means with bootstrap CIs in the paper's row groups, Krippendorff's alpha, rater
time per item, and the ratings in the long CSV format the judge-reliability analysis reads.

The long format (`rater,sample_id,system,criterion,score`, criterion in sc|pq|bp, system = the run's name) is the
one currency: the web app's SQLite rows and filled offline CSV sheets (`user_study.sheet_ratings`) both become it,
and every number here is computed from it.

The CI of a mean is a two-way percentile bootstrap: raters and samples are both resampled with replacement,
because Table D generalises over both (a CI over samples alone would ignore how much the raters disagree).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import krippendorff
import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from mirabench.images import atomic_write_text
from mirabench.reports.paper_tables import markdown, write_table
from mirabench.reports.reference import reported_table
from mirabench.studies.rating.db import CRITERIA, RatingDB
from mirabench.studies.rating.study import GROUPS, Study

__all__ = [
    "LABELS",
    "LONG_COLUMNS",
    "Results",
    "agreement",
    "compute_results",
    "rater_times",
    "read_long",
    "render_results_html",
    "summary_markdown",
    "table_d",
    "write_results",
]

LABELS = {"sc": "Semantic Consistency", "pq": "Perceptual Quality", "bp": "Background Preservation"}
LONG_COLUMNS = ["rater", "sample_id", "system", "criterion", "score"]
TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


def read_long(path: Path) -> pd.DataFrame:
    """A long ratings CSV, checked: the five columns, known criteria, scores from 0 to 10."""
    frame = pd.read_csv(path, dtype={"rater": str, "sample_id": str, "system": str, "criterion": str})
    missing = [c for c in LONG_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing} (need {','.join(LONG_COLUMNS)})")
    bad = frame[~frame["criterion"].isin(CRITERIA) | ~frame["score"].between(0, 10)]
    if not bad.empty:
        raise ValueError(f"{path}: {len(bad)} rows with a criterion outside {CRITERIA} or a score outside 0-10")
    return frame[LONG_COLUMNS]


def _matrix(part: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """raters x units matrix of scores (NaN where a rater did not rate a unit)."""
    wide = part.pivot_table(index="rater", columns=list(columns), values="score", aggfunc="mean")
    return wide.to_numpy(dtype=float)


def _two_way_ci(matrix: np.ndarray, n_boot: int, seed: int, level: float = 0.95) -> tuple[float, float] | None:
    if np.count_nonzero(~np.isnan(matrix)) < 2:
        return None
    rng = np.random.default_rng(seed)
    n_r, n_i = matrix.shape
    rows = rng.integers(0, n_r, size=(n_boot, n_r, 1))
    cols = rng.integers(0, n_i, size=(n_boot, 1, n_i))
    draws = matrix[rows, cols]
    with np.errstate(invalid="ignore"):
        counts = (~np.isnan(draws)).sum(axis=(1, 2))
        means = np.nansum(draws, axis=(1, 2)) / counts
    means = means[counts > 0]  # a draw of only-missing cells has no mean (rare; never with complete data)
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return float(lo), float(hi)


def table_d(
    ratings: pd.DataFrame, systems: Sequence[str], groups: Mapping[str, str], n_boot: int = 2000, seed: int = 0
) -> pd.DataFrame:
    """One row per system (grouped like MIRA's Table D): mean score per criterion, its 95% CI, and counts."""
    order = sorted(systems, key=lambda s: GROUPS.index(groups[s]) if groups.get(s) in GROUPS else len(GROUPS))
    rows = []
    for system in order:
        part = ratings[ratings["system"] == system]
        row: dict[str, Any] = {"group": groups.get(system, ""), "system": system}
        for c in CRITERIA:
            sub = part[part["criterion"] == c]
            row[LABELS[c]] = float(sub["score"].mean()) if len(sub) else None
            ci = _two_way_ci(_matrix(sub, ["sample_id"]), n_boot, seed) if len(sub) else None
            row[f"{c}_lo"], row[f"{c}_hi"] = ci if ci else (None, None)
        row["n_ratings"] = len(part)
        row["n_raters"] = part["rater"].nunique()
        row["n_samples"] = part["sample_id"].nunique()
        rows.append(row)
    return pd.DataFrame(rows)


def agreement(ratings: pd.DataFrame) -> pd.DataFrame:
    """Krippendorff's alpha (interval) per criterion; a unit is one system's output on one sample."""
    rows = []
    for c in CRITERIA:
        part = ratings[ratings["criterion"] == c]
        alpha = None
        n_units = 0
        if part["rater"].nunique() >= 2:
            matrix = _matrix(part, ["sample_id", "system"])
            pairable = (~np.isnan(matrix)).sum(axis=0) >= 2
            n_units = int(pairable.sum())
            values = matrix[:, pairable]
            if n_units and np.unique(values[~np.isnan(values)]).size > 1:  # alpha is undefined without variation
                alpha = float(krippendorff.alpha(reliability_data=values, level_of_measurement="interval"))
        rows.append(
            {"criterion": LABELS[c], "alpha": alpha, "n_raters": int(part["rater"].nunique()), "n_units": n_units}
        )
    return pd.DataFrame(rows)


def rater_times(progress: pd.DataFrame) -> pd.DataFrame:
    """Per rater: items submitted and seconds per item (first open to first submit; the median shrugs off a
    rater who left an item open overnight)."""
    done = progress.dropna(subset=["submitted"])
    rows = []
    for rater, part in done.groupby("rater", sort=True):
        secs = (part["submitted"] - part["opened"]).to_numpy(dtype=float)
        rows.append(
            {
                "rater": rater,
                "items_done": len(part),
                "median_s": float(np.median(secs)),
                "mean_s": float(np.mean(secs)),
                "total_min": float(secs.sum() / 60),
            }
        )
    return pd.DataFrame(rows, columns=["rater", "items_done", "median_s", "mean_s", "total_min"])


@dataclass
class Results:
    table: pd.DataFrame
    alpha: pd.DataFrame
    times: pd.DataFrame
    ratings: pd.DataFrame
    progress: pd.DataFrame


def compute_results(study: Study, extra: pd.DataFrame | None = None, n_boot: int = 2000, seed: int = 0) -> Results:
    """Everything `rate results` reports, from the study's database plus any extra long ratings (offline sheets)."""
    db = RatingDB(study.dir)
    ratings = db.ratings()[LONG_COLUMNS]
    if extra is not None and not extra.empty:
        ratings = pd.concat([ratings, extra[LONG_COLUMNS]], ignore_index=True)
    systems = list(dict.fromkeys([*study.systems, *ratings["system"]]))
    progress = db.progress()
    return Results(
        table_d(ratings, systems, study.groups, n_boot=n_boot, seed=seed),
        agreement(ratings),
        rater_times(progress),
        ratings,
        progress,
    )


def _display(table: pd.DataFrame) -> pd.DataFrame:
    """Table D as printed: 'mean [lo, hi]' cells, one decimal like the paper."""
    out = table[["group", "system"]].copy()
    for c in CRITERIA:
        out[LABELS[c]] = [
            "–" if m is None or pd.isna(m) else f"{m:.1f}" + ("" if pd.isna(lo) else f" [{lo:.1f}, {hi:.1f}]")
            for m, lo, hi in zip(table[LABELS[c]], table[f"{c}_lo"], table[f"{c}_hi"], strict=True)
        ]
    out["n"] = table["n_ratings"]
    return out


def summary_markdown(results: Results) -> str:
    return "\n".join(
        [
            "## Table D: user study (0-10, mean [95% CI, raters x samples bootstrap])",
            "",
            markdown(_display(results.table)),
            "## Inter-rater agreement (Krippendorff's alpha, interval)",
            "",
            markdown(results.alpha, decimals=3),
            "## Rater time per item (seconds)",
            "",
            markdown(results.times, decimals=1),
        ]
    )


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows for a template, NaN as None (so "not measured" renders as a dash, never as "nan")."""
    return [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def _env() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True))


def render_results_html(study: Study, results: Results, *, inline_css: bool, live: bool = False) -> str:
    """The results page: Table D grouped, agreement, rater time, and per-rater progress."""
    total = len(study.items)
    done = results.progress.dropna(subset=["submitted"]).groupby("rater").size()
    progress = [{"rater": r["id"], "done": int(done.get(r["id"], 0)), "total": total} for r in study.raters]
    display = _display(results.table)
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in display.to_dict(orient="records"):
        grouped.setdefault(str(row["group"]) or "other", []).append(row)
    return (
        _env()
        .get_template("results.html")
        .render(
            groups=grouped,
            criteria=[LABELS[c] for c in CRITERIA],
            alpha=_records(results.alpha),
            times=results.times.to_dict(orient="records"),
            progress=progress,
            n_ratings=len(results.ratings),
            css=(STATIC / "rate.css").read_text(encoding="utf-8") if inline_css else None,
            live=live,
        )
    )


def write_results(
    study: Study, out: Path | None = None, extra: pd.DataFrame | None = None
) -> tuple[dict[str, Path], Results]:
    """STUDY/results/: table_d, agreement, rater_time (.csv/.md/.json), ratings.csv (long), summary.md, index.html."""
    out = Path(out) if out is not None else study.dir / "results"
    results = compute_results(study, extra)
    write_table(
        results.table,
        out / "table_d",
        "Table D: user study (0-10)",
        reported=reported_table("D"),
        reported_source="MIRA supp. Table D, 50 samples x 10 raters",
        notes=["*_lo/*_hi: 95% percentile bootstrap over raters and samples (2000 draws, seed 0)."],
        decimals=2,
    )
    write_table(results.alpha, out / "agreement", "Inter-rater agreement (Krippendorff's alpha, interval)")
    write_table(results.times, out / "rater_time", "Rater time per item (seconds)", decimals=1)
    atomic_write_text(out / "ratings.csv", results.ratings[LONG_COLUMNS].to_csv(index=False))
    atomic_write_text(out / "summary.md", summary_markdown(results))
    atomic_write_text(out / "index.html", render_results_html(study, results, inline_css=True))
    paths = {"table_d": out / "table_d.csv", "ratings": out / "ratings.csv", "summary": out / "summary.md"}
    return {**paths, "html": out / "index.html"}, results
