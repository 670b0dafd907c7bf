"""Image-token rules against the providers' own worked examples, and a request's estimate."""

from __future__ import annotations

from PIL import Image

from mirabench.judge import ChatRequest
from mirabench.judge.tokens import image_tokens, request_tokens


def test_openai_tiles_and_patches_match_the_documented_examples() -> None:
    assert image_tokens("openai", "gpt-4o", 1024, 1024) == 765  # 768x768: 4 tiles
    assert image_tokens("openai", "gpt-4o", 2048, 4096) == 1105  # 768x1536: 6 tiles
    assert image_tokens("openai", "gpt-4o", 4096, 8192, "low") == 85
    assert image_tokens("openai", "gpt-4.1-mini", 1024, 1024) == 1659  # 1024 patches x 1.62
    assert image_tokens("openai", "gpt-4.1-mini", 1800, 2400) == 2353  # 1452 patches after the resize x 1.62


def test_gemini_small_images_and_tiles() -> None:
    assert image_tokens("gemini", "gemini-2.5-flash", 384, 200) == 258
    assert image_tokens("gemini", "gemini-2.5-flash", 1024, 1024) == 4 * 258


def test_request_estimate_counts_text_images_and_max_tokens() -> None:
    req = ChatRequest.build(["a" * 400, Image.new("RGB", (512, 512))], max_tokens=300)
    assert request_tokens(req, "openai", "gpt-4o") == (100 + 4 + 255, 300)  # 512 px: one tile
