"""Seeded generation of complex-instruction tasks: a source scene, 1-5 commuting sub-goals and their text.

The sub-goals touch distinct objects and are checked on every partial result (all 2^k subsets of goals
applied), so that (a) any execution order is collision-free and reaches the same target, and (b) each clause
means the same change in the source and in every partial result. The second property makes in-order and
permuted phrasings equivalent and lets an agent read the instruction against I0 or any later image alike.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from mirabench.shapes.language import DIRECTIONS, RELATIONS, join_clauses
from mirabench.shapes.meaning import phrase, placement
from mirabench.shapes.scene import (
    BACKGROUND_COLORS,
    KINDS,
    OBJECT_COLORS,
    REGIONS,
    SIZES,
    STEP,
    Change,
    Obj,
    Scene,
    apply,
    pick,
    random_scene,
)

__all__ = ["MAX_GOALS", "Task", "make_task"]

MAX_GOALS = 5
_OBJECT_OPS = ("recolor", "move", "resize", "remove")
_OPS = (*_OBJECT_OPS, "add", "background")
_WEIGHTS = np.array([3, 3, 2, 2, 2, 1], dtype=float)


@dataclass(frozen=True)
class Task:
    """A generated task. `clauses[i]` carries out `goals[i]`; the instruction shows them in `order`."""

    source: Scene
    target: Scene
    goals: tuple[Change, ...]
    clauses: tuple[str, ...]
    order: tuple[int, ...]
    instruction: str

    @property
    def permuted(self) -> bool:
        return list(self.order) != sorted(self.order)


def _spot(rng: np.random.Generator, scene: Scene, r: int, mover: Obj | None) -> tuple[int, int]:
    """A destination described by a region, a step (moves only) or a side of another object."""
    how = pick(rng, ["region", "beside", "step"] if mover else ["region", "beside"])
    others = [o for o in scene.objects if o != mover]
    if how == "region" or not others:
        return pick(rng, list(REGIONS.values()))
    if how == "step" and mover is not None:
        dx, dy = DIRECTIONS[pick(rng, list(DIRECTIONS))]
        return mover.x + dx * STEP, mover.y + dy * STEP
    return placement(pick(rng, others), pick(rng, RELATIONS), r)


def _draw(rng: np.random.Generator, op: str, scene: Scene, free: list[Obj]) -> Change:
    """One candidate sub-goal of kind `op` on an object nobody touched yet (it may not fit; caller checks)."""
    if op == "background":
        return Change(op, background=pick(rng, [c for c in BACKGROUND_COLORS if c != scene.background]))
    if op == "add":
        size = pick(rng, list(SIZES))
        x, y = _spot(rng, scene, SIZES[size], None)
        return Change(op, after=Obj(pick(rng, KINDS), pick(rng, list(OBJECT_COLORS)), size, x, y))
    o = pick(rng, free)
    if op == "remove":
        return Change(op, o)
    if op == "recolor":
        return Change(op, o, replace(o, color=pick(rng, [c for c in OBJECT_COLORS if c != o.color])))
    if op == "resize":
        sizes = list(SIZES)
        i = sizes.index(o.size)
        j = i + pick(rng, [d for d in (-1, 1) if 0 <= i + d < len(sizes)])
        return Change(op, o, replace(o, size=sizes[j]))
    x, y = _spot(rng, scene, o.r, o)
    return Change(op, o, replace(o, x=x, y=y))


def _extend(states: list[Scene], change: Change) -> list[Scene] | None:
    """States for every subset of goals (bit i: goal i applied), extended by one more goal, or None."""
    grown = [apply(s, change) for s in states]
    fine = [s for s in grown if s is not None]
    return states + fine if len(fine) == len(grown) else None


def _goals(rng: np.random.Generator, scene: Scene, k: int) -> tuple[list[Change], list[Scene]] | None:
    goals: list[Change] = []
    states = [scene]
    for _ in range(12 * k):
        if len(goals) == k:
            return goals, states
        touched = {g.before for g in goals}
        free = [o for o in scene.objects if o not in touched]
        has_background = any(g.op == "background" for g in goals)
        allowed = [
            op == "add" or (op == "background" and not has_background) or (op in _OBJECT_OPS and bool(free))
            for op in _OPS
        ]
        weights = _WEIGHTS * np.array(allowed)
        change = _draw(rng, _OPS[int(rng.choice(len(_OPS), p=weights / weights.sum()))], scene, free)
        if change.after is not None and change.after == change.before:
            continue
        grown = _extend(states, change)
        if grown is not None:
            goals.append(change)
            states = grown
    return (goals, states) if len(goals) == k else None


def make_task(rng: np.random.Generator, n_goals: int, permuted: bool = False) -> Task:
    """A task with exactly `n_goals` sub-goals; `permuted` shuffles the clause order of the instruction."""
    if not 1 <= n_goals <= MAX_GOALS:
        raise ValueError(f"n_goals must be within 1..{MAX_GOALS}, got {n_goals}")
    for _ in range(1000):
        scene = random_scene(rng)
        drawn = _goals(rng, scene, n_goals)
        if drawn is None:
            continue
        goals, states = drawn
        clauses = []
        for i, goal in enumerate(goals):
            without_i = [s for m, s in enumerate(states) if not m >> i & 1]
            text = phrase(goal, scene, rng, without_i)
            if text is None:
                break
            clauses.append(text)
        else:
            order = list(range(n_goals))
            if permuted and n_goals > 1:
                while order == sorted(order):
                    order = [int(i) for i in rng.permutation(n_goals)]
            instruction = join_clauses([clauses[i] for i in order], rng)
            return Task(scene, states[-1], tuple(goals), tuple(clauses), tuple(order), instruction)
    raise RuntimeError(f"could not generate a {n_goals}-goal task")  # never seen; the rng would be broken
