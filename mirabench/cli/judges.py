"""`mirabench judges ...`: how far to trust each judge column (repeat, agree, calibrate, drift, human).

Each command prints its numbers; those about a run are also kept in RUN/judges/ and shown in the run's
summary.json and report (the "Judge reliability" section), so every later report of the run carries them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from mirabench.cli.common import HELP_SETTINGS, console, escape, stdout_console
from mirabench.reliability.section import NOT_MEASURED
from mirabench.run.rejudge import refresh

__all__ = ["judges_app"]

judges_app = typer.Typer(
    no_args_is_help=True, help="Judge reliability: repeat noise, agreement, drift, people.", **HELP_SETTINGS
)
out, err = stdout_console, console  # tables print user text literally; messages escape it

Sets = Annotated[list[str] | None, typer.Option("--set", help="metric options, e.g. metrics.NAME.key=v")]


def _metric_sets(sets: list[str] | None) -> dict[str, dict[str, Any]]:
    from mirabench.spec import apply_sets

    options: dict[str, dict[str, Any]] = apply_sets({}, sets or []).get("metric_options", {})
    return options


def _est(e: Any) -> str:
    if not isinstance(e, dict) or e.get("value") is None:
        return "–"
    ci = f" [{e['ci95'][0]:.3f}, {e['ci95'][1]:.3f}]" if e.get("ci95") else ""
    return f"{e['value']:.3f}{ci}"


def _tau(e: dict[str, Any]) -> str:
    return f"{_est(e)} ({e['n']} systems)" if e["n"] > 2 else f"needs 3+ systems ({e['n']})"


@judges_app.command()
def repeat(
    run_dir: Annotated[Path, typer.Argument(help="a finished run directory")],
    metric: Annotated[str, typer.Option(help="the metric to re-ask (one of the run's, e.g. gpt-sc)")],
    n: Annotated[int, typer.Option(help="samples in the seeded subset")] = 50,
    k: Annotated[int, typer.Option(help="judgements per sample")] = 3,
    seed: Annotated[int, typer.Option(help="seed of the subset")] = 0,
    set_: Sets = None,
) -> None:
    """Judge a seeded subset k more times (cache off); kept as repeats, the run's scores are never replaced."""
    from mirabench.run.rejudge import run_repeats

    path = run_repeats(run_dir, metric, n, k, seed, _metric_sets(set_).get(metric))
    summary = refresh(run_dir)
    table = Table("column", "repeat sd [95% CI]", "ICC(2,1)", "alpha", "n x k", "resolvable gap at run n")
    for col, e in summary["judge_reliability"].items():
        rep = e["repeat"]
        if rep == NOT_MEASURED or col not in _columns_of(path):
            continue
        gap = e["resolvable_gap"]
        gap_text = "–" if gap["value"] is None else f"{gap['value']:.3f} (n={gap['n']})"
        table.add_row(
            col, _est(rep["std"]), _est(rep["icc21"]), _est(rep["alpha"]), f"{rep['std']['n']} x {rep['k']}", gap_text
        )
    out.print(table)
    err.print(escape(f"repeats written to {path}"))


def _columns_of(repeats_file: Path) -> set[str]:
    record = json.loads(repeats_file.read_text(encoding="utf-8"))
    return {col for row in record["rows"] for col in row["scores"]}


