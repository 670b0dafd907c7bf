"""The domain model every part of mirabench speaks: samples, actions, steps, trajectories and scores.

These are plain frozen dataclasses (no torch, no pydantic) so that plugins, the scheduler and the store can pass
them around cheaply and a third-party plugin needs nothing but this module to be written.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from PIL import Image

__all__ = [
    "Action",
    "AgentState",
    "Edit",
    "EditRequest",
    "Sample",
    "Score",
    "ScoreStatus",
    "Step",
    "Stop",
    "StopReason",
    "Trajectory",
]


@dataclass(frozen=True)
class Sample:
    """One benchmark item: a source image and the complex instruction to carry out on it.

    `image` is a path (preferred: suites stay lazy), a zero-argument callable returning a PIL image (generated
    suites: e.g. `functools.partial(render, scene, size)`, so nothing is rendered before the sample goes live and
    a 500-sample suite of 1024px images costs no memory up front), or an already decoded PIL image (small
    suites, tests). Read it with `mirabench.images.source_image(sample)`, which handles all three.
    `atomic` holds the suite's own decomposition when it has one; agents must not rely on it.
    `extra` carries suite-specific ground truth (e.g. the target scene of the `shapes` world).
    """

    id: str
    instruction: str
    image: Path | Image.Image | Callable[[], Image.Image]
    suite: str = ""
    category: str = ""
    atomic: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Edit:
    """Ask the editor for one edit: an atomic instruction (cumulative) or a refined full one (refine)."""

    instruction: str
    critique: dict[str, float] | None = None
    raw: str = ""


@dataclass(frozen=True)
class Stop:
    """End the trajectory. `reason` is free text from the agent; `error` marks an agent failure."""

    reason: str = ""
    critique: dict[str, float] | None = None
    raw: str = ""
    error: bool = False


Action = Edit | Stop


class StopReason(str, enum.Enum):
    """Why a trajectory ended: the agent said stop, the step budget ran out, or something failed."""

    AGENT = "agent"
    BUDGET = "budget"
    ERROR = "error"


@dataclass(frozen=True)
class Step:
    """One recorded step: what the agent said, what the editor made of it, and how long each took."""

    index: int
    action: Action
    image: str | None
    seed: int
    agent_ms: float = 0.0
    editor_ms: float = 0.0
    error: str | None = None

    @property
    def kind(self) -> Literal["edit", "stop"]:
        return "edit" if isinstance(self.action, Edit) else "stop"


@dataclass(frozen=True)
class AgentState:
    """What an agent sees at one step: I0, I_{t-1}, the complex instruction C, and its own history."""

    sample: Sample
    source: Image.Image
    latest: Image.Image
    step: int
    history: tuple[Step, ...] = ()

    @property
    def last_instruction(self) -> str | None:
        for step in reversed(self.history):
            if isinstance(step.action, Edit):
                return step.action.instruction
        return None


@dataclass(frozen=True)
class EditRequest:
    """One editor call: the image to edit, the instruction and the deterministic seed of (sample, step)."""

    image: Image.Image
    instruction: str
    seed: int
    sample_id: str = ""


@dataclass
class Trajectory:
    """A sample's whole run: its steps, why it stopped and which image is its final output."""

    sample_id: str
    steps: list[Step] = field(default_factory=list)
    stop_reason: StopReason | None = None
    error: str | None = None

    @property
    def final_image(self) -> str | None:
        """The last edited image, or None when no edit happened (the source image is the output)."""
        for step in reversed(self.steps):
            if step.image is not None:
                return step.image
        return None

    @property
    def n_edits(self) -> int:
        return sum(1 for s in self.steps if isinstance(s.action, Edit) and s.image is not None)

    def cut(self, max_steps: int) -> Trajectory:
        """The trajectory this sample would have had under a smaller step budget.

        Agents never see their budget, so the run at Max=k is exactly this run's steps up to its k-th edit; if
        anything followed (another edit, or the agent's stop), a Max=k run would have stopped for `budget` there
        without asking the agent again.
        """
        edits = 0
        for i, step in enumerate(self.steps):
            if isinstance(step.action, Edit):
                edits += 1
                if edits == max_steps:
                    if i + 1 == len(self.steps):
                        return self
                    return Trajectory(self.sample_id, self.steps[: i + 1], StopReason.BUDGET, None)
        return self


class ScoreStatus(str, enum.Enum):
    """Outcome of one judgement. Only `ok` carries a value; everything else is counted, never zero-filled.

    `error` is a backend that raised (a local model crashed); `api_error` a remote call that failed.
    """

    OK = "ok"
    PARSE_ERROR = "parse_error"
    API_ERROR = "api_error"
    REFUSED = "refused"
    SKIPPED = "skipped"
    ERROR = "error"


@dataclass(frozen=True)
class Score:
    """A metric value or None with the reason it is missing, plus the raw judge text for auditing."""

    value: float | None
    status: ScoreStatus = ScoreStatus.OK
    raw: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status is ScoreStatus.OK:
            if self.value is None or not math.isfinite(self.value):
                raise ValueError(f"an ok Score needs a finite value, got {self.value!r}")
        elif self.value is not None:
            raise ValueError(f"a {self.status.value} Score must not carry a value")

    @classmethod
    def ok(cls, value: float, raw: str = "", **detail: Any) -> Score:
        return cls(float(value), ScoreStatus.OK, raw, dict(detail))

    @classmethod
    def failed(cls, status: ScoreStatus, raw: str = "", **detail: Any) -> Score:
        return cls(None, status, raw, dict(detail))
