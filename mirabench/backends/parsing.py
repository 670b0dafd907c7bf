"""Turning planner and thinker text into actions. Never raises on model output: bad text is a recorded error.

MIRA planner: `NEXT_EDITING_INSTRUCTION: <command>` or a stop signal. The paper spells the stop `<stop>` (supplementary
D.1) and the project page `<STOP>`; both, any case, bare or after the tag, are accepted. Anything else (no tag, an
empty command, a command mixed with a stop token) is an agent error carrying the raw text.

EditThinker: `<think>...</think>`, `<score>{"semantic": s, "quality": q}</score>`, `<answer>...</answer>`. The score
must hold both numbers in [0, 10] and the answer block must be present; the think block is optional (the released
model often drops tags, see appletea233/EditThinker#3, and a missing think costs nothing at inference).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

from mirabench.types import Action, Edit, Stop

__all__ = ["ParseError", "ThinkerReply", "parse_planner", "parse_tagged", "parse_thinker"]

STOP_TOKEN = re.compile(r"<\s*stop\s*>", re.IGNORECASE)
_DECORATION = " \t\r\n*`\"'“”‘’"


class ParseError(ValueError):
    """Model output that does not follow the expected format."""


def _clean(text: str) -> str:
    return text.strip(_DECORATION)


def _is_stop(text: str) -> bool:
    body = _clean(text)
    return bool(STOP_TOKEN.fullmatch(body)) or body.upper() == "STOP"


def parse_tagged(text: str, tag: str) -> str | None:
    """The first non-empty line after the last `TAG:` (any case, `_` or space, optional markdown), else None."""
    words = [re.escape(w) for w in tag.split("_")]
    pattern = re.compile(r"[ _]".join(words) + r"[*`\s]*[:：]", re.IGNORECASE)
    matches = list(pattern.finditer(text))
    if not matches:
        return None
    rest = text[matches[-1].end() :]
    for line in rest.splitlines():
        if _clean(line):
            return _clean(line)
    return ""


def parse_planner(text: str, tag: str = "NEXT_EDITING_INSTRUCTION") -> Action:
    """Edit(command), Stop() for a stop signal, or Stop(error=True) with the reason and the raw text."""
    raw = text
    answer = parse_tagged(text, tag)
    if answer is None:
        if STOP_TOKEN.search(text) or _is_stop(text):
            return Stop("agent signalled stop", raw=raw)
        return Stop(f"unparseable planner output: no {tag}: line and no stop signal", raw=raw, error=True)
    if _is_stop(answer):
        return Stop("agent signalled stop", raw=raw)
    if not answer:
        return Stop(f"unparseable planner output: empty {tag}", raw=raw, error=True)
    if STOP_TOKEN.search(answer):
        return Stop("unparseable planner output: an instruction and a stop signal at once", raw=raw, error=True)
    return Edit(answer, raw=raw)


@dataclass(frozen=True)
class ThinkerReply:
    """A parsed EditThinker turn: reasoning, self-scores on 0-10 and the refined prompt."""

    think: str
    semantic: float
    quality: float
    answer: str


def _block(text: str, name: str, required: bool) -> str | None:
    closed = re.findall(rf"<{name}>(.*?)</{name}>", text, re.DOTALL | re.IGNORECASE)
    if closed:
        return closed[-1].strip()
    opened = re.search(rf"<{name}>(.*)$", text, re.DOTALL | re.IGNORECASE)
    if opened and name == "answer":  # a truncated final block still carries the prompt
        return opened.group(1).strip()
    if required:
        raise ParseError(f"no <{name}> block")
    return None


def _score(body: str) -> tuple[float, float]:
    values: dict[str, float] = {}
    try:
        data = json.loads(body)
        if isinstance(data, dict):
            values = {k: v for k, v in data.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    except json.JSONDecodeError:
        pass
    for key in ("semantic", "quality"):
        if key not in values:
            found = re.search(rf'"?{key}"?\s*[:=]\s*(-?\d+(?:\.\d+)?)', body, re.IGNORECASE)
            if found is None:
                raise ParseError(f"<score> has no numeric {key!r}")
            values[key] = float(found.group(1))
    semantic, quality = float(values["semantic"]), float(values["quality"])
    for key, value in (("semantic", semantic), ("quality", quality)):
        if not math.isfinite(value) or not 0.0 <= value <= 10.0:
            raise ParseError(f"<score> {key} = {value} is outside 0-10")
    return semantic, quality


def parse_thinker(text: str) -> ThinkerReply:
    """Parse one EditThinker turn; raises ParseError (the agent records it) when score or answer is missing."""
    score = _block(text, "score", required=True)
    answer = _block(text, "answer", required=True)
    assert score is not None and answer is not None
    semantic, quality = _score(score)
    return ThinkerReply(_block(text, "think", required=False) or "", semantic, quality, answer)
