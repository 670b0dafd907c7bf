"""imgedit-judge: message layout (text, original, edited; PNG MIME even for JPEG bytes), parser, rounding,
category means and Overall, strict and faithful policies. The rubric file is written by the test (our wording)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from fakes import FakeAPIServer
from PIL import Image

from mirabench.metrics.imgedit_judge import parse_rubric
from mirabench.plugins import ScoreItem
from mirabench.registry import PluginUnavailable, metrics
from mirabench.types import Sample, ScoreStatus


@pytest.fixture
def rubric(tmp_path: Path) -> Path:
    path = tmp_path / "prompts.json"
    path.write_text(
        json.dumps({"add": "Grade the addition \u2019<edit_prompt>\u2019.", "remove": "Removal: <edit_prompt>"})
    )
    return path


def items(tmp_path: Path, n: int = 1, category: str = "add") -> list[ScoreItem]:
    src = Image.new("RGB", (24, 24), (10, 200, 10))
    jpg = tmp_path / "source.jpg"
    src.save(jpg, format="JPEG")
    edited = Image.new("RGB", (24, 24), (200, 10, 10))
    return [ScoreItem(Sample(f"k{i}", f"add a cat {i}", jpg, category=category), src, edited) for i in range(n)]


def score(rubric: Path, its: list[ScoreItem], **opts: object) -> list[dict]:
    m = metrics.build("imgedit-judge", prompts_json=str(rubric), timeout_s=2.0, max_attempts=2, **opts)
    try:
        return m.score_batch(its)
    finally:
        m.close()


def test_parser_and_rounding_as_upstream() -> None:
    text = "Brief reasoning: fine\nPrompt Compliance: 4\nVisual Naturalness: 3\nPhysical & Detail Coherence: 3"
    assert parse_rubric(text) == [4, 3, 3]
    assert parse_rubric("**Prompt Compliance:** 4\nA: 4/5\nB: 4.\nC: 5") == [5]
    # upstream strips each line first: trailing spaces/tabs, CRLF and indentation do not drop a value
    assert parse_rubric("  Prompt Compliance: 4 \r\n\tVisual Naturalness: 3\t\nPhysical: 2   ") == [4, 3, 2]
    assert parse_rubric("A:  4\nB : 4\nC: 4 5\nD: 1: 2") == [4]  # one ': ' and digits only after it ("B " is a name)


def test_layout_golden(fake_api: FakeAPIServer, rubric: Path, tmp_path: Path) -> None:
    fake_api.answer = lambda text, body: "Brief reasoning: ok\nA: 4\nB: 3\nC: 3"
    (out,) = score(rubric, items(tmp_path))
    assert out["imgedit"].value == 3.33 and out["imgedit"].detail["sub"] == [4, 3, 3]
    (req,) = fake_api.requests
    body = req.body
    assert "temperature" not in body and "max_tokens" not in body and body["model"] == "gpt-4o-2024-08-06"
    (msg,) = body["messages"]
    assert [p["type"] for p in msg["content"]] == ["text", "image_url", "image_url"]
    assert msg["content"][0]["text"] == "Grade the addition \u2019add a cat 0\u2019."
    first, second = (p["image_url"]["url"] for p in msg["content"][1:])
    assert first.startswith("data:image/png;base64,") and second.startswith("data:image/png;base64,")
    assert base64.b64decode(first.split(",", 1)[1]) == (tmp_path / "source.jpg").read_bytes()  # raw JPEG bytes
    assert base64.b64decode(second.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"


def test_policies(fake_api: FakeAPIServer, rubric: Path, tmp_path: Path) -> None:
    fake_api.answer = lambda text, body: "Brief reasoning: partial\nA: 4\nB: 4/5\nC: 2"
    its = items(tmp_path, 2)
    strict = score(rubric, its)
    assert all(o["imgedit"].status is ScoreStatus.PARSE_ERROR for o in strict)
    faithful = score(rubric, its, policy="faithful", cache=False)
    assert [o["imgedit"].value for o in faithful] == [3.0, 3.0]  # mean of the two lines that parse
    fake_api.answer = lambda text, body: "I can't tell."
    dropped = score(rubric, its, policy="faithful", cache=False)
    assert dropped[0]["imgedit"].status is ScoreStatus.PARSE_ERROR and dropped[0]["imgedit"].detail["dropped"]
    other = score(rubric, items(tmp_path, 1, category="hybrid"))
    assert other[0]["imgedit"].status is ScoreStatus.SKIPPED


def test_bad_rubric_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "p.json"
    bad.write_text("[1, 2]")
    with pytest.raises(PluginUnavailable, match="not a mapping"):
        metrics.build("imgedit-judge", prompts_json=str(bad))


def test_prompt_hash_is_the_files_bytes(fake_api: FakeAPIServer, rubric: Path, tmp_path: Path) -> None:
    m = metrics.build("imgedit-judge", prompts_json=str(rubric))
    assert m.identity()["prompts"]["sha256"] == hashlib.sha256(rubric.read_bytes()).hexdigest()
    crlf = tmp_path / "crlf.json"  # same JSON text, other bytes: another hash
    crlf.write_bytes(rubric.read_bytes().replace(b", ", b",\r\n"))
    other = metrics.build("imgedit-judge", prompts_json=str(crlf))
    assert other.rubrics == m.rubrics and other.identity()["prompts"]["sha256"] != m.identity()["prompts"]["sha256"]


def test_imported_edit_is_sent_as_its_own_bytes(fake_api: FakeAPIServer, rubric: Path, tmp_path: Path) -> None:
    fake_api.answer = lambda text, body: "A: 4\nB: 4\nC: 4"
    rgba = Image.new("RGBA", (24, 24), (200, 10, 10, 90))
    png = tmp_path / "1.png"
    rgba.save(png, format="PNG", compress_level=1)
    (item,) = items(tmp_path)
    imported = ScoreItem(item.sample, item.source, item.edited, edited_file=png)
    score(rubric, [imported], cache=False)
    sent = fake_api.requests[-1].body["messages"][0]["content"][2]["image_url"]["url"]
    assert sent.startswith("data:image/png;base64,")
    assert base64.b64decode(sent.split(",", 1)[1]) == png.read_bytes()  # alpha and encoder settings kept
