"""Faithful parsing: exactly what upstream VIEScore / EditScore accept, reject, guess or crash on (hand-made table).

Expected outcomes were worked out by reading the upstream files (VIEScore `viescore/utils.py`, EditScore
`editscore/utils.py`); where the `editscore` wheel is installed its own parser is also run on every case.
"""

from __future__ import annotations

import importlib.util
import json
import math
import random
from importlib import metadata
from typing import Any

import pytest

from mirabench.judge.faithful import Answer, evaluate_upstream, parse_editscore, parse_viescore

REJECT = None
# text -> (VIEScore result, EditScore result on its 0-25 scale); a dict is the parsed object, REJECT = ask again
TABLE: list[tuple[str, Any, Any]] = [
    (
        '{"score": [7, 6], "reasoning": "ok"}',
        {"score": [7, 6], "reasoning": "ok"},
        {"score": [7, 6], "reasoning": "ok"},
    ),
    ("7", {"score": [7]}, {"score": [7]}),
    (" 7\n", {"score": [7]}, {"score": [7]}),  # Python's int() strips whitespace
    ("+7", {"score": [7]}, {"score": [7]}),
    ("1_0", {"score": [10]}, {"score": [10]}),  # int() reads digit separators
    ("11", REJECT, REJECT),  # a bare integer must lie in 0..10
    ("18", REJECT, REJECT),  # also on EditScore's 0-25 scale (its check is the same 0..10)
    ("7.0", REJECT, REJECT),
    ("[7, 6]", {"score": [7, 6]}, {"score": [7, 6]}),
    ("[7,6]", {"score": [7, 6]}, {"score": [7, 6]}),
    ("Scores: [7, 6].", {"score": [7, 6]}, {"score": [7, 6]}),  # first '[' to last ']' is matched
    ("[ 7 , 6 ]", REJECT, REJECT),  # at most one space, after the comma only
    ("[7,  6]", REJECT, REJECT),
    ("[-1, 6]", REJECT, REJECT),  # no sign in a bare pair
    ("[7, 6, 5]", REJECT, REJECT),
    ("\u201cscore\u201d: [7, 6]", {"score": [7, 6]}, {"score": [7, 6]}),  # no braces: the bare pair is read
    ("{\u201cscore\u201d: [7, 6]}", REJECT, {"score": [7, 6]}),  # curly quotes: only EditScore normalises
    ('{"score": [-2, 6]}', {"score": [-2, 6]}, {"score": [-2, 6]}),  # negatives inside JSON are kept
    ('{"score": ["7", "6"]}', {"score": ["7", "6"]}, {"score": ["7", "6"]}),  # strings kept (crash later)
    ('{"score": []}', {"score": []}, {"score": []}),  # empty list kept (crash later)
    ('{"score": 7}', {"score": [7]}, {"score": [7]}),  # a scalar is wrapped in a list
    ("{score: 7}", {"score": [7]}, {"score": 7}),  # VIEScore's regex fixer wraps; json_repair does not
    ("{score: [7, 6]}", REJECT, {"score": [7, 6]}),  # the regex fixer breaks lists
    ('{"reasoning": "x"}', REJECT, {"reasoning": "x"}),  # no score: VIEScore re-asks, EditScore crashes later
    ('||V^=^V||{"score": [1, 2]}||V^=^V||', {"score": [1, 2]}, {"score": [1, 2]}),
    ("{bad json}", REJECT, ["bad json}"]),  # json_repair's best effort: a list (crash later)
    ('{"score": [7', REJECT, REJECT),  # an opening brace without a closing one is "no JSON"
    ("}{", REJECT, REJECT),
    ("", REJECT, REJECT),
    ("I'm sorry, but I can't assist with that request.", REJECT, REJECT),
]


def obj(answer: Answer | None) -> Any:
    return None if answer is None else answer.obj


@pytest.mark.parametrize(("text", "vie", "edit"), TABLE)
def test_accept_reject_table(text: str, vie: Any, edit: Any) -> None:
    rng = random.Random(0)
    assert obj(parse_viescore(text, give_up=False, rng=rng)) == vie
    assert obj(parse_editscore(text, give_up=False, rng=rng, score_range=25)) == edit


def _wheel_parser() -> Any:
    try:
        dist = metadata.distribution("editscore")
    except metadata.PackageNotFoundError:
        return None
    pytest.importorskip("regex")
    spec = importlib.util.spec_from_file_location("_editscore_utils", str(dist.locate_file("editscore/utils.py")))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.mllm_output_to_dict


