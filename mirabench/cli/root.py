"""The `mirabench` command line (typer + rich). Errors meant for users print one clear line, no traceback."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from mirabench.cli.common import HELP_SETTINGS, console, escape, spec_from_flags, stdout_console
from mirabench.cli.judges import judges_app
from mirabench.cli.progress import Interrupted, interruptible, tracking
from mirabench.cli.study import data_app, import_run, study_app
from mirabench.cli.train import build_mira_editing, train_app
from mirabench.registry import PLUGINS_ENV, PluginError, all_infos, load_plugin_files, registry_for
from mirabench.spec import SpecError, apply_sets
from mirabench.studies.rating.cli import rate_app

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Benchmark iterative image-editing agents. `--plugin FILE.py` (repeatable) loads one-file plugins.",
    **HELP_SETTINGS,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"mirabench {version('mirabench')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", is_eager=True, callback=_version, help="print the version and exit")
    ] = False,
) -> None:
    """Benchmark iterative image-editing agents. `--plugin FILE.py` (repeatable) loads one-file plugins."""


# ShardError is a ValueError; a path that is a file where a folder belongs (or the reverse) is the user's too
USER_ERRORS = (PluginError, SpecError, FileNotFoundError, FileExistsError, NotADirectoryError, ValueError)
app.add_typer(data_app, name="data")
app.add_typer(study_app, name="study")
app.command("import")(import_run)
app.add_typer(train_app, name="train")
app.add_typer(rate_app, name="rate")
app.add_typer(judges_app, name="judges")
data_app.command("build-mira-editing")(build_mira_editing)


@app.command("list")
def list_plugins(
    kind: Annotated[str | None, typer.Argument(help="agents, editors, metrics or suites (default: all)")] = None,
    name: Annotated[str | None, typer.Argument(help="one plugin: also its options (name, type, default)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """List registered plugins, what they need and whether they can run here; with NAME, its options."""
    registry = registry_for(kind) if kind else None
    infos = [registry.info(name)] if registry and name else (registry.infos() if registry else all_infos())
    options = {i.name: _options_of(i) for i in infos} if as_json or name else {}
    if as_json:
        rows = [
            {
                "name": i.name,
                "kind": i.kind,
                "description": i.description,
                "version": i.version,
                "source": i.source,
                "available": i.available,
                "status": i.status,
                "planned": i.planned or None,
                "needs": {
                    "extra": i.needs.extra,
                    "env": list(i.needs.env),
                    "modules": list(i.needs.modules),
                    "weights": i.needs.weights,
                    "data": i.needs.data,
                },
                "options": options[i.name],
            }
            for i in infos
        ]
        typer.echo(json.dumps(rows[0] if name else rows, indent=2))
        return
    table = Table("kind", "name", "status", "needs", "description")
    for i in infos:
        table.add_row(i.kind, i.name, i.status, i.needs.describe(), i.description)
    stdout_console.print(table)
    if name:
        found = options[name]
        if isinstance(found, str):
            stdout_console.print(found)
            return
        opts = Table("option", "type", "default", "description", title=f"--set {infos[0].kind}.OPTION=VALUE")
        for o in found:
            opts.add_row(o["name"], o["type"], json.dumps(o["default"]), o["description"])
        stdout_console.print(opts)


def _options_of(info: Any) -> list[dict[str, Any]] | str:
    """A plugin's options, or why they cannot be read here (a lazy module that does not import)."""
    from mirabench.registry import describe_options

    try:
        model = registry_for(info.kind).options_model(info.name)
    except PluginError as exc:
        return f"options unavailable here: {exc}"
    return describe_options(model) if model is not None else "planned: no options yet"


