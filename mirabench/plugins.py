"""The four plugin contracts: Agent, Editor, Metric and Suite.

A plugin is a class with a typed `Options` model (pydantic, unknown keys refused) and one job. Batched methods
default to looping over the single-item method, so a simple plugin implements only `plan`, `edit` or `score`;
a GPU backend overrides the batched method and picks its own micro-batch size.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Generic, Literal, TypeVar, cast

from PIL import Image
from pydantic import BaseModel, ConfigDict

from mirabench.types import Action, AgentState, EditRequest, Sample, Score

__all__ = ["Agent", "Column", "Editor", "Metric", "Needs", "Options", "Plugin", "ScoreItem", "Suite"]


class Options(BaseModel):
    """Base of every plugin's options: validated, frozen, and unknown keys are an error (typos never pass)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def identity(self) -> dict[str, Any]:
        """The options that determine a plugin's outputs (all of them, unless a subclass says otherwise)."""
        return self.model_dump(mode="json")


@dataclass(frozen=True)
class Needs:
    """What a plugin requires before it can be built: importable modules (from an extra), API keys, weights."""

    modules: tuple[str, ...] = ()
    extra: str = ""
    env: tuple[str | tuple[str, ...], ...] = ()  # each entry must be set; a tuple entry: any one of its names
    weights: str = ""  # default weights: a hub id, or the option that must name them ("agent.path")
    data: str = ""  # the folder under $MIRABENCH_DATA a suite reads when no path option is given

    def missing(self) -> list[str]:
        problems = []
        absent = [m for m in self.modules if importlib.util.find_spec(m) is None]
        if absent:
            hint = f"pip install 'mirabench[{self.extra}]'" if self.extra else "pip install " + " ".join(absent)
            problems.append(f"missing Python packages {', '.join(absent)} ({hint})")
        for names in self.env_names():
            if not any(os.environ.get(k) for k in names):
                problems.append("set the environment variable " + " or ".join(names))
        return problems

    def env_names(self) -> list[tuple[str, ...]]:
        """Each environment need as its alternatives: ("A", ("B", "C")) -> [("A",), ("B", "C")]."""
        return [(e,) if isinstance(e, str) else tuple(e) for e in self.env]

    def describe(self) -> str:
        parts = []
        if self.extra:
            parts.append(f"[{self.extra}]")
        parts.extend("|".join(f"${k}" for k in names) for names in self.env_names())
        if self.weights:
            parts.append(f"weights: {self.weights}")
        if self.data:
            parts.append(f"data: $MIRABENCH_DATA/{self.data}")
        return " ".join(parts)

    def status(self) -> str:
        """ "ready", or the first thing this machine lacks, in the order a user fixes them. Weights and data are
        only what the defaults point at: an option (`agent.path`, `suite.root`) can name others, so they are
        reported here but never refused by `missing()`."""
        if any(importlib.util.find_spec(m) is None for m in self.modules):
            return f"needs extra [{self.extra}]" if self.extra else "needs packages"
        unset = [names for names in self.env_names() if not any(os.environ.get(k) for k in names)]
        if unset:
            return "needs key (" + ", ".join("|".join(f"${k}" for k in names) for names in unset) + ")"
        if self.weights and not _weights_present(self.weights):
            return f"needs weights ({self.weights})"
        if self.data:
            home = os.environ.get("MIRABENCH_DATA")
            if not home or not (Path(home).expanduser() / self.data).exists():
                return f"needs data (MIRABENCH_DATA/{self.data})"
        return "ready"


def _weights_present(ref: str) -> bool:
    """A local folder, or a hub id with a snapshot in the local Hub cache; an option name ("agent.path") has no
    default to be present."""
    if "/" not in ref:
        return False
    if Path(ref).expanduser().is_dir():
        return True
    cache = os.environ.get("HF_HUB_CACHE") or os.path.join(
        os.environ.get("HF_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "huggingface"), "hub"
    )
    return (Path(cache) / f"models--{ref.replace('/', '--')}" / "snapshots").is_dir()


OptionsT = TypeVar("OptionsT", bound=Options)


class Plugin(Generic[OptionsT]):
    """Common base: a registry name, a version that enters cache keys, and validated options.

    Generic over its options model, so `class MyEditor(Editor[MyOptions])` with `Options = MyOptions` gives a
    typed `self.options`."""

    name: ClassVar[str] = ""
    version: ClassVar[str] = "0"
    Options: ClassVar[type[Options]] = Options
    options: OptionsT

    def __init__(self, **options: Any) -> None:
        self.options = cast(OptionsT, self.Options(**options))

    def identity(self) -> dict[str, Any]:
        """Everything about this plugin that determines its outputs (for config hashes and cache keys)."""
        return {"name": self.name, "version": self.version, "options": self.options.identity()}

    def run_info(self) -> dict[str, Any]:
        """What run.json should record after use: judge snapshots, prompt hashes, token and cost accounting."""
        return {}

    def close(self) -> None:
        """Release models, sessions or servers. Called once when the run ends."""


class Agent(Plugin[OptionsT]):
    """Decides the next action from (I0, I_{t-1}, C, history).

    `policy` tells the loop what an Edit means: `cumulative` (MIRA: an atomic instruction applied to the latest
    image) or `refine` (EditThinker: a refined full instruction applied to the source image).
    """

    policy: ClassVar[Literal["cumulative", "refine"]] = "cumulative"

    def plan(self, state: AgentState) -> Action:
        raise NotImplementedError(f"agent {self.name!r} implements neither plan nor plan_batch")

    def plan_batch(self, states: Sequence[AgentState]) -> list[Action]:
        return [self.plan(state) for state in states]


class Editor(Plugin[OptionsT]):
    """Executes one instruction on one image. Seeded: the same request gives the same image.

    `deterministic = False` marks editors whose outputs must not be cached (e.g. an API without seeds).
    """

    deterministic: ClassVar[bool] = True

    def edit(self, request: EditRequest) -> Image.Image:
        raise NotImplementedError(f"editor {self.name!r} implements neither edit nor edit_batch")

    def edit_batch(self, requests: Sequence[EditRequest]) -> list[Image.Image]:
        return [self.edit(request) for request in requests]


@dataclass(frozen=True)
class Column:
    """One reported number of a metric, with what a leaderboard needs to display and sort it."""

    key: str
    low: float
    high: float
    higher_is_better: bool = True
    description: str = ""


@dataclass(frozen=True)
class ScoreItem:
    """What a metric judges: the sample, its source image and the final edited image.

    `edited_file` is the edited image's own file when it was imported (a judge whose protocol sends file bytes
    sends those instead of re-encoding the decoded pixels)."""

    sample: Sample
    source: Image.Image
    edited: Image.Image
    edited_file: Path | None = None


class Metric(Plugin[OptionsT]):
    """Scores a final image. Returns one Score per column; a failed judgement is a Score with a status."""

    columns: ClassVar[tuple[Column, ...]] = ()

    def score(self, item: ScoreItem) -> dict[str, Score]:
        raise NotImplementedError(f"metric {self.name!r} implements neither score nor score_batch")

    def score_batch(self, items: Sequence[ScoreItem]) -> list[dict[str, Score]]:
        return [self.score(item) for item in items]


class Suite(Plugin[OptionsT]):
    """Yields the samples of one benchmark from its own published layout."""

    data_version: ClassVar[str] = ""

    def samples(self) -> Iterator[Sample]:
        raise NotImplementedError(f"suite {self.name!r} does not implement samples")
