"""Image-edit requests (OpenAI's `images.edit`): one image and a prompt in, one image out.

The image is encoded once, as PNG, when the request is built (like chat images), so a retry re-sends the same
bytes and the golden tests see exactly what goes on the wire. Edit requests are never cached: the endpoint
takes no seed, so two identical calls are two samples, not one answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from mirabench.judge.messages import ImageEncoding, ImagePart, encode_image

__all__ = ["ImageEditRequest", "openai_edit_params"]


@dataclass(frozen=True)
class ImageEditRequest:
    """One edit: the image (PNG), the instruction, and the output options (None = not sent, the API default).

    `extra` passes other `images.edit` fields through as they are (e.g. `input_fidelity`, `background`).
    """

    image: ImagePart
    prompt: str
    size: str | None = None
    quality: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    tag: str = ""

    @classmethod
    def build(
        cls, image: Image.Image | bytes, prompt: str, *, max_side: int | None = None, **kwargs: Any
    ) -> ImageEditRequest:
        """Encode a PIL image as PNG (longest side at most `max_side`); bytes are sent as given, as image/png."""
        return cls(encode_image(image, ImageEncoding(format="png", max_side=max_side)), prompt, **kwargs)


def openai_edit_params(req: ImageEditRequest, model: str) -> dict[str, Any]:
    """`images.edit` keyword arguments: the PNG as a named file part, the prompt, n=1, options only when set.

    No `response_format`: GPT-Image models always answer with `b64_json` (the field is for dall-e-2 only).
    """
    params: dict[str, Any] = {
        "model": model,
        "image": ("image.png", req.image.data, req.image.mime),
        "prompt": req.prompt,
        "n": 1,
    }
    if req.size is not None:
        params["size"] = req.size
    if req.quality is not None:
        params["quality"] = req.quality
    params.update(req.extra)
    return params
