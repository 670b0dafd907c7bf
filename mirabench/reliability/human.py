"""People's ratings, for `mirabench judges human RATINGS.csv RUN...` (computed in mirabench.reports.judges).

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

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["CRITERIA", "FIELDS", "criterion_of", "read_ratings"]

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