@app.command()
def run(
    suite: Annotated[str | None, typer.Option(help="benchmark suite (default mira500)")] = None,
    agent: Annotated[str | None, typer.Option(help="agent plugin (default direct = editor alone)")] = None,
    editor: Annotated[str | None, typer.Option(help="editor plugin (default kontext)")] = None,
    metrics: Annotated[str | None, typer.Option(help="comma-separated metric plugins (default: the paper's)")] = None,
    max_steps: Annotated[int | None, typer.Option(help="step budget (default 5)")] = None,
    limit: Annotated[int | None, typer.Option(help="only the first N samples")] = None,
    seed: Annotated[int | None, typer.Option(help="run seed (editor seeds derive from it)")] = None,
    out: Annotated[Path | None, typer.Option(help="run directory (resumes when it holds the same config)")] = None,
    label: Annotated[str | None, typer.Option(help="name in reports (default: editor + agent)")] = None,
    config: Annotated[Path | None, typer.Option(help="YAML file with RunSpec fields")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="key=value, e.g. editor.error_rate=0.2")] = None,
    budget_curve: Annotated[bool, typer.Option(help="also score every budget 1..max_steps")] = False,
    force_new: Annotated[bool, typer.Option(help="move a run with another config aside and start afresh")] = False,
    no_cache: Annotated[bool, typer.Option(help="do not use the global cache")] = False,
    max_live: Annotated[int, typer.Option(help="samples in flight at once (bounds memory; 0 = all)")] = 256,
    max_live_mb: Annotated[
        int, typer.Option(help="decoded image MB the samples in flight may hold (bounds memory; 0 = no bound)")
    ] = 2048,
    max_pending: Annotated[
        int | None, typer.Option(help="finished samples waiting for the scorer (default 2 batches; 0 = unbounded)")
    ] = None,
    score_between_waves: Annotated[
        bool, typer.Option(help="score finished samples before the next wave (a local metric on the editor's GPU)")
    ] = False,
    shard: Annotated[
        str | None, typer.Option(help="RANK/WORLD: run one shard (default: from torchrun, accelerate or SLURM env)")
    ] = None,
    gpus_per_rank: Annotated[
        int, typer.Option(help="sharded: each rank's GPUs (its cuda:0..K-1); default one, plugins saying `cuda`")
    ] = 0,
    executor: Annotated[str, typer.Option(help="local, or ray: the shards as Ray tasks (extra [ray])")] = "local",
    shards: Annotated[int, typer.Option(help="with --executor ray: number of shards (tasks)")] = 2,
    ray_address: Annotated[str | None, typer.Option(help="Ray cluster to join (default: a local Ray)")] = None,
    gpus_per_shard: Annotated[float, typer.Option(help="with --executor ray: GPUs each shard reserves")] = 0.0,
) -> None:
    """Run an agent x editor on a suite, score it and write the run directory (resumable).

    Under torchrun / accelerate / SLURM each rank runs its own samples; the last rank to finish merges."""
    from mirabench.run.runner import run as run_spec

    if out is not None and out.exists() and not out.is_dir():
        raise FileExistsError(f"--out {out} is a file; a run directory is a folder (a new or an earlier run's)")
    from mirabench.rundir.shards import Shard, pin_local_device, shard_from_env

    spec = spec_from_flags(
        config,
        set_ or [],
        {
            "suite": suite,
            "agent": agent,
            "editor": editor,
            "metrics": metrics,
            "max_steps": max_steps,
            "limit": limit,
            "seed": seed,
            "budget_curve": budget_curve or None,
            "label": label,
        },
    )
    if executor == "ray":
        from mirabench.run.ray_executor import run_on_ray
        from mirabench.run.runner import default_run_dir

        if shard or force_new:
            raise typer.BadParameter("--executor ray makes its own shards: drop --shard/--force-new")
        result = run_on_ray(
            spec,
            out or default_run_dir(spec),
            shards=shards,
            address=ray_address,
            gpus_per_shard=gpus_per_shard,
            use_cache=not no_cache,
            max_live=max_live,
        )
    elif executor == "local":
        this_shard = Shard.parse(shard) if shard else shard_from_env()
        if this_shard is not None:
            pin_local_device(gpus_per_rank=gpus_per_rank)
        show = this_shard is None or this_shard.rank == 0  # one bar per job, not per rank
        with tracking(show) as update, interruptible(update):
            result = run_spec(
                spec,
                out,
                shard=this_shard,
                force_new=force_new,
                use_cache=not no_cache,
                max_live=max_live,
                max_live_mb=max_live_mb,
                max_pending=max_pending,
                score_between_waves=score_between_waves,
                progress=update,
            )
        if this_shard is not None and this_shard.world > 1:
            merged = "merged all shards" if result.merged else "other ranks still running; the last one merges"
            console.print(escape(f"shard {this_shard.rank}/{this_shard.world} finished: {merged}"))
    else:
        raise typer.BadParameter(f"--executor {executor!r}: choose local or ray")
    _print_replaced(result.replaced)
    if result.summary:
        _print_summary(result.summary, result.run_dir)
    console.print(
        f"calls: agent {result.stats.agent_calls}, editor {result.stats.editor_calls} "
        f"(+{result.stats.editor_cache_hits} cached), judgements {result.judgements}"
    )
    if result.summary:
        _require_scores(result.summary, result.run_dir)


