"""What the upstream VIEScore-style scorers accept, guess, drop or crash on, reproduced for `policy=faithful`.

Written from the behaviour of the upstream files (cited by line in notes/protocol.md), not copied from them:
- VIEScore `viescore/utils.py` (`mllm_output_to_dict`, `fix_json`; identical in GEdit-Bench's copy) and
  `viescore/__init__.py` (`evaluate`): SC and PQ are asked together until both parse; from the 2nd ask on an
  answer without braces becomes a random integer 0-10 (a one-element list); invalid JSON inside braces never
  parses, so upstream asks forever (we stop after `max_asks` and drop the item).
- EditScore `editscore/utils.py` + `editscore/__init__.py` (`evaluate`): curly quotes normalised, then
  `json_repair` when `json.loads` fails; asked up to 3 times; the 3rd ask, or an ask where either answer is the
  exact refusal sentence, guesses BOTH answers as `[g, g]`, g uniform in 0..score_range.
- The score arithmetic (min of each list, rescale, sqrt of the product) runs on the parsed Python objects exactly
  as upstream writes it, so whatever makes upstream raise (a string or empty list, a negative product, a missing
  `score`, a one-element SC list in EditScore) is a crash here too: the item is dropped, as GEdit's runner drops
  an item whose judging still raises after its retries.
"""

from __future__ import annotations

import json
import math
import random
import re
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Answer", "Outcome", "REFUSAL", "evaluate_upstream", "parse_editscore", "parse_viescore"]

REFUSAL = "I'm sorry, but I can't assist with that request."
DELIMITER = "||V^=^V||"
_BARE_PAIR = re.compile(r"^\[\d+, ?\d+\]$")  # two unsigned integers, at most one space after the comma
_KEY = re.compile(r"(\w+):")
_PAIR = re.compile(r'(".*?"):(.*?)(,|})')
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_LITERAL = re.compile(r"^(true|false|null)$", re.IGNORECASE)
_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})


@dataclass(frozen=True)
class Answer:
    """What upstream's parser returned for one answer (any JSON value; usually a dict with `score`)."""

    obj: Any
    guessed: bool = False


def _bare_int(text: str) -> int | None:
    """Python's int() of the whole text when it lies in 0..10 (so ' 7 ', '+7' and '1_0' count; '11', '7.0' not)."""
    try:
        value = int(text)
    except ValueError:
        return None
    return value if 0 <= value <= 10 else None


def _quote_keys_and_values(text: str) -> str:
    """VIEScore's regex JSON fixer: quote bare keys, then wrap numbers in a list and quote other values."""

    def value(match: re.Match[str]) -> str:
        key, raw, end = match.group(1), match.group(2).strip(), match.group(3)
        if _NUMBER.match(raw):
            raw = f"[{raw}]"
        elif not _LITERAL.match(raw):
            raw = f'"{raw}"'
        return f"{key}: {raw}{end}"

    return _PAIR.sub(value, _KEY.sub(r'"\1":', text))


def _body(text: str) -> tuple[str | None, Answer | None]:
    """The JSON text to parse, or (None, answer) when the answer is a bare pair/int, or (None, None): no JSON."""
    if text.count(DELIMITER) == 2:
        start, end = text.find(DELIMITER) + len(DELIMITER), text.rfind(DELIMITER)
    else:
        start, end = text.find("{"), text.rfind("}") + 1
    if start != -1 and end != 0:
        return (text[start:end].strip().replace("\n", ""), None) if start != end else (None, None)
    lb, rb = text.find("["), text.rfind("]") + 1
    if _BARE_PAIR.match(text[lb:rb]):
        return None, Answer({"score": json.loads(text[lb:rb])})  # a non-ASCII digit raises, as upstream
    bare = _bare_int(text)
    return None, (Answer({"score": [bare]}) if bare is not None else None)


def parse_viescore(text: str, give_up: bool, rng: random.Random) -> Answer | None:
    """VIEScore's parser; None means "did not parse" (upstream's False: ask again)."""
    if text.count(DELIMITER) != 2 and (text.find("{") == -1 or text.rfind("}") == -1) and give_up:
        return Answer({"score": [rng.randint(0, 10)]}, guessed=True)
    body, direct = _body(text)
    if body is None:
        return direct
    try:
        obj = json.loads(body)
        if not isinstance(obj["score"], list):
            obj["score"] = [obj["score"]]
        return Answer(obj)
    except Exception:  # upstream catches everything here, a missing 'score' included
        try:
            return Answer(json.loads(_quote_keys_and_values(body)))  # returned as is: 'score' not wrapped
        except ValueError:
            return None


def parse_editscore(text: str, give_up: bool, rng: random.Random, score_range: int) -> Answer | None:
    """EditScore's `evaluate()` parser; `give_up` guesses whatever the text says."""
    if give_up:
        g = rng.randint(0, score_range)
        return Answer({"score": [g, g]}, guessed=True)
    body, direct = _body(text)
    if body is None:
        return direct
    body = body.translate(_QUOTES)
    try:
        obj = json.loads(body)
        if not isinstance(obj["score"], list):
            obj["score"] = [obj["score"]]
        return Answer(obj)
    except Exception:  # upstream catches everything here, a missing 'score' included
        import json_repair

        try:
            return Answer(json_repair.loads(body))
        except Exception:  # upstream then tries two regex fixers; json_repair.loads on a str does not raise
            return None


Outcome = tuple[float, float, float] | str
"""(SC, PQ, O) on 0-10, or why upstream would raise."""


def evaluate_upstream(
    sc: Answer, pq: Answer, flavour: Literal["viescore", "editscore"], score_range: int = 10
) -> Outcome:
    """Upstream's arithmetic on the parsed answers: min, rescale, sqrt; the text of the error if it raises."""
    try:
        if flavour == "viescore":
            s, q = min(sc.obj["score"]), min(pq.obj["score"])
            o = math.sqrt(s * q)
        else:
            scale = score_range / 10
            s, q = min(sc.obj["score"]) / scale, min(pq.obj["score"]) / scale
            o = math.sqrt(s * q)
            _ = (sc.obj["score"][0] / scale, sc.obj["score"][1] / scale)  # prompt_following, consistency
        return float(s), float(q), float(o)
    except Exception as exc:
        return f"upstream raises {type(exc).__name__}: {exc}"[:300]
