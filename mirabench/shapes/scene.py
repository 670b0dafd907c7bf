"""The shapes world's scene model: a background colour and a few flat, non-overlapping shapes.

Positions and sizes live on a GRID x GRID lattice that does not depend on the image size, so scenes compare
exactly with `==` and perception can recover them without error from any render of at least MIN_SIZE pixels.
Objects are kept in a canonical order, so two scenes with the same objects are equal whatever their history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import numpy as np

__all__ = [
    "BACKGROUND_COLORS",
    "GAP",
    "GRID",
    "KINDS",
    "MIN_SIZE",
    "OBJECT_COLORS",
    "REGIONS",
    "SIZES",
    "STEP",
    "Change",
    "Obj",
    "Scene",
    "apply",
    "fits",
    "pick",
    "random_scene",
]

GRID = 32  # lattice cells per image side; a 256 px image has 8 px cells
MIN_SIZE = 64  # smallest image side at which perception stays exact (2 px per cell)
MARGIN = 1  # free cells between any object and the image border
MIN_GAP = 1  # free cells between two objects, so same-coloured neighbours never merge into one blob
GAP = 2  # free cells between an object placed "to the left of" another and that other
STEP = 4  # cells an object travels for "move ... left"

KINDS = ("circle", "square", "triangle")
SIZES = {"small": 2, "medium": 3, "large": 4}  # half extent in cells
# Well-separated colours (pairwise RGB distance > 70) so that snapping to the nearest colour is unambiguous;
# backgrounds are a separate palette, so an object can never vanish into the background.
OBJECT_COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (245, 205, 30),
    "purple": (140, 60, 180),
    "orange": (245, 130, 20),
    "black": (20, 20, 20),
    "white": (250, 250, 250),
}
BACKGROUND_COLORS: dict[str, tuple[int, int, int]] = {
    "gray": (160, 160, 160),
    "beige": (225, 210, 160),
    "pink": (240, 150, 200),
    "teal": (30, 130, 140),
}
_EDGE, _MID = 6, GRID // 2
REGIONS: dict[str, tuple[int, int]] = {
    "top left corner": (_EDGE, _EDGE),
    "top edge": (_MID, _EDGE),
    "top right corner": (GRID - _EDGE, _EDGE),
    "left edge": (_EDGE, _MID),
    "centre": (_MID, _MID),
    "right edge": (GRID - _EDGE, _MID),
    "bottom left corner": (_EDGE, GRID - _EDGE),
    "bottom edge": (_MID, GRID - _EDGE),
    "bottom right corner": (GRID - _EDGE, GRID - _EDGE),
}

T = TypeVar("T")


@dataclass(frozen=True)
class Obj:
    """One shape: what it is, its colour, its size class and its centre in grid cells."""

    kind: str
    color: str
    size: str
    x: int
    y: int

    @property
    def r(self) -> int:
        """Half extent in cells (the bounding box is 2r cells wide)."""
        return SIZES[self.size]

    @property
    def name(self) -> str:
        return f"{self.size} {self.color} {self.kind}"

    def key(self) -> tuple[int, int, str, str, str]:
        return (self.y, self.x, self.kind, self.color, self.size)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "color": self.color, "size": self.size, "x": self.x, "y": self.y}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Obj:
        return cls(str(data["kind"]), str(data["color"]), str(data["size"]), int(data["x"]), int(data["y"]))


@dataclass(frozen=True)
class Scene:
    """A background colour and its objects, stored in canonical order so equality ignores history."""

    background: str
    objects: tuple[Obj, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "objects", tuple(sorted(self.objects, key=Obj.key)))

    def to_dict(self) -> dict[str, Any]:
        return {"background": self.background, "objects": [o.to_dict() for o in self.objects]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scene:
        return cls(str(data["background"]), tuple(Obj.from_dict(o) for o in data["objects"]))

    def valid(self) -> bool:
        """True when every object is on the canvas and apart from the others (what the generator guarantees)."""
        return all(fits(o, self.objects[i + 1 :]) for i, o in enumerate(self.objects))


@dataclass(frozen=True)
class Change:
    """One atomic edit in scene terms: `before` becomes `after` (None for add/remove), or a new background."""

    op: str  # recolor | remove | add | move | resize | background
    before: Obj | None = None
    after: Obj | None = None
    background: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "op": self.op,
            "before": self.before.to_dict() if self.before else None,
            "after": self.after.to_dict() if self.after else None,
            "background": self.background,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Change:
        before, after = data.get("before"), data.get("after")
        return cls(
            str(data["op"]),
            Obj.from_dict(before) if before else None,
            Obj.from_dict(after) if after else None,
            data.get("background"),
        )


def inside(o: Obj) -> bool:
    lo, hi = MARGIN + o.r, GRID - MARGIN - o.r
    return lo <= o.x <= hi and lo <= o.y <= hi


def apart(a: Obj, b: Obj) -> bool:
    """Bounding boxes separated by at least MIN_GAP cells along some axis."""
    reach = a.r + b.r + MIN_GAP
    return abs(a.x - b.x) >= reach or abs(a.y - b.y) >= reach


def fits(o: Obj, others: Sequence[Obj]) -> bool:
    """Whether `o` can be drawn among `others` without touching them or the border."""
    return inside(o) and all(apart(o, p) for p in others)


def apply(scene: Scene, change: Change) -> Scene | None:
    """The scene after `change`, or None when it does not apply (object absent, collision, unknown colour)."""
    if change.op == "background":
        if change.background not in BACKGROUND_COLORS:
            return None
        return replace(scene, background=change.background)
    objects = list(scene.objects)
    if change.before is not None:
        if change.before not in objects:
            return None
        objects.remove(change.before)
    if change.after is not None:
        if change.after.color not in OBJECT_COLORS or not fits(change.after, objects):
            return None
        objects.append(change.after)
    return Scene(scene.background, tuple(objects))


def pick(rng: np.random.Generator, items: Sequence[T]) -> T:
    """A uniformly chosen item (numpy's choice would turn strings into numpy scalars)."""
    return items[int(rng.integers(len(items)))]


def random_obj(rng: np.random.Generator) -> Obj:
    size = pick(rng, list(SIZES))
    lo, hi = MARGIN + SIZES[size], GRID - MARGIN - SIZES[size]
    x, y = (int(v) for v in rng.integers(lo, hi + 1, size=2))
    return Obj(pick(rng, KINDS), pick(rng, list(OBJECT_COLORS)), size, x, y)


def random_scene(rng: np.random.Generator, min_objects: int = 2, max_objects: int = 6) -> Scene:
    """A valid scene with a random background and min..max objects placed by rejection sampling."""
    want = int(rng.integers(min_objects, max_objects + 1))
    objects: list[Obj] = []
    for _ in range(50 * want):
        if len(objects) == want:
            break
        candidate = random_obj(rng)
        if fits(candidate, objects):
            objects.append(candidate)
    return Scene(pick(rng, list(BACKGROUND_COLORS)), tuple(objects))
