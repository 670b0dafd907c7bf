"""Leaderboard tables from run directories: HTML (self-contained, no CDN), Markdown, CSV and JSON.

Reads only the run-directory contract (run.json, summary.json), so it works on runs made by any version or
imported from elsewhere. Every user string is escaped by jinja2's autoescape.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from mirabench.images import atomic_write_text

__all__ = ["leaderboard", "load_run", "render", "write_report"]

FORMATS = ("html", "md", "csv", "json")
_PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]


def load_run(run_dir: Path) -> dict[str, Any]:
    summary_path = run_dir / "summary.json"
    if not summary_path.exists():
        raise FileNotFoundError(f"{run_dir} has no summary.json (is it a finished mirabench run?)")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    return {"dir": run_dir, "name": f"{summary.get('editor')} + {summary.get('agent')}", "summary": summary}


def leaderboard(runs: Sequence[dict[str, Any]]) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """One row per run: system, steps, failures, and the mean of every metric column any run reports."""
    columns: dict[str, dict[str, Any]] = {}
    for r in runs:
        for key, m in r["summary"].get("metrics", {}).items():
            columns.setdefault(
                key,
                {"key": key, "higher_is_better": m.get("higher_is_better", True), "range": m.get("range")},
            )
    rows = []
    for r in runs:
        s = r["summary"]
        row: dict[str, Any] = {
            "system": r["name"],
            "suite": s.get("suite"),
            "n": s.get("n_samples"),
            "failed": s.get("n_failed"),
            "mean_steps": s.get("mean_steps"),
        }
        for key in columns:
            row[key] = s.get("metrics", {}).get(key, {}).get("mean")
        rows.append(row)
    return pd.DataFrame(rows), list(columns.values())


def _curve_svg(runs: Sequence[dict[str, Any]], key: str, width: int = 520, height: int = 260) -> str | None:
    """A small line plot of `key` against the step budget, one line per run that has a budget curve."""
    series = []
    for r in runs:
        curve = r["summary"].get("budget_curve")
        if curve:
            pts = [(int(k), v.get(key)) for k, v in curve.items() if v.get(key) is not None]
            if pts:
                series.append((r["name"], sorted(pts)))
    if not series:
        return None
    xs = [x for _, pts in series for x, _ in pts]
    ys = [y for _, pts in series for _, y in pts]
    x0, x1 = min(xs), max(max(xs), min(xs) + 1)
    y0, y1 = min(ys), max(ys)
    if y1 - y0 < 1e-9:
        y0, y1 = y0 - 0.5, y1 + 0.5
    pad = 40

    def sx(x: float) -> float:
        return pad + (x - x0) / (x1 - x0) * (width - 2 * pad)

    def sy(y: float) -> float:
        return height - pad - (y - y0) / (y1 - y0) * (height - 2 * pad)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#888"/>',
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#888"/>',
    ]
    for x in sorted(set(xs)):
        parts.append(f'<text x="{sx(x):.1f}" y="{height - pad + 16}" font-size="11" text-anchor="middle">{x}</text>')
    for y in (y0, (y0 + y1) / 2, y1):
        parts.append(f'<text x="{pad - 4}" y="{sy(y) + 4:.1f}" font-size="11" text-anchor="end">{y:.2f}</text>')
    parts.append(f'<text x="{width / 2}" y="{height - 6}" font-size="11" text-anchor="middle">max steps</text>')
    for i, (name, pts) in enumerate(series):
        color = _PALETTE[i % len(_PALETTE)]
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{path}"/>')
        parts.extend(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{color}"/>' for x, y in pts)
        from html import escape

        parts.append(
            f'<text x="{width - pad + 4}" y="{pad + 14 * i}" font-size="11" fill="{color}">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def render(runs: Sequence[dict[str, Any]], fmt: str = "html", title: str = "mirabench report") -> str:
    table, columns = leaderboard(runs)
    if fmt == "csv":
        return str(table.to_csv(index=False))
    if fmt == "json":
        return json.dumps({"columns": columns, "rows": table.to_dict(orient="records")}, indent=2, default=str)
    if fmt == "md":
        return _markdown(table)
    if fmt != "html":
        raise ValueError(f"unknown report format {fmt!r}; choose from {', '.join(FORMATS)}")
    env = Environment(loader=PackageLoader("mirabench", "templates"), autoescape=select_autoescape(["html"]))
    curve_key = columns[0]["key"] if columns else None
    return env.get_template("report.html").render(
        title=title,
        runs=runs,
        columns=columns,
        rows=table.to_dict(orient="records"),
        curve_key=curve_key,
        curve_svg=_curve_svg(runs, curve_key) if curve_key else None,
    )


def _markdown(table: pd.DataFrame) -> str:
    cols = list(table.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in table.iterrows():
        cells = [f"{v:.3f}" if isinstance(v, float) else ("" if v is None else str(v)) for v in row]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def write_report(run_dirs: Sequence[Path], out: Path, fmt: str = "html", title: str = "mirabench report") -> Path:
    runs = [load_run(Path(d)) for d in run_dirs]
    atomic_write_text(out, render(runs, fmt, title))
    return out
