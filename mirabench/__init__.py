"""mirabench: a benchmark harness for iterative reasoning agents in instruction-guided image editing.

The core import is light (no torch): plugins import their heavy libraries when they are built.
"""

from typing import TYPE_CHECKING, Any

from mirabench.plugins import Agent, Column, Editor, Metric, Needs, Options, ScoreItem, Suite
from mirabench.types import (
    Action,
    AgentState,
    Edit,
    EditRequest,
    Sample,
    Score,
    ScoreStatus,
    Step,
    Stop,
    StopReason,
    Trajectory,
)

if TYPE_CHECKING:
    from mirabench.api import evaluate, load_run, samples_df
    from mirabench.rundir.rundir import Run

__version__ = "0.1.0"

_PLUGIN_PACKAGES = ("agents", "editors", "metrics", "suites")
_API = {
    "evaluate": "mirabench.api",
    "load_run": "mirabench.api",
    "samples_df": "mirabench.api",
    "Run": "mirabench.rundir.rundir",
}


def __getattr__(name: str) -> Any:
    """Plugin packages (`mirabench.agents.register(...)`) and the Python API load on first use: `import mirabench`
    stays light (no pandas, no plugin discovery)."""
    import importlib

    if name in _PLUGIN_PACKAGES:
        return importlib.import_module(f"mirabench.{name}")
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'mirabench' has no attribute {name!r}")


__all__ = [
    "Action",
    "Agent",
    "AgentState",
    "Column",
    "Edit",
    "EditRequest",
    "Editor",
    "Metric",
    "Needs",
    "Options",
    "Run",
    "Sample",
    "Score",
    "ScoreItem",
    "ScoreStatus",
    "Step",
    "Stop",
    "StopReason",
    "Suite",
    "Trajectory",
    "agents",
    "editors",
    "evaluate",
    "load_run",
    "metrics",
    "samples_df",
    "suites",
]
