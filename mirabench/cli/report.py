"""`mirabench report` (leaderboard page and tables) and `compare` (the CI gate)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from mirabench.cli.common import console, escape


def report(
    runs: Annotated[list[Path], typer.Argument(help="run directories")],
    out: Annotated[
        Path | None,
        typer.Option(
            help="output file, or DIR/ (default: html to a new mirabench-report-DATE-TIME/, tables to stdout)"
        ),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="html, md, csv, json or tex")] = "html",
    title: Annotated[str, typer.Option(help="page title")] = "mirabench report",
    baseline: Annotated[str | None, typer.Option(help="row deltas are taken against (name, folder or index)")] = None,
    gallery: Annotated[int, typer.Option(help="samples in the trajectory gallery (-1 all, 0 none)")] = 100,
    reference: Annotated[
        list[Path] | None, typer.Option(help="folders of reported numbers (default: results/reference/)")
    ] = None,
    protocol: Annotated[
        str | None,
        typer.Option(help="print the benchmark's own table instead: imgedit, gedit or mira (Markdown)"),
    ] = None,
) -> None:
    """Leaderboard of one or more runs (--out DIR/ writes index.html plus every table format)."""
    from mirabench.reports.leaderboard import load_run, render, write_report
    from mirabench.reports.reference import load_reference

    if protocol is not None:
        from mirabench.reports.protocol import protocol_report

        if protocol not in ("imgedit", "gedit", "mira"):
            raise typer.BadParameter(f"--protocol {protocol!r}: choose imgedit, gedit or mira")
        text = protocol_report(runs, protocol)  # type: ignore[arg-type]
        if out is None:
            typer.echo(text, nl=False)
        else:
            from mirabench.images import atomic_write_text

            atomic_write_text(out, text)
            console.print(escape(f"protocol table written to {out.resolve()}"))
        return

    if out is None and fmt == "html":  # a new folder, never report.html + thumbs/ scattered into the cwd
        out = Path(time.strftime("mirabench-report-%Y%m%d-%H%M%S"))
    if out is None:
        ref = load_reference(reference)[0] if reference else None
        typer.echo(render([load_run(r) for r in runs], fmt, title, reference=ref, baseline=baseline), nl=False)
        return
    out = write_report(runs, out, fmt, title, reference_dirs=reference, baseline=baseline, gallery=gallery)
    console.print(escape(f"report written to {out.resolve()}"))


def compare(
    run_dir: Annotated[Path, typer.Argument(help="the run to gate (a run directory or its summary.json)")],
    baseline: Annotated[Path, typer.Option(help="baseline run directory or summary.json")],
    gate: Annotated[
        Path | None, typer.Option(help="gate file (YAML): tolerance, alpha, limits, per-metric relative/absolute")
    ] = None,
    tolerance: Annotated[
        list[str] | None,
        typer.Option(help="allowed worsening as a fraction of the metric's range: 0.05 or METRIC=0.02"),
    ] = None,
    alpha: Annotated[float | None, typer.Option(help="fail on a worsening with paired p below this (0 = off)")] = None,
    max_failure_rate: Annotated[float | None, typer.Option(help="max share of failed samples / judgements")] = None,
    max_coverage_drop: Annotated[float | None, typer.Option(help="max drop in a metric's coverage")] = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
    require_drift: Annotated[
        Path | None, typer.Option(help="calibration folder whose latest `judges drift` check must have passed first")
    ] = None,
) -> None:
    """Gate a run against a baseline on their shared samples; exits 1 on a regression or a failed drift check
    (flags override --gate)."""
    from mirabench.reliability.records import DriftCheckError
    from mirabench.reliability.records import require_drift as drift_passed
    from mirabench.reports.compare import Gate, load_gate, load_side, parse_tolerances, render_text
    from mirabench.reports.compare import compare as compare_runs

    if fmt not in ("text", "json"):
        raise ValueError(f"unknown --format {fmt!r}; choose text or json")
    if require_drift is not None:
        try:
            drift_passed(require_drift)
        except DriftCheckError as exc:
            typer.echo(f"FAIL: {exc}; the judges are not the ones the baseline was scored with, so no gate was run")
            raise typer.Exit(1) from None
    flags = {"alpha": alpha, "max_failure_rate": max_failure_rate, "max_coverage_drop": max_coverage_drop}
    rules = load_gate(gate) if gate else Gate()
    rules = Gate.model_validate({**rules.model_dump(), **{k: v for k, v in flags.items() if v is not None}})
    result = compare_runs(load_side(run_dir), load_side(baseline), parse_tolerances(tolerance or [], rules))
    typer.echo(json.dumps(result.to_json(), indent=2) if fmt == "json" else render_text(result), nl=fmt == "json")
    if not result.passed:
        raise typer.Exit(1)
