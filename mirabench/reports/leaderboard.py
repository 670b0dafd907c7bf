"""Leaderboards from run directories: an HTML page (self-contained, no CDN, works from file://), and the same
tables as Markdown, LaTeX, CSV and JSON.

Reads only the run-directory contract (run.json, summary.json, samples.jsonl, images/), so it works on runs made
by any version or imported from elsewhere, plus reported rows from results/reference/ (see reference.py). Every
user string is escaped: jinja2 autoescapes the page, the gallery is built from JSON with DOM text nodes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from mirabench.images import atomic_write_text
from mirabench.reports.gallery import GALLERY_SAMPLES, gallery_data, place_thumbnails
from mirabench.reports.judges import mark_deltas, report_view
from mirabench.reports.plots import bar_svg, color, line_svg
from mirabench.reports.protocol import protocol_sections
from mirabench.reports.reference import default_reference_dir, load_reference, norm
from mirabench.reports.stats import paired
from mirabench.reports.tables import csv_table, fmt, latex_table, markdown_table, marks
from mirabench.rundir.rundir import Run, RunDir, RunDirError
from mirabench.rundir.schema import CostLine, MetricSummary

__all__ = ["FORMATS", "deltas", "load_run", "render", "table_rows", "write_report"]

FORMATS = ("html", "md", "csv", "json", "tex")
TABLE_FILES = {"md": "leaderboard.md", "csv": "leaderboard.csv", "tex": "leaderboard.tex", "json": "leaderboard.json"}


def load_run(run_dir: Path) -> Run:
    """One run as the report sees it: the typed records RunDir reads (a folder that is no run: FileNotFoundError)."""
    try:
        return RunDir(run_dir).read()
    except RunDirError as exc:
        raise FileNotFoundError(str(exc)) from None


def _names(runs: Sequence[Run]) -> list[str]:
    """Run names: `--label` or "editor + agent"; where several runs share a name (ablations), each gets the
    settings that tell them apart ("shapes + heuristic (editor.error_rate=0.2)"), else its folder's name."""
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(runs):
        groups.setdefault(r.label, []).append(i)
    names = [r.label for r in runs]
    for name, members in groups.items():
        if len(members) < 2:
            continue
        settings = [_settings(runs[i]) for i in members]
        keys = sorted({k for s in settings for k in s})
        differ = [k for k in keys if len({json.dumps(s.get(k), sort_keys=True) for s in settings}) > 1]
        for i, s in zip(members, settings, strict=True):
            diff = ", ".join(f"{k}={_short(s.get(k))}" for k in differ)
            names[i] = f"{name} ({diff or runs[i].path.name})"
        if len({names[i] for i in members}) < len(members):  # same settings, e.g. repeated runs
            for i in members:
                names[i] = f"{name} ({runs[i].path.name})"
    return names


