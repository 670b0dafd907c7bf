"""The `heuristic` agent in a local agent -> editor loop against the simulated `shapes` editor."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from mirabench.registry import agents, editors
from mirabench.shapes import Change, Scene, evaluate, parse, perceive, render, resolve, split_clauses
from mirabench.types import AgentState, Edit, EditRequest, Sample, Stop


def test_reaches_every_target_exactly_with_a_perfect_editor(
    shapes_samples, heuristic, perfect_editor, run_loop, score
) -> None:
    for sample in shapes_samples[:50]:
        k = len(sample.extra["goals"])
        run = run_loop(heuristic, perfect_editor, sample, k + 1)
        assert run.stop is not None and not run.stop.error, sample.id
        assert run.n_edits <= k  # one edit per sub-goal, then stop: at most k + 1 plan calls
        assert score(sample, run.final)["shapes-sc"] == 10.0, sample.id
        for image, action in zip(run.images, run.actions[: run.n_edits], strict=False):
            assert isinstance(action, Edit)
            assert len(split_clauses(action.instruction)) == 1  # atomic
            assert resolve(parse(action.instruction), perceive(image)) is not None  # unique in I_{t-1}


@pytest.fixture(scope="module")
def careless_runs(shapes_samples, heuristic, run_loop):
    editor = editors.build("shapes", error_rate=0.3)
    return editor, [(sample, run_loop(heuristic, editor, sample, 8)) for sample in shapes_samples]


def test_repairs_collateral_damage_on_the_damaged_object(careless_runs) -> None:
    repairs = 0
    for sample, run in careless_runs[1]:
        source = Scene.from_dict(sample.extra["source"])
        touched = {Change.from_dict(g).before for g in sample.extra["goals"]}
        untouched = [o for o in source.objects if o not in touched]
        for before, after, action in zip(run.images, run.images[1:], run.actions[1:], strict=False):
            was, now = perceive(before), perceive(after)
            damaged = [o for o in untouched if o in was.objects and o not in now.objects]
            if not damaged or not isinstance(action, Edit):
                continue
            change = resolve(parse(action.instruction), now)
            assert change is not None and change.after in damaged, (sample.id, action.instruction)
            assert action.raw.startswith("repair")
            repairs += 1
    assert repairs >= 40  # 47 with these seeds


def test_iterating_beats_a_single_shot_with_a_careless_editor(careless_runs, score) -> None:
    editor, runs = careless_runs
    iterative = [score(sample, run.final)["shapes-sc"] for sample, run in runs]
    single = [
        score(sample, editor.edit(EditRequest(sample.image, sample.instruction, seed=i)))["shapes-sc"]
        for i, (sample, _) in enumerate(runs)
    ]
    assert np.mean(iterative) > np.mean(single) + 2.0
    assert np.mean(iterative) > 9.0


def test_sees_only_pixels_and_the_instruction(shapes_samples, heuristic, run_loop) -> None:
    editor = editors.build("shapes", error_rate=0.3)
    for sample in shapes_samples[:10]:
        blind = replace(sample, atomic=(), extra={})
        with_truth = run_loop(heuristic, editor, sample, 8)
        without = run_loop(heuristic, editor, blind, 8)
        assert with_truth.actions == without.actions


def test_stops_at_once_when_the_image_already_matches(shapes_samples, heuristic) -> None:
    sample = shapes_samples[3]
    target = render(Scene.from_dict(sample.extra["target"]))
    action = heuristic.plan(AgentState(sample, sample.image, target, 0))
    assert isinstance(action, Stop) and not action.error


@pytest.mark.parametrize("instruction", ["make it pop", "", "remove the unicorn and then add a dragon"])
def test_unparseable_instructions_are_an_agent_error(shapes_samples, instruction: str) -> None:
    agent = agents.build("heuristic")
    sample = replace(shapes_samples[0], instruction=instruction)
    action = agent.plan(AgentState(sample, sample.image, sample.image, 0))
    assert isinstance(action, Stop) and action.error


def test_a_photo_as_source_is_an_agent_error_not_a_crash() -> None:
    agent = agents.build("heuristic")
    photo = Image.fromarray(np.random.default_rng(0).integers(0, 256, (200, 200, 3), dtype=np.uint8))
    sample = Sample(id="p", instruction="remove the red circle", image=photo)
    action = agent.plan(AgentState(sample, photo, photo, 0))
    assert isinstance(action, Stop) and action.error


def test_evaluation_and_metric_agree_on_agent_runs(careless_runs, score) -> None:
    for sample, run in careless_runs[1][:20]:
        source = Scene.from_dict(sample.extra["source"])
        goals = [Change.from_dict(g) for g in sample.extra["goals"]]
        result = evaluate(source, goals, perceive(run.final))
        assert score(sample, run.final)["shapes-sc"] == pytest.approx(result.consistency)
