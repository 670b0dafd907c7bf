"""`gpt-image` (OpenAI image edits) against the fake OpenAI server on 127.0.0.1: layout, faults, cache, a real run."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fakes import FakeAPIServer, Received
from PIL import Image
from typer.testing import CliRunner

from mirabench.cli.root import app
from mirabench.judge import ImageEditRequest, JudgeClient, JudgeConfig
from mirabench.judge.edits import openai_edit_params
from mirabench.registry import PluginError, editors
from mirabench.types import EditRequest

SECRET = "sk-test-do-not-log-3f9a"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAPIServer]:
    with FakeAPIServer.running(hang_s=1.5) as srv:
        monkeypatch.setenv("OPENAI_API_KEY", SECRET)
        monkeypatch.setenv("OPENAI_BASE_URL", srv.openai_url)
        yield srv


def picture(w: int, h: int, seed: int) -> Image.Image:
    """A distinct two-colour image per seed, so each answer can be matched to the image it was made from."""
    rng = np.random.default_rng(seed)
    arr = np.zeros((h, w, 3), dtype=np.uint8)
    arr[:, : w // 2] = rng.integers(0, 256, 3)
    arr[:, w // 2 :] = rng.integers(0, 256, 3)
    return Image.fromarray(arr)


def inverted(out: Image.Image, src: Image.Image) -> bool:
    """out is src inverted, up to the fake's upscale and our resize back (resampling blurs only the colour seam)."""
    diff = np.abs(np.asarray(out, dtype=int) - (255 - np.asarray(src.convert("RGB"), dtype=int)))
    return out.size == src.size and float(np.median(diff)) <= 2 and float(diff.mean()) < 12


def edits(server: FakeAPIServer) -> list[Received]:
    return [r for r in server.requests if r.provider == "openai-images"]


def test_edit_params_are_the_png_the_prompt_and_only_the_options_set() -> None:
    src = picture(40, 20, 0)
    req = ImageEditRequest.build(src, "add a hat", max_side=16, quality="high", extra={"input_fidelity": "high"})
    params = openai_edit_params(req, "gpt-image-1")
    name, data, mime = params.pop("image")
    assert params == {
        "model": "gpt-image-1",
        "prompt": "add a hat",
        "n": 1,
        "quality": "high",
        "input_fidelity": "high",
    }
    assert (name, mime) == ("image.png", "image/png") and data[:8] == b"\x89PNG\r\n\x1a\n"
    assert Image.open(io.BytesIO(data)).size == (16, 8)  # thumbnailed to max_side, aspect kept


def test_editor_sends_each_image_and_maps_every_answer_back(server: FakeAPIServer) -> None:
    editor = editors.build("gpt-image", max_attempts=3, timeout_s=0.7, size="1024x1024")
    assert editor.deterministic is False
    prompts = ["invert it", "FAULT:429x1", "FAULT:500x1", "FAULT:malformedx1", "FAULT:hangx1",  # recover on retry
               "FAULT:500x9", "FAULT:400x1", "FAULT:refusalx1", "FAULT:noscorex5"]  # fmt: skip
    sources = [picture(24 + 2 * i, 16 + i, i) for i in range(len(prompts))]
    outs = editor.edit_batch([EditRequest(s, p, seed=i) for i, (s, p) in enumerate(zip(sources, prompts, strict=True))])

    for out, src in zip(outs[:5], sources[:5], strict=True):
        assert isinstance(out, Image.Image) and inverted(out, src)  # its own image, back at the input size
    assert isinstance(outs[5], str) and outs[5].startswith("gpt-image-1 api_error: HTTP 500")
    assert isinstance(outs[6], str) and "HTTP 400" in outs[6]
    assert isinstance(outs[7], str) and outs[7].startswith("gpt-image-1 refused: moderation_blocked")
    assert isinstance(outs[8], str) and "unreadable image" in outs[8]

    sent = edits(server)
    by_prompt: dict[str, list[Received]] = {}
    for r in sent:
        by_prompt.setdefault(r.text, []).append(r)
    # retryable faults are retried, 400s and refusals are not, a persistent 500 stops at max_attempts
    assert {p: len(v) for p, v in by_prompt.items()} == {
        "invert it": 1, "FAULT:429x1": 2, "FAULT:500x1": 2, "FAULT:malformedx1": 2, "FAULT:hangx1": 2,
        "FAULT:500x9": 3, "FAULT:400x1": 1, "FAULT:refusalx1": 1, "FAULT:noscorex5": 1,
    }  # fmt: skip
    for prompt, src in zip(prompts, sources, strict=True):
        for r in by_prompt[prompt]:
            form = r.body
            assert (form["model"], form["n"], form["size"], form["quality"]) == (
                "gpt-image-1",
                "1",
                "1024x1024",
                "auto",
            )
            assert "response_format" not in form and "seed" not in form  # the edits API has no seed
            assert form["image"]["content_type"] == "image/png" and r.n_images == 1
            assert np.array_equal(np.asarray(Image.open(io.BytesIO(form["image"]["data"]))), np.asarray(src))

    usage = editor.run_info()["usage"]
    assert usage["requests"] == 9 and usage["api_attempts"] == len(sent) == 15
    assert usage["retries"] == 6 and usage["rate_limited"] == 1 and usage["timeouts"] == 1
    assert usage["statuses"] == {"api_error": 2, "ok": 6, "refused": 1}  # noscore: an image the API sent, unreadable
    assert usage["cache_hits"] == 0
    editor.close()


