"""How the simulated shapes editor goes wrong, in the two ways the MIRA paper reports for real editors:
long compound instructions are only partly carried out, and unrelated objects get changed."""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import replace

import numpy as np

from mirabench.shapes.language import DIRECTIONS
from mirabench.shapes.scene import OBJECT_COLORS, STEP, Obj, Scene, fits, pick

__all__ = ["collateral_mistake", "compliance"]


def compliance(n_clauses: int, decay: float) -> float:
    """Probability that each clause of an n-clause instruction is carried out: exp(-decay * (n - 1)).

    1 for a single clause; with the default decay 0.25 about 0.78 for 2 clauses, 0.61 for 3 and 0.37 for 5,
    so a 5-clause instruction gets ~1.8 of its 5 edits on average.
    """
    return math.exp(-decay * max(n_clauses - 1, 0))


def collateral_mistake(rng: np.random.Generator, scene: Scene, spared: Collection[Obj]) -> Scene:
    """Recolour, or move one STEP, a random object outside `spared` (the ones the instruction was about).

    A move that would collide or leave the canvas becomes a recolour; with nothing else to touch, no mistake.
    """
    victims = [o for o in scene.objects if o not in spared]
    if not victims:
        return scene
    victim = pick(rng, victims)
    others = [o for o in scene.objects if o != victim]
    dx, dy = DIRECTIONS[pick(rng, list(DIRECTIONS))]
    moved = replace(victim, x=victim.x + dx * STEP, y=victim.y + dy * STEP)
    if rng.random() < 0.5 and fits(moved, others):
        damaged = moved
    else:
        damaged = replace(victim, color=pick(rng, [c for c in OBJECT_COLORS if c != victim.color]))
    return Scene(scene.background, (*others, damaged))
