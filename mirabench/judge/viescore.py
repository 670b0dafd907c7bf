"""The VIEScore `tie` protocol (SC + PQ calls) shared by gpt-sc, gemini-sc, qwen3vl-sc and editscore.

Prompt text is read at run time, never from this repository, and every PromptSet says which text it is (`label`):
- `viescore`: VIEScore's `tie` prompts from `vie_prompts.py` as GEdit-Bench ships it (byte-identical to
  TIGER-AI-Lab/VIEScore's): the file given as `prompts_file`, else the one `mirabench data get-prompts` put in the
  cache folder (pinned by commit and sha256). SC = context, two-image rule, SC rule joined by newlines; PQ =
  context, PQ rule (GEdit-Bench `viescore/__init__.py`). Without either file, the fork of that text the `editscore`
  wheel ships (it adds "IMPORTANT: " and a blank line) is used and labelled as such.
- `editscore`: EditScore's own reasoning-first context (`editscore/vie_prompts.py`), every literal "10" in the
  rules replaced by the score range, as EditScore does.
Without the package, `stand-in` wording of our own is used and every Score says so (`prompt_source`).

SC = min(SC sub-scores), PQ = min(PQ sub-scores), O = sqrt(SC * PQ), each on 0-10 after rescaling by range/10.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mirabench.judge.prompt_files import default_path, pinned_name
from mirabench.judge.upstream import UpstreamMissing, distribution_file, python_strings, sha256_text

__all__ = ["Parsed", "PromptSet", "combine", "load_prompts", "parse_scores"]

Flavour = Literal["viescore", "editscore", "stand-in"]
GEDIT_VIESCORE = "examples/OmniGen2-RL/evaluation/GEdit-Bench/viescore/vie_prompts.py"
EDITSCORE = "editscore/vie_prompts.py"
VIESCORE_FILE = "viescore_vie_prompts.py"  # where `mirabench data get-prompts` puts it
STAND_IN_SOURCE = "mirabench stand-in wording (not the upstream prompt; numbers are not comparable to papers)"
REFUSALS = ("I'm sorry, but I can't assist with that request.",)


@dataclass(frozen=True)
class PromptSet:
    flavour: str
    sc: str  # with the <instruction> placeholder
    pq: str
    source: str
    sha256: str
    score_range: int = 10
    label: str = ""  # which text this is, in words (shown in run.json, each Score and the protocol report)

    @property
    def upstream(self) -> bool:
        return self.flavour != "stand-in"

    def sc_text(self, instruction: str) -> str:
        return self.sc.replace("<instruction>", instruction)

    def identity(self) -> dict[str, Any]:
        return {
            "flavour": self.flavour,
            "source": self.source,
            "sha256": self.sha256,
            "range": self.score_range,
            "label": self.label,
        }


def _stand_in(score_range: int) -> tuple[str, str]:
    r = str(score_range)
    context = (
        "You judge AI-edited images for a benchmark. Every image and person shown is synthetic.\n"
        'Answer with one JSON object only: {"score": [first, second], "reasoning": "one short sentence"}.\n'
    )
    sc = (
        f"{context}\nYou get two images: the original first, then the edited version.\n"
        f"Give two integers from 0 to {r}. First: how fully the edit follows the instruction (0 = not at all, "
        f"{r} = exactly). Second: how little the edit changed beyond what was asked, i.e. over-editing "
        f"(0 = a different image, {r} = only the requested change).\n\nInstruction: <instruction>\n"
    )
    pq = (
        f"{context}\nYou get one AI-generated image.\n"
        f"Give two integers from 0 to {r}. First: naturalness of lighting, shadows and perspective "
        f"(0 = unnatural, {r} = natural). Second: absence of artifacts such as distortion, smears or odd "
        f"anatomy (0 = heavy artifacts, {r} = none).\n"
    )
    return sc, pq


def _viescore_texts(path: Path, score_range: int) -> tuple[str, str]:
    s = python_strings(path)
    ctx = s["_context_no_delimit"]
    sc_rule, pq_rule = s["_prompts_0shot_tie_rule_SC"], s["_prompts_0shot_rule_PQ"]
    if score_range != 10:
        sc_rule, pq_rule = sc_rule.replace("10", str(score_range)), pq_rule.replace("10", str(score_range))
    return "\n".join([ctx, s["_prompts_0shot_two_image_edit_rule"], sc_rule]), "\n".join([ctx, pq_rule])


def viescore_file(path: Path, score_range: int = 10) -> PromptSet:
    """VIEScore's prompts from a `vie_prompts.py` the user has (hash of the file's bytes recorded)."""
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        sc, pq = _viescore_texts(path, score_range)
    except (OSError, SyntaxError, UnicodeDecodeError, KeyError) as exc:
        raise UpstreamMissing(
            f"{path} is not a readable VIEScore vie_prompts.py ({type(exc).__name__}: {exc})"
        ) from None
    pinned = pinned_name(digest)
    label = f"VIEScore text from {pinned}" if pinned else f"VIEScore text from {path.name} (NOT the pinned file)"
    return PromptSet("viescore", sc, pq, pinned or f"file {path.name}", digest, score_range, label)


def load_prompts(
    flavour: Flavour = "viescore",
    score_range: int = 10,
    *,
    file: str | Path | None = None,
    allow_stand_in: bool = True,
) -> PromptSet:
    """The SC and PQ templates of a flavour, with their provenance, hash and label; stand-in wording if absent."""
    if flavour == "viescore":
        path = Path(file).expanduser() if file else default_path(VIESCORE_FILE)
        if file is not None or path.is_file():
            return viescore_file(path, score_range)
    try:
        if flavour == "viescore":
            f = distribution_file("editscore", GEDIT_VIESCORE)
            sc, pq = _viescore_texts(f.path, score_range)
            label = (
                "VIEScore text as forked in the editscore wheel (not byte-identical to VIEScore/GEdit-Bench; "
                "`mirabench data get-prompts` fetches the original)"
            )
            return PromptSet("viescore", sc, pq, f.source, sha256_text(sc, pq), score_range, label)
        if flavour == "editscore":
            f = distribution_file("editscore", EDITSCORE)
            s = python_strings(f.path)
            ctx = s["_context_no_delimit_reasoning_first"]
            r = str(score_range)
            sc = "\n".join(
                [ctx, s["_prompts_0shot_two_image_edit_rule"], s["_prompts_0shot_tie_rule_SC"].replace("10", r)]
            )
            pq = "\n".join([ctx, s["_prompts_0shot_rule_PQ"].replace("10", r)])
            label = "EditScore's own text (editscore wheel)"
            return PromptSet("editscore", sc, pq, f.source, sha256_text(sc, pq), score_range, label)
    except (UpstreamMissing, KeyError) as exc:
        if not allow_stand_in:
            raise UpstreamMissing(
                f"upstream {flavour} prompts unavailable ({exc}); pip install editscore==0.2 --no-deps"
            ) from None
    sc, pq = _stand_in(score_range)
    return PromptSet("stand-in", sc, pq, STAND_IN_SOURCE, sha256_text(sc, pq), score_range, "mirabench stand-in text")


@dataclass(frozen=True)
class Parsed:
    scores: list[float] | None
    reasoning: str = ""
    error: str = ""
    refused: bool = False


_BARE_PAIR = re.compile(r"^\[\s*-?\d+(?:\.\d+)?\s*,\s*-?\d+(?:\.\d+)?\s*\]$")
_DELIM = "||V^=^V||"


def _extract(text: str) -> Any:
    """VIEScore's extraction order: between two delimiters, else first '{' to last '}', else a bare list/int."""
    if text.count(_DELIM) == 2:
        body = text[text.find(_DELIM) + len(_DELIM) : text.rfind(_DELIM)]
    else:
        start, end = text.find("{"), text.rfind("}")
        if start == -1 or end < start:
            stripped = text.strip()
            lb, rb = stripped.find("["), stripped.rfind("]")
            if lb != -1 and rb > lb and _BARE_PAIR.match(stripped[lb : rb + 1]):
                return {"score": json.loads(stripped[lb : rb + 1])}
            if re.fullmatch(r"-?\d+", stripped):
                return {"score": [int(stripped)]}
            raise ValueError("no JSON object in the answer")
        body = text[start : end + 1]
    body = body.replace("\u201c", '"').replace("\u201d", '"').replace("\n", "").strip()
    return json.loads(body)


