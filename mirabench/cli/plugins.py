"""`mirabench list`: every plugin, what it needs, and a plugin's options."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from mirabench.cli.common import stdout_console
from mirabench.registry import PluginError, all_infos, registry_for


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
