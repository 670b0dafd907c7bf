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
from rich.table import Table

from mirabench.spec import RunSpec, apply_sets, build_spec, load_spec

__all__ = ["console", "escape", "print_summary", "spec_from_flags", "stdout_console"]

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


def print_summary(summary: dict[str, Any], run_dir: Path) -> None:
    """The metric table on stdout, counts and failures on stderr."""
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
