"""Targets, exact evaluation and the `shapes` metric."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from mirabench.plugins import ScoreItem
from mirabench.registry import metrics
from mirabench.shapes import (
    Change,
    Obj,
    Scene,
    apply,
    evaluate,
    interpret,
    join_clauses,
    make_task,
    preservation,
    render,
    target_scene,
)
from mirabench.types import Sample, ScoreStatus

A = Obj("circle", "red", "small", 6, 6)
B = Obj("square", "blue", "medium", 20, 8)
C = Obj("triangle", "green", "large", 10, 24)
SOURCE = Scene("gray", (A, B, C))
GOALS = [Change("recolor", A, replace(A, color="white")), Change("remove", B)]


def test_permuted_phrasing_and_any_execution_order_reach_the_same_target() -> None:
    for i in range(60):
        k = 2 + i % 4
        task = make_task(np.random.default_rng([11, i]), k, permuted=True)
        assert task.permuted
        in_order = join_clauses(task.clauses, np.random.default_rng(i))
        for text in (task.instruction, in_order):
            changes = [c for _, c in interpret(text, task.source)]
            assert None not in changes and len(changes) == k
            assert target_scene(task.source, changes) == task.target
        for order in itertools.islice(itertools.permutations(task.goals), 24):
            scene = task.source
            for goal in order:
                scene = apply(scene, goal)
                assert scene is not None
            assert scene == task.target


def test_evaluate_counts_met_goals_and_collateral() -> None:
    target = target_scene(SOURCE, GOALS)
    assert evaluate(SOURCE, GOALS, target).met == (True, True)
    assert evaluate(SOURCE, GOALS, target).collateral == 0
    assert evaluate(SOURCE, GOALS, target).consistency == 10.0

    untouched = evaluate(SOURCE, GOALS, SOURCE)
    assert untouched.met == (False, False) and untouched.collateral == 0 and untouched.consistency == 0.0

    damaged = Scene("gray", (replace(A, color="white"), replace(C, x=20, y=24)))  # goals done, C moved
    result = evaluate(SOURCE, GOALS, damaged)
    assert result.met == (True, True) and result.collateral == 1
    assert result.consistency == pytest.approx(10 * 2 / 3)

    wrong_colour = Scene("gray", (replace(A, color="black"), C))  # recolour went wrong: not collateral
    assert evaluate(SOURCE, GOALS, wrong_colour).met == (False, True)
    assert evaluate(SOURCE, GOALS, wrong_colour).collateral == 0

    moved_not_removed = Scene("gray", (replace(A, color="white"), replace(B, y=18), C))
    assert evaluate(SOURCE, GOALS, moved_not_removed).met == (True, False)
    assert evaluate(SOURCE, GOALS, moved_not_removed).collateral == 0

    stray = Scene("pink", (*target.objects, Obj("circle", "black", "small", 26, 26)))  # new object + bg
    assert evaluate(SOURCE, GOALS, stray).collateral == 2


def test_preservation_counts_pixels_that_should_have_stayed() -> None:
    target = target_scene(SOURCE, GOALS)
    assert preservation(SOURCE, target, render(target)) == 10.0
    assert preservation(SOURCE, target, render(SOURCE)) == 10.0  # nothing changed: all kept pixels kept
    whole = render(Scene("teal", target.objects))
    assert preservation(SOURCE, target, whole) < 1.0  # the whole background repainted


@pytest.fixture(scope="module")
def metric():
    return metrics.build("shapes")


def test_metric_gives_full_marks_for_exact_atomic_execution(shapes_samples, perfect_editor, metric) -> None:
    from mirabench.types import EditRequest

    for sample in shapes_samples[:40]:
        image = sample.image
        for i, atomic in enumerate(sample.atomic):
            image = perfect_editor.edit(EditRequest(image, atomic, seed=i))
        scores = metric.score(ScoreItem(sample, sample.image, image))
        values = {key: s.value for key, s in scores.items()}
        assert values == {"shapes-sc": 10.0, "shapes-bg": 10.0, "shapes-goals": 1.0, "shapes-collateral": 0.0}


def test_metric_scores_the_unedited_image_as_nothing_done(shapes_samples, metric) -> None:
    for sample in shapes_samples[:20]:
        scores = metric.score(ScoreItem(sample, sample.image, sample.image))
        assert scores["shapes-goals"].value == 0.0 and scores["shapes-sc"].value == 0.0
        assert scores["shapes-bg"].value == 10.0 and scores["shapes-collateral"].value == 0.0


def test_metric_resizes_edited_images_of_another_size(shapes_samples, metric) -> None:
    sample = shapes_samples[0]
    target = render(Scene.from_dict(sample.extra["target"]), 512)
    scores = metric.score(ScoreItem(sample, sample.image, target))
    assert scores["shapes-sc"].value == 10.0
    assert scores["shapes-bg"].value == pytest.approx(10.0, abs=0.05)  # edges resample a little differently


def test_metric_skips_samples_without_ground_truth(metric) -> None:
    image = render(SOURCE)
    sample = Sample(id="x", instruction="remove the blue square", image=image, suite="jsonl")
    scores = metric.score(ScoreItem(sample, image, image))
    assert set(scores) == {c.key for c in metric.columns}
    assert all(s.status is ScoreStatus.SKIPPED and s.value is None for s in scores.values())


def test_generated_goals_touch_distinct_objects_and_the_background_once() -> None:
    for i in range(200):
        task = make_task(np.random.default_rng([12, i]), 1 + i % 5)
        befores = [g.before for g in task.goals if g.before is not None]
        assert len(set(befores)) == len(befores)
        assert sum(g.op == "background" for g in task.goals) <= 1
        assert all(g.after != g.before for g in task.goals if g.op != "background")
