"""Reasoning for the heuristic agent: which single atomic edit brings the current scene closer to the target.

The diff pairs current and target objects (goals.match), then proposes one-attribute fixes. Repairs of
collateral damage (an object the instruction never touched that no longer looks as it did in I0, a stray
object, an unasked background change) come before the remaining sub-goals, so damage never blocks later
edits. The first fix that applies to the current scene and can be said unambiguously in it wins.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from mirabench.shapes.goals import match
from mirabench.shapes.meaning import phrase
from mirabench.shapes.scene import SIZES, STEP, Change, Obj, Scene, apply

__all__ = ["Fix", "fixes", "next_fix"]

_SIZE_ORDER = tuple(SIZES)


@dataclass(frozen=True)
class Fix:
    """One proposed edit: the change, whether it repairs collateral damage, and its text once phrased."""

    change: Change
    repair: bool
    text: str = ""


def _toward(c: Obj, t: Obj) -> list[Change]:
    """Single-attribute changes that turn `c` into `t`: recolour, resize one size class, then move (directly,
    or one STEP along an axis when the destination cannot be named)."""
    out = []
    if c.color != t.color:
        out.append(Change("recolor", c, replace(c, color=t.color)))
    if c.size != t.size:
        i = _SIZE_ORDER.index(c.size) + (1 if SIZES[t.size] > SIZES[c.size] else -1)
        out.append(Change("resize", c, replace(c, size=_SIZE_ORDER[i])))
    if (c.x, c.y) != (t.x, t.y):
        out.append(Change("move", c, replace(c, x=t.x, y=t.y)))
        for dx, dy in ((t.x - c.x, 0), (0, t.y - c.y)):
            spot = (c.x + _sign(dx) * STEP, c.y + _sign(dy) * STEP)
            if abs(dx + dy) >= STEP and spot != (t.x, t.y):
                out.append(Change("move", c, replace(c, x=spot[0], y=spot[1])))
    return out


def _sign(d: int) -> int:
    return (d > 0) - (d < 0)


def fixes(current: Scene, target: Scene, source: Scene) -> list[Fix]:
    """Every candidate next edit, repairs first; empty when current == target."""
    found: list[Fix] = []
    if current.background != target.background:
        change = Change("background", background=target.background)
        found.append(Fix(change, repair=target.background == source.background))
    cur = [o for o in current.objects if o not in target.objects]
    tgt = [o for o in target.objects if o not in current.objects]
    pairs = match(cur, tgt)
    for i, j in pairs:
        found += [Fix(ch, repair=tgt[j] in source.objects) for ch in _toward(cur[i], tgt[j])]
    paired_cur, paired_tgt = {i for i, _ in pairs}, {j for _, j in pairs}
    found += [
        Fix(Change("remove", o), repair=o not in source.objects) for i, o in enumerate(cur) if i not in paired_cur
    ]
    found += [Fix(Change("add", after=o), repair=o in source.objects) for j, o in enumerate(tgt) if j not in paired_tgt]
    return sorted(found, key=lambda f: not f.repair)


def next_fix(current: Scene, target: Scene, source: Scene) -> Fix | None:
    """The first candidate that applies to `current` and has an unambiguous clause; None if there is none."""
    for fix in fixes(current, target, source):
        if apply(current, fix.change) is not None:
            text = phrase(fix.change, current)
            if text is not None:
                return replace(fix, text=text)
    return None