@app.command()
def score(
    run_dir: Annotated[Path, typer.Argument(help="a run directory")],
    metrics: Annotated[str, typer.Option(help="comma-separated metrics to add")] = "",
    set_: Annotated[list[str] | None, typer.Option("--set", help="metric options, e.g. metrics.NAME.key=v")] = None,
    budget_curve: Annotated[bool | None, typer.Option(help="also score every budget")] = None,
    retry_failed: Annotated[bool, typer.Option(help="ask again where a judgement ended in an API error")] = False,
) -> None:
    """Score a run's saved images with (more) metrics; never runs an agent or editor."""
    from mirabench.run.runner import score_run

    sets = apply_sets({}, set_ or []).get("metric_options", {})
    with tracking() as update, interruptible(update):
        result = score_run(run_dir, [m for m in metrics.split(",") if m], sets, budget_curve, update, retry_failed)
    _print_replaced(result.replaced)
    _print_summary(result.summary, result.run_dir)
    _require_scores(result.summary, result.run_dir)


@app.command()
def estimate(
    suite: Annotated[str | None, typer.Option(help="benchmark suite (default mira500)")] = None,
    agent: Annotated[str | None, typer.Option(help="agent plugin (default direct = editor alone)")] = None,
    editor: Annotated[str | None, typer.Option(help="editor plugin (default kontext)")] = None,
    metrics: Annotated[str | None, typer.Option(help="comma-separated metric plugins (default: the paper's)")] = None,
    max_steps: Annotated[int | None, typer.Option(help="step budget (default 5)")] = None,
    limit: Annotated[int | None, typer.Option(help="only the first N samples")] = None,
    seed: Annotated[int | None, typer.Option(help="run seed (editor seeds derive from it)")] = None,
    out: Annotated[Path | None, typer.Option(help="run directory to resume (what it holds costs nothing)")] = None,
    config: Annotated[Path | None, typer.Option(help="YAML file with RunSpec fields")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="key=value, e.g. metric.max_calls=100")] = None,
    budget_curve: Annotated[bool, typer.Option(help="also score every budget 1..max_steps")] = False,
    no_cache: Annotated[bool, typer.Option(help="as `run --no-cache`: the editor cache is not used")] = False,
    prices: Annotated[
        Path | None, typer.Option(help="JSON {model: [usd_in_per_m, usd_out_per_m]} over the table")
    ] = None,
) -> None:
    """What a run would cost, before anything runs: calls, tokens and USD per agent, editor and judge."""
    from mirabench.judge.prices import AS_OF, load_prices
    from mirabench.run.estimate import estimate as plan
    from mirabench.run.runner import default_run_dir

    flags = {"suite": suite, "agent": agent, "editor": editor, "metrics": metrics, "max_steps": max_steps}
    flags |= {"limit": limit, "seed": seed, "budget_curve": budget_curve or None}
    spec = spec_from_flags(config, set_ or [], flags)
    lines = plan(spec, out or default_run_dir(spec), use_cache=not no_cache, prices=load_prices(prices))
    table = Table("role", "plugin", "model", "calls", "tokens in", "tokens out", "USD", "time")
    total: float | None = None
    for line in lines:
        calls = f"{'' if line.exact else '<= '}{line.calls}"
        usd = "-" if not line.api else (f"{line.usd or 0:.2f}" if line.usd or not line.calls else "unknown price")
        if line.usd is not None:
            total = (total or 0.0) + line.usd
        tokens = (f"{line.tokens_in:,}", f"{line.tokens_out:,}") if line.api else ("-", "-")
        when = f"{line.seconds:.0f} s" if line.seconds is not None else "-"
        table.add_row(line.role, line.plugin, line.model or "-", calls, *tokens, usd, when)
    stdout_console.print(table)
    spend = f"{total:.2f} USD" if total is not None else "no priced API calls"
    console.print(escape(f"estimated spend {spend} (prices as of {AS_OF}, or --prices / the plugins' own)"))


