"""`imgedit-judge`: the ImgEdit-Bench Basic rubric judge (PKU-YuanGroup/ImgEdit, `Benchmark/Basic`).

Protocol as upstream `basic_bench.py`: one user message of (1) the rubric of the sample's `edit_type` from the
benchmark's own `prompts.json` (given by path; the sha256 of the file's bytes is recorded; never copied here) with
the instruction put in place of `<edit_prompt>`, (2) the original image, (3) the edited image, both as base64
data URLs declared `image/png` (as upstream, even for JPEG bytes); no temperature or token limit.
Image bytes: a file is sent as its own bytes, as upstream does: the source when the suite gives a path, the edited
image when it was imported (`mirabench import`) from a PNG, JPEG or WebP file. Re-encoding (to PNG, lossless)
happens only for images that exist as pixels alone: edits made by a mirabench editor, sources rendered in
memory, and imported files in other formats (decoded to RGB, alpha flattened onto white, then PNG-encoded).
Parsing as upstream `step1_get_avgscore.py`: each line is stripped, then it counts when splitting on ": " gives
two parts and the second is all digits; the sample score is the mean of the counted values rounded to 2
decimals. Category means rounded to 2 decimals (`step2_typescore.py`) and Overall = the unweighted mean of the
9 category means are computed by `mirabench.protocols.imgedit_protocol` into summary.json's `protocol`.
Policies: `strict` (default) needs exactly three values in 1-5, else `parse_error`; `faithful` averages whatever
lines parsed (upstream) and a sample where none did is dropped (a `parse_error` Score with `dropped`, so it never
enters a mean, exactly like upstream's shrinking denominator).
Without `prompts_json`, a stand-in rubric of our own is used and every Score says so.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from mirabench.judge import ChatRequest, ChatResult, ImageEncoding, JudgeClient, JudgeConfig
from mirabench.judge.client import LazyClient
from mirabench.judge.messages import ImagePart, encode_image
from mirabench.judge.options import ClientOptions, Concurrency
from mirabench.judge.prompt_files import default_path, pinned_name
from mirabench.judge.upstream import sha256_text
from mirabench.plugins import Column, Metric, ScoreItem
from mirabench.registry import Needs, PluginUnavailable, metrics
from mirabench.types import Score, ScoreStatus

__all__ = ["CATEGORIES", "parse_rubric"]

CATEGORIES = ("add", "adjust", "extract", "replace", "remove", "background", "style", "compose", "action")
STAND_IN_SOURCE = "mirabench stand-in rubric (not ImgEdit's prompts.json; numbers are not comparable to papers)"
_STATUS = {"api_error": ScoreStatus.API_ERROR, "refused": ScoreStatus.REFUSED, "budget": ScoreStatus.SKIPPED}


def _stand_in() -> str:
    return (
        "You grade an image edit of the kind asked below on a 1 to 5 scale from three angles.\n"
        "Instruction Compliance: 5 = exactly and only what was asked, 1 = not done or the wrong thing.\n"
        "Visual Naturalness: 5 = seamless, 1 = obvious seams, colour or resolution mismatch.\n"
        "Detail Preservation: 5 = everything not asked for is untouched and physically plausible, 1 = broken.\n"
        "The second and third scores may not exceed the first.\n"
        "Reply with exactly four lines:\nBrief reasoning: <at most 20 words>\nInstruction Compliance: <1-5>\n"
        "Visual Naturalness: <1-5>\nDetail Preservation: <1-5>\n\n"
        "Instruction: <edit_prompt>\nThe original image comes first, then the edited image."
    )


def parse_rubric(text: str) -> list[int]:
    """Upstream's line parser: stripped `name: digits` lines only (`**A:** 4`, `4/5`, `4.` do not count)."""
    values = []
    for line in text.splitlines():
        parts = line.strip().split(": ")
        if len(parts) == 2 and parts[1].isdigit():
            values.append(int(parts[1]))
    return values


class ImgEditJudgeOptions(ClientOptions):
    prompts_json: str | None = Field(
        None,
        description="ImgEdit's Benchmark/Basic/prompts.json (default: the one `mirabench data get-prompts` fetched)",
    )
    model: str = "gpt-4o-2024-08-06"
    policy: Literal["strict", "faithful"] = "strict"
    temperature: float | None = None
    max_tokens: int | None = None
    max_concurrency: Concurrency = 32


