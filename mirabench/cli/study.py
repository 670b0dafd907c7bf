"""CLI blocks for data building, imports and studies (mounted by mirabench/cli/root.py as `data`, `import`, `study`).

Heavy modules (pandas, pyarrow, the runner) are imported inside the commands so `mirabench list` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mirabench.cli.common import HELP_SETTINGS, console, escape, spec_from_flags
from mirabench.cli.run import print_plan

__all__ = ["data_app", "import_run", "study_app"]

data_app = typer.Typer(
    no_args_is_help=True, help="Build benchmark files and export runs in upstream layouts.", **HELP_SETTINGS
)
study_app = typer.Typer(
    no_args_is_help=True,
    help="Paper studies: the main grid, step budget (Table B), termination (Table C), single step (Table A) "
    "and the user study (Table D).",
    **HELP_SETTINGS,
)

SetOpt = Annotated[list[str] | None, typer.Option("--set", help="key=value, e.g. suite.root=DIR")]
OutOpt = Annotated[Path, typer.Option(help="study folder (run directories go to OUT/runs/)")]
DryRunOpt = Annotated[bool, typer.Option(help="print what the study's runs would cost and run nothing")]


@data_app.command("build-mira500")
def build_mira500(
    out: Annotated[Path, typer.Option(help="output folder (mira500.jsonl + images/)")],
    magicbrush: Annotated[Path | None, typer.Option(help="local MagicBrush copy (Hub dataset or test zip)")] = None,
    compbench: Annotated[Path | None, typer.Option(help="local CompBench copy (Hub dataset)")] = None,
    n: Annotated[int, typer.Option(help="number of samples")] = 500,
    seed: Annotated[int, typer.Option(help="sampling seed")] = 0,
    permuted: Annotated[float, typer.Option(help="fraction of samples whose clauses are shuffled")] = 0.5,
    min_turns: Annotated[int, typer.Option(help="minimum turns (sub-instructions) per session")] = 2,
    compbench_share: Annotated[float | None, typer.Option(help="fraction from CompBench (default: pool share)")] = None,
) -> None:
    """Build the mira500 JSONL from local MagicBrush / CompBench copies (seeded, in-order + permuted)."""
    from mirabench.data.mira500 import build_mira500 as build

    report = build(
        out,
        magicbrush=magicbrush,
        compbench=compbench,
        n=n,
        seed=seed,
        permuted=permuted,
        min_turns=min_turns,
        compbench_share=compbench_share,
    )
    console.print(escape(f"wrote {report.n} samples to {report.path} (pool {report.pool}; {report.counts})"))
    if report.n < n:
        console.print(f"[yellow]only {report.n} eligible sessions, fewer than the {n} asked for[/yellow]")


@data_app.command("export")
def export(
    run_dir: Annotated[Path, typer.Argument(help="a run directory")],
    out: Annotated[Path, typer.Option(help="folder to write the suite's upstream layout into")],
    with_sources: Annotated[bool, typer.Option(help="also write <key>_SRCIMG.png (GEdit's layout)")] = False,
) -> None:
    """Write a run's final images where the suite's own scripts expect them (e.g. ImgEdit `<key>.png`)."""
    from mirabench.run.importer import export_upstream

    written, without = export_upstream(run_dir, out, with_sources=with_sources)
    console.print(escape(f"wrote {written} images to {out}"))
    if without:
        console.print(f"[yellow]{len(without)} samples have no final image:[/yellow] {escape(', '.join(without[:20]))}")


@data_app.command("get-prompts")
def get_prompts(
    out: Annotated[Path | None, typer.Option(help="folder (default: the mirabench cache folder's prompts/)")] = None,
    base_url: Annotated[
        str, typer.Option(help="raw-file host serving REPO/COMMIT/PATH")
    ] = "https://raw.githubusercontent.com",
) -> None:
    """Download the pinned upstream prompt files (VIEScore as GEdit-Bench ships it, ImgEdit's rubrics) by commit
    and check their sha256; judges then read them at run time."""
    from mirabench.judge.prompt_files import PINNED, download

    for path in download(PINNED, out, base_url):
        console.print(escape(f"verified and wrote {path}"))


def import_run(
    suite: Annotated[str, typer.Option(help="suite whose upstream output layout the images follow")],
    images: Annotated[Path, typer.Option(help="folder of edited images (e.g. ImgEdit <key>.png)")],
    out: Annotated[Path, typer.Option(help="new run directory")],
    set_: SetOpt = None,
    label: Annotated[str | None, typer.Option(help="system name for reports (default: the folder name)")] = None,
    limit: Annotated[int | None, typer.Option(help="only the first N samples")] = None,
) -> None:
    """Turn edited images produced elsewhere into a run directory (then `mirabench score RUN --metrics ...`)."""
    from mirabench.run.importer import import_images
    from mirabench.spec import apply_sets

    options = apply_sets({}, set_ or []).get("suite_options", {})
    result = import_images(suite, images, out, suite_options=options, label=label, limit=limit)
    con = console
    con.print(escape(f"imported {result.imported} images into {out}"))
    for what, items in (("missing", result.missing), ("extra (no such sample)", result.extra)):
        if items:
            more = " ..." if len(items) > 20 else ""
            con.print(f"[yellow]{len(items)} {what}:[/yellow] {escape(', '.join(items[:20]))}{more}")
    for sid, why in list(result.failed.items())[:20]:
        con.print(f"  [yellow]failed[/yellow] {escape(f'{sid}: {why}')}")


@study_app.command("main")
def main_study(
    config: Annotated[Path, typer.Argument(help="grid YAML (suite, metrics, agents, editors, ...)")],
    out: OutOpt = Path("runs/study-main"),
    no_cache: Annotated[bool, typer.Option(help="do not use the global cache")] = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Every editor alone and with each agent: one run per cell, one table and one report."""
    from mirabench.reports.paper_tables import markdown
    from mirabench.studies.grid import load_grid, plan_grid, run_grid

    if dry_run:
        planned, skipped = plan_grid(load_grid(config), out)
        print_plan(planned, use_cache=not no_cache)
        for name, why in skipped.items():
            console.print(f"[yellow]skipped[/yellow] {escape(f'{name}: {why}')}")
        return
    result = run_grid(load_grid(config), out, use_cache=not no_cache)
    typer.echo(markdown(result.table))
    for name, why in result.skipped.items():
        console.print(f"[yellow]skipped[/yellow] {escape(f'{name}: {why}')}")
    console.print(escape(f"tables and report in {out.resolve()}"))


@study_app.command("step-budget")
@study_app.command("termination")
def budget_study(
    ctx: typer.Context,
    budgets: Annotated[str, typer.Option(help="comma-separated budgets")] = "3,4,5,6,7",
    independent: Annotated[bool, typer.Option(help="run every budget separately instead of cutting one run")] = False,
    suite: Annotated[str | None, typer.Option()] = None,
    agent: Annotated[str | None, typer.Option()] = None,
    editor: Annotated[str | None, typer.Option()] = None,
    metrics: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int | None, typer.Option()] = None,
    seed: Annotated[int | None, typer.Option()] = None,
    config: Annotated[Path | None, typer.Option(help="run YAML (RunSpec fields)")] = None,
    set_: SetOpt = None,
    out: OutOpt = Path("runs/study-step-budget"),
    no_cache: Annotated[bool, typer.Option(help="do not use the global cache")] = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Table B (`step-budget`: results at each budget) or C (`termination`: actual steps and stop reasons per
    budget), both from ONE run at the largest budget, each trajectory cut at k."""
    from mirabench.reports.paper_tables import markdown
    from mirabench.studies.budget import plan_budgets, step_budget

    flags = {"suite": suite, "agent": agent, "editor": editor, "metrics": metrics, "limit": limit, "seed": seed}
    spec = spec_from_flags(config, set_ or [], flags)
    ks = [int(b) for b in budgets.split(",") if b.strip()]
    if dry_run:
        print_plan(plan_budgets(spec, ks, out, independent=independent), use_cache=not no_cache)
        return
    study = step_budget(spec, ks, out, independent=independent, use_cache=not no_cache)
    typer.echo(markdown(study.table_c if ctx.info_name == "termination" else study.table_b))
    d, i = study.derived_cost, study.independent_cost
    console.print(
        f"{study.mode}: made agent {study.made.agent}, editor {study.made.editor}, judge {study.made.judge} calls "
        f"in {study.wall_s:.1f} s; derived needs editor {d.editor} / judge {d.judge}, independent editor {i.editor} / "
        f"judge {i.judge}: the derived way saves {i.editor - d.editor} editor and {i.judge - d.judge} judge calls"
    )
    console.print(escape(f"tables and report in {out.resolve()}"))


@study_app.command("single-step")
def single_step_study(
    agent: Annotated[str, typer.Option(help="the agent used as instruction refiner")],
    column: Annotated[str, typer.Option(help="metric column to tabulate per category")],
    overall: Annotated[str, typer.Option(help="unweighted (ImgEdit) or weighted (MIRA Table A)")] = "unweighted",
    suite: Annotated[str | None, typer.Option()] = None,
    editor: Annotated[str | None, typer.Option()] = None,
    metrics: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int | None, typer.Option()] = None,
    config: Annotated[Path | None, typer.Option(help="run YAML (RunSpec fields)")] = None,
    set_: SetOpt = None,
    out: OutOpt = Path("runs/study-single-step"),
    dry_run: DryRunOpt = False,
) -> None:
    """Table A: per-category scores of the editor alone and with an agent, with relative change in percent."""
    from mirabench.reports.paper_tables import markdown
    from mirabench.studies.single_step import plan_single_step, single_step

    if overall not in ("weighted", "unweighted"):
        raise ValueError(f"--overall must be weighted or unweighted, got {overall!r}")
    spec = spec_from_flags(config, set_ or [], {"suite": suite, "editor": editor, "metrics": metrics, "limit": limit})
    if dry_run:
        print_plan(plan_single_step(spec, agent, out), use_cache=True)
        return
    names = None
    if spec.suite == "imgedit":
        from mirabench.suites.imgedit import COLUMN_NAMES

        names = COLUMN_NAMES
    study = single_step(spec, agent, column, out, how=overall, category_names=names)  # type: ignore[arg-type]
    typer.echo(markdown(study.table))
    console.print(escape(f"tables and report in {out.resolve()}"))


@study_app.command("user-export")
def user_export(
    runs: Annotated[list[Path], typer.Argument(help="run directories, one per system")],
    out: OutOpt = Path("runs/user-study"),
    n: Annotated[int, typer.Option(help="number of samples to rate")] = 50,
    seed: Annotated[int, typer.Option(help="sampling and shuffling seed")] = 0,
) -> None:
    """Table D, step 1: a blind, randomized rating sheet (OUT/sheet/: HTML form + CSV); the key stays in OUT."""
    from mirabench.studies.user_study import export_sheet

    counts = export_sheet(runs, out, n=n, seed=seed)
    console.print(
        f"{counts['items']} items x {counts['systems']} systems ({counts['common_samples']} samples common to all "
        f"runs); send {escape(str(out / 'sheet'))} to raters, keep {escape(str(out / 'key.json'))}"
    )


@study_app.command("user-import")
def user_import(
    sheets: Annotated[list[Path], typer.Argument(help="filled sheet CSVs")],
    key: Annotated[Path, typer.Option(help="key.json written by user-export")],
    out: Annotated[Path, typer.Option(help="table path without suffix (writes .csv/.md/.json)")] = Path("table_d"),
) -> None:
    """Table D, step 2: aggregate filled sheets into mean 0-10 ratings per system and criterion."""
    from mirabench.reports.paper_tables import markdown
    from mirabench.studies.user_study import aggregate_sheets

    typer.echo(markdown(aggregate_sheets(sheets, key, out), decimals=2))
