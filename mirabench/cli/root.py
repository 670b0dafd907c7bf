"""The `mirabench` command line (typer + rich). Errors meant for users print one clear line, no traceback."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from mirabench.cli import plugins, report, run, serve, status
from mirabench.cli.common import HELP_SETTINGS, console, escape
from mirabench.cli.judges import judges_app
from mirabench.cli.progress import Interrupted
from mirabench.cli.study import data_app, import_run, study_app
from mirabench.cli.train import build_mira_editing, train_app
from mirabench.registry import PLUGINS_ENV, PluginError, load_plugin_files
from mirabench.spec import SpecError
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
app.command("list")(plugins.list_plugins)
app.command("run")(run.run)
app.command("score")(run.score)
app.command("estimate")(run.estimate)
app.command("demo")(run.demo)
app.command("report")(report.report)
app.command("compare")(report.compare)
app.command("merge")(status.merge)
app.command("status")(status.status)
app.command("serve-editor")(serve.serve_editor)


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
