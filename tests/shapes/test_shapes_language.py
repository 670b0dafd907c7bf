"""Atomic ops as text and back, referring expressions, clause splitting and phrasing."""

from __future__ import annotations

import numpy as np
import pytest

from mirabench.shapes import (
    Change,
    Obj,
    Scene,
    apply,
    interpret,
    join_clauses,
    make_task,
    parse,
    phrase,
    refs_for,
    resolve,
    resolve_ref,
    say,
    split_clauses,
)
from mirabench.shapes.language import Add, Background, Beside, Move, Recolor, Ref, Region, Remove, Resize, Step

RED_CIRCLE = Obj("circle", "red", "small", 6, 16)
RED_CIRCLE_2 = Obj("circle", "red", "small", 26, 16)
BLUE_SQUARE = Obj("square", "blue", "medium", 16, 16)
BIG_TRIANGLE = Obj("triangle", "green", "large", 16, 5)
SCENE = Scene("gray", (RED_CIRCLE, RED_CIRCLE_2, BLUE_SQUARE, BIG_TRIANGLE))


def tasks(n: int = 120) -> list:
    return [make_task(np.random.default_rng([4, i]), 1 + i % 5, permuted=bool(i % 2)) for i in range(n)]


@pytest.mark.parametrize(
    ("text", "op"),
    [
        ("make the red circle blue", Recolor(Ref("circle", "red"), "blue")),
        ("Please change the colour of the large triangle to white.", Recolor(Ref("triangle", size="large"), "white")),
        (
            "get rid of the circle left of the blue square",
            Remove(Ref("circle", relation="left of", anchor=Ref("square", "blue"))),
        ),
        (
            "add a small yellow triangle in the top left corner",
            Add("triangle", "yellow", "small", Region("top left corner")),
        ),
        (
            "draw a purple circle to the right of the blue square",
            Add("circle", "purple", "medium", Beside("right of", Ref("square", "blue"))),
        ),
        ("move the leftmost circle to the left", Move(Ref("circle", extreme="leftmost"), Step("left"))),
        (
            "slide the circle left of the blue square up",
            Move(Ref("circle", relation="left of", anchor=Ref("square", "blue")), Step("up")),
        ),
        ("move the square to the centre", Move(Ref("square"), Region("centre"))),
        ("make the green triangle smaller", Resize(Ref("triangle", "green"), False)),
        ("enlarge the square", Resize(Ref("square"), True)),
        ("change the background to beige", Background("beige")),
        ("make the background grey", Background("gray")),
    ],
)
def test_parse_reads_the_grammar(text: str, op: object) -> None:
    assert parse(text) == op


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        "make it nicer",
        "remove the",
        "add a circle in the top left",
        "move the circle",
        "make the red circle",
        "paint the sky blue",
        "move the circle left of the blue square",
    ],
)
def test_parse_refuses_what_is_not_in_the_grammar(text: str) -> None:
    assert parse(text) is None


def test_resolve_follows_the_scene_and_refuses_ambiguity() -> None:
    assert resolve_ref(Ref("circle", "red"), SCENE) is None  # two red circles
    assert resolve_ref(Ref("circle", extreme="leftmost"), SCENE) == RED_CIRCLE
    assert resolve_ref(Ref("circle", relation="right of", anchor=Ref("square")), SCENE) == RED_CIRCLE_2
    assert resolve_ref(Ref("triangle", size="large"), SCENE) == BIG_TRIANGLE
    assert resolve_ref(Ref("square", "red"), SCENE) is None
    move = resolve(parse("move the square down"), SCENE)
    assert move == Change("move", BLUE_SQUARE, Obj("square", "blue", "medium", 16, 20))
    add = resolve(parse("add a small black square below the blue square"), SCENE)
    assert add == Change("add", after=Obj("square", "black", "small", 16, 23))  # 3 + GAP 2 + 2 below
    assert resolve(parse("make the square bigger"), SCENE) is not None
    assert resolve(parse("make the large triangle bigger"), SCENE) is None  # already the largest
    assert resolve(parse("make the background gray"), SCENE) is None  # nothing would change


def test_every_generated_clause_round_trips_and_executes_in_order() -> None:
    for task in tasks():
        scene = task.source
        for clause, goal in zip(task.clauses, task.goals, strict=True):
            op = parse(clause)
            assert op is not None, clause
            assert parse(say(op)) == op
            assert resolve(op, task.source) == goal, clause  # what the clause means in I0 ...
            assert resolve(op, scene) == goal, clause  # ... is what it means when its turn comes
            scene = apply(scene, goal)
            assert scene is not None
        assert scene == task.target


def test_say_with_an_rng_varies_wording_but_not_meaning() -> None:
    op = Move(Ref("circle", "red", extreme="leftmost"), Step("up"))
    texts = {say(op, np.random.default_rng(i)) for i in range(40)}
    assert len(texts) > 3
    assert all(parse(text) == op for text in texts)


def test_refs_for_lists_only_unique_expressions() -> None:
    for o in SCENE.objects:
        refs = refs_for(o, SCENE)
        assert refs, o
        assert all(resolve_ref(ref, SCENE) == o for ref in refs)
    assert Ref("circle", "red") not in refs_for(RED_CIRCLE, SCENE)


def test_phrase_is_unambiguous_in_every_given_state() -> None:
    recolor = Change("recolor", RED_CIRCLE, Obj("circle", "blue", "small", 6, 16))
    text = phrase(recolor, SCENE)
    assert text is not None and resolve(parse(text), SCENE) == recolor
    # after the other red circle turns blue, "the blue circle" would be ambiguous: phrase must avoid it
    other_blue = apply(SCENE, Change("recolor", RED_CIRCLE_2, Obj("circle", "blue", "small", 26, 16)))
    assert other_blue is not None
    text = phrase(recolor, SCENE, states=[other_blue])
    assert text is not None and resolve(parse(text), other_blue) == recolor


def test_split_and_join_clauses_are_inverse() -> None:
    clauses = [
        "make the red circle blue",
        "remove the square",
        "move the large triangle up",
        "add a small black square in the centre",
        "change the background to pink",
    ]
    for seed in range(30):
        text = join_clauses(clauses, np.random.default_rng(seed))
        assert text[0].isupper() and text.endswith(".")
        assert [c.lower() for c in split_clauses(text)] == clauses
    assert split_clauses("remove the square; then, after that, and finally make it blue.") == [
        "remove the square",
        "make it blue",
    ]


def test_interpret_marks_clauses_it_cannot_use() -> None:
    got = interpret("Remove the blue square, then make the sky green and remove the red circle", SCENE)
    assert [change for _, change in got] == [Change("remove", BLUE_SQUARE), None, None]  # 2 red circles


def test_instructions_use_all_connectives_ops_and_reference_styles() -> None:
    generated = tasks(300)
    text = " ".join(t.instruction.lower() for t in generated)
    for needle in (
        ", then ",
        " and ",
        "; ",
        ", after that ",
        "leftmost",
        " of the ",
        " above the ",
        "remove",
        "add a",
        "move",
        "bigger",
        "background",
        "corner",
    ):
        assert needle in text, needle
    ops = {g.op for t in generated for g in t.goals}
    assert ops == {"recolor", "remove", "add", "move", "resize", "background"}