@app.command()
def merge(run_dir: Annotated[Path, typer.Argument(help="a sharded run directory")]) -> None:
    """Merge a sharded run's shard stores and write its outputs (idempotent; ranks do it themselves at the end)."""
    from mirabench.run.runner import merge_run

    result = merge_run(run_dir)
    _print_summary(result.summary, result.run_dir)


@app.command()
def status(run_dir: Annotated[Path, typer.Argument(help="a run directory (read only: safe while it runs)")]) -> None:
    """How far a run and each of its shards have got: samples done, failed, running, pending, steps."""
    from mirabench.rundir.status import run_state, run_status

    manifest, stores = run_status(run_dir)
    if not manifest and not stores:
        raise FileNotFoundError(f"{run_dir} is not a mirabench run (no run.json, no store)")
    shards = manifest.get("shards", {})
    console.print(
        escape(
            f"{run_dir}: {run_state(run_dir, manifest)}, config {manifest.get('config_hash', '?')}, "
            f"attempts {manifest.get('attempts', 0)}" + (f", last sharded as {shards['world']} ranks" if shards else "")
        )
    )
    table = Table("store", "done", "failed", "running", "pending", "steps", "rank finished")
    for p in stores:
        finished = "yes" if p.finished_rank else ("" if p.name == "store.sqlite" else "no")
        table.add_row(p.name, str(p.done), str(p.failed), str(p.running), str(p.pending), str(p.steps), finished)
    stdout_console.print(table)


@app.command()
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


@app.command()
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


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="folder for the demo's run directories")] = Path("runs/demo"),
    n: Annotated[int, typer.Option(help="number of shapes samples")] = 100,
) -> None:
    """Offline demo: direct vs heuristic agent on the shapes world (CPU, under a minute)."""
    from mirabench.run.demo import run_demo

    report_path, summaries = run_demo(out, n=n, progress=None)
    table = Table("system", "shapes-sc", "shapes-bg", "goals met", "mean steps", "failed")
    for name, s in summaries.items():
        m = s["metrics"]
        table.add_row(
            name,
            f"{m['shapes-sc']['mean']:.3f}",
            f"{m['shapes-bg']['mean']:.3f}",
            f"{m['shapes-goals']['mean']:.3f}",
            f"{s['mean_steps']:.2f}",
            str(s["n_failed"]),
        )
    stdout_console.print(table)
    console.print(escape(f"report: {report_path.resolve()}"))


@app.command("serve-editor")
def serve_editor(
    name: Annotated[str, typer.Argument(help="a registered editor, e.g. kontext")],
    host: Annotated[str, typer.Option(help="interface to bind (no authentication: keep it private)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port (0 = any free port)")] = 8000,
    set_: Annotated[list[str] | None, typer.Option("--set", help="editor options, e.g. editor.steps=28")] = None,
) -> None:
    """Serve a registered editor over the mirabench HTTP editor protocol (the `http` editor's other end)."""
    from mirabench.backends.http_editor import make_server
    from mirabench.registry import editors

    options = apply_sets({}, [s if s.startswith("editor.") else f"editor.{s}" for s in set_ or []])
    editor = editors.build(name, **options.get("editor_options", {}))
    server = make_server(editor, host, port)
    console.print(escape(f"serving editor {name!r} on http://{host}:{server.server_address[1]}"))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        editor.close()
        console.print(f"served {server.served} edits")