@metrics.register(
    "imgedit-judge",
    description="ImgEdit-Bench 1-5 rubric judge (GPT or any OpenAI-compatible server)",
    needs=Needs(modules=("openai",), extra="api"),
)
class ImgEditJudge(LazyClient, Metric):
    """ImgEdit-Bench Basic score (1-5): mean of the rubric's three sub-scores for the sample's edit type."""

    version = "1"
    Options = ImgEditJudgeOptions
    columns = (Column("imgedit", 1, 5, True, "ImgEdit-Bench rubric score (mean of 3 sub-scores, 1-5)"),)

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.opts: ImgEditJudgeOptions = self.options
        fetched = default_path("imgedit_prompts.json")  # where `mirabench data get-prompts` puts it
        given = self.opts.prompts_json or (str(fetched) if fetched.is_file() else None)
        if given:
            path = Path(given).expanduser()
            try:
                raw = path.read_bytes()
                rubrics = json.loads(raw.decode("utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise PluginUnavailable(f"imgedit-judge: cannot read prompts_json {path}: {exc}") from None
            if not isinstance(rubrics, dict) or not all(isinstance(v, str) for v in rubrics.values()):
                raise PluginUnavailable(f"imgedit-judge: {path} is not a mapping of edit_type -> prompt text")
            self.rubrics: dict[str, str] = rubrics
            self.sha256 = hashlib.sha256(raw).hexdigest()
            self.source = pinned_name(self.sha256) or f"{path.name} (not the pinned file; sha256 of its bytes)"
        else:
            self.rubrics = {c: _stand_in() for c in CATEGORIES}
            self.source, self.sha256 = STAND_IN_SOURCE, sha256_text(_stand_in())

    def make_client(self) -> JudgeClient:
        return JudgeClient(self.judge_config())

    def judge_config(self) -> JudgeConfig:
        return self.opts.judge_config("openai", label=self.name)

    def planned_requests(self, item: ScoreItem) -> list[ChatRequest]:
        """The one request an item costs (none when its edit type has no rubric), for estimates."""
        edit_type = self._edit_type(item)
        return [self.request(item, edit_type)] if edit_type in self.rubrics else []

    def request(self, item: ScoreItem, edit_type: str) -> ChatRequest:
        png = ImageEncoding("png", mime="image/png")
        image = item.sample.image
        original: ImagePart = (
            encode_image(image.read_bytes(), png) if isinstance(image, Path) else encode_image(item.source, png)
        )
        edited = item.edited_file
        result = encode_image(edited.read_bytes() if edited is not None else item.edited, png)
        text = self.rubrics[edit_type].replace("<edit_prompt>", item.sample.instruction)
        return ChatRequest.build(
            [text, original, result],
            temperature=self.opts.temperature,
            max_tokens=self.opts.max_tokens,
        )

    def score_batch(self, items: Sequence[ScoreItem]) -> list[dict[str, Score]]:
        out: list[dict[str, Score] | None] = [None] * len(items)
        todo: list[int] = []
        for i, it in enumerate(items):
            if self._edit_type(it) not in self.rubrics:
                why = f"no rubric for edit type {self._edit_type(it)!r} (known: {', '.join(sorted(self.rubrics))})"
                out[i] = {"imgedit": Score.failed(ScoreStatus.SKIPPED, why)}
            else:
                todo.append(i)
        futures = [self.client.submit(self.request(items[i], self._edit_type(items[i]))) for i in todo]
        for i, fut in zip(todo, futures, strict=True):
            out[i] = {"imgedit": self._score(fut.result())}
        return [o for o in out if o is not None]

    @staticmethod
    def _edit_type(item: ScoreItem) -> str:
        return str(item.sample.extra.get("edit_type") or item.sample.category)

    def _score(self, result: ChatResult) -> Score:
        detail: dict[str, Any] = {"judge": result.model or self.opts.model, "prompt_sha256": self.sha256}
        if result.served:
            detail["served"] = result.served
        if not result.ok:
            return Score.failed(_STATUS.get(result.status, ScoreStatus.API_ERROR), result.error, **detail)
        values = parse_rubric(result.text)
        if self.opts.policy == "strict" and (len(values) != 3 or not all(1 <= v <= 5 for v in values)):
            return Score.failed(ScoreStatus.PARSE_ERROR, result.text, sub=values, **detail)
        if not values:
            return Score.failed(ScoreStatus.PARSE_ERROR, result.text, dropped=True, **detail)
        return Score.ok(round(sum(values) / len(values), 2), result.text, sub=values, **detail)

    def identity(self) -> dict[str, Any]:
        ident = super().identity()
        ident["prompts"] = {"source": self.source, "sha256": self.sha256}
        return ident

    def run_info(self) -> dict[str, Any]:
        return {"prompts": {"source": self.source, "sha256": self.sha256}, **self.client_info()}
