"""`nano-banana`: Gemini's image model (gemini-2.5-flash-image) as an editor, through the core judge client.

One request per edit: the image, then the instruction, with image output switched on. The client brings concurrency
across the wave, retries with backoff, budgets (`editor.max_calls`, `editor.max_cost_usd`) and the cost ledger.
The API takes a seed but does not promise identical images for it, so this editor is marked non-deterministic:
its outputs are never served from the global cache (a resumed run still never redoes a finished step). A call
that fails or returns no image is that request's recorded editor error; the rest of the wave goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field

from mirabench.backends.api_editor import ApiEditor, ApiEditorOptions
from mirabench.judge.backends import GEMINI_API
from mirabench.registry import editors
from mirabench.types import EditRequest


class NanoBananaOptions(ApiEditorOptions):
    model: str = Field("gemini-2.5-flash-image", description="Gemini image model id")


@editors.register(
    "nano-banana", description="Gemini image editing (Nano-Banana) via the judge client", needs=GEMINI_API
)
class NanoBanana(ApiEditor[NanoBananaOptions]):
    """Instruction editing with Gemini's image model."""

    version = "1"
    provider = "gemini"
    Options = NanoBananaOptions

    def send(self, requests: Sequence[EditRequest]) -> list[Any]:
        from mirabench.judge import ChatRequest, ImageEncoding

        calls = [
            ChatRequest.build(
                [r.image, r.instruction],
                encoding=ImageEncoding(format="png"),
                seed=r.seed,
                extra={"response_modalities": ["TEXT", "IMAGE"]},
                tag="editor",
            )
            for r in requests
        ]
        return list(self.client.chat_many(calls))