def _print_replaced(replaced: dict[str, int]) -> None:
    for name, n in replaced.items():
        changed = f"{name}: its options, version or prompts changed since its {n} scores were made; judged again"
        console.print(escape(changed))


def _print_summary(summary: dict[str, Any], run_dir: Path) -> None:
    table = Table("metric", "mean", "95% CI", "coverage")
    for key, m in summary["metrics"].items():
        ci = f"[{m['ci95'][0]:.3f}, {m['ci95'][1]:.3f}]" if m["ci95"] else "–"
        mean = f"{m['mean']:.3f}" if m["mean"] is not None else "–"
        table.add_row(key, mean, ci, f"{100 * m['coverage']:.1f}%")
    stdout_console.print(table)
    counts = f"{summary['n_done']} done, {summary['n_failed']} failed, stop reasons {summary['stop_reasons']}"
    console.print(escape(counts))
    for f in summary["failed_samples"][:10]:
        console.print("  [yellow]failed[/yellow] " + escape(f"{f['id']}: {f['error']}"))
    console.print(escape(f"run directory: {run_dir.resolve()}"))


def _require_scores(summary: dict[str, Any], run_dir: Path) -> None:
    """Exit 1 with the reasons when samples finished but no metric scored any of them (e.g. shapes metrics on a
    suite without shapes ground truth): a table of dashes and exit 0 would read as success."""
    metrics = summary.get("metrics") or {}
    if not summary.get("n_done") or not metrics or any(m.get("n_ok") for m in metrics.values()):
        return
    from contextlib import closing

    from mirabench.rundir.store import open_readonly

    reasons: dict[str, list[str]] = {}
    store = run_dir / "store.sqlite"
    if store.exists():
        with closing(open_readonly(store)) as db:
            rows = db.execute(
                "SELECT metric, status, raw, COUNT(DISTINCT sample_id) FROM scores GROUP BY 1, 2, 3 ORDER BY 1, 4 DESC"
            )
            for metric, status, raw, n in rows.fetchall():
                reasons.setdefault(metric, []).append(f"{n} {status}" + (f": {raw}" if raw else ""))
    if not reasons:
        for key, m in metrics.items():
            reasons[key] = [f"{n} {status}" for status, n in (m.get("status_counts") or {}).items()]
    why = "; ".join(f"{metric}: {', '.join(r)}" for metric, r in reasons.items())
    console.print(
        "[red]error:[/red] "
        + escape(
            f"nothing was scored: no metric has a value for any of the {summary['n_done']} finished samples "
            f"({why}). Choose metrics that fit suite {summary.get('suite')!r} (`mirabench list metrics`), then "
            f"`mirabench score {run_dir} --metrics NAME` adds them without editing again."
        )
    )
    raise typer.Exit(1)


def take_plugin_files(argv: list[str]) -> list[str]:
    """`--plugin FILE.py` (repeatable, before or after the command) imports one-file plugins; they are also put
    in $MIRABENCH_PLUGINS so worker processes (Ray, launchers) load them too. Returns argv without them."""
    files, rest, i = [], [], 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--plugin" and i + 1 < len(argv):
            files.append(argv[i + 1])
            i += 2
            continue
        if arg.startswith("--plugin="):
            files.append(arg.split("=", 1)[1])
        else:
            rest.append(arg)
        i += 1
    if files:
        absolute = [str(Path(f).expanduser().resolve()) for f in files]
        before = [f for f in os.environ.get(PLUGINS_ENV, "").split(os.pathsep) if f]
        os.environ[PLUGINS_ENV] = os.pathsep.join([*before, *absolute])
        load_plugin_files(absolute)
    return rest


def main() -> None:
    from mirabench.run.runner import RunError

    try:
        sys.argv[1:] = take_plugin_files(sys.argv[1:])
        app()
    except (RunError, *USER_ERRORS) as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        sys.exit(2)
    except Interrupted as exc:
        console.print(escape(str(exc)))
        sys.exit(128 + exc.signum)
