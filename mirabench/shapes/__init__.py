"""`shapes`: an exact, CPU-only synthetic world for testing iterative image-editing agents in milliseconds.

Scenes of flat coloured shapes are rendered without anti-aliasing, so `perceive(render(scene)) == scene`;
complex instructions are generated from commuting atomic sub-goals with known target scenes, so every
agent, editor and metric built on this world can be checked exactly.

    task = make_task(np.random.default_rng(0), n_goals=3, permuted=True)
    image = render(task.source)                      # I0, shown to agents with task.instruction (C)
    scene = perceive(image)                          # exact
    for clause in task.clauses:                      # the atomic sub-goals, in execution order
        scene = apply(scene, resolve(parse(clause), scene))
    assert scene == task.target == target_scene(task.source, task.goals)
"""

from mirabench.shapes.flaws import collateral_mistake, compliance
from mirabench.shapes.goals import Evaluation, evaluate, match, preservation, target_scene
from mirabench.shapes.language import Op, Ref, join_clauses, parse, parse_ref, say, split_clauses
from mirabench.shapes.meaning import interpret, phrase, refs_for, resolve, resolve_ref
from mirabench.shapes.perceive import agreement, labels, perceive
from mirabench.shapes.planner import Fix, fixes, next_fix
from mirabench.shapes.render import render
from mirabench.shapes.scene import (
    BACKGROUND_COLORS,
    GRID,
    KINDS,
    MIN_SIZE,
    OBJECT_COLORS,
    REGIONS,
    SIZES,
    Change,
    Obj,
    Scene,
    apply,
    random_scene,
)
from mirabench.shapes.tasks import MAX_GOALS, Task, make_task

__all__ = [
    "BACKGROUND_COLORS",
    "GRID",
    "KINDS",
    "MAX_GOALS",
    "MIN_SIZE",
    "OBJECT_COLORS",
    "REGIONS",
    "SIZES",
    "Change",
    "Evaluation",
    "Fix",
    "Obj",
    "Op",
    "Ref",
    "Scene",
    "Task",
    "agreement",
    "apply",
    "collateral_mistake",
    "compliance",
    "evaluate",
    "fixes",
    "interpret",
    "join_clauses",
    "labels",
    "make_task",
    "match",
    "next_fix",
    "parse",
    "parse_ref",
    "perceive",
    "phrase",
    "preservation",
    "random_scene",
    "refs_for",
    "render",
    "resolve",
    "resolve_ref",
    "say",
    "split_clauses",
    "target_scene",
]
