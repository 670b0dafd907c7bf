"""The part every API image editor shares: one judge client, and answers turned into images or error strings.

Subclasses (gpt-image, nano-banana) say which provider and request to send; this base builds the client from the
options, decodes the returned image, resizes it back to the input size, and turns a failed call into that
request's error string (the scheduler records it as the sample's editor error; the other samples go on).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from PIL import Image
from pydantic import Field, model_validator

from mirabench.images import ImageLoadError, decode_image
from mirabench.plugins import Editor, Options
from mirabench.types import EditRequest

__all__ = ["ApiEditor", "ApiEditorOptions"]


class ApiEditorOptions(Options):
    """Client limits shared by API editors (keys only ever come from the environment)."""

    model: str
    base_url: str | None = Field(None, description="API base URL (default: the client's standard variable)")
    max_concurrency: int = Field(8, ge=1)
    timeout_s: float = Field(180.0, gt=0)
    max_attempts: int = Field(4, ge=1)
    max_calls: int | None = Field(None, ge=1)
    max_cost_usd: float | None = Field(None, gt=0)
    price_in_per_m: float | None = Field(None, ge=0, description="USD per million input tokens (text + image)")
    price_out_per_m: float | None = Field(None, ge=0, description="USD per million output (image) tokens")
    resize_back: bool = Field(True, description="return each image at its input size")

    @model_validator(mode="after")
    def _cost_cap_needs_prices(self) -> ApiEditorOptions:
        if self.max_cost_usd is not None and self.price_in_per_m is None and self.price_out_per_m is None:
            raise ValueError("max_cost_usd needs price_in_per_m / price_out_per_m (no prices: no cost to cap)")
        return self


class ApiEditor(Editor, ABC):
    """An editor behind an API: no seeds, so never cached (`deterministic = False`)."""

    deterministic = False
    provider: ClassVar[Literal["openai", "gemini"]] = "openai"
    options: Any

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        from mirabench.judge import JudgeClient, JudgeConfig

        opts = self.options
        self.client = JudgeClient(
            JudgeConfig(
                provider=self.provider,
                model=opts.model,
                base_url=opts.base_url,
                max_concurrency=opts.max_concurrency,
                timeout_s=opts.timeout_s,
                max_attempts=opts.max_attempts,
                max_calls=opts.max_calls,
                max_cost_usd=opts.max_cost_usd,
                prices=self.prices(),
                use_cache=False,
            )
        )

    def prices(self) -> dict[str, tuple[float, float]]:
        """USD per million (input, output) tokens by model, for cost accounting and the cost cap."""
        opts = self.options
        if opts.price_in_per_m is None and opts.price_out_per_m is None:
            return {}
        return {opts.model: (opts.price_in_per_m or 0.0, opts.price_out_per_m or 0.0)}

    @abstractmethod
    def send(self, requests: Sequence[EditRequest]) -> list[Any]:
        """One judge-client call per request, all sent concurrently; results in request order."""

    def edit(self, request: EditRequest) -> Image.Image:
        out = self.edit_batch([request])[0]
        if isinstance(out, str):
            raise RuntimeError(out)
        return out

    def edit_batch(self, requests: Sequence[EditRequest]) -> list[Image.Image]:
        results = self.send(requests)
        out: list[Any] = [self._image(r, res) for r, res in zip(requests, results, strict=True)]
        return out  # an item may be an error message: the loop records it as that request's editor error

    def _image(self, request: EditRequest, result: Any) -> Image.Image | str:
        model = self.options.model
        if not result.ok or not result.images:
            why = result.error or (f"no image in the answer: {(result.text or '')[:200]!r}" if result.ok else "")
            return f"{model} {result.status}: {why or 'no image in the answer'}"
        try:
            image = decode_image(bytes(result.images[0]), f"{model} answer")
        except ImageLoadError as exc:
            return f"{model} returned an unreadable image: {exc}"
        image = image.convert("RGB")
        if self.options.resize_back and image.size != request.image.size:
            image = image.resize(request.image.size, Image.Resampling.LANCZOS)
        return image

    def run_info(self) -> dict[str, Any]:
        return {"client": self.client.config.public(), "usage": self.client.ledger.snapshot()}

    def close(self) -> None:
        self.client.close()
