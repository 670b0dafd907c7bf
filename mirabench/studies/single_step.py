"""Table A: an editor alone and with an agent as instruction refiner, per category, with relative change.

The paper's Table A (ImgEdit-Bench single-step, InstructPix2Pix +/- MIRA) prints each category's score and, for the
agent row, the percent change over the editor alone. Both runs are ordinary run directories; the table reads
their per-category means (summary.json) for one metric column.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from mirabench.reports.leaderboard import write_report
from mirabench.reports.paper_tables import with_relative_change, write_table
from mirabench.reports.reference import reported_table
from mirabench.run.estimate import Planned
from mirabench.run.runner import Progress, run
from mirabench.rundir.rundir import RunDir
from mirabench.spec import RunSpec

__all__ = ["SingleStepStudy", "overall", "plan_single_step", "single_step", "table_a"]


def overall(
    means: Mapping[str, float | None], counts: Mapping[str, int], how: Literal["weighted", "unweighted"]
) -> float | None:
    """Overall of category means: ImgEdit's protocol is unweighted (of its 2-decimal category means, which
    `_by_category` reads from summary.json's protocol); MIRA's Table A matches sample-weighted."""
    cats = [c for c, v in means.items() if v is not None]
    if not cats:
        return None
    if how == "unweighted":
        return sum(means[c] or 0.0 for c in cats) / len(cats)
    total = sum(counts.get(c, 0) for c in cats)
    return sum((means[c] or 0.0) * counts.get(c, 0) for c in cats) / total if total else None


def table_a(
    base: Mapping[str, float | None],
    new: Mapping[str, float | None],
    names: tuple[str, str],
    decimals: int = 2,
) -> pd.DataFrame:
    """Two rows in Table A's layout: the base row's values, then the new row's values with (+x.xx%) changes."""
    first = {"method": names[0], **{k: ("–" if v is None else f"{v:.{decimals}f}") for k, v in base.items()}}
    second = {"method": names[1], **with_relative_change(base, new, decimals)}
    return pd.DataFrame([first, second])


@dataclass
class SingleStepStudy:
    table: pd.DataFrame
    base: dict[str, float | None]
    new: dict[str, float | None]
    run_dirs: list[Path]


def _by_category(summary: dict[str, Any], column: str) -> dict[str, float | None]:
    """Category means of `column`; the benchmark's own (ImgEdit: rounded to 2 decimals) when its protocol has them."""
    protocol = summary.get("protocol") or {}
    if protocol.get("name") == "imgedit" and protocol.get("column") == column:
        return dict(protocol["categories"])
    return {cat: vals.get(column) for cat, vals in summary.get("categories", {}).items()}


def plan_single_step(spec: RunSpec, agent: str, out: Path) -> list[Planned]:
    """The study's two runs: the editor alone (`direct`, one edit), then with `agent`."""
    alone = spec.model_copy(update={"agent": "direct", "agent_options": {}, "max_steps": 1})
    return [
        Planned(spec.editor, alone, out / "runs" / f"{spec.editor}+direct"),
        Planned(
            f"{spec.editor} + {agent}",
            spec.model_copy(update={"agent": agent}),
            out / "runs" / f"{spec.editor}+{agent}",
        ),
    ]


def single_step(
    spec: RunSpec,
    agent: str,
    column: str,
    out: Path,
    *,
    how: Literal["weighted", "unweighted"] = "unweighted",
    category_names: Mapping[str, str] | None = None,
    use_cache: bool = True,
    progress: Progress | None = None,
) -> SingleStepStudy:
    """Run the editor alone (`direct`, one edit) and with `agent`, then write Table A for metric `column`."""
    alone, helped = (
        run(p.spec, p.out, use_cache=use_cache, progress=progress) for p in plan_single_step(spec, agent, out)
    )
    if column not in alone.summary["metrics"]:
        raise ValueError(f"metric column {column!r} not in this run; it has {', '.join(alone.summary['metrics'])}")
    counts = _category_counts(alone.run_dir)
    rename = dict(category_names or {})
    rows: list[dict[str, float | None]] = []
    for result in (alone, helped):
        cats = _by_category(result.summary, column)
        row = {rename.get(c, c): v for c, v in cats.items()}
        row["Overall"] = overall(cats, counts, how)
        rows.append(row)
    names = (spec.editor, f"{spec.editor} + {agent}")
    table = table_a(rows[0], rows[1], names)
    write_table(
        table,
        out / "table_a",
        f"Table A: {spec.suite} single-step, {column} per category",
        reported=reported_table("A"),
        reported_source="MIRA supp. Table A, ImgEdit-Bench, InstructPix2Pix +/- MIRA",
        notes=[f"Overall = {how} mean of the category means."],
    )
    dirs = [alone.run_dir, helped.run_dir]
    write_report(dirs, out / "report.html", title=f"Single-step study: {spec.editor} +/- {agent}")
    return SingleStepStudy(table, rows[0], rows[1], dirs)


def _category_counts(run_dir: Path) -> dict[str, int]:
    return dict(Counter(s.category for s in RunDir(run_dir).read().samples))
