"""`mirabench report --protocol imgedit|gedit|mira`: each benchmark's own table, as its paper prints it.

Numbers come from summary.json's `protocol` (mirabench.protocols), so they equal what the benchmark's scripts
print from the same judge answers; reported numbers (results/reference/) follow in their own block.
- imgedit: Add, Adjust, Extract, Replace, Remove, Background, Style, Hybrid, Action, Overall (2 decimals); with
  two or more runs, rows after the first carry their relative change over the first (MIRA Table A's layout).
- gedit: per run and judge, SC / PQ / O for the full set and the intersection subset, EN and CN (3 decimals).
- mira: Table 1's 8 columns (3 decimals); then, for runs with a budget curve, Table B (the 8 columns per Max=k)
  and Table C (mean edits per Max=k).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from mirabench.protocols import IMGEDIT_COLUMNS, MIRA_COLUMNS
from mirabench.reports.paper_tables import markdown, with_relative_change
from mirabench.reports.reference import reported_table
from mirabench.rundir.rundir import RunDir
from mirabench.rundir.schema import Summary

__all__ = ["ProtocolName", "protocol_report"]

ProtocolName = Literal["imgedit", "gedit", "mira"]


Loaded = tuple[str, Summary]
"""A run as these tables need it: its label and its summary."""


def _load(run: Path) -> Loaded:
    """A run (its folder or summary.json) as (folder name, summary), read through the run-directory contract."""
    folder = run if run.is_dir() else run.parent
    return folder.name, RunDir(folder).read(samples=False).summary


def _protocol(summary: Summary, name: str, label: str) -> dict[str, Any]:
    got = summary.protocol or {}
    if got.get("name") != name:
        have = got.get("name") or "none"
        raise ValueError(
            f"{label}: summary.json has no {name} protocol headline (it has {have}; suite {summary.suite!r}); "
            "re-run `mirabench score` on it to recompute the summary"
        )
    return got


def _block(title: str, table: pd.DataFrame, decimals: int, reported: pd.DataFrame | None, source: str) -> str:
    text = f"## {title}\n\n{markdown(table, decimals)}"
    if reported is not None and not reported.empty:
        text += f"\n### Reported ({source}; not measured here)\n\n{markdown(reported, decimals)}"
    return text + "\n"


def _imgedit(runs: list[Loaded]) -> str:
    rows: list[dict[str, float | None]] = []
    for label, summary in runs:
        p = _protocol(summary, "imgedit", label)
        row: dict[str, float | None] = {paper: p["categories"].get(cat) for cat, paper in IMGEDIT_COLUMNS.items()}
        row["Overall"] = p["overall"]
        rows.append(row)
    cells: list[dict[str, Any]] = []
    for i, ((label, _), row) in enumerate(zip(runs, rows, strict=True)):
        shown = with_relative_change(rows[0], row) if i else {k: row[k] for k in row}
        cells.append({"method": label, **shown})
    notes = "Category means rounded to 2 decimals (step2_typescore.py); Overall = their unweighted mean."
    if len(runs) > 1:
        notes += f" Changes are relative to {runs[0][0]}, of the printed values (MIRA Table A)."
    table = pd.DataFrame(cells)
    return _block("ImgEdit-Bench Basic", table, 2, reported_table("A"), "MIRA supp. Table A") + notes + "\n"


def _gedit(runs: list[Loaded]) -> str:
    rows = []
    for label, summary in runs:
        p = _protocol(summary, "gedit", label)
        for judge, per_lang in p["overall"].items():
            for subset in ("fullset", "intersection"):
                row: dict[str, Any] = {"method": label, "judge": judge, "subset": subset}
                for lang in ("en", "cn"):
                    got = (per_lang.get(lang) or {}).get(subset) or {}
                    row.update({f"{lang.upper()} {k}": got.get(k) for k in ("SC", "PQ", "O")})
                rows.append(row)
    notes = (
        "Unweighted mean over the 11 task groups of the per-group means (O: per-sample sqrt(SC x PQ)), as "
        "GEdit-Bench's calculate_statistics.py; – where a group has no scored item or the subset is unknown.\n"
    )
    return _block("GEdit-Bench", pd.DataFrame(rows), 3, None, "") + notes


def _mira(runs: list[Loaded]) -> str:
    table1 = []
    text = ""
    for label, summary in runs:
        p = _protocol(summary, "mira", label)
        table1.append({"method": label, **p["overall"]})
    text += _block("MIRA Table 1", pd.DataFrame(table1), 3, None, "")
    for label, summary in runs:
        curve = summary.budget_curve or {}
        if not curve:
            continue
        budgets = sorted(curve, key=int)
        b = [
            {"max_steps": int(k), **{paper: curve[k].get(key) for paper, key in MIRA_COLUMNS.items()}} for k in budgets
        ]
        c = [{"max_steps": int(k), "mean_steps": curve[k].get("mean_steps")} for k in budgets]
        text += _block(f"Table B: {label}", pd.DataFrame(b), 3, reported_table("B"), "MIRA supp. Table B")
        text += _block(f"Table C: {label}", pd.DataFrame(c), 3, reported_table("C"), "MIRA supp. Table C")
    return text


def _prompt_notes(runs: list[Loaded]) -> str:
    """Which prompt text each run's judges used (the editscore wheel's fork is not VIEScore's own text)."""
    lines = []
    for label, summary in runs:
        for key, m in summary.metrics.items():
            if m.prompt_text and key.endswith("-sc"):
                lines.append(f"- {label}, {key[:-3]}: prompt text = {m.prompt_text}")
    return ("\nJudge prompt texts:\n" + "\n".join(lines) + "\n") if lines else ""


def protocol_report(runs: Sequence[Path], name: ProtocolName) -> str:
    """Markdown: the benchmark's own table for these runs, then the paper's reported numbers."""
    return protocol_markdown([_load(Path(r)) for r in runs], name)


def protocol_sections(runs: Sequence[Loaded]) -> list[dict[str, str]]:
    """One Markdown section per protocol the runs carry (the HTML report shows them as they print)."""
    names = dict.fromkeys((s.protocol or {}).get("name") for _, s in runs)
    return [
        {"name": str(n), "text": protocol_markdown([r for r in runs if (r[1].protocol or {}).get("name") == n], n)}
        for n in names
        if n in ("imgedit", "gedit", "mira")
    ]


def protocol_markdown(loaded: list[Loaded], name: ProtocolName) -> str:
    """The benchmark's own table for already loaded (label, summary) pairs."""
    if name == "imgedit":
        return _imgedit(loaded)
    if name == "gedit":
        return _gedit(loaded) + _prompt_notes(loaded)
    if name == "mira":
        return _mira(loaded) + _prompt_notes(loaded)
    raise ValueError(f"unknown protocol {name!r}; choose imgedit, gedit or mira")
