"""`mirabench run`, `score`, `estimate`, `demo`: make a run directory, add scores to it, price it first."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from mirabench.cli.common import console, escape, print_summary, spec_from_flags, stdout_console
from mirabench.cli.progress import interruptible, tracking
from mirabench.spec import apply_sets


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
    dry_run: Annotated[
        bool, typer.Option(help="print what the run would cost (as `estimate`) and run nothing")
    ] = False,
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
    if dry_run:
        print_estimate(spec, out, use_cache=not no_cache)
        return
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
        print_summary(result.summary, result.run_dir)
    console.print(
        f"calls: agent {result.stats.agent_calls}, editor {result.stats.editor_calls} "
        f"(+{result.stats.editor_cache_hits} cached), judgements {result.judgements}"
    )
    if result.summary:
        _require_scores(result.summary, result.run_dir)


def score(
    run_dir: Annotated[Path, typer.Argument(help="a run directory")],
    metrics: Annotated[str, typer.Option(help="comma-separated metrics to add")] = "",
    set_: Annotated[list[str] | None, typer.Option("--set", help="metric options, e.g. metrics.NAME.key=v")] = None,
    budget_curve: Annotated[bool | None, typer.Option(help="also score every budget")] = None,
    retry_failed: Annotated[bool, typer.Option(help="ask again where a judgement ended in an API error")] = False,
    dry_run: Annotated[bool, typer.Option(help="print what scoring would cost and judge nothing")] = False,
) -> None:
    """Score a run's saved images with (more) metrics; never runs an agent or editor."""
    from mirabench.run.runner import score_run

    sets = apply_sets({}, set_ or []).get("metric_options", {})
    names = [m for m in metrics.split(",") if m]
    if dry_run:
        from mirabench.judge.prices import load_prices
        from mirabench.run.estimate import estimate as plan
        from mirabench.run.runner import read_run, score_spec

        spec = score_spec(read_run(run_dir), names, sets, budget_curve)
        lines = plan(spec, run_dir, prices=load_prices(None), edit=False, retry_failed=retry_failed)
        print_lines([("", lines)])
        return
    with tracking() as update, interruptible(update):
        result = score_run(run_dir, names, sets, budget_curve, update, retry_failed)
    _print_replaced(result.replaced)
    print_summary(result.summary, result.run_dir)
    _require_scores(result.summary, result.run_dir)


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
    flags = {"suite": suite, "agent": agent, "editor": editor, "metrics": metrics, "max_steps": max_steps}
    flags |= {"limit": limit, "seed": seed, "budget_curve": budget_curve or None}
    spec = spec_from_flags(config, set_ or [], flags)
    print_estimate(spec, out, use_cache=not no_cache, prices=prices)


def print_estimate(spec: Any, out: Path | None, *, use_cache: bool, prices: Path | None = None) -> None:
    """The estimate table of `estimate` and `run --dry-run`: what the run would still cost."""
    from mirabench.run.estimate import Planned
    from mirabench.run.runner import default_run_dir

    print_plan([Planned("", spec, out or default_run_dir(spec))], use_cache=use_cache, prices=prices)


def print_plan(plan: Sequence[Any], *, use_cache: bool, prices: Path | None = None) -> None:
    """The estimate table of the runs a command (a run, a study) would make: what they would still cost."""
    from mirabench.judge.prices import load_prices
    from mirabench.run.estimate import estimate_plan

    print_lines(estimate_plan(plan, use_cache=use_cache, prices=load_prices(prices)))


def print_lines(runs: Sequence[tuple[str, Sequence[Any]]]) -> None:
    """One row per role (per run, when there are several), then the total spend."""
    from mirabench.judge.prices import AS_OF

    several = len(runs) > 1
    columns = ["role", "plugin", "model", "calls", "tokens in", "tokens out", "USD", "time"]
    table = Table(*(["run"] if several else []), *columns)
    total: float | None = None
    for name, lines in runs:
        for line in lines:
            calls = f"{'' if line.exact else '<= '}{line.calls}"
            usd = "-" if not line.api else (f"{line.usd or 0:.2f}" if line.usd or not line.calls else "unknown price")
            if line.usd is not None:
                total = (total or 0.0) + line.usd
            tokens = (f"{line.tokens_in:,}", f"{line.tokens_out:,}") if line.api else ("-", "-")
            when = f"{line.seconds:.0f} s" if line.seconds is not None else "-"
            cells = [line.role, line.plugin, line.model or "-", calls, *tokens, usd, when]
            table.add_row(*([name] if several else []), *cells)
    stdout_console.print(table)
    spend = f"{total:.2f} USD" if total is not None else "no priced API calls"
    where = f" over {len(runs)} runs" if several else ""
    console.print(escape(f"estimated spend{where} {spend} (prices as of {AS_OF}, or --prices / the plugins' own)"))


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


def _print_replaced(replaced: dict[str, int]) -> None:
    for name, n in replaced.items():
        changed = f"{name}: its options, version or prompts changed since its {n} scores were made; judged again"
        console.print(escape(changed))


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