def test_edits_are_never_cached_and_are_budgeted_and_priced(server: FakeAPIServer) -> None:
    client = JudgeClient(JudgeConfig(provider="openai", model="gpt-image-1", prices={"gpt-image-1": (10.0, 40.0)}))
    assert client.config.use_cache  # the chat cache is on, and still an edit is sent every time
    req = ImageEditRequest.build(picture(8, 8, 1), "same request twice")
    first, second = client.edit_many([req]), client.edit_many([req])
    assert first[0].ok and second[0].ok and not second[0].cached and len(edits(server)) == 2
    snap = client.ledger.snapshot()
    assert snap["cache_hits"] == 0 and snap["input_tokens"] == 2 * (len("same request twice") // 4 + 258)
    assert snap["estimated_cost_usd"] == pytest.approx((snap["input_tokens"] * 10 + snap["output_tokens"] * 40) / 1e6)
    client.close()

    editor = editors.build("gpt-image", max_calls=2)
    outs = editor.edit_batch([EditRequest(picture(8, 8, i), f"edit {i}", seed=i) for i in range(3)])
    assert sum(isinstance(o, Image.Image) for o in outs) == 2
    assert [o for o in outs if isinstance(o, str)] == ["gpt-image-1 budget: run budget exhausted; call not sent"]
    assert len(edits(server)) == 4
    editor.close()
    with pytest.raises(PluginError, match="max_cost_usd needs price"):
        editors.build("gpt-image", max_cost_usd=1.0)


def test_gemini_client_refuses_image_edits(monkeypatch: pytest.MonkeyPatch) -> None:
    client = JudgeClient(JudgeConfig(provider="gemini", model="gemini-2.5-flash-image"))
    with pytest.raises(ValueError, match="provider 'openai'"):
        client.edit_many([ImageEditRequest.build(picture(8, 8, 0), "x")])


class FailOne(FakeAPIServer):
    """Every edit of one instruction fails with a 500; every other edit succeeds."""

    doomed = ""

    def _respond(self, h: Any, provider: str, model: str, text: str, body: dict, fault: str) -> None:
        if provider == "openai-images" and text == self.doomed:
            fault = "500"
        super()._respond(h, provider, model, text, body, fault)


def test_direct_run_with_gpt_image_on_shapes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from mirabench.registry import suites

    doomed = next(s for i, s in enumerate(suites.build("shapes", n=3, size=64).samples()) if i == 1)
    FailOne.doomed = doomed.instruction
    with FailOne.running() as server:
        monkeypatch.setenv("OPENAI_API_KEY", SECRET)
        monkeypatch.setenv("OPENAI_BASE_URL", server.openai_url)
        args = ["run", "--suite", "shapes", "--agent", "direct", "--editor", "gpt-image", "--metrics", "shapes",
                "--set", "suite.n=3", "--set", "suite.size=64", "--set", "editor.max_attempts=2"]  # fmt: skip
        for name in ("a", "b"):
            result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / name)])
            assert result.exit_code == 0, result.output
        sent = edits(server)

    out = tmp_path / "a"
    manifest_text = (out / "run.json").read_text()
    assert SECRET not in manifest_text
    for path in out.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".jsonl", ".html", ".md", ".csv", ".txt", ".log"):
            assert SECRET not in path.read_text(errors="replace"), path
    manifest = json.loads(manifest_text)
    assert manifest["status"] == "complete" and manifest["plugins"]["editor"]["name"] == "gpt-image"
    assert manifest["calls"]["editor"] == 3
    usage = manifest["backend_info"]["editor"][0]["usage"]  # the editor's ledger reaches run.json
    assert usage["requests"] == 3 and usage["statuses"].get("ok") == 2
    rows = {r["id"]: r for r in map(json.loads, (out / "samples.jsonl").read_text().splitlines())}
    assert len(rows) == 3
    assert rows[doomed.id]["stop_reason"] == "error" and "HTTP 500" in json.dumps(rows[doomed.id])
    for sid, row in rows.items():
        if sid == doomed.id:
            continue
        assert row["stop_reason"] == "agent"
        step = next(s for s in row["steps"] if s["kind"] == "edit")
        assert Image.open(out / step["image"]).size == (64, 64)  # the fake answered at 128x128
    # never cached: the second run (same spec, other folder) sent every edit again
    assert json.loads((tmp_path / "b" / "run.json").read_text())["calls"]["editor"] == 3
    assert len(sent) == 2 * (2 + 2)  # per run: two successes, the doomed edit twice (max_attempts=2)
