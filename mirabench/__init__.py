"""mirabench: a benchmark harness for iterative reasoning agents in instruction-guided image editing.

The core import is light (no torch): plugins import their heavy libraries when they are built.
"""

from mirabench.plugins import Agent, Column, Editor, Metric, Options, ScoreItem, Suite
from mirabench.registry import Needs, agents, editors, metrics, suites
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

__version__ = "0.1.0"

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
    "metrics",
    "suites",
]
