"""What every command group shares: the stderr console and the one way flags, --config and --set become a RunSpec.

Messages go through rich markup, so any user-supplied text (paths, names, exception messages) is passed through
`escape` first: `[weird]` in a path or a YAML caret line must print as written. Tables of user data print on
`stdout_console`, which renders cell text literally.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from mirabench.spec import RunSpec, apply_sets, build_spec, load_spec

__all__ = ["console", "escape", "spec_from_flags", "stdout_console"]

console = Console(stderr=True, soft_wrap=True)  # no hard line breaks inside paths or messages
stdout_console = Console(markup=False)
HELP_SETTINGS: dict[str, Any] = {  # help text prints as written ("(extra [ray])"); -h works like --help
    "rich_markup_mode": None,
    "context_settings": {"help_option_names": ["-h", "--help"]},
}


def spec_from_flags(config: Path | None, sets: list[str], flags: dict[str, Any]) -> RunSpec:
    """--config FILE, then explicit flags, then --set key=value (later wins)."""
    data = load_spec(config) if config else {}
    data.update({k: v for k, v in flags.items() if v is not None})
    return build_spec(apply_sets(data, sets))
