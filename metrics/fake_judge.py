"""`fake-judge`, `fake-judge-2`: stand-in judges with known noise and bias, for tests and the offline demo only.

score = round(truth + N(0, noise) + bias, 1) where truth is the shapes world's exact score (shapes-sc for -sc,
shapes-bg for -bg). Each judgement draws fresh noise, seeded by (seed, sample, image, how many times this instance
has judged that image), so a run is reproducible while re-asking (`mirabench judges repeat`) gets new draws: the
judge's repeat standard deviation is `noise`, its agreement with the truth falls as `noise` grows, and `bias`
moves every score (a drifted judge). Scores are not clipped to 0-10 (a Gaussian measurement model), and they
record what "served" them (`model`, `fingerprint`) as a real API judge does.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
from pydantic import Field

from mirabench.images import image_hash
from mirabench.metrics.shapes import ShapesMetric
from mirabench.plugins import Column, Metric, Options, ScoreItem
from mirabench.registry import metrics
from mirabench.types import Score

__all__ = ["FakeJudge", "FakeJudgeOptions"]


class FakeJudgeOptions(Options):
    noise: float = Field(1.0, ge=0, description="standard deviation of each judgement's Gaussian noise")
    bias: float = Field(0.0, description="added to every score (a drifted or lenient judge)")
    seed: int = 0
    model: str = "fake-judge-v1"
    fingerprint: str = "fp_0"


class FakeJudge(Metric):
    """Shapes ground truth plus seeded Gaussian noise and a bias (see the module docstring)."""

    version = "1"
    Options = FakeJudgeOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.opts: FakeJudgeOptions = self.options
        self._truth = ShapesMetric()
        self._draws: dict[tuple[str, str], int] = {}

    def score(self, item: ScoreItem) -> dict[str, Score]:
        exact = self._truth.score(item)
        key = (item.sample.id, image_hash(item.edited))
        draw = self._draws.get(key, 0)
        self._draws[key] = draw + 1
        words = hashlib.sha256(f"{self.name}/{key[0]}/{key[1]}".encode()).digest()  # judges draw independently
        rng = np.random.default_rng([self.opts.seed, int.from_bytes(words[:8], "little"), draw])
        served = {"model": self.opts.model, "system_fingerprint": self.opts.fingerprint}
        out: dict[str, Score] = {}
        for column, truth in zip(self.columns, ("shapes-sc", "shapes-bg"), strict=True):
            noise = float(rng.normal(0.0, self.opts.noise))
            exact_score = exact[truth]
            if exact_score.value is None:
                out[column.key] = exact_score
                continue
            value = round(exact_score.value + noise + self.opts.bias, 1)
            out[column.key] = Score.ok(value, judge=self.opts.model, served=served)
        return out


def _register(name: str, prefix: str, noise: float) -> None:
    description = f"test/demo stand-in judge: shapes truth + N(0, {noise:g}) noise + bias (offline)"
    cls = type(
        f"FakeJudge_{prefix}",
        (FakeJudge,),
        {
            "__doc__": description,
            "Options": type(
                f"FakeJudgeOptions_{prefix}",
                (FakeJudgeOptions,),
                {"__annotations__": {"noise": float}, "noise": Field(noise, ge=0)},
            ),
            "columns": (
                Column(f"{prefix}-sc", 0, 10, True, f"{name}: shapes-sc + noise"),
                Column(f"{prefix}-bg", 0, 10, True, f"{name}: shapes-bg + noise"),
            ),
        },
    )
    metrics.register(name, description=description)(cls)


_register("fake-judge", "fake", 0.5)
_register("fake-judge-2", "fake2", 1.5)
