"""`mirabench serve-editor`: any registered editor behind the HTTP editor protocol."""

from __future__ import annotations

from typing import Annotated

import typer

from mirabench.cli.common import console, escape
from mirabench.spec import apply_sets


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
