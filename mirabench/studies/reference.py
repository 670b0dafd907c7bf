"""Paper tables from results/reference/*.csv in wide form, printed beside a study's measured tables.

Tidy CSV: source, table, system, max_steps, column, value, note (see results/reference/README.md). The leaderboard
reads the same files through mirabench.reference (rows matched to measured columns); this module only reshapes
one printed table for a study's output.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mirabench.reference import default_reference_dir

__all__ = ["reference_frame", "reported_table"]


def reference_frame(path: Path | None = None) -> pd.DataFrame:
    """All reported numbers (every CSV in the reference folder, or one file)."""
    folder = default_reference_dir()
    files = [path] if path is not None else sorted(folder.glob("*.csv")) if folder else []
    if not files:
        raise FileNotFoundError(f"no reference CSV files in {folder or 'results/reference/'}")
    frames = [
        pd.read_csv(f, dtype={"max_steps": "Int64"}, keep_default_na=False, na_values={"max_steps": [""]})
        for f in files
    ]
    return pd.concat(frames, ignore_index=True)


def reported_table(table: str, source: str = "mira-supp", path: Path | None = None) -> pd.DataFrame:
    """One paper table in wide form: a row per (system, max_steps), a column per printed column."""
    ref = reference_frame(path)
    part = ref[(ref["table"] == table) & (ref["source"] == source)]
    if part.empty:
        return pd.DataFrame()
    index = ["system", "max_steps"] if part["max_steps"].notna().any() else ["system"]
    wide = part.pivot_table(index=index, columns="column", values="value", aggfunc="first", sort=False)
    order = list(dict.fromkeys(part["column"]))
    return wide[[c for c in order if c in wide.columns]].reset_index()
