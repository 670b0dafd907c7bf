"""Shared pieces for the shapes tests: a tiny agent -> editor loop and a cached suite."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pytest
from PIL import Image

from mirabench.images import source_image
from mirabench.plugins import Agent, Editor, ScoreItem
from mirabench.registry import agents, editors, metrics, suites
from mirabench.types import Action, AgentState, EditRequest, Sample, Step, Stop


@dataclass
class Run:
    """What the loop saw: the images after each edit (index 0 is I0), the actions, and the final stop."""

    images: list[Image.Image]
    actions: list[Action] = field(default_factory=list)
    stop: Stop | None = None

    @property
    def final(self) -> Image.Image:
        return self.images[-1]

    @property
    def n_edits(self) -> int:
        return len(self.images) - 1


def step_seed(sample_id: str, step: int) -> int:
    return zlib.crc32(f"{sample_id}/{step}".encode())


def loop(agent: Agent, editor: Editor, sample: Sample, max_steps: int) -> Run:
    """agent.plan -> editor.edit until the agent stops or `max_steps` edits were made (cumulative policy)."""
    assert isinstance(sample.image, Image.Image)
    run = Run([sample.image])
    history: list[Step] = []
    for t in range(max_steps + 1):
        action = agent.plan(AgentState(sample, sample.image, run.final, t, tuple(history)))
        run.actions.append(action)
        if isinstance(action, Stop):
            run.stop = action
            return run
        if t == max_steps:
            break
        seed = step_seed(sample.id, t)
        run.images.append(editor.edit(EditRequest(run.final, action.instruction, seed, sample.id)))
        history.append(Step(t, action, f"step-{t}.png", seed))
    run.actions.pop()  # the action past the budget is never executed
    return run


@pytest.fixture(scope="session")
def shapes_samples() -> list[Sample]:
    """Rendered once for the session (the suite itself renders lazily, when a sample goes live)."""
    return [replace(s, image=source_image(s)) for s in suites.build("shapes", n=100, seed=0).samples()]


@pytest.fixture(scope="session")
def score() -> Callable[[Sample, Image.Image], dict[str, float]]:
    metric = metrics.build("shapes")

    def judge(sample: Sample, edited: Image.Image) -> dict[str, float]:
        assert isinstance(sample.image, Image.Image)
        out = metric.score(ScoreItem(sample, sample.image, edited))
        return {key: s.value for key, s in out.items() if s.value is not None}

    return judge


@pytest.fixture(scope="session")
def heuristic() -> Agent:
    return agents.build("heuristic")


@pytest.fixture(scope="session")
def perfect_editor() -> Editor:
    return editors.build("shapes", error_rate=0.0)


@pytest.fixture(scope="session")
def run_loop() -> Callable[[Agent, Editor, Sample, int], Run]:
    return loop
