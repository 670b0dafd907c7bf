"""The part every API image editor shares: one judge client, and answers turned into images or error strings.

Subclasses (gpt-image, nano-banana) say which provider and request to send; this base builds the client from the
options, decodes the returned image, resizes it back to the input size, and turns a failed call into that
request's error string (the scheduler records it as the sample's editor error; the other samples go on).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Literal, TypeVar

from PIL import Image
from pydantic import Field

from mirabench.images import ImageLoadError, decode_image
from mirabench.judge.options import Attempts, ClientOptions, Concurrency, Timeout
from mirabench.plugins import Editor
from mirabench.types import EditRequest

__all__ = ["ApiEditor", "ApiEditorOptions"]


class ApiEditorOptions(ClientOptions):
    """The client's limits (`ClientOptions`); API edits are never cached (no seed makes them repeatable)."""

    model: str
    max_concurrency: Concurrency = 8
    timeout_s: Timeout = 180.0
    max_attempts: Attempts = 4
    cache: Literal[False] = Field(False, description="API edits are new samples: never served from a cache")
    resize_back: bool = Field(True, description="return each image at its input size")


ApiOptionsT = TypeVar("ApiOptionsT", bound=ApiEditorOptions)


class ApiEditor(Editor[ApiOptionsT], ABC):
    """An editor behind an API: no seeds, so never cached (`deterministic = False`)."""

    deterministic = False
    provider: ClassVar[Literal["openai", "gemini"]] = "openai"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        from mirabench.judge import JudgeClient

        self.client = JudgeClient(self.options.judge_config(self.provider, label=self.name))

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
        return {"client": self.client.config.public(), "usage": self.client.usage()}

    def close(self) -> None:
        self.client.close()
