"""`nano-banana` against a fake Gemini endpoint on 127.0.0.1 that answers with images."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fakes import FakeAPIServer
from PIL import Image, ImageOps

from mirabench.registry import editors
from mirabench.types import EditRequest


class ImageGemini(FakeAPIServer):
    """Gemini answers carry the input image inverted (at twice the size), unless the prompt says 'no image'."""

    def _respond(self, h: Any, provider: str, model: str, text: str, body: dict, fault: str) -> None:
        if provider != "gemini" or fault or "no image" in text:
            super()._respond(h, provider, model, text, body, fault)
            return
        parts = body["contents"][0]["parts"]
        data = next(
            p.get("inlineData") or p.get("inline_data") for p in parts if "inlineData" in p or "inline_data" in p
        )
        raw = data["data"] + "=" * (-len(data["data"]) % 4)  # google-genai sends unpadded url-safe base64
        image = Image.open(io.BytesIO(base64.urlsafe_b64decode(raw))).convert("RGB")
        out = ImageOps.invert(image).resize((image.width * 2, image.height * 2))
        buf = io.BytesIO()
        out.save(buf, "PNG")
        inline = {"mimeType": "image/png", "data": base64.b64encode(buf.getvalue()).decode()}
        cand = {"content": {"role": "model", "parts": [{"text": "done"}, {"inlineData": inline}]}, "index": 0}
        payload = {"candidates": [{**cand, "finishReason": "STOP"}], "modelVersion": model, "responseId": "x"}
        self._send(h, 200, json.dumps(payload).encode())


@pytest.fixture
def gemini(monkeypatch: pytest.MonkeyPatch) -> Iterator[ImageGemini]:
    with ImageGemini.running() as server:
        monkeypatch.setenv("GEMINI_API_KEY", "gemini-test-key")
        monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.gemini_url)
        yield server


def test_nano_banana_edits_through_the_judge_client_and_isolates_failures(gemini: ImageGemini) -> None:
    editor = editors.build("nano-banana", max_attempts=2, timeout_s=5)
    assert editor.deterministic is False  # never served from the global cache
    arr = np.zeros((16, 24, 3), dtype=np.uint8)
    arr[:, :12] = (200, 30, 30)
    arr[:, 12:] = (20, 40, 220)
    src = Image.fromarray(arr)
    outs = editor.edit_batch(
        [EditRequest(src, "invert it", 1), EditRequest(src, "no image please", 2), EditRequest(src, "FAULT:400x9", 3)]
    )
    assert isinstance(outs[0], Image.Image) and outs[0].size == (24, 16)  # back at the input size
    # the fake inverted it at twice the size; back at the input size it is the inverse up to resampling
    assert np.abs(np.asarray(outs[0], dtype=int) - (255 - np.asarray(src, dtype=int))).mean() < 3
    assert isinstance(outs[1], str) and "no image" in outs[1]
    assert isinstance(outs[2], str) and "api_error" in outs[2]
    sent = [r for r in gemini.requests if r.provider == "gemini"]
    assert len(sent) == 3 and all(r.n_images == 1 for r in sent)
    assert sent[0].body["generationConfig"]["responseModalities"] == ["TEXT", "IMAGE"]
    editor.close()
