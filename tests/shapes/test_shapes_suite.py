"""The `shapes` suite: deterministic, n-independent samples with JSON-ready ground truth."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from mirabench.images import source_image
from mirabench.registry import PluginError, suites
from mirabench.shapes import Change, Scene, perceive, target_scene


def test_sample_i_does_not_depend_on_n() -> None:
    short = list(suites.build("shapes", n=10).samples())
    long = list(suites.build("shapes", n=40).samples())[:10]
    assert [s.id for s in short] == [f"shapes-{i:05d}" for i in range(10)]
    for a, b in zip(short, long, strict=True):
        assert (a.id, a.instruction, a.atomic, a.category, a.extra) == (
            b.id,
            b.instruction,
            b.atomic,
            b.category,
            b.extra,
        )
        assert source_image(a).tobytes() == source_image(b).tobytes()


def test_the_seed_changes_the_samples() -> None:
    a = [s.instruction for s in suites.build("shapes", n=10, seed=0).samples()]
    b = [s.instruction for s in suites.build("shapes", n=10, seed=1).samples()]
    assert a != b


def test_samples_carry_consistent_ground_truth(shapes_samples) -> None:
    for sample in shapes_samples:
        assert sample.suite == "shapes" and sample.image.size == (256, 256)
        source, target = Scene.from_dict(sample.extra["source"]), Scene.from_dict(sample.extra["target"])
        goals = [Change.from_dict(g) for g in sample.extra["goals"]]
        assert perceive(sample.image) == source
        assert target_scene(source, goals) == target != source
        assert sample.category == f"{len(goals)}-goals" and len(sample.atomic) == len(goals)
        assert [g["text"] for g in sample.extra["goals"]] == list(sample.atomic)
        json.dumps(sample.extra)


def test_goal_counts_and_phrasings_follow_the_options() -> None:
    samples = list(suites.build("shapes", n=200, min_goals=2, max_goals=4, permuted=0.5, size=128).samples())
    counts = Counter(s.category for s in samples)
    assert set(counts) == {"2-goals", "3-goals", "4-goals"}
    permuted = sum(s.extra["permuted"] for s in samples)
    assert 70 < permuted < 130
    assert all(source_image(s).size == (128, 128) for s in samples)
    assert not any(s.extra["permuted"] for s in suites.build("shapes", n=30, permuted=0.0).samples())


@pytest.mark.parametrize(
    "bad", [{"min_goals": 4, "max_goals": 2}, {"max_goals": 6}, {"size": 32}, {"permuted": 1.5}, {"goals": 3}]
)
def test_bad_options_are_refused(bad: dict) -> None:
    with pytest.raises(PluginError):
        suites.build("shapes", **bad)
