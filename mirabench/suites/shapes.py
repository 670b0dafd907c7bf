"""`shapes`: generated complex-instruction tasks on the synthetic shapes world, with exact ground truth.

Sample i is drawn from `numpy.random.default_rng([seed, i])`, so it is the same whatever `n` is, and the
whole suite is a pure function of its options. `extra` holds the source and target scenes and the sub-goals
(JSON-ready) for the `shapes` metric; agents must not read it. `image` is a lazy render (a callable): nothing is
drawn until the runner takes the sample live, so a large suite of 1024px images costs no memory up front.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import numpy as np
from pydantic import Field, model_validator

from mirabench.plugins import Options, Suite
from mirabench.registry import suites
from mirabench.shapes import MAX_GOALS, MIN_SIZE, make_task, render
from mirabench.types import Sample


class ShapesSuiteOptions(Options):
    n: int = Field(100, ge=0, description="number of samples")
    seed: int = Field(0, ge=0)
    min_goals: int = Field(1, ge=1, le=MAX_GOALS)
    max_goals: int = Field(5, ge=1, le=MAX_GOALS)
    size: int = Field(256, ge=MIN_SIZE, description="image side in pixels")
    permuted: float = Field(0.5, ge=0.0, le=1.0, description="probability of a permuted clause order")

    @model_validator(mode="after")
    def _goal_range(self) -> ShapesSuiteOptions:
        if self.min_goals > self.max_goals:
            raise ValueError(f"min_goals ({self.min_goals}) must not exceed max_goals ({self.max_goals})")
        return self


@suites.register("shapes", description="Synthetic shapes scenes with 1-5 sub-goal instructions (exact truth)")
class ShapesSuite(Suite[ShapesSuiteOptions]):
    """Generated shapes tasks: I0, a complex instruction and the exact target scene."""

    version = "1"
    data_version = "shapes-1"
    Options = ShapesSuiteOptions

    def samples(self) -> Iterator[Sample]:
        for i in range(self.options.n):
            yield self.sample(i)

    def sample(self, i: int) -> Sample:
        """Sample i alone (its own seed stream, independent of n)."""
        opts = self.options
        rng = np.random.default_rng([opts.seed, i])
        k = int(rng.integers(opts.min_goals, opts.max_goals + 1))
        task = make_task(rng, k, permuted=bool(rng.random() < opts.permuted))
        return Sample(
            id=f"shapes-{i:05d}",
            instruction=task.instruction,
            image=partial(render, task.source, opts.size),
            suite=self.name,
            category=f"{k}-goals",
            atomic=task.clauses,
            extra={
                "source": task.source.to_dict(),
                "target": task.target.to_dict(),
                "goals": [g.to_dict() | {"text": text} for g, text in zip(task.goals, task.clauses, strict=True)],
                "order": list(task.order),
                "permuted": task.permuted,
                "size": opts.size,
            },
        )
