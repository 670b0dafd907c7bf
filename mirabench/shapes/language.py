"""The shapes world's language: atomic edit operations as data, as text (`say`) and back (`parse`).

One clause follows this grammar (lower case; punctuation, articles and fillers like "please" are tolerated):

    recolor     make|paint|turn|recolour REF [to] COLOUR  |  change the colour of REF to COLOUR
    remove      remove|delete|erase REF  |  get rid of REF
    add         add|draw|place a [SIZE] COLOUR KIND WHERE           (SIZE defaults to medium)
    move        move|shift|slide REF WHERE  |  move REF left|right|up|down
    resize      make REF bigger|larger|smaller  |  enlarge|shrink REF
    background  change the background to COLOUR  |  make|paint the background COLOUR
    REF         the [EXTREME] [SIZE] [COLOUR] KIND [left of|right of|above|below REF]
    WHERE       in|at|to the REGION  |  to the left|right of REF  |  above|below REF

A complex instruction is clauses joined by connectives ("then", "and", ";", ", after that", ...), which
`split_clauses` undoes. What a parsed clause means in a given scene is `mirabench.shapes.meaning`'s job.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mirabench.shapes.scene import BACKGROUND_COLORS, OBJECT_COLORS, REGIONS, pick

__all__ = [
    "DIRECTIONS",
    "EXTREMES",
    "RELATIONS",
    "Add",
    "Background",
    "Beside",
    "Move",
    "Op",
    "Recolor",
    "Ref",
    "Region",
    "Remove",
    "Resize",
    "Step",
    "Where",
    "join_clauses",
    "parse",
    "parse_ref",
    "say",
    "split_clauses",
]

RELATIONS = ("left of", "right of", "above", "below")
EXTREMES = ("leftmost", "rightmost", "topmost", "bottommost")
DIRECTIONS = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}


def _synonyms(groups: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """word -> canonical word, from each canonical word and its synonyms."""
    return {word: canon for canon, words in groups.items() for word in (canon, *words)}


_KIND_WORDS = _synonyms({"circle": ("disc", "disk"), "square": (), "triangle": ()})
_SIZE_WORDS = _synonyms({"small": ("little", "tiny"), "medium": (), "large": ("big",)})
_COLOR_WORDS = _synonyms(
    {c: () for c in (*OBJECT_COLORS, *BACKGROUND_COLORS)} | {"gray": ("grey",), "purple": ("violet",)}
)
_EXTREME_WORDS = _synonyms(
    {"leftmost": (), "rightmost": (), "topmost": ("highest", "uppermost"), "bottommost": ("lowest",)}
)
_DIRECTION_WORDS = _synonyms(
    {"left": ("leftwards",), "right": ("rightwards",), "up": ("upwards", "upward"), "down": ("downwards", "downward")}
)
_RELATION_WORDS = {
    ("left", "of"): "left of",
    ("right", "of"): "right of",
    ("above",): "above",
    ("below",): "below",
    ("under",): "below",
}
_RESIZE_WORDS = {"bigger": True, "larger": True, "smaller": False}
_FILLERS = {"please", "first", "now", "also", "next", "finally", "then", "afterwards", "lastly"}
_PREPOSITIONS = {"to", "in", "at", "on", "into", "towards", "toward", "the"}


def _region_aliases() -> dict[tuple[str, ...], str]:
    aliases: dict[tuple[str, ...], str] = {}
    for name in REGIONS:
        words = tuple(name.split())
        aliases[words] = name
        if words[-1] == "corner":
            aliases[words[:-1]] = name
        if words[-1] == "edge":
            aliases[(words[0], "side")] = name
    aliases.update({("center",): "centre", ("middle",): "centre", ("top",): "top edge", ("bottom",): "bottom edge"})
    return aliases


_REGION_WORDS = _region_aliases()
_ADD_EDGES = {("left",): "left edge", ("right",): "right edge"}  # "add a circle on the left" (moves: a direction)


@dataclass(frozen=True)
class Ref:
    """A referring expression: "the [extreme] [size] [colour] kind [relation anchor]"."""

    kind: str
    color: str | None = None
    size: str | None = None
    extreme: str | None = None
    relation: str | None = None
    anchor: Ref | None = None

    @property
    def text(self) -> str:
        words = [w for w in ("the", self.extreme, self.size, self.color, self.kind) if w]
        if self.relation and self.anchor:
            words += [self.relation, self.anchor.text]
        return " ".join(words)


@dataclass(frozen=True)
class Region:
    """One of the nine named places of the canvas (scene.REGIONS)."""

    name: str


@dataclass(frozen=True)
class Step:
    """One STEP of travel in a direction (moves only)."""

    direction: str


@dataclass(frozen=True)
class Beside:
    """Next to an anchor object, GAP cells away on the given side."""

    side: str
    anchor: Ref


Where = Region | Step | Beside


@dataclass(frozen=True)
class Recolor:
    target: Ref
    color: str


@dataclass(frozen=True)
class Remove:
    target: Ref


@dataclass(frozen=True)
class Add:
    kind: str
    color: str
    size: str
    where: Where


@dataclass(frozen=True)
class Move:
    target: Ref
    where: Where


@dataclass(frozen=True)
class Resize:
    target: Ref
    bigger: bool


@dataclass(frozen=True)
class Background:
    color: str


Op = Recolor | Remove | Add | Move | Resize | Background


# ---------------------------------------------------------------------------------------------- op -> text


def _choose(rng: np.random.Generator | None, options: Sequence[str]) -> str:
    """The first option for deterministic speakers (the agent), a random one for the task generator."""
    return options[0] if rng is None else pick(rng, options)


def _say_where(where: Where, moving: bool, rng: np.random.Generator | None) -> str:
    if isinstance(where, Step):
        word = {"left": "to the left", "right": "to the right", "up": "upwards", "down": "downwards"}
        return _choose(rng, [where.direction, word[where.direction]])
    if isinstance(where, Region):
        if moving:
            return f"to the {where.name}"
        if where.name == "centre":
            return _choose(rng, ["in the centre", "at the centre", "in the middle"])
        if where.name.endswith("edge"):
            return _choose(rng, [f"at the {where.name}", f"on the {where.name}"])
        return f"in the {where.name}"
    side = {"left of": "to the left of", "right of": "to the right of"}.get(where.side, where.side)
    return f"{side} {where.anchor.text}"


def say(op: Op, rng: np.random.Generator | None = None) -> str:
    """The op as one clause; with an rng the wording varies, without it is the first (plainest) template."""
    if isinstance(op, Recolor):
        ref, c = op.target.text, op.color
        return _choose(
            rng,
            [
                f"make {ref} {c}",
                f"paint {ref} {c}",
                f"change the colour of {ref} to {c}",
                f"turn {ref} {c}",
                f"recolour {ref} to {c}",
            ],
        )
    if isinstance(op, Remove):
        ref = op.target.text
        return _choose(rng, [f"remove {ref}", f"delete {ref}", f"erase {ref}", f"get rid of {ref}"])
    if isinstance(op, Add):
        what = f"a {op.size} {op.color} {op.kind} {_say_where(op.where, False, rng)}"
        return _choose(rng, [f"add {what}", f"draw {what}", f"place {what}"])
    if isinstance(op, Move):
        where = _say_where(op.where, True, rng)
        return _choose(
            rng,
            [f"move {op.target.text} {where}", f"shift {op.target.text} {where}", f"slide {op.target.text} {where}"],
        )
    if isinstance(op, Resize):
        ref = op.target.text
        if op.bigger:
            return _choose(rng, [f"make {ref} bigger", f"make {ref} larger", f"enlarge {ref}"])
        return _choose(rng, [f"make {ref} smaller", f"shrink {ref}"])
    c = op.color
    return _choose(rng, [f"change the background to {c}", f"make the background {c}", f"paint the background {c}"])


# ---------------------------------------------------------------------------------------------- text -> op


def _words(text: str) -> list[str]:
    words = re.findall(r"[a-z]+", text.lower())
    while words and words[0] in _FILLERS:
        words.pop(0)
    return words


def parse_ref(words: Sequence[str], nested: bool = False) -> Ref | None:
    """A referring expression spanning all of `words`, or None. Anchors (`nested`) carry no relation."""
    i, n = (1 if words and words[0] == "the" else 0), len(words)
    slots: dict[str, str] = {}
    while i < n and words[i] not in _KIND_WORDS:
        for slot, table in (("extreme", _EXTREME_WORDS), ("size", _SIZE_WORDS), ("color", _COLOR_WORDS)):
            if words[i] in table and slot not in slots:
                slots[slot] = table[words[i]]
                break
        else:
            return None
        i += 1
    if i == n:
        return None
    kind, rest = _KIND_WORDS[words[i]], tuple(words[i + 1 :])
    if not rest:
        return Ref(kind, slots.get("color"), slots.get("size"), slots.get("extreme"))
    if nested:
        return None
    for key, relation in _RELATION_WORDS.items():
        if rest[: len(key)] == key:
            anchor = parse_ref(rest[len(key) :], nested=True)
            if anchor is None:
                return None
            return Ref(kind, slots.get("color"), slots.get("size"), slots.get("extreme"), relation, anchor)
    return None


def _parse_where(words: Sequence[str], moving: bool) -> Where | None:
    words = tuple(words)
    for key, side in (
        (("to", "the", "left", "of"), "left of"),
        (("to", "the", "right", "of"), "right of"),
        (("above",), "above"),
        (("below",), "below"),
        (("under",), "below"),
    ):
        if words[: len(key)] == key:
            anchor = parse_ref(words[len(key) :])
            return Beside(side, anchor) if anchor else None
    while words and words[0] in _PREPOSITIONS:
        words = words[1:]
    if words in _REGION_WORDS:
        return Region(_REGION_WORDS[words])
    if moving and len(words) == 1 and words[0] in _DIRECTION_WORDS:
        return Step(_DIRECTION_WORDS[words[0]])
    if not moving and words in _ADD_EDGES:
        return Region(_ADD_EDGES[words])
    return None


def _parse_add(words: Sequence[str]) -> Add | None:
    i = 1 if words and words[0] in ("a", "an", "another", "one") else 0
    slots: dict[str, str] = {}
    while i < len(words) and words[i] not in _KIND_WORDS:
        slot = "size" if words[i] in _SIZE_WORDS else "color" if words[i] in _COLOR_WORDS else ""
        if not slot or slot in slots:
            return None
        slots[slot] = (_SIZE_WORDS if slot == "size" else _COLOR_WORDS)[words[i]]
        i += 1
    if i == len(words) or "color" not in slots:
        return None
    where = _parse_where(words[i + 1 :], moving=False)
    if where is None:
        return None
    return Add(_KIND_WORDS[words[i]], slots["color"], slots.get("size", "medium"), where)


def _parse_move(words: Sequence[str]) -> Move | None:
    """Longest referring expression first, so "the circle left of the square up" keeps its relation."""
    for cut in range(len(words) - 1, 0, -1):
        ref = parse_ref(words[:cut])
        if ref is not None:
            where = _parse_where(words[cut:], moving=True)
            if where is not None:
                return Move(ref, where)
    return None


def _parse_recolor(words: Sequence[str]) -> Recolor | None:
    if len(words) < 2 or words[-1] not in _COLOR_WORDS:
        return None
    body = words[:-2] if words[-2] == "to" else words[:-1]
    ref = parse_ref(body)
    return Recolor(ref, _COLOR_WORDS[words[-1]]) if ref else None


def parse(text: str) -> Op | None:
    """One clause to an op, or None when it does not follow the grammar (never raises)."""
    words = _words(text)
    if len(words) < 2:
        return None
    verb, rest = words[0], words[1:]
    if "background" in words:
        return Background(_COLOR_WORDS[words[-1]]) if words[-1] in _COLOR_WORDS else None
    if verb in ("remove", "delete", "erase") or words[:3] == ["get", "rid", "of"]:
        ref = parse_ref(words[3:] if verb == "get" else rest)
        return Remove(ref) if ref else None
    if verb in ("add", "draw", "place", "insert"):
        return _parse_add(rest)
    if verb in ("move", "shift", "slide"):
        return _parse_move(rest)
    if verb in ("enlarge", "shrink"):
        ref = parse_ref(rest)
        return Resize(ref, verb == "enlarge") if ref else None
    if verb == "make" and words[-1] in _RESIZE_WORDS:
        ref = parse_ref(words[1:-1])
        return Resize(ref, _RESIZE_WORDS[words[-1]]) if ref else None
    if words[:4] in (["change", "the", "colour", "of"], ["change", "the", "color", "of"]):
        return _parse_recolor(words[4:]) if "to" in words[4:] else None
    if verb in ("make", "paint", "turn", "colour", "color", "recolour", "recolor"):
        return _parse_recolor(rest)
    return None


# ---------------------------------------------------------------------------------------------- clauses

_SPLIT = re.compile(r"[;.,!?]|\b(?:and|then|after that|afterwards|next|finally|also)\b", re.IGNORECASE)
_CONNECTIVES = (", then ", " and ", "; ", ", after that ", " and then ", ". Then ")


def split_clauses(text: str) -> list[str]:
    """The clauses of a complex instruction, in text order, connectives and empty pieces dropped."""
    return [piece.strip() for piece in _SPLIT.split(text) if piece.strip()]


def join_clauses(clauses: Sequence[str], rng: np.random.Generator) -> str:
    """One sentence from clauses with varied connectives; `split_clauses` gives the clauses back."""
    text = clauses[0]
    for i, clause in enumerate(clauses[1:], start=2):
        last = i == len(clauses)
        text += pick(rng, [*_CONNECTIVES, ", and finally "] if last and i > 2 else _CONNECTIVES) + clause
    return text[0].upper() + text[1:] + "."
