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

from PIL import Image
from pydantic import Field, model_validator

from mirabench.images import ImageLoadError, decode_image
from mirabench.plugins import Editor, Options
from mirabench.registry import Needs, editors
from mirabench.types import EditRequest

OPENAI = Needs(modules=("openai",), extra="api", env=("OPENAI_API_KEY",))


class GptImageOptions(Options):
    model: str = Field("gpt-image-1", description="OpenAI image model id")
    base_url: str | None = Field(None, description="OpenAI-compatible server (default $OPENAI_BASE_URL / API)")
    size: str | None = Field("auto", description="output size asked for (auto, 1024x1024, ...); None = not sent")
    quality: str | None = Field("auto", description="low, medium, high or auto; None = not sent")
    input_fidelity: Literal["low", "high"] | None = Field(None, description="keep input details; None = not sent")
    max_side: int | None = Field(1536, ge=16, description="longest side of the uploaded PNG; None = as is")
    max_concurrency: int = Field(4, ge=1)
    timeout_s: float = Field(240.0, gt=0)
    max_attempts: int = Field(4, ge=1)
    max_calls: int | None = Field(None, ge=1)
    max_cost_usd: float | None = Field(None, gt=0)
    price_in_per_m: float | None = Field(None, ge=0, description="USD per million input tokens (text + image)")
    price_out_per_m: float | None = Field(None, ge=0, description="USD per million output (image) tokens")
    resize_back: bool = Field(True, description="return each image at its input size")

    @model_validator(mode="after")
    def _cost_cap_needs_prices(self) -> GptImageOptions:
        if self.max_cost_usd is not None and self.price_in_per_m is None and self.price_out_per_m is None:
            raise ValueError("max_cost_usd needs price_in_per_m / price_out_per_m (no prices: no cost to cap)")
        return self


@editors.register("gpt-image", description="OpenAI GPT-Image edits API via the judge client", needs=OPENAI)
class GptImage(Editor):
    """Instruction editing with OpenAI's image model."""

    version = "1"
    deterministic = False
    Options = GptImageOptions
    options: GptImageOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        from mirabench.judge import JudgeClient, JudgeConfig

        opts = self.options
        prices = {}
        if opts.price_in_per_m is not None or opts.price_out_per_m is not None:
            prices[opts.model] = (opts.price_in_per_m or 0.0, opts.price_out_per_m or 0.0)
        self.client = JudgeClient(
            JudgeConfig(
                provider="openai",
                model=opts.model,
                base_url=opts.base_url,
                max_concurrency=opts.max_concurrency,
                timeout_s=opts.timeout_s,
                max_attempts=opts.max_attempts,
                max_calls=opts.max_calls,
                max_cost_usd=opts.max_cost_usd,
                prices=prices,
                use_cache=False,
            )
        )

    def edit(self, request: EditRequest) -> Image.Image:
        out = self.edit_batch([request])[0]
        if isinstance(out, str):
            raise RuntimeError(out)
        return out

    def edit_batch(self, requests: Sequence[EditRequest]) -> list[Image.Image]:
        from mirabench.judge import ImageEditRequest

        opts = self.options
        extra = {"input_fidelity": opts.input_fidelity} if opts.input_fidelity else {}
        calls = [
            ImageEditRequest.build(
                r.image, r.instruction, max_side=opts.max_side, size=opts.size, quality=opts.quality, extra=extra
            )
            for r in requests  # r.seed is not sent: the edits API has none
        ]
        out: list[Any] = []
        for request, result in zip(requests, self.client.edit_many(calls), strict=True):
            out.append(self._image(request, result))
        return out  # an item may be an error message: the loop records it as that request's editor error

    def _image(self, request: EditRequest, result: Any) -> Image.Image | str:
        if not result.ok or not result.images:
            return f"{self.options.model} {result.status}: {result.error or 'no image in the answer'}"
        try:
            image = decode_image(bytes(result.images[0]), "GPT-Image answer")
        except ImageLoadError as exc:
            return f"{self.options.model} returned an unreadable image: {exc}"
        image = image.convert("RGB")
        if self.options.resize_back and image.size != request.image.size:
            image = image.resize(request.image.size, Image.Resampling.LANCZOS)
        return image

    def run_info(self) -> dict[str, Any]:
        return {"client": self.client.config.public(), "usage": self.client.ledger.snapshot()}

    def close(self) -> None:
        self.client.close()
