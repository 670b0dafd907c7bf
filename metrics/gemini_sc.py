"""`gemini-sc`: VIEScore `tie` SC / PQ / O judged by Gemini through the official `google-genai` client.

Same prompts, images and parsing as gpt-sc; the reported `modelVersion` is recorded per Score and in run.json.
The key is read from GEMINI_API_KEY or GOOGLE_API_KEY, as the google-genai client does (checked before any work).
Layout `viescore` (the default with `policy=faithful`; VIEScore `mllm_tools/gemini.py`): the images (JPEG, as
upstream uploads them) in a first user turn, the prompt text in the next; temperature 1, top_p 0.95, top_k 64,
8192 output tokens, plain-text answers, the four safety filters off. Upstream uploads the images through the File
API; we send the same JPEG bytes inline. Layout `single-turn`: text then images in one turn, decoding options as set.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

from pydantic import Field

from mirabench.backends.vie_judge import VieJudgeMetric, VieJudgeOptions
from mirabench.judge import ChatRequest
from mirabench.judge.backends import GEMINI_API
from mirabench.judge.messages import ImagePart
from mirabench.plugins import ScoreItem
from mirabench.registry import metrics

SAFETY_OFF = [
    {"category": c, "threshold": "BLOCK_NONE"}
    for c in (
        "HARM_CATEGORY_HARASSMENT",
        "HARM_CATEGORY_HATE_SPEECH",
        "HARM_CATEGORY_SEXUALLY_EXPLICIT",
        "HARM_CATEGORY_DANGEROUS_CONTENT",
    )
]
VIESCORE_DECODING: dict[str, Any] = {"temperature": 1.0, "max_tokens": 8192}
VIESCORE_EXTRA: dict[str, Any] = {
    "top_p": 0.95,
    "top_k": 64,
    "response_mime_type": "text/plain",
    "safety_settings": SAFETY_OFF,
}


class GeminiSCOptions(VieJudgeOptions):
    layout: Literal["auto", "viescore", "single-turn"] = Field(
        "auto", description="auto: VIEScore's two-turn layout and decoding with policy=faithful, else single-turn"
    )


@metrics.register(
    "gemini-sc",
    description="VIEScore-style SC/PQ/O judged by Gemini (google-genai client)",
    needs=GEMINI_API,
)
class GeminiSC(VieJudgeMetric):
    """Gemini-SC of the MIRA paper: VIEScore SC (and PQ, O) with a Gemini judge."""

    version = "1"
    provider = "gemini"
    default_model = "gemini-2.5-flash"
    Options = GeminiSCOptions
    columns = VieJudgeMetric.make_columns("gemini", "Gemini")

    @property
    def viescore_layout(self) -> bool:
        o: Any = self.opts
        return bool(o.layout == "viescore" or (o.layout == "auto" and o.policy == "faithful"))

    def requests(self, item: ScoreItem, salt: str = "", seed: int | None = None) -> tuple[ChatRequest, ChatRequest]:
        sc, pq = super().requests(item, salt, seed)
        if not self.viescore_layout:
            return sc, pq
        return self._two_turns(sc), self._two_turns(pq)

    @staticmethod
    def _two_turns(req: ChatRequest) -> ChatRequest:
        images = [p for p in req.parts if isinstance(p, ImagePart)]
        texts = [p for p in req.parts if not isinstance(p, ImagePart)]
        return replace(
            req,
            parts=(*images, *texts),
            turns=(len(images),),
            extra={**req.extra, **VIESCORE_EXTRA},
            **VIESCORE_DECODING,
        )

    def layout(self) -> dict[str, Any]:
        out = super().layout()
        if self.viescore_layout:
            out.update(
                {
                    "turns": "images, then text (VIEScore mllm_tools/gemini.py)",
                    **VIESCORE_DECODING,
                    **{k: v for k, v in VIESCORE_EXTRA.items() if k != "safety_settings"},
                    "safety": "BLOCK_NONE x4",
                }
            )
        return out
