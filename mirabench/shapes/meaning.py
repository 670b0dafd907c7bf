"""What text means in a scene, and how to say a change so that it means exactly that.

`resolve` turns a parsed op into a concrete `Change` of a given scene (None when a reference is ambiguous or
absent: like a real editor, the caller then ignores the clause). `phrase` goes the other way: it searches the
ops whose text, parsed back, resolves to a wanted change in every given scene, so generated instructions and
the agent's atomic edits are unambiguous by construction rather than by hope.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from mirabench.shapes.language import (
    DIRECTIONS,
    EXTREMES,
    RELATIONS,
    Add,
    Background,
    Beside,
    Move,
    Op,
    Recolor,
    Ref,
    Region,
    Remove,
    Resize,
    Step,
    Where,
    parse,
    say,
    split_clauses,
)
from mirabench.shapes.scene import BACKGROUND_COLORS, GAP, OBJECT_COLORS, REGIONS, SIZES, STEP, Change, Obj, Scene

__all__ = ["interpret", "phrase", "placement", "refs_for", "resolve", "resolve_ref"]

_SIZE_ORDER = tuple(SIZES)


def related(o: Obj, anchor: Obj, relation: str) -> bool:
    """Relations compare centres: "left of" means strictly further left, whatever the heights."""
    if relation == "left of":
        return o.x < anchor.x
    if relation == "right of":
        return o.x > anchor.x
    return o.y < anchor.y if relation == "above" else o.y > anchor.y


def _extreme_key(o: Obj, extreme: str) -> int:
    return {"leftmost": o.x, "rightmost": -o.x, "topmost": o.y, "bottommost": -o.y}[extreme]


def resolve_ref(ref: Ref, scene: Scene) -> Obj | None:
    """The one object the expression picks out, or None when it fits none or several."""
    found = [
        o for o in scene.objects if o.kind == ref.kind and ref.color in (None, o.color) and ref.size in (None, o.size)
    ]
    if ref.relation and ref.anchor:
        anchor = resolve_ref(ref.anchor, scene)
        if anchor is None:
            return None
        found = [o for o in found if o != anchor and related(o, anchor, ref.relation)]
    if ref.extreme and found:
        best = min(_extreme_key(o, ref.extreme) for o in found)
        found = [o for o in found if _extreme_key(o, ref.extreme) == best]
    return found[0] if len(found) == 1 else None


def placement(anchor: Obj, side: str, r: int) -> tuple[int, int]:
    """Where an object of half extent r goes when put `side` the anchor, GAP cells from it."""
    offset = anchor.r + GAP + r
    dx, dy = {"left of": (-1, 0), "right of": (1, 0), "above": (0, -1), "below": (0, 1)}[side]
    return anchor.x + dx * offset, anchor.y + dy * offset


def _place(where: Where, r: int, scene: Scene, mover: Obj | None) -> tuple[int, int] | None:
    if isinstance(where, Region):
        return REGIONS[where.name]
    if isinstance(where, Step):
        if mover is None:
            return None
        dx, dy = DIRECTIONS[where.direction]
        return mover.x + dx * STEP, mover.y + dy * STEP
    anchor = resolve_ref(where.anchor, scene)
    if anchor is None or anchor == mover:
        return None
    return placement(anchor, where.side, r)


def resolve(op: Op | None, scene: Scene) -> Change | None:
    """The change `op` asks for in `scene`, or None when it is unresolvable or would change nothing."""
    if op is None:
        return None
    if isinstance(op, Background):
        ok = op.color in BACKGROUND_COLORS and op.color != scene.background
        return Change("background", background=op.color) if ok else None
    if isinstance(op, Add):
        if op.color not in OBJECT_COLORS:
            return None
        spot = _place(op.where, SIZES[op.size], scene, None)
        return Change("add", after=Obj(op.kind, op.color, op.size, *spot)) if spot else None
    o = resolve_ref(op.target, scene)
    if o is None:
        return None
    if isinstance(op, Remove):
        return Change("remove", o)
    if isinstance(op, Recolor):
        ok = op.color in OBJECT_COLORS and op.color != o.color
        return Change("recolor", o, replace(o, color=op.color)) if ok else None
    if isinstance(op, Resize):
        i = _SIZE_ORDER.index(o.size) + (1 if op.bigger else -1)
        return Change("resize", o, replace(o, size=_SIZE_ORDER[i])) if 0 <= i < len(_SIZE_ORDER) else None
    spot = _place(op.where, o.r, scene, o)
    if spot is None or spot == (o.x, o.y):
        return None
    return Change("move", o, replace(o, x=spot[0], y=spot[1]))


def interpret(instruction: str, scene: Scene) -> list[tuple[str, Change | None]]:
    """Each clause of an instruction with the change it asks of `scene` (None: not understood)."""
    return [(clause, resolve(parse(clause), scene)) for clause in split_clauses(instruction)]


# ---------------------------------------------------------------------------------------------- saying


def _plain_refs(o: Obj) -> list[Ref]:
    return [Ref(o.kind), Ref(o.kind, o.color), Ref(o.kind, size=o.size), Ref(o.kind, o.color, o.size)]


def _unique(refs: Sequence[Ref], o: Obj, scene: Scene) -> list[Ref]:
    return [ref for ref in refs if resolve_ref(ref, scene) == o]


def refs_for(o: Obj, scene: Scene) -> list[Ref]:
    """Every expression of the grammar that picks out exactly `o` in `scene`, plainest first."""
    extreme = [Ref(o.kind, c, extreme=e) for e in EXTREMES for c in (None, o.color)]
    relational = []
    for anchor in scene.objects:
        anchor_refs = _unique(_plain_refs(anchor), anchor, scene)
        if anchor == o or not anchor_refs:
            continue
        for relation in RELATIONS:
            if related(o, anchor, relation):
                relational += [Ref(o.kind, c, relation=relation, anchor=anchor_refs[0]) for c in (None, o.color)]
    return _unique([*_plain_refs(o), *extreme, *relational], o, scene)


def _wheres_for(spot: tuple[int, int], r: int, scene: Scene, mover: Obj | None) -> list[Where]:
    wheres: list[Where] = [Region(name) for name, p in REGIONS.items() if p == spot]
    if mover is not None:
        wheres += [Step(d) for d, (dx, dy) in DIRECTIONS.items() if (mover.x + dx * STEP, mover.y + dy * STEP) == spot]
    for anchor in scene.objects:
        if anchor != mover:
            for side in RELATIONS:
                if placement(anchor, side, r) == spot:
                    wheres += [Beside(side, ref) for ref in _unique(_plain_refs(anchor), anchor, scene)]
    return wheres


def _ops_for(change: Change, scene: Scene) -> list[Op]:
    if change.op == "background":
        return [Background(str(change.background))]
    o, a = change.before, change.after
    if change.op == "add" and a is not None:
        return [Add(a.kind, a.color, a.size, w) for w in _wheres_for((a.x, a.y), a.r, scene, None)]
    if o is None:
        return []
    refs = refs_for(o, scene)
    if change.op == "remove":
        return [Remove(ref) for ref in refs]
    if a is None:
        return []
    if change.op == "recolor":
        return [Recolor(ref, a.color) for ref in refs]
    if change.op == "resize":
        return [Resize(ref, SIZES[a.size] > SIZES[o.size]) for ref in refs]
    wheres = _wheres_for((a.x, a.y), o.r, scene, o)
    return [Move(ref, w) for w in wheres for ref in refs]


def _complexity(op: Op) -> int:
    """Words a reader must process to find the object(s), superlatives counting double."""
    ref = getattr(op, "target", None)
    where = getattr(op, "where", None)
    refs = [r for r in (ref, where.anchor if isinstance(where, Beside) else None) if r is not None]
    return sum(len(r.text.split()) + (r.extreme is not None) for r in refs)


def phrase(
    change: Change,
    scene: Scene,
    rng: np.random.Generator | None = None,
    states: Sequence[Scene] = (),
    tries: int = 60,
) -> str | None:
    """A clause that means exactly `change` in `scene` and in every scene of `states`, or None.

    Without an rng the plainest such clause (the agent's voice); with one, a varied wording that still
    prefers shorter expressions (the generator's voice).
    """
    ops = _ops_for(change, scene)
    if rng is None:
        ops.sort(key=_complexity)
    else:
        keys = [_complexity(op) for op in ops] + rng.random(len(ops)) * 4
        ops = [ops[i] for i in np.argsort(keys, kind="stable")]
    for op in ops[:tries]:
        text = say(op, rng)
        meaning = parse(text)
        if all(resolve(meaning, s) == change for s in (scene, *states)):
            return text
    return None