@judges_app.command()
def agree(
    runs: Annotated[list[Path], typer.Argument(help="run directories (same suite; one system each)")],
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Agreement between the judges present in the runs: sample-level Spearman and Kendall, system-level Kendall's
    tau, pairwise preference accuracy, for each pair of columns scoring the same criterion."""
    from mirabench.reports.judges import pair_agreement
    from mirabench.reports.leaderboard import load_run

    result = pair_agreement([load_run(r) for r in runs])
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    table = Table("column", "vs", "sample Spearman", "sample Kendall", "system Kendall", "pairwise acc.", "n")
    for r in result:
        table.add_row(
            r["column"],
            r["other"],
            _est(r["sample"]["spearman"]),
            _est(r["sample"]["kendall"]),
            _tau(r["system"]["kendall"]),
            _est(r["pairwise_accuracy"]),
            str(r["sample"]["spearman"]["n"]),
        )
    out.print(table)
    if not result:
        err.print("no two judge columns of the same criterion in these runs")


@judges_app.command()
def calibrate(
    run_dir: Annotated[Path, typer.Argument(help="a finished run directory")],
    out_dir: Annotated[Path, typer.Option("--out", help="folder for the calibration set (small, committable)")],
    n: Annotated[int, typer.Option(help="samples to freeze")] = 100,
    seed: Annotated[int, typer.Option(help="seed of the subset")] = 0,
    metric: Annotated[list[str] | None, typer.Option(help="only these metrics (default: all of the run's)")] = None,
) -> None:
    """Freeze a calibration set: images, instruction, scores, what served them, each judge's config and prompt hash."""
    from mirabench.run.calibration import calibrate as freeze

    path = freeze(run_dir, out_dir, n, seed, metric or ())
    record = json.loads(path.read_text(encoding="utf-8"))
    n, cols = len(record["samples"]), ", ".join(record["columns"])
    err.print(escape(f"calibration set of {n} samples, columns {cols}: {path}"))


@judges_app.command()
def drift(
    calib: Annotated[Path, typer.Argument(help="a calibration folder (judges calibrate)")],
    alpha: Annotated[float, typer.Option(help="level of the paired test")] = 0.05,
    tolerance: Annotated[float, typer.Option(help="shifts up to this size (score units) never fail")] = 0.0,
    record_in: Annotated[list[Path] | None, typer.Option(help="runs whose report should show this check")] = None,
    set_: Sets = None,
) -> None:
    """Judge the calibration set again now; per column the shift now minus then, its CI and p. Exits 1 on drift."""
    from mirabench.run.calibration import check_drift, record_in_run

    result = check_drift(calib, _metric_sets(set_), alpha, tolerance)
    table = Table("column", "shift", "95% CI", "p", "n", "verdict", "served then -> now")
    for col, c in result["columns"].items():
        ci = f"[{c['ci95'][0]:+.3f}, {c['ci95'][1]:+.3f}]" if c.get("ci95") else "–"
        verdict = "DRIFTED" if c.get("drifted") else ("no drift" if c.get("n") else "nothing compared")
        served = f"{', '.join(c['served_then']) or '–'} -> {', '.join(c['served_now']) or '–'}"
        served += " (CHANGED)" if c["served_changed"] else ""
        shift = "–" if c.get("shift") is None else f"{c['shift']:+.3f}"
        p = "–" if c.get("p") is None else f"{c['p']:.3g}"
        table.add_row(col, shift, ci, p, str(c.get("n", 0)), verdict, served)
    out.print(table)
    for name, m in result["metrics"].items():
        if m["prompt_changed"]:
            err.print(f"[yellow]{escape(name)}: its prompt hash differs from the calibration set's[/yellow]")
    for run_dir in record_in or []:
        record_in_run(run_dir, result)
        refresh(run_dir)
    err.print(escape(f"drift check written to {Path(calib) / 'drift.json'}: {'PASS' if result['passed'] else 'FAIL'}"))
    if not result["passed"]:
        raise typer.Exit(1)


@judges_app.command()
def human(
    ratings: Annotated[Path, typer.Argument(help="long CSV: rater,sample_id,system,criterion,score")],
    runs: Annotated[list[str], typer.Argument(help="run directories, one per rated system (NAME=DIR names one)")],
    record: Annotated[bool, typer.Option(help="keep the result in each run's report")] = True,
) -> None:
    """Inter-rater alpha per criterion and judge-vs-human agreement (sample and system level) with CIs."""
    from mirabench.reliability.human import read_ratings
    from mirabench.reports.judges import human_agreement, record_in_runs
    from mirabench.reports.leaderboard import load_run

    loaded, names = [], []
    for arg in runs:  # the ratings name a system by its run's label, or by the NAME its study gave it
        name, sep, folder = arg.partition("=")
        named = bool(sep) and not Path(arg).exists()
        run = load_run(Path(folder if named else arg))
        loaded.append(run)
        names.append(name if named else run.label)
    result = human_agreement(read_ratings(ratings), loaded, names)
    table = Table("criterion", "raters", "units", "raters' alpha [95% CI]")
    for crit, c in result["criteria"].items():
        table.add_row(crit, str(c["raters"]), str(c["units"]), _est(c["alpha"]))
    out.print(table)
    table = Table("judge column", "criterion", "sample Spearman", "sample Kendall", "system Kendall", "pairwise acc.")
    for col, c in result["columns"].items():
        table.add_row(
            col,
            c["criterion"],
            _est(c["sample"]["spearman"]),
            _est(c["sample"]["kendall"]),
            _tau(c["system"]["kendall"]),
            _est(c["pairwise_accuracy"]),
        )
    out.print(table)
    if result["unmatched_systems"]:
        err.print(
            f"[yellow]systems matching no run, left out: {escape(', '.join(result['unmatched_systems']))}[/yellow]"
        )
    if record:
        record_in_runs(result, loaded)
        for r in loaded:
            refresh(r.path)
