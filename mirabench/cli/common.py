"""What every command group shares: the stderr console and the one way flags, --config and --set become a RunSpec."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from mirabench.spec import RunSpec, apply_sets, build_spec, load_spec

__all__ = ["console", "spec_from_flags"]

console = Console(stderr=True)


def spec_from_flags(config: Path | None, sets: list[str], flags: dict[str, Any]) -> RunSpec:
    """--config FILE, then explicit flags, then --set key=value (later wins)."""
    data = load_spec(config) if config else {}
    data.update({k: v for k, v in flags.items() if v is not None})
    return build_spec(apply_sets(data, sets))
