"""Paper-style tables from the leaderboard rows: Markdown, LaTeX (booktabs) and CSV.

As in the papers' tables, the best value of each metric column is bold and the second best underlined (ties
share the mark; values are compared as printed, to three decimals). Reported rows from papers are kept apart
and say where they come from.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

__all__ = ["csv_table", "fmt", "latex_table", "markdown_table", "marks"]


def fmt(v: float | None, digits: int = 3) -> str:
    return "–" if v is None or v != v else f"{v:.{digits}f}"


def marks(rows: Sequence[dict[str, Any]], columns: Sequence[dict[str, Any]]) -> dict[tuple[int, str], str]:
    """(row index, metric key) -> "best" | "second", per column, by the direction the metric prefers."""
    out: dict[tuple[int, str], str] = {}
    for col in columns:
        key, sign = col["key"], 1.0 if col.get("higher_is_better", True) else -1.0
        vals = {i: round(r["means"][key], 3) for i, r in enumerate(rows) if r["means"].get(key) is not None}
        ranked = sorted(set(vals.values()), key=lambda v: -sign * v)
        if len(vals) < 2:
            continue
        for i, v in vals.items():
            if v == ranked[0]:
                out[(i, key)] = "best"
            elif len(ranked) > 1 and v == ranked[1]:
                out[(i, key)] = "second"
    return out


def _arrow(col: dict[str, Any]) -> str:
    return "↑" if col.get("higher_is_better", True) else "↓"


def _source(row: dict[str, Any]) -> str:
    return "measured" if row["kind"] == "measured" else f"reported: {row.get('source') or row.get('file', '')}"


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[dict[str, Any]]) -> str:
    m = marks(rows, columns)

    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    head = ["system", "source", "n", "steps"] + [f"{c['key']} {_arrow(c)}" for c in columns]
    lines = ["| " + " | ".join(cell(h) for h in head) + " |", "|" + "---|" * 2 + "---:|" * (len(head) - 2)]
    for i, r in enumerate(rows):
        cells = [r["system"], _source(r), "" if r.get("n") is None else str(r["n"]), fmt(r.get("mean_steps"), 2)]
        for c in columns:
            text = fmt(r["means"].get(c["key"]))
            mark = m.get((i, c["key"]))
            cells.append(f"**{text}**" if mark == "best" else f"<u>{text}</u>" if mark == "second" else text)
        lines.append("| " + " | ".join(cell(x) for x in cells) + " |")
    legend = "\nBest per column in **bold**, second <u>underlined</u>; means over successful judgements.\n"
    return "\n".join(lines) + "\n" + legend


_TEX = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "–": "--",
}


def tex_escape(text: str) -> str:
    return "".join(_TEX.get(ch, ch) for ch in text)


def latex_table(rows: Sequence[dict[str, Any]], columns: Sequence[dict[str, Any]], caption: str = "") -> str:
    """A booktabs tabular; reported rows follow a rule and are set in italics with their source."""
    m = marks(rows, columns)
    arrow = {True: r"$\uparrow$", False: r"$\downarrow$"}
    head = ["System", "$n$", "Steps"] + [
        f"{tex_escape(c['key'])} {arrow[c.get('higher_is_better', True)]}" for c in columns
    ]
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        r"\begin{tabular}{l" + "r" * (len(head) - 1) + "}",
        r"\toprule",
        " & ".join(head) + r" \\",
        r"\midrule",
    ]
    previous = "measured"
    for i, r in enumerate(rows):
        if r["kind"] != previous:
            lines.append(r"\midrule")
            previous = r["kind"]
        name = tex_escape(r["system"])
        if r["kind"] != "measured":
            name = r"\textit{" + name + "}" + (r"$^\dagger$" if r.get("source") else "")
        cells = [name, "" if r.get("n") is None else str(r["n"]), tex_escape(fmt(r.get("mean_steps"), 2))]
        for c in columns:
            text = tex_escape(fmt(r["means"].get(c["key"])))
            mark = m.get((i, c["key"]))
            cells.append(r"\textbf{" + text + "}" if mark == "best" else r"\underline{" + text + "}" if mark else text)
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    sources = sorted({r["source"] for r in rows if r["kind"] != "measured" and r.get("source")})
    note = "Best in bold, second underlined." + (
        " $^\\dagger$Reported: " + tex_escape("; ".join(sources)) + "." if sources else ""
    )
    lines.append(r"\caption{" + (tex_escape(caption) + ". " if caption else "") + note + "}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def csv_table(rows: Sequence[dict[str, Any]], columns: Sequence[dict[str, Any]]) -> str:
    """Raw numbers (no marks): mean, 95% interval and coverage per metric."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    head = ["system", "suite", "n", "failed", "mean_steps", "kind", "source"]
    for c in columns:
        head += [c["key"], f"{c['key']}_ci_low", f"{c['key']}_ci_high", f"{c['key']}_coverage"]
    w.writerow(head)
    for r in rows:
        line = [r["system"], r.get("suite", ""), r.get("n"), r.get("failed"), r.get("mean_steps")]
        line += [r["kind"], r.get("source", "")]
        for c in columns:
            ci = r.get("ci", {}).get(c["key"]) or (None, None)
            line += [r["means"].get(c["key"]), ci[0], ci[1], r.get("coverage", {}).get(c["key"])]
        w.writerow(["" if v is None else v for v in line])
    return buf.getvalue()
