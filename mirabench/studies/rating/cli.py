"""`mirabench rate`: create a rating study from runs, serve it to raters, and write Table D from the ratings.

`mirabench rate RUN... --out STUDY/` is the creation command itself (no sub-command word needed); `serve` and
`results` are sub-commands. A run folder literally named "serve" or "results" can be created with `rate create`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

__all__ = ["rate_app"]


class _CreateByDefault(TyperGroup):
    """Arguments that do not start with a sub-command name go to `create`."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # typer's own (vendored) click Context
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["create", *args]
        return super().parse_args(ctx, args)


rate_app = typer.Typer(
    cls=_CreateByDefault,
    no_args_is_help=True,
    help="Table D in the browser: `rate RUN... --out STUDY`, then `rate serve STUDY`, then `rate results STUDY`.",
)


def _links(study: Any, host: str, port: int) -> list[str]:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    base = f"http://{shown}:{port}"
    lines = [f"{r['id']}: {base}/r/{r['token']}" for r in study.raters]
    lines.append(f"results (keep private): {base}/admin/{study.plan['admin_token']}")
    return lines


@rate_app.command("create")
def create(
    runs: Annotated[list[str], typer.Argument(help="run directories, one per system (NAME=DIR names one)")],
    out: Annotated[Path, typer.Option(help="study folder to create")],
    samples: Annotated[int, typer.Option(help="samples to rate (drawn from those every run finished)")] = 50,
    raters: Annotated[int, typer.Option(help="number of rater links")] = 10,
    seed: Annotated[int, typer.Option(help="seed of the sample choice and of every order")] = 0,
    layout: Annotated[str, typer.Option(help="side_by_side or one_at_a_time")] = "side_by_side",
    group: Annotated[list[str] | None, typer.Option(help="SYSTEM=GROUP to override a row group (repeatable)")] = None,
) -> None:
    """Create a blinded study: seeded samples, per-rater item and slot orders, one secret link per rater."""
    from mirabench.studies.rating.study import create_study

    groups = dict(g.split("=", 1) for g in group or [])
    study = create_study(runs, out, samples=samples, raters=raters, seed=seed, layout=layout, groups=groups)  # type: ignore[arg-type]
    typer.echo(f"study of {len(study.items)} samples x {len(study.systems)} systems in {out}")
    typer.echo(f"serve it with: mirabench rate serve {out}   (links for the default 127.0.0.1:8021)")
    for line in _links(study, "127.0.0.1", 8021):
        typer.echo("  " + line)


@rate_app.command("serve")
def serve(
    study_dir: Annotated[Path, typer.Argument(help="study folder made by `mirabench rate`")],
    host: Annotated[str, typer.Option(help="interface to listen on (0.0.0.0 shares it on the LAN)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8021,
) -> None:
    """Serve the study's rating pages (ratings go to STUDY/ratings.sqlite as they are given); --port 0 picks a free
    port. The links are printed once the port is listening."""
    import socket

    import uvicorn

    from mirabench.studies.rating.app import build_app
    from mirabench.studies.rating.study import load_study

    study = load_study(study_dir)
    app = build_app(study_dir)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ValueError(f"cannot listen on {host}:{port} ({exc.strerror}); try another --port") from None
    sock.listen(128)  # connections from here on wait in the backlog until the server accepts them
    for line in _links(study, host, sock.getsockname()[1]):
        typer.echo(line)
    sys.stdout.flush()
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])


@rate_app.command("results")
def results(
    study_dir: Annotated[Path, typer.Argument(help="study folder")],
    out: Annotated[Path | None, typer.Option(help="output folder (default STUDY/results)")] = None,
    sheets: Annotated[list[Path] | None, typer.Option("--sheet", help="filled offline CSV sheet (repeatable)")] = None,
    key: Annotated[Path | None, typer.Option(help="key.json of the sheets (`study user-export`)")] = None,
    ratings: Annotated[list[Path] | None, typer.Option(help="more ratings in the long CSV format (repeatable)")] = None,
) -> None:
    """Table D with bootstrap CIs, Krippendorff's alpha, rater time, and ratings.csv for judge-vs-human analysis."""
    import pandas as pd

    from mirabench.studies.rating.results import read_long, summary_markdown, write_results
    from mirabench.studies.rating.study import load_study
    from mirabench.studies.user_study import sheet_ratings

    extra = [read_long(p) for p in ratings or []]
    if sheets:
        if key is None:
            raise typer.BadParameter("--sheet needs --key (the key.json written by `study user-export`)")
        extra.append(sheet_ratings(sheets, key))
    study = load_study(study_dir)
    more = pd.concat(extra, ignore_index=True) if extra else None
    paths, computed = write_results(study, out, more)
    typer.echo(summary_markdown(computed))
    typer.echo(f"wrote {paths['summary'].parent}/ (table_d, agreement, rater_time, ratings.csv, index.html)")