def _settings(run: Run) -> dict[str, Any]:
    """A run's settings as flat `--set`-style keys (suite.n, editor.error_rate, max_steps, ...)."""
    spec = run.config.spec if run.config else {}
    flat: dict[str, Any] = {}
    for key, value in spec.items():
        if key.endswith("_options") and isinstance(value, dict):
            flat.update({f"{key[: -len('_options')]}.{k}": v for k, v in value.items()})
        elif key not in ("suite", "agent", "editor"):
            flat[key] = value
    return flat


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _columns(runs: Sequence[Run], reference: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Metric columns in the runs' declared order (headline first), then metrics only reported rows have."""
    columns: dict[str, dict[str, Any]] = {}
    for r in runs:
        for key in r.summary.headline():
            m = r.summary.metrics.get(key) or MetricSummary()
            columns.setdefault(key, {"key": key, "higher_is_better": m.higher_is_better, "range": m.range})
    for ref in reference:
        for key in ref["metrics"]:
            if key == "mean_steps":
                continue
            columns.setdefault(key, {"key": key, "higher_is_better": True, "range": None, "reported_only": True})
    return list(columns.values())


def _matching_reference(runs: Sequence[Run], reference: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Reported rows for these runs, their metric names mapped onto measured columns (see reference.py)."""
    measured = {k for r in runs for k in r.summary.metrics} | {"mean_steps"}
    by_norm = {norm(k): k for k in measured}
    suites = {r.summary.suite for r in runs}

    def mapped(values: dict[str, float]) -> dict[str, float]:
        return {by_norm.get(norm(k), k): v for k, v in values.items()}

    out = []
    for ref in reference:
        metrics = mapped(ref["metrics"])
        cats = {cat: mapped(v) for cat, v in ref.get("categories", {}).items()}
        if not ref["suite"]:  # no suite named: only numbers that line up with a measured metric
            metrics = {k: v for k, v in metrics.items() if k in measured}
            cats = {cat: {k: x for k, x in v.items() if k in measured} for cat, v in cats.items()}
            if not set(metrics) - {"mean_steps"} and not any(cats.values()):
                continue
        elif ref["suite"] not in suites:
            continue
        out.append({**ref, "metrics": metrics, "categories": cats})
    return out


def table_rows(
    runs: Sequence[Run], reference: Sequence[dict[str, Any]] = ()
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Measured rows (one per run) then reported rows (same suite only), and the metric columns."""
    reference = _matching_reference(runs, reference)
    columns = _columns(runs, reference)
    rows = []
    for name, r in zip(_names(runs), runs, strict=True):
        s = r.summary
        metrics = [s.metrics.get(c["key"]) for c in columns]
        rows.append(
            {
                "system": name,
                "kind": "measured",
                "suite": s.suite,
                "n": s.n_samples,
                "failed": s.n_failed,
                "mean_steps": s.mean_steps,
                "means": {c["key"]: m.mean if m else None for c, m in zip(columns, metrics, strict=True)},
                "ci": {c["key"]: m.ci95 if m else None for c, m in zip(columns, metrics, strict=True)},
                "coverage": {c["key"]: m.coverage if m else None for c, m in zip(columns, metrics, strict=True)},
                "source": "",
            }
        )
    for ref in reference:
        rows.append(
            {
                "system": ref["system"],
                "kind": "reported",
                "suite": ref["suite"],
                "n": None,
                "failed": None,
                "mean_steps": ref["metrics"].get("mean_steps"),
                "means": {c["key"]: ref["metrics"].get(c["key"]) for c in columns},
                "ci": {},
                "coverage": {},
                "source": ref.get("source", ""),
                "note": ref.get("note", ""),
                "file": ref.get("file", ""),
            }
        )
    return rows, columns


def deltas(runs: Sequence[Run], columns: Sequence[dict[str, Any]], baseline: int = 0) -> list[dict[str, Any]]:
    """Each other run minus the baseline run, per metric, paired over the samples both scored."""
    base = runs[baseline]
    out = []
    for i, (name, r) in enumerate(zip(_names(runs), runs, strict=True)):
        if i == baseline:
            continue
        cells: dict[str, dict[str, Any] | None] = {}
        for c in columns:
            if c.get("reported_only"):
                continue
            res = paired(base.scores(c["key"]), r.scores(c["key"]))
            if res is None:
                cells[c["key"]] = None
                continue
            better = res.delta > 0 if c.get("higher_is_better", True) else res.delta < 0
            cells[c["key"]] = {
                "delta": res.delta,
                "ci95": res.ci95,
                "p": res.p_value,
                "n": res.n,
                "significant": res.p_value < 0.05 and res.delta != 0,
                "better": better,
            }
        out.append({"system": name, "cells": cells})
    return out


def _baseline_index(runs: Sequence[Run], baseline: int | str | None) -> int:
    if baseline is None:
        return 0
    names = _names(runs)
    if isinstance(baseline, int) or str(baseline).isdigit():
        idx = int(baseline)
        if not 0 <= idx < len(runs):
            raise ValueError(f"baseline row {idx} does not exist (there are {len(runs)} runs)")
        return idx
    for i, (name, r) in enumerate(zip(names, runs, strict=True)):
        if baseline in (name, r.path.name, str(r.path)):
            return i
    raise ValueError(f"baseline {baseline!r} is none of the runs: {', '.join(names)}")


def _plots(runs: Sequence[Run], names: Sequence[str], columns: Sequence[dict[str, Any]]) -> dict[str, Any]:
    curves = []
    with_curve = [i for i, r in enumerate(runs) if r.summary.budget_curve]
    for c in columns:
        if c.get("reported_only"):
            continue
        series = []
        for name, r in zip(names, runs, strict=True):
            curve = r.summary.budget_curve or {}
            pts = [(float(k), y) for k, v in curve.items() if (y := v.get(c["key"])) is not None]
            series.append((name, pts))
        svg = line_svg(series, "max steps", c["key"])
        if svg:
            curves.append({"key": c["key"], "svg": svg})
    hist_series = []
    for name, r in zip(names, runs, strict=True):
        hist = {int(k): v for k, v in r.summary.steps_histogram.items()}
        total = sum(hist.values()) or 1
        hist_series.append((name, {k: v / total for k, v in hist.items()}))
    return {
        "curves": curves,
        "curve_runs": with_curve,  # the curve legend lists only these (colours follow the run's index)
        "no_curve": [names[i] for i in range(len(runs)) if i not in with_curve],
        "histogram": bar_svg(hist_series, "edits taken", "share of samples"),
    }


def _categories(
    runs: Sequence[Run],
    names: Sequence[str],
    rows: Sequence[dict[str, Any]],
    columns: Sequence[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Per metric: the categories (columns) and each system's mean per category, reported rows included."""
    per_row = [r.summary.categories for r in runs]
    per_row += [ref.get("categories", {}) for ref in rows[len(runs) :]]
    cats = sorted({cat for row in per_row for cat in row})
    if not cats:
        return []
    out = []
    for c in columns:
        lines = []
        for row, cat_means in zip(rows, per_row, strict=True):
            vals = [cat_means.get(cat, {}).get(c["key"]) for cat in cats]
            if any(v is not None for v in vals):
                lines.append({"system": row["system"], "kind": row["kind"], "values": vals})
        if lines:
            out.append({"key": c["key"], "categories": cats, "rows": lines})
    return out


def cost_tables(runs: Sequence[Run], names: Sequence[str]) -> list[dict[str, Any]]:
    """Per run with a cost record: one row per role, the estimate made before the run next to what it spent."""
    out = []
    for name, run in zip(names, runs, strict=True):
        cost = run.config.cost if run.config else None
        if cost is None:
            continue
        planned = {line.role: line for line in cost.estimate}
        spent = {line.role: line for line in cost.actual}
        rows = []
        for role in dict.fromkeys([*planned, *spent]):
            est, act = planned.get(role), spent.get(role)
            calls = "–" if est is None else f"{'' if est.exact else '<= '}{est.calls}"
            made = (
                "–" if act is None else f"{act.calls}" + (f" ({act.attempts} sent)" if act.attempts is not None else "")
            )
            rows.append(
                {
                    "role": role,
                    "plugin": (est or act).plugin,  # type: ignore[union-attr]
                    "model": (act.model if act and act.model else est.model if est else "") or "–",
                    "calls": (calls, made),
                    "tokens": (_tokens(est), _tokens(act)),
                    "usd": (_usd(est), _usd(act)),
                    "seconds": tuple("–" if x is None or x.seconds is None else f"{x.seconds:.1f}" for x in (est, act)),
                }
            )
        out.append({"name": name, "as_of": cost.prices_as_of, "rows": rows})
    return out


def _tokens(line: CostLine | None) -> str:
    return "–" if line is None or not line.api else f"{line.tokens_in:,} / {line.tokens_out:,}"


def _usd(line: CostLine | None) -> str:
    if line is None or not line.api:
        return "–"
    return "unknown price" if line.usd is None and line.calls else f"{line.usd or 0:.4f}"


def render(
    runs: Sequence[Run],
    fmt: str = "html",
    title: str = "mirabench report",
    *,
    reference: Sequence[dict[str, Any]] | None = None,
    baseline: int | str | None = None,
    gallery: int | None = GALLERY_SAMPLES,
    out_dir: Path | None = None,
    problems: Sequence[str] = (),
) -> str:
    """The report as text in one format. `reference=None` loads results/reference/ of this checkout; the HTML
    gallery gets thumbnails (written under out_dir/thumbs/) only when `out_dir`, where the page will live, is given."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}; choose from {', '.join(FORMATS)}")
    if reference is None:
        ref_dir = default_reference_dir()
        reference, problems = load_reference([ref_dir]) if ref_dir else ([], [])
    rows, columns = table_rows(runs, reference)
    if fmt == "md":
        return markdown_table(rows, columns)
    if fmt == "tex":
        return latex_table(rows, columns, title)
    if fmt == "csv":
        return csv_table(rows, columns)
    measured = [r for r in rows if r["kind"] == "measured"]
    if fmt == "json":
        flat = [
            {k: v for k, v in r.items() if k not in ("means", "ci", "coverage", "kind", "source")} for r in measured
        ]
        for f, r in zip(flat, measured, strict=True):
            f.update(r["means"])
            f["ci95"], f["coverage"] = r["ci"], r["coverage"]
        reported = [r for r in rows if r["kind"] != "measured"]
        return json.dumps({"columns": columns, "rows": flat, "reported": reported}, indent=2, default=str)
    return _html(runs, rows, columns, title, list(problems), baseline, gallery, out_dir)


@cache
def _environment() -> Environment:
    """One per process: Jinja compiles the page's template once (~0.1 s), not at every run's report."""
    env = Environment(loader=PackageLoader("mirabench.reports", "templates"), autoescape=select_autoescape(["html"]))
    env.filters["num"] = fmt
    return env


def _html(
    runs: Sequence[Run],
    rows: list[dict[str, Any]],
    columns: list[dict[str, Any]],
    title: str,
    problems: list[str],
    baseline: int | str | None,
    gallery: int | None,
    out_dir: Path | None,
) -> str:
    names = _names(runs)
    base = _baseline_index(runs, baseline) if runs else 0
    row_marks = marks(rows, columns)
    gallery_json, thumbs, kept = gallery_data(runs, names, out_dir, gallery) if gallery != 0 else ({}, {}, {})
    if out_dir is not None and gallery_json:
        # RUN/report.html travels alone, so it embeds them; a site of many runs is a folder (and would be huge)
        place_thumbnails(gallery_json, thumbs, kept, out_dir, embed=len(runs) == 1)
    pairwise = deltas(runs, columns, base) if len(runs) > 1 else []
    if pairwise:
        mark_deltas(runs, pairwise, base)
    template = _environment().get_template("report.html")
    html = template.render(
        title=title,
        generated=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        runs=[
            {"dir": r.path, "summary": r.summary, "manifest": r.config, "name": n, "color": color(i)}
            for i, (n, r) in enumerate(zip(names, runs, strict=True))
        ],
        rows=rows,
        columns=columns,
        marks={f"{i}|{k}": v for (i, k), v in row_marks.items()},
        baseline=names[base] if runs else None,
        deltas=pairwise,
        reliability=report_view(runs, names, columns),
        categories=_categories(runs, names, rows, columns),
        plots=_plots(runs, names, columns),
        gallery=gallery_json,
        problems=problems,
        protocols=protocol_sections([(n, r.summary) for n, r in zip(names, runs, strict=True)]),
        costs=cost_tables(runs, names),
    )
    return html


def write_report(
    run_dirs: Sequence[Path],
    out: Path,
    fmt: str = "html",
    title: str = "mirabench report",
    *,
    reference_dirs: Sequence[Path] | None = None,
    baseline: int | str | None = None,
    gallery: int | None = GALLERY_SAMPLES,
) -> Path:
    """Write the report and return the page's path. `out` without a suffix is a folder: for html it gets
    index.html, thumbs/ and the tables in every other format."""
    out = Path(out)
    runs = [load_run(Path(d)) for d in run_dirs]
    reference = None
    problems: list[str] = []
    if reference_dirs is not None:
        reference, problems = load_reference(reference_dirs)
    folder = out if not out.suffix else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        out = folder / ("index.html" if fmt == "html" else TABLE_FILES[fmt])
    if fmt != "html":
        atomic_write_text(out, render(runs, fmt, title, reference=reference, baseline=baseline))
        return out
    if reference is None:
        ref_dir = default_reference_dir()
        reference, problems = load_reference([ref_dir]) if ref_dir else ([], [])
    page = render(
        runs,
        "html",
        title,
        reference=reference,
        baseline=baseline,
        gallery=gallery,
        out_dir=out.parent,
        problems=problems,
    )
    atomic_write_text(out, page)
    if folder is not None:
        for other, name in TABLE_FILES.items():
            atomic_write_text(folder / name, render(runs, other, title, reference=reference, baseline=baseline))
    return out
