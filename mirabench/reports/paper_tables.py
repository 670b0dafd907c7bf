"""Paper-style tables: one DataFrame per table, written as CSV, Markdown and JSON side by side.

Reported numbers (results/reference/) are rendered in their own block under a "reported" heading, never merged
into the measured rows. Cells are rounded only when rendered; the CSV and JSON keep full precision.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from mirabench.images import atomic_write_text

__all__ = ["markdown", "relative_change", "with_relative_change", "write_table"]


def relative_change(base: float, new: float, decimals: int | None = 2) -> float | None:
    """Percent change of `new` over `base`, of the values as displayed (rounded to `decimals`), like the paper.

    MIRA's Table A prints e.g. 2.19 -> 2.73 as +24.66%: the change of the two printed numbers.
    """
    if decimals is not None:
        base, new = round(base, decimals), round(new, decimals)
    if base == 0 or math.isnan(base) or math.isnan(new):
        return None
    return 100.0 * (new - base) / base


def with_relative_change(base: Mapping[str, float | None], new: Mapping[str, float | None], decimals: int = 2) -> dict:
    """`{column: "x.xx (+y.yy%)"}` cells for a row compared with a base row (Table A's layout)."""
    cells: dict[str, str] = {}
    for key, value in new.items():
        b = base.get(key)
        if value is None:
            cells[key] = "–"
            continue
        change = relative_change(b, value, decimals) if b is not None else None
        cells[key] = f"{value:.{decimals}f}" + (f" ({change:+.2f}%)" if change is not None else "")
    return cells


def _cell(value: Any, decimals: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{decimals}f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown(table: pd.DataFrame, decimals: int = 3) -> str:
    cols = [str(c) for c in table.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in table.to_dict(orient="records"):  # keeps each column's type (iterrows would make ints floats)
        lines.append("| " + " | ".join(_cell(v, decimals) for v in row.values()) + " |")
    return "\n".join(lines) + "\n"


def write_table(
    table: pd.DataFrame,
    out: Path,
    title: str,
    *,
    reported: pd.DataFrame | None = None,
    reported_source: str = "",
    notes: Sequence[str] = (),
    decimals: int = 3,
) -> dict[str, Path]:
    """Write `out.csv`, `out.md` and `out.json`; the reported block (if any) goes to the .md and .json only."""
    paths = {ext: out.with_suffix(f".{ext}") for ext in ("csv", "md", "json")}
    atomic_write_text(paths["csv"], table.to_csv(index=False))
    md = [f"## {title}", "", markdown(table, decimals)]
    md += [f"{n}\n" for n in notes]
    payload: dict[str, Any] = {"title": title, "rows": table.to_dict(orient="records"), "notes": list(notes)}
    if reported is not None and not reported.empty:
        md += [f"### Reported in the paper ({reported_source}; not measured here)", "", markdown(reported, decimals)]
        payload["reported"] = {"source": reported_source, "rows": reported.to_dict(orient="records")}
    atomic_write_text(paths["md"], "\n".join(md))
    atomic_write_text(paths["json"], json.dumps(payload, indent=2, default=_json_default) + "\n")
    return paths


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)