def parse_scores(text: str, *, n: int = 2, low: float = 0, high: float = 10, validate: bool = True) -> Parsed:
    """The judge's score list. `validate` (strict): exactly n finite numbers in [low, high], else an error."""
    if text.strip() in REFUSALS:
        return Parsed(None, error="refusal", refused=True)
    try:
        obj = _extract(text)
    except (ValueError, json.JSONDecodeError) as exc:
        return Parsed(None, error=f"unparsable answer: {exc}"[:200])
    if not isinstance(obj, dict) or "score" not in obj:
        return Parsed(None, error="answer has no 'score' field")
    raw = obj["score"]
    values = raw if isinstance(raw, list) else [raw]
    try:
        scores = [float(v) for v in values]
    except (TypeError, ValueError):
        return Parsed(None, error=f"non-numeric score {raw!r}"[:200])
    reasoning = str(obj.get("reasoning", ""))
    if not scores:
        return Parsed(None, reasoning, "empty score list")
    if validate:
        if len(scores) != n:
            return Parsed(None, reasoning, f"expected {n} scores, got {len(scores)}")
        if not all(math.isfinite(v) and low <= v <= high for v in scores):
            return Parsed(None, reasoning, f"score outside [{low:g}, {high:g}]: {scores}")
    return Parsed(scores, reasoning)


def combine(sc: list[float], pq: list[float], score_range: int = 10) -> tuple[float, float, float]:
    """(SC, PQ, O) on 0-10: min of each list rescaled by range/10, O = sqrt(SC * PQ)."""
    scale = score_range / 10
    s, q = min(sc) / scale, min(pq) / scale
    return s, q, math.sqrt(max(s, 0.0) * max(q, 0.0))
