"""Planner and thinker output parsing, fuzzed: never raises on model text, and reads every well-formed answer."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mirabench.backends.parsing import ParseError, parse_planner, parse_thinker
from mirabench.types import Edit, Stop

DECORATION = " \t\r\n*`\"'“”‘’"
TAGS = [
    "NEXT_EDITING_INSTRUCTION:",
    "next_editing_instruction:",
    "**NEXT_EDITING_INSTRUCTION:**",
    "Next Editing Instruction:",
]
STOPS = ["<stop>", "<STOP>", "<Stop>", "< stop >", "STOP"]
LINE = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
)


def _plain(s: str) -> bool:
    low = s.lower()
    return "stop" not in low and "next" not in low and "instruction" not in low and bool(s.strip(DECORATION))


@settings(max_examples=300, deadline=None, database=None)
@given(
    st.text(), LINE.filter(_plain), st.sampled_from(TAGS), st.text().filter(lambda t: "instruction" not in t.lower())
)
def test_a_tagged_command_is_read_whatever_surrounds_it(before: str, command: str, tag: str, after: str) -> None:
    action = parse_planner(f"{before}\n{tag} {command}\n{after}")
    assert isinstance(action, Edit)
    assert action.instruction == command.strip(DECORATION)


@settings(max_examples=200, deadline=None, database=None)
@given(st.sampled_from(STOPS), st.booleans(), st.sampled_from(["", " ", "\n", "  \n\t"]))
def test_every_stop_spelling_stops_bare_or_tagged(stop: str, tagged: bool, pad: str) -> None:
    text = f"{pad}NEXT_EDITING_INSTRUCTION: {stop}{pad}" if tagged else f"{pad}{stop}{pad}"
    action = parse_planner(text)
    assert isinstance(action, Stop) and not action.error
    assert action.raw == text


@settings(max_examples=300, deadline=None, database=None)
@given(st.text())
def test_any_text_gives_an_action_and_never_raises(text: str) -> None:
    action = parse_planner(text)
    assert isinstance(action, (Edit, Stop))
    assert action.raw == text
    if isinstance(action, Edit):
        assert action.instruction.strip() and "\n" not in action.instruction


@settings(max_examples=200, deadline=None, database=None)
@given(st.text().filter(lambda t: "stop" not in t.lower() and "instruction" not in t.lower()))
def test_text_without_tag_or_stop_is_a_recorded_agent_error(text: str) -> None:
    action = parse_planner(text)
    assert isinstance(action, Stop) and action.error and action.raw == text


@pytest.mark.parametrize(
    "text",
    [
        "NEXT_EDITING_INSTRUCTION:",
        "NEXT_EDITING_INSTRUCTION:   \n  \n",
        "NEXT_EDITING_INSTRUCTION: paint it red <STOP>",
    ],
)
def test_empty_or_ambiguous_commands_are_errors(text: str) -> None:
    action = parse_planner(text)
    assert isinstance(action, Stop) and action.error


SCORE = st.floats(0, 10, allow_nan=False).map(lambda x: round(x, 2))
BODY = st.text().filter(lambda t: "<" not in t and ">" not in t)


@settings(max_examples=300, deadline=None, database=None)
@given(SCORE, SCORE, BODY, BODY.filter(lambda t: t.strip() != ""), st.booleans(), st.booleans(), st.booleans())
def test_thinker_blocks_are_read(
    sem: float, qual: float, think: str, answer: str, with_think: bool, swap_keys: bool, as_int: bool
) -> None:
    values = {"quality": qual, "semantic": sem} if swap_keys else {"semantic": sem, "quality": qual}
    if as_int:
        values = {k: int(v) for k, v in values.items()}
    text = (f"<think>{think}</think>\n" if with_think else "") + (
        f"<score>\n{json.dumps(values, indent=2)}\n</score>\n<answer>{answer}</answer>"
    )
    reply = parse_thinker(text)
    assert (reply.semantic, reply.quality) == (float(values["semantic"]), float(values["quality"]))
    assert reply.answer == answer.strip()
    assert reply.think == (think.strip() if with_think else "")


@settings(max_examples=300, deadline=None, database=None)
@given(st.text())
def test_thinker_parser_raises_only_parse_errors(text: str) -> None:
    try:
        reply = parse_thinker(text)
    except ParseError:
        return
    assert 0 <= reply.semantic <= 10 and 0 <= reply.quality <= 10


@pytest.mark.parametrize(
    "text, problem",
    [
        ("<think>x</think><answer>a</answer>", "no <score>"),
        ('<score>{"semantic": 9, "quality": 9}</score>', "no <answer>"),
        ('<score>{"semantic": 11, "quality": 9}</score><answer>a</answer>', "outside 0-10"),
        ('<score>{"semantic": 5}</score><answer>a</answer>', "quality"),
    ],
)
def test_thinker_format_failures_name_the_problem(text: str, problem: str) -> None:
    with pytest.raises(ParseError, match=problem):
        parse_thinker(text)


def test_thinker_score_without_valid_json_is_still_read() -> None:
    reply = parse_thinker("<score>semantic: 7, quality=6.5</score><answer>make it blue</answer>")
    assert (reply.semantic, reply.quality, reply.answer) == (7.0, 6.5, "make it blue")
