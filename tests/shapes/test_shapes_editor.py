"""The simulated `shapes` editor: exact, seeded, partial on long instructions and sometimes careless."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from mirabench.registry import PluginError, editors
from mirabench.shapes import Scene, compliance, evaluate, make_task, perceive, render
from mirabench.types import EditRequest


def one_goal_requests(n_tasks: int, seeds_per_task: int = 1) -> list[tuple[EditRequest, Scene]]:
    """Single-clause requests on scenes with an object the clause does not touch, with the exact result."""
    out = []
    for i in range(n_tasks):
        task = make_task(np.random.default_rng([21, i]), 1)
        if len(task.source.objects) >= 2:
            image = render(task.source)
            out += [
                (EditRequest(image, task.clauses[0], seed=seeds_per_task * i + j), task.target)
                for j in range(seeds_per_task)
            ]
    return out


@pytest.fixture(scope="module")
def requests() -> list[tuple[EditRequest, Scene]]:
    return one_goal_requests(250, seeds_per_task=4)


def test_same_request_same_image_and_seeds_matter() -> None:
    editor = editors.build("shapes", error_rate=0.5)
    task = make_task(np.random.default_rng(3), 4)
    outputs = []
    for seed in range(20):
        request = EditRequest(render(task.source), task.instruction, seed=seed)
        first, second = editor.edit(request), editor.edit(request)
        assert first.tobytes() == second.tobytes()
        outputs.append(first.tobytes())
    assert len(set(outputs)) > 3


def test_single_clauses_are_always_carried_out_exactly(requests) -> None:
    editor = editors.build("shapes", error_rate=0.0)
    assert len(requests) > 950
    for request, expected in requests:  # exact: the very pixels of the target render, no collateral ever
        assert editor.edit(request).tobytes() == render(expected).tobytes()


def test_collateral_mistakes_happen_at_the_error_rate(requests) -> None:
    editor = editors.build("shapes", error_rate=0.3)
    mistakes = 0
    for request, expected in requests:
        mistakes += editor.edit(request).tobytes() != render(expected).tobytes()
    assert mistakes / len(requests) == pytest.approx(0.3, abs=0.05)


def test_long_instructions_are_carried_out_less_completely() -> None:
    editor = editors.build("shapes")
    five_at_once, one_by_one = [], []
    for i in range(60):
        task = make_task(np.random.default_rng([22, i]), 5)
        at_once = perceive(editor.edit(EditRequest(render(task.source), task.instruction, seed=i)))
        five_at_once.append(evaluate(task.source, task.goals, at_once).goals)
        image = render(task.source)
        for step, clause in enumerate(task.clauses):
            image = editor.edit(EditRequest(image, clause, seed=100 * i + step))
        one_by_one.append(evaluate(task.source, task.goals, perceive(image)).goals)
    assert np.mean(one_by_one) == 1.0
    assert np.mean(five_at_once) == pytest.approx(compliance(5, 0.25), abs=0.12)  # ~0.37
    assert compliance(1, 0.25) == 1.0 and compliance(2, 0.25) > compliance(5, 0.25)


def test_clause_decay_zero_makes_a_perfect_editor() -> None:
    editor = editors.build("shapes", clause_decay=0.0)
    for i in range(30):
        task = make_task(np.random.default_rng([23, i]), 5)
        out = perceive(editor.edit(EditRequest(render(task.source), task.instruction, seed=i)))
        assert out == task.target


def test_unparseable_clauses_are_ignored_and_others_still_done() -> None:
    editor = editors.build("shapes")
    task = make_task(np.random.default_rng(5), 1)
    image = render(task.source)
    assert editor.edit(EditRequest(image, "make it look like a sunset", seed=0)).tobytes() == image.tobytes()
    assert editor.edit(EditRequest(image, "", seed=0)).tobytes() == image.tobytes()
    mixed = f"{task.clauses[0]} and then do a backflip"
    outcomes = {perceive(editor.edit(EditRequest(image, mixed, seed=s))) == task.target for s in range(40)}
    assert outcomes == {True, False}  # two clauses: each carried out with probability exp(-0.25)


@pytest.mark.parametrize("size", [(256, 256), (320, 200), (40, 40)])
def test_images_that_are_not_shapes_renders_come_back_unchanged(size: tuple[int, int]) -> None:
    editor = editors.build("shapes", error_rate=1.0)
    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    out = editor.edit(EditRequest(photo, "remove the red circle", seed=1))
    assert out.size == photo.size and out.tobytes() == photo.tobytes()


def test_error_rate_one_damages_exactly_one_untouched_object() -> None:
    editor = editors.build("shapes", error_rate=1.0)
    for i in range(60):
        task = make_task(np.random.default_rng([21, i]), 1)
        got = perceive(editor.edit(EditRequest(render(task.source), task.clauses[0], seed=i)))
        result = evaluate(task.source, task.goals, got)
        assert result.met == (True,) and result.collateral == 1


def test_options_are_validated() -> None:
    with pytest.raises(PluginError, match="error_rate"):
        editors.build("shapes", error_rate=1.5)
    with pytest.raises(PluginError, match="clause_decay"):
        editors.build("shapes", clause_decay=-1)
