"""`gpt-image`: OpenAI's image edits API (`images.edit`, gpt-image-1) as an editor, through the core judge client.

One call per edit (the image as PNG, the instruction, n=1); a wave's calls go out concurrently. The client brings
adaptive concurrency, retries with backoff on retryable errors only, the timeout, budgets (`editor.max_calls`,
`editor.max_cost_usd` with `editor.price_*_per_m`) and the token ledger. The edits API takes no seed, so this
editor is non-deterministic: its outputs are never served from any cache (a resumed run still never redoes a
finished step). A call that fails, is refused or returns no readable image is that request's recorded editor
error; the rest of the wave goes on. Answers come back at the size the API chose and are resized to the input's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field

from mirabench.backends.api_editor import ApiEditor, ApiEditorOptions
from mirabench.judge.backends import OPENAI_API
from mirabench.judge.options import Concurrency, Timeout
from mirabench.registry import editors
from mirabench.types import EditRequest


class GptImageOptions(ApiEditorOptions):
    model: str = Field("gpt-image-1", description="OpenAI image model id")
    size: str | None = Field("auto", description="output size asked for (auto, 1024x1024, ...); None = not sent")
    quality: str | None = Field("auto", description="low, medium, high or auto; None = not sent")
    input_fidelity: Literal["low", "high"] | None = Field(None, description="keep input details; None = not sent")
    max_side: int | None = Field(1536, ge=16, description="longest side of the uploaded PNG; None = as is")
    max_concurrency: Concurrency = 4
    timeout_s: Timeout = 240.0


@editors.register("gpt-image", description="OpenAI GPT-Image edits API via the judge client", needs=OPENAI_API)
class GptImage(ApiEditor[GptImageOptions]):
    """Instruction editing with OpenAI's image model."""

    version = "1"
    provider = "openai"
    Options = GptImageOptions

    def send(self, requests: Sequence[EditRequest]) -> list[Any]:
        from mirabench.judge import ImageEditRequest

        opts = self.options
        extra = {"input_fidelity": opts.input_fidelity} if opts.input_fidelity else {}
        calls = [
            ImageEditRequest.build(
                r.image, r.instruction, max_side=opts.max_side, size=opts.size, quality=opts.quality, extra=extra
            )
            for r in requests  # r.seed is not sent: the edits API has none
        ]
        return list(self.client.edit_many(calls))
