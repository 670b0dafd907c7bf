"""A tiny arithmetic world for testing the core without the shapes world.

Images are solid grey squares. The `toy` editor adds N to every pixel for "add N"; the `counter` agent reads
pixels only and asks for "add 10" until the grey level named in "reach L" is reached. Every call is counted so
tests can assert how often backends ran.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from PIL import Image

from mirabench.plugins import Agent, Column, Editor, Metric, Options, ScoreItem, Suite
from mirabench.registry import agents, editors, metrics, suites
from mirabench.types import Action, AgentState, Edit, EditRequest, Sample, Score, Stop

CALLS: dict[str, int] = {"plan_batch": 0, "plan_items": 0, "edit_batch": 0, "edit_items": 0, "score_items": 0}


def grey(level: int, size: int = 16) -> Image.Image:
    return Image.new("RGB", (size, size), (level, level, level))


def level(image: Image.Image) -> int:
    return int(np.asarray(image)[0, 0, 0])


class ToySuiteOptions(Options):
    n: int = 6
    start: int = 0


@suites.register("toy")
class ToySuite(Suite):
    """Sample i starts at grey `start` and must reach grey 10 * (i % 4 + 1)."""

    version = "1"
    Options = ToySuiteOptions

    def samples(self) -> Iterator[Sample]:
        opts: Any = self.options
        for i in range(opts.n):
            target = 10 * (i % 4 + 1)
            yield Sample(
                f"toy-{i:03d}",
                f"reach {opts.start + target}",
                grey(opts.start),
                "toy",
                category=f"{i % 4 + 1}-edits",
                extra={"target": opts.start + target},
            )


class CounterOptions(Options):
    fail_on_sample: str = ""
    garbage_on_sample: str = ""


@agents.register("counter")
class CounterAgent(Agent):
    """Compares the latest image's grey level with the goal parsed from the instruction."""

    version = "1"
    Options = CounterOptions

    def plan_batch(self, states: Sequence[AgentState]) -> list[Action]:
        CALLS["plan_batch"] += 1
        CALLS["plan_items"] += len(states)
        opts: Any = self.options
        out: list[Action] = []
        for s in states:
            if s.sample.id == opts.fail_on_sample:
                raise RuntimeError("boom in the agent")
            if s.sample.id == opts.garbage_on_sample:
                out.append("not an action")  # type: ignore[arg-type]
                continue
            goal = int(re.search(r"reach (\d+)", s.sample.instruction).group(1))  # type: ignore[union-attr]
            out.append(Edit("add 10") if level(s.latest) < goal else Stop("reached"))
        return out


class RefinerOptions(Options):
    rounds: int = 2


@agents.register("refiner")
class RefinerAgent(Agent):
    """A `refine`-policy agent: re-asks for the full edit with a larger amount each round."""

    policy = "refine"
    version = "1"
    Options = RefinerOptions

    def plan(self, state: AgentState) -> Action:
        if state.step >= self.options.rounds:  # type: ignore[attr-defined]
            return Stop("enough")
        return Edit(f"add {10 * (state.step + 1)}")


class ToyEditorOptions(Options):
    fail_on: str = ""


@editors.register("toy")
class ToyEditor(Editor):
    """Adds N to every pixel; the seed adds nothing (so outputs are exactly predictable)."""

    version = "1"
    Options = ToyEditorOptions

    def edit_batch(self, requests: Sequence[EditRequest]) -> list[Image.Image]:
        CALLS["edit_batch"] += 1
        CALLS["edit_items"] += len(requests)
        opts: Any = self.options
        out = []
        for r in requests:
            if opts.fail_on and r.sample_id == opts.fail_on:
                raise RuntimeError("editor exploded")
            n = int(r.instruction.split()[1])
            arr = np.asarray(r.image).astype(np.int64) + n
            out.append(Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)))
        return out


class GreyOptions(Options):
    fail_ids: list[str] = []


@metrics.register("grey")
class GreyMetric(Metric):
    """`grey-hit`: 10 when the goal level is reached exactly; `grey-level`: the final level / 25.5."""

    version = "1"
    Options = GreyOptions
    columns = (Column("grey-hit", 0, 10), Column("grey-level", 0, 10))

    def score(self, item: ScoreItem) -> dict[str, Score]:
        CALLS["score_items"] += 1
        if item.sample.id in self.options.fail_ids:  # type: ignore[attr-defined]
            raise RuntimeError("judge down")
        lv = level(item.edited)
        return {
            "grey-hit": Score.ok(10.0 if lv == item.sample.extra["target"] else 0.0),
            "grey-level": Score.ok(lv / 25.5),
        }


def reset_calls() -> None:
    for k in CALLS:
        CALLS[k] = 0
