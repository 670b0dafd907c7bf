"""Token estimates before a call is sent: for `tpm` pacing and for `mirabench estimate`.

Images follow each provider's published image-token rules; text is an estimate (about 4 characters per token, the
providers' own rule of thumb; no tokenizer download at run time). Actual usage comes back in each answer.
- OpenAI tile models (gpt-4o, gpt-4.1, o-series): `low` detail 85 tokens; otherwise the image is fit in
  2048x2048, then its short side scaled to 768, and it costs 85 + 170 per 512 px tile.
- OpenAI patch models (gpt-4.1-mini/nano, o4-mini): 32 px patches, at most 1536, times the model's multiplier.
- Gemini (2.x and later): an image with both sides <= 384 px is 258 tokens; larger ones are cut into
  768x768 tiles of 258 tokens each.
"""

from __future__ import annotations

import io
import math

from PIL import Image

from mirabench.judge.messages import ChatRequest, ImagePart

__all__ = ["image_tokens", "request_tokens", "text_tokens"]

_PATCH_MULTIPLIER = {"gpt-4.1-mini": 1.62, "gpt-4.1-nano": 2.46, "o4-mini": 1.72}


def text_tokens(text: str) -> int:
    return math.ceil(len(text.encode("utf-8")) / 4)


def image_tokens(provider: str, model: str, width: int, height: int, detail: str | None = None) -> int:
    """Input tokens one image costs at this provider and model (see the module docstring for the rules)."""
    if provider == "gemini":
        if width <= 384 and height <= 384:
            return 258
        return 258 * math.ceil(width / 768) * math.ceil(height / 768)
    patchy = next((m for p, m in _PATCH_MULTIPLIER.items() if model.startswith(p)), None)
    if patchy is not None:
        patches = math.ceil(width / 32) * math.ceil(height / 32)
        if patches > 1536:
            scale = math.sqrt(32 * 32 * 1536 / (width * height))
            w, h = width * scale, height * scale
            scale *= min(math.floor(w / 32) / (w / 32), math.floor(h / 32) / (h / 32))
            patches = math.ceil(width * scale / 32) * math.ceil(height * scale / 32)
        return math.ceil(min(patches, 1536) * patchy)
    if detail == "low":
        return 85
    scale = min(1.0, 2048 / max(width, height))
    w, h = width * scale, height * scale
    scale = min(1.0, 768 / min(w, h))
    w, h = w * scale, h * scale
    return 85 + 170 * math.ceil(w / 512) * math.ceil(h / 512)


def _size(part: ImagePart) -> tuple[int, int]:
    with Image.open(io.BytesIO(part.data)) as img:  # reads the header only
        return img.size


def request_tokens(req: ChatRequest, provider: str, model: str, detail: str | None = None) -> tuple[int, int]:
    """(input, output) token estimate of one chat request; output is `max_tokens` when set, else 0 (unknown)."""
    text = text_tokens(req.text + (req.system or "")) + 4 * (1 + int(req.system is not None))  # role framing
    images = sum(image_tokens(provider, model, *_size(p), detail) for p in req.images)
    return text + images, req.max_tokens or 0