@pytest.mark.parametrize(("text", "edit"), [(t, e) for t, _, e in TABLE])
def test_editscore_table_agrees_with_the_installed_wheel(text: str, edit: Any, capsys: pytest.CaptureFixture) -> None:
    upstream = _wheel_parser()
    if upstream is None:
        pytest.skip("editscore not installed")
    got = upstream(text, give_up_parsing=False, score_range=25)
    if isinstance(got, dict) and isinstance(edit, dict) and "reasoning" not in edit:
        got.pop("reasoning", None)  # upstream labels bare answers with a reasoning string of its own
    assert (None if got is False else got) == edit


def test_non_ascii_digits_in_a_bare_pair_raise_as_upstream() -> None:
    with pytest.raises(ValueError):
        parse_viescore("[\u0667, 6]", give_up=False, rng=random.Random(0))


def test_giving_up() -> None:
    # VIEScore: only an answer without JSON becomes a guess, a one-element list in 0..10
    g = parse_viescore("no json here", give_up=True, rng=random.Random(3))
    assert g is not None and g.guessed and g.obj["score"] == [random.Random(3).randint(0, 10)]
    assert parse_viescore("{bad json}", give_up=True, rng=random.Random(3)) is None  # upstream: asks forever
    assert not parse_viescore('{"score": [7, 6]}', give_up=True, rng=random.Random(3)).guessed  # type: ignore[union-attr]
    # EditScore: giving up guesses [g, g] in 0..range whatever the text says
    e = parse_editscore('{"score": [7, 6]}', give_up=True, rng=random.Random(3), score_range=25)
    g25 = random.Random(3).randint(0, 25)
    assert e is not None and e.guessed and e.obj["score"] == [g25, g25]


@pytest.mark.parametrize(
    ("sc", "pq", "flavour", "expected"),
    [
        ([7, 6], [9, 4], "viescore", (6.0, 4.0, math.sqrt(24))),
        ([-2, 6], [0, 3], "viescore", (-2.0, 0.0, 0.0)),  # a negative SC survives when PQ is 0: sqrt(-0)
        ([20, 15], [25, 10], "editscore", (6.0, 4.0, math.sqrt(24))),  # 0-25 divided by 2.5
        ([True, 7], [5], "viescore", (1.0, 5.0, math.sqrt(5))),
    ],
)
def test_upstream_arithmetic(sc: list, pq: list, flavour: Any, expected: tuple) -> None:
    out = evaluate_upstream(Answer({"score": sc}), Answer({"score": pq}), flavour, 25 if flavour == "editscore" else 10)
    assert out == pytest.approx(expected)


@pytest.mark.parametrize(
    ("sc", "pq", "flavour", "error"),
    [
        ({"score": [-2, 6]}, {"score": [9, 4]}, "viescore", "ValueError"),  # sqrt of a negative product
        ({"score": ["7", "6"]}, {"score": [9, 4]}, "viescore", "TypeError"),
        ({"score": []}, {"score": [9, 4]}, "viescore", "ValueError"),  # min() of an empty list
        ({"score": 7}, {"score": [9, 4]}, "editscore", "TypeError"),  # json_repair left the scalar unwrapped
        ({"score": [20]}, {"score": [25, 10]}, "editscore", "IndexError"),  # consistency = SC[1]
        ({"reasoning": "x"}, {"score": [25, 10]}, "editscore", "KeyError"),
        (["bad json}"], {"score": [25, 10]}, "editscore", "TypeError"),
    ],
)
def test_upstream_crashes(sc: Any, pq: Any, flavour: Any, error: str) -> None:
    out = evaluate_upstream(Answer(sc), Answer(pq), flavour, 25 if flavour == "editscore" else 10)
    assert isinstance(out, str) and out.startswith(f"upstream raises {error}")


def test_editscore_over_openai_says_it_is_not_upstreams_layout() -> None:
    from typer.testing import CliRunner

    from mirabench.cli.root import app
    from mirabench.registry import metrics

    m = metrics.build("editscore", backend="openai", base_url="http://127.0.0.1:9/v1")
    assert m.run_info()["layout"]["reproduces_upstream"] is False and "chat template" in m.run_info()["layout"]["note"]
    local = metrics.build("editscore", backend="transformers")
    assert "reproduces_upstream" not in local.run_info()["layout"]
    listing = CliRunner().invoke(app, ["list", "metrics", "--json"])
    (entry,) = [e for e in json.loads(listing.output) if e["name"] == "editscore"]
    assert "cannot reproduce upstream's request layout" in entry["description"]
