"""Provider-neutral chat requests and their rendering for the OpenAI and Gemini wire formats.

Images are encoded once, when the request is built (format, quality, max side are part of the protocol and of the
cache key), so a retry or a cache lookup never re-encodes and the golden tests see the exact bytes sent.
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from PIL import Image, ImageOps

__all__ = ["ChatRequest", "ImageEncoding", "ImagePart", "encode_image", "gemini_contents", "openai_messages"]


@dataclass(frozen=True)
class ImageEncoding:
    """How an image travels to a judge. VIEScore: JPEG at Pillow's default quality 75, no resize.

    `mime` overrides the declared MIME type (ImgEdit sends JPEG bytes as image/png); `raw` sends a file's own bytes.
    """

    format: Literal["jpeg", "png", "webp"] = "png"
    quality: int = 75
    max_side: int | None = None
    mime: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"format": self.format, "quality": self.quality, "max_side": self.max_side, "mime": self.mime}


@dataclass(frozen=True)
class ImagePart:
    data: bytes
    mime: str
    sha256: str

    @property
    def data_url(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode()}"


def encode_image(image: Image.Image | bytes, encoding: ImageEncoding) -> ImagePart:
    """Encode a PIL image (EXIF-transposed, RGB, optionally thumbnailed) or pass raw file bytes through."""
    if isinstance(image, bytes):
        data = image
        mime = encoding.mime or "image/png"
    else:
        img = ImageOps.exif_transpose(image).convert("RGB")
        if encoding.max_side and max(img.size) > encoding.max_side:
            img.thumbnail((encoding.max_side, encoding.max_side), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        if encoding.format == "jpeg":
            img.save(buf, format="JPEG", quality=encoding.quality)
        elif encoding.format == "webp":
            img.save(buf, format="WEBP", quality=encoding.quality)
        else:
            img.save(buf, format="PNG")
        data = buf.getvalue()
        mime = encoding.mime or f"image/{encoding.format}"
    return ImagePart(data, mime, hashlib.sha256(data).hexdigest())


Part = str | ImagePart


@dataclass(frozen=True)
class ChatRequest:
    """One single-turn judge call: a user message of text and images in order, plus decoding parameters.

    `temperature=None` means "send nothing" (the provider default), as VIEScore and ImgEdit do.
    `extra` holds provider-specific fields passed through as is (e.g. top_p); `cache_salt` separates calls that
    are otherwise identical on purpose (e.g. the i-th pass of an Avg@N ensemble). `turns` lists the part indexes
    where a new user turn starts, for Gemini (VIEScore sends the images in one turn and the text in the next).
    """

    parts: tuple[Part, ...]
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    json_mode: bool = False
    seed: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    cache_salt: str = ""
    tag: str = ""
    turns: tuple[int, ...] = ()

    @classmethod
    def build(
        cls,
        parts: Sequence[str | Image.Image | bytes | ImagePart],
        *,
        encoding: ImageEncoding | None = None,
        **kwargs: Any,
    ) -> ChatRequest:
        enc = encoding or ImageEncoding()
        out: list[Part] = []
        for p in parts:
            if isinstance(p, (str, ImagePart)):
                out.append(p)
            else:
                out.append(encode_image(p, enc))
        return cls(tuple(out), **kwargs)

    @property
    def images(self) -> list[ImagePart]:
        return [p for p in self.parts if isinstance(p, ImagePart)]

    @property
    def text(self) -> str:
        return "".join(p for p in self.parts if isinstance(p, str))

    def fingerprint(self) -> dict[str, Any]:
        """Everything that determines the answer, with images by hash (for cache keys and audit logs)."""
        return {
            "parts": [{"image": p.sha256, "mime": p.mime} if isinstance(p, ImagePart) else p for p in self.parts],
            "system": self.system,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "json_mode": self.json_mode,
            "seed": self.seed,
            "extra": self.extra,
            "salt": self.cache_salt,
            **({"turns": list(self.turns)} if self.turns else {}),
        }


def openai_messages(req: ChatRequest, detail: str | None = None) -> list[dict[str, Any]]:
    """Chat-completions `messages`: optional system message, then one user message with parts in order."""
    content: list[dict[str, Any]] = []
    for p in req.parts:
        if isinstance(p, ImagePart):
            url: dict[str, Any] = {"url": p.data_url}
            if detail:
                url["detail"] = detail
            content.append({"type": "image_url", "image_url": url})
        else:
            content.append({"type": "text", "text": p})
    messages: list[dict[str, Any]] = []
    if req.system is not None:
        messages.append({"role": "system", "content": req.system})
    messages.append({"role": "user", "content": content})
    return messages


def _turns(req: ChatRequest) -> list[tuple[Part, ...]]:
    cuts = [0, *(t for t in req.turns if 0 < t < len(req.parts)), len(req.parts)]
    return [req.parts[a:b] for a, b in zip(cuts, cuts[1:], strict=False) if b > a]


def gemini_contents(req: ChatRequest) -> list[dict[str, Any]]:
    """generateContent `contents` (plain dicts the google-genai client accepts): user turns, parts in order."""
    contents = []
    for turn in _turns(req):
        parts: list[dict[str, Any]] = []
        for p in turn:
            if isinstance(p, ImagePart):
                parts.append({"inline_data": {"data": p.data, "mime_type": p.mime}})
            else:
                parts.append({"text": p})
        contents.append({"role": "user", "parts": parts})
    return contents
