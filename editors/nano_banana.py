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

from PIL import Image
from pydantic import Field

from mirabench.images import ImageLoadError, decode_image
from mirabench.plugins import Editor, Options
from mirabench.registry import Needs, editors
from mirabench.types import EditRequest

GEMINI = Needs(modules=("google.genai",), extra="api", env=("GEMINI_API_KEY",))


class NanoBananaOptions(Options):
    model: str = Field("gemini-2.5-flash-image", description="Gemini image model id")
    base_url: str | None = None
    max_concurrency: int = Field(8, ge=1)
    timeout_s: float = Field(180.0, gt=0)
    max_attempts: int = Field(4, ge=1)
    max_calls: int | None = Field(None, ge=1)
    max_cost_usd: float | None = Field(None, gt=0)
    resize_back: bool = Field(True, description="return each image at its input size")


@editors.register("nano-banana", description="Gemini image editing (Nano-Banana) via the judge client", needs=GEMINI)
class NanoBanana(Editor):
    """Instruction editing with Gemini's image model."""

    version = "1"
    deterministic = False
    Options = NanoBananaOptions
    options: NanoBananaOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        from mirabench.judge import JudgeClient, JudgeConfig

        opts = self.options
        self.client = JudgeClient(
            JudgeConfig(
                provider="gemini",
                model=opts.model,
                base_url=opts.base_url,
                max_concurrency=opts.max_concurrency,
                timeout_s=opts.timeout_s,
                max_attempts=opts.max_attempts,
                max_calls=opts.max_calls,
                max_cost_usd=opts.max_cost_usd,
                use_cache=False,
            )
        )

    def edit(self, request: EditRequest) -> Image.Image:
        out = self.edit_batch([request])[0]
        if isinstance(out, str):
            raise RuntimeError(out)
        return out

    def edit_batch(self, requests: Sequence[EditRequest]) -> list[Image.Image]:
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
        out: list[Any] = []
        for request, result in zip(requests, self.client.chat_many(calls), strict=True):
            out.append(self._image(request, result))
        return out  # an item may be an error message: the loop records it as that request's editor error

    def _image(self, request: EditRequest, result: Any) -> Image.Image | str:
        if not result.ok or not result.images:
            why = result.error or (f"no image in the answer: {result.text[:200]!r}" if result.ok else result.status)
            return f"{self.options.model} {result.status}: {why}"
        try:
            image = decode_image(bytes(result.images[0]), "Gemini image")
        except ImageLoadError as exc:
            return f"{self.options.model} returned an unreadable image: {exc}"
        image = image.convert("RGB")
        if self.options.resize_back and image.size != request.image.size:
            image = image.resize(request.image.size, Image.Resampling.LANCZOS)
        return image

    def close(self) -> None:
        self.client.close()
