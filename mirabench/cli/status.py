"""`mirabench status` (read only, safe while a run goes on) and `merge` (a sharded run's shards)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mirabench.cli.common import console, escape, print_summary, stdout_console


def merge(run_dir: Annotated[Path, typer.Argument(help="a sharded run directory")]) -> None:
    """Merge a sharded run's shard stores and write its outputs (idempotent; ranks do it themselves at the end)."""
    from mirabench.run.runner import merge_run

    result = merge_run(run_dir)
    print_summary(result.summary, result.run_dir)


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
