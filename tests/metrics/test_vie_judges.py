"""gpt-sc / gemini-sc: message layout (golden), VIEScore aggregation, strict and faithful failure policies, CLI."""

from __future__ import annotations

import base64
import io
import json
import math
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from fakes import FakeAPIServer
from judge_env import OPENAI_KEY
from PIL import Image

from mirabench.judge.viescore import load_prompts, parse_scores
from mirabench.plugins import ScoreItem
from mirabench.registry import metrics
from mirabench.types import Sample, ScoreStatus

# sha256 of the VIEScore `tie` SC + PQ texts as shipped by editscore 0.2 (GEdit-Bench copy of VIEScore).
VIESCORE_SHA256 = "e39471af5b06d9354fbcd30541192c7c84cad9741e6e86209499269750cd7c55"
HAS_EDITSCORE = load_prompts("viescore").upstream

SOURCE = Image.new("RGB", (40, 30), (250, 0, 0))
EDITED = Image.new("RGB", (40, 30), (0, 0, 250))


def item(instruction: str, sid: str = "s1") -> ScoreItem:
    return ScoreItem(Sample(sid, instruction, SOURCE), SOURCE, EDITED)


def scores_for(name: str, items: list[ScoreItem], **opts: object) -> list[dict]:
    m = metrics.build(name, timeout_s=2.0, max_attempts=3, **opts)
    try:
        return m.score_batch(items)
    finally:
        m.close()


def decode(data_url_or_b64: str) -> Image.Image:
    if data_url_or_b64.startswith("data:"):
        return Image.open(io.BytesIO(base64.b64decode(data_url_or_b64.split(",", 1)[1])))
    return Image.open(io.BytesIO(base64.urlsafe_b64decode(data_url_or_b64)))  # google-genai sends url-safe


@pytest.mark.skipif(not HAS_EDITSCORE, reason="editscore (prompt source) not installed")
def test_upstream_prompts_are_pinned_by_hash() -> None:
    p = load_prompts("viescore")
    assert p.sha256 == VIESCORE_SHA256 and p.source.startswith("editscore==0.2:")
    assert p.sc.count("<instruction>") == 1 and "<instruction>" not in p.pq
    e = load_prompts("editscore", 25)
    assert "25" in e.sc and e.sha256 != p.sha256


def test_stand_in_prompts_are_labelled() -> None:
    p = load_prompts("stand-in")
    assert not p.upstream and "stand-in" in p.source


def test_openai_layout_golden(fake_api: FakeAPIServer) -> None:
    out = scores_for("gpt-sc", [item("make the square blue")])[0]
    assert out["gpt-sc"].status is ScoreStatus.OK
    sc_req, pq_req = sorted(fake_api.requests, key=lambda r: -r.n_images)
    prompts = load_prompts("viescore")
    body = sc_req.body
    assert body["model"] == "gpt-4.1-2025-04-14" and body["max_tokens"] == 1400
    assert "temperature" not in body and "response_format" not in body
    (msg,) = body["messages"]
    assert msg["role"] == "user"
    assert [p["type"] for p in msg["content"]] == ["text", "image_url", "image_url"]
    assert msg["content"][0]["text"] == prompts.sc_text("make the square blue")
    urls = [p["image_url"]["url"] for p in msg["content"][1:]]
    assert all(u.startswith("data:image/jpeg;base64,") for u in urls)
    first, second = decode(urls[0]), decode(urls[1])
    assert first.format == "JPEG" and first.size == (40, 30)
    assert first.getpixel((20, 15))[0] > 200 and second.getpixel((20, 15))[2] > 200  # source first, edited second
    pq = pq_req.body["messages"][0]["content"]
    assert [p["type"] for p in pq] == ["text", "image_url"] and pq[0]["text"] == prompts.pq
    assert decode(pq[1]["image_url"]["url"]).getpixel((20, 15))[2] > 200


def test_gemini_layout_golden(fake_api: FakeAPIServer) -> None:
    out = scores_for("gemini-sc", [item("make the square blue")], temperature=0.0)[0]
    assert out["gemini-sc"].detail["judge"] == "gemini-2.5-flash-001"
    sc_req = max(fake_api.requests, key=lambda r: r.n_images)
    assert sc_req.path == "/v1/models/gemini-2.5-flash:generateContent"
    (content,) = sc_req.body["contents"]
    parts = content["parts"]
    assert content["role"] == "user" and list(parts[0]) == ["text"]
    assert parts[0]["text"] == load_prompts("viescore").sc_text("make the square blue")
    assert [p["inlineData"]["mime_type"] for p in parts[1:]] == ["image/jpeg", "image/jpeg"]
    assert decode(parts[1]["inlineData"]["data"]).getpixel((20, 15))[0] > 200
    assert sc_req.body["generationConfig"] == {"temperature": 0.0, "maxOutputTokens": 1400}


def answers(sc: str, pq: str):
    def answer(text: str, body: dict) -> str:
        return sc if "overedit" in text.lower() or "over-edit" in text.lower() else pq

    return answer


def test_viescore_aggregation_by_hand(fake_api: FakeAPIServer) -> None:
    fake_api.answer = answers('{"score": [3, 9], "reasoning": "x"}', '```json\n{"score": [10, 4]}\n```')
    out = scores_for("gpt-sc", [item("do it")])[0]
    assert out["gpt-sc"].value == 3.0 and out["gpt-sc"].detail["sub"] == [3.0, 9.0]
    assert out["gpt-pq"].value == 4.0
    assert out["gpt-o"].value == pytest.approx(math.sqrt(12))


def test_parser_cases() -> None:
    assert parse_scores('||V^=^V||{"score": [1, 2]}||V^=^V||').scores == [1.0, 2.0]
    assert parse_scores("[4, 5]").scores == [4.0, 5.0]
    assert parse_scores("7", validate=False).scores == [7.0]
    assert parse_scores("7").scores is None  # strict wants two sub-scores
    assert parse_scores('{"score": [11, 3]}').error.startswith("score outside")
    assert parse_scores('{"score": [11, 3]}', validate=False).scores == [11.0, 3.0]
    assert parse_scores('{"reasoning": "no score"}').error == "answer has no 'score' field"
    assert parse_scores("I'm sorry, but I can't assist with that request.").refused


def test_strict_policy_counts_every_failure(fake_api: FakeAPIServer) -> None:
    def answer(text: str, body: dict) -> str:
        if "range" in text and "overedit" in text.lower():
            return '{"score": [12, 3]}'
        return '{"score": [7, 8]}'

    fake_api.answer = answer
    items = [
        item("plain", "ok"),
        item("FAULT:noscorex9", "noscore"),
        item("range", "range"),
        item("FAULT:refusalx9", "refusal"),
        item("FAULT:503x9", "down"),
    ]
    out = scores_for("gpt-sc", items)
    status = [(o["gpt-sc"].status.value, o["gpt-pq"].status.value, o["gpt-o"].status.value) for o in out]
    assert status == [
        ("ok", "ok", "ok"),
        ("parse_error", "ok", "parse_error"),
        ("parse_error", "ok", "parse_error"),
        ("refused", "ok", "refused"),
        ("api_error", "ok", "api_error"),
    ]
    assert out[1]["gpt-sc"].raw == "I looked at both images carefully." and out[1]["gpt-sc"].value is None
    assert out[4]["gpt-sc"].detail["attempts"] == 3


def test_budget_cap_gives_skipped_scores(fake_api: FakeAPIServer) -> None:
    # cache off: the items share one edited image, so a PQ call made after item 0's answer would be a cache hit
    items = [item(f"i{i}", f"s{i}") for i in range(3)]
    out = scores_for("gpt-sc", items, max_calls=2, max_concurrency=1, cache=False)
    flat = [s.status.value for o in out for s in o.values()]
    assert flat.count("ok") == 3 and flat.count("skipped") == 6
    assert fake_api.count() == 2


def test_faithful_policy_requeries_then_guesses_with_a_seed(fake_api: FakeAPIServer) -> None:
    items = [item("FAULT:noscorex1", "once"), item("FAULT:noscorex9", "always")]
    out = scores_for("gpt-sc", items, policy="faithful")
    assert out[0]["gpt-sc"].value == 7.0 and "guessed" not in out[0]["gpt-sc"].detail
    guessed = out[1]["gpt-sc"]
    assert guessed.status is ScoreStatus.OK and guessed.detail["guessed"] == ["sc"]
    assert 0 <= guessed.value <= 10
    again = scores_for("gpt-sc", items, policy="faithful", cache=False)
    assert again[1]["gpt-sc"].value == guessed.value  # seeded: the same guess every time


def mirabench(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    code = "import sys; from mirabench.cli.root import main; sys.argv = ['mirabench', *sys.argv[1:]]; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd)


def test_cli_scores_a_shapes_run_records_the_judge_and_rescoring_is_free(
    fake_api: FakeAPIServer, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    res = mirabench(
        "run",
        "--suite",
        "shapes",
        "--agent",
        "direct",
        "--editor",
        "shapes",
        "--metrics",
        "shapes",
        "--limit",
        "3",
        "--out",
        str(run_dir),
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    assert fake_api.count() == 0
    res = mirabench("score", str(run_dir), "--metrics", "gpt-sc,gemini-sc", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert fake_api.count("openai") == 6 and fake_api.count("gemini") == 6
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["metrics"]["gpt-sc"]["mean"] == 7.0 and summary["metrics"]["gpt-pq"]["mean"] == 6.0
    assert summary["metrics"]["gemini-o"]["n_ok"] == 3
    manifest_text = (run_dir / "run.json").read_text()
    assert OPENAI_KEY not in manifest_text and "gemini-test-key" not in manifest_text
    info = json.loads(manifest_text)["metric_info"]
    assert info["gpt-sc"]["judge_snapshots"] == {"gpt-4.1-2025-04-14": 6}
    assert info["gemini-sc"]["judge_snapshots"] == {"gemini-2.5-flash-001": 6}
    assert info["gpt-sc"]["usage"]["requests"] == 6 and info["gpt-sc"]["usage"]["input_tokens"] > 0
    assert info["gpt-sc"]["identity"]["prompts"]["sha256"] == load_prompts("viescore").sha256
    assert info["gpt-sc"]["identity"]["options"]["max_tokens"] == 1400
    # A copy of the run without its scores: the same images and judge hit the judge cache, zero API calls.
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    with sqlite3.connect(copy / "store.sqlite") as db:
        db.execute("DELETE FROM scores WHERE metric IN ('gpt-sc', 'gemini-sc')")
    before = fake_api.count()
    res = mirabench("score", str(copy), "--metrics", "gpt-sc", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert fake_api.count() == before
    assert json.loads((copy / "summary.json").read_text())["metrics"]["gpt-sc"]["mean"] == 7.0
    assert json.loads((copy / "run.json").read_text())["metric_info"]["gpt-sc"]["usage"]["cache_hits"] == 6


def test_served_qwen3vl_and_editscore_layouts(fake_api: FakeAPIServer) -> None:
    """Open judges behind an OpenAI-compatible server: images first, PNG; EditScore's sampling and seeds sent."""
    out = scores_for("qwen3vl-sc", [item("make the square blue")], base_url=fake_api.openai_url)[0]
    assert out["qwen3vl-o"].status is ScoreStatus.OK
    sc = max(fake_api.requests, key=lambda r: r.n_images).body
    assert sc["model"] == "Qwen/Qwen3-VL-8B-Instruct"
    assert (sc["temperature"], sc["max_tokens"]) == (0.0, 512)  # GEdit-Bench's Qwen judge: greedy, 512 tokens
    content = sc["messages"][0]["content"]
    assert [p["type"] for p in content] == ["image_url", "image_url", "text"]
    assert content[0]["image_url"]["url"].startswith("data:image/png;base64,")
    assert decode(content[0]["image_url"]["url"]).getpixel((20, 15)) == (250, 0, 0)  # lossless source first
    fake_api.requests.clear()
    fake_api.answer = answers('{"reasoning": "r", "score": [20, 15]}', '{"reasoning": "r", "score": [25, 10]}')
    out = scores_for("editscore", [item("make the square blue")], backend="openai", base_url=fake_api.openai_url)[0]
    assert (out["editscore-sc"].value, out["editscore-pq"].value) == (6.0, 4.0)
    bodies = [r.body for r in fake_api.requests]
    assert {b["seed"] for b in bodies} == {42} and {b["temperature"] for b in bodies} == {0.7}
    assert {(b["top_p"], b["top_k"], b["max_tokens"]) for b in bodies} == {(0.9, 20, 512)}
    assert sorted(r.n_images for r in fake_api.requests) == [1, 2]


def test_faithful_viescore_drops_what_upstream_would_loop_on_or_crash_on(fake_api: FakeAPIServer) -> None:
    def answer(text: str, body: dict) -> str:
        sc = "overedit" in text.lower() or "over-edit" in text.lower()
        if "loop" in text:
            return "{bad json}" if sc else '{"score": [8, 8]}'  # invalid JSON in braces: upstream asks forever
        if "strings" in text:
            return '{"score": ["7", "6"]}' if sc else '{"score": [8, 8]}'  # min() works, sqrt("6" * 8) raises
        return '{"score": [7, 6]}' if sc else '{"score": [9, 4]}'

    fake_api.answer = answer
    its = [item("loop", "loop"), item("strings", "strings"), item("fine", "fine")]
    out = scores_for("gpt-sc", its, policy="faithful", cache=False)
    loop, strings, fine = out
    assert all(loop[k].status is ScoreStatus.PARSE_ERROR and loop[k].detail["dropped"] for k in loop)
    assert "3 asks" in loop["gpt-sc"].detail["error"]
    assert strings["gpt-o"].detail["error"].startswith("upstream raises TypeError")
    assert (fine["gpt-sc"].value, fine["gpt-pq"].value) == (6.0, 4.0) and fine["gpt-o"].value == math.sqrt(24)
    # 1 + 3 item attempts: the looping item 4 x 3 asks, the crashing one 4 x 1, the fine one once (SC + PQ each)
    assert fake_api.count() == 2 * (4 * 3 + 4 * 1 + 1)
    assert strings["gpt-sc"].detail["item_attempts"] == 4
    fake_api.answer = answers('{"score": [-2, 6]}', '{"score": [0, 3]}')  # sqrt(-2 * 0) = 0: upstream keeps -2
    neg = scores_for("gpt-sc", [item("negative", "neg")], policy="faithful", cache=False)[0]
    assert (neg["gpt-sc"].value, neg["gpt-pq"].value, neg["gpt-o"].value) == (-2.0, 0.0, 0.0)
    strict = scores_for("gpt-sc", [item("negative", "neg")], cache=False)[0]
    assert strict["gpt-sc"].status is ScoreStatus.PARSE_ERROR and strict["gpt-sc"].value is None  # -2 never stored


def test_faithful_editscore_guesses_both_after_3_asks_or_at_once_on_a_refusal(fake_api: FakeAPIServer) -> None:
    import random

    def answer(text: str, body: dict) -> str:
        if not ("overedit" in text.lower() or "over-edit" in text.lower()):
            return '{"reasoning": "r", "score": [25, 10]}'  # PQ always parses
        return "I'm sorry, but I can't assist with that request." if "refuse" in text else "no json at all"

    fake_api.answer = answer
    opts = {"backend": "openai", "base_url": fake_api.openai_url, "policy": "faithful", "cache": False}
    refused, never = scores_for("editscore", [item("refuse", "r1"), item("never parses", "n1")], **opts)
    g = {
        (sid, w, ask): random.Random(f"42/{sid}/{w}/{ask}").randint(0, 25)
        for sid in ("r1", "n1")
        for w in ("sc", "pq")
        for ask in (0, 2)
    }
    assert refused["editscore-sc"].detail["guessed"] == ["sc", "pq"]  # the parsable PQ answer is guessed too
    assert (
        refused["editscore-sc"].value == g[("r1", "sc", 0)] / 2.5
        and refused["editscore-pq"].value == g[("r1", "pq", 0)] / 2.5
    )
    assert never["editscore-pq"].value == g[("n1", "pq", 2)] / 2.5 != 4.0  # the parsable PQ replaced by a guess
    assert never["editscore-sc"].detail["guessed"] == ["sc", "pq"]
    assert len(fake_api.requests) == 2 + 6  # one ask for the refusal, three for the answer that never parses


def test_gedit_samples_are_judged_at_the_source_size(fake_api: FakeAPIServer) -> None:
    small = Image.new("RGB", (20, 10), (0, 0, 250))
    gedit = ScoreItem(Sample("en-1", "do it", SOURCE, extra={"judge_resize_to_source": True}), SOURCE, small)
    scores_for("gpt-sc", [gedit, ScoreItem(Sample("plain", "do it", SOURCE), SOURCE, small)], cache=False)
    pq = sorted((r for r in fake_api.requests if r.n_images == 1), key=lambda r: r.text)
    sizes = sorted(decode(r.body["messages"][0]["content"][1]["image_url"]["url"]).size for r in pq)
    assert sizes == [(20, 10), (40, 30)]  # resized (PIL default filter) only where the suite's protocol says so


def test_gemini_faithful_layout_golden(fake_api: FakeAPIServer) -> None:
    """VIEScore's Gemini call: images in a first user turn, the text in the next; its decoding and safety settings."""
    out = scores_for("gemini-sc", [item("make the square blue")], policy="faithful", cache=False)[0]
    assert out["gemini-sc"].status is ScoreStatus.OK
    sc_req = max(fake_api.requests, key=lambda r: r.n_images)
    body = json.loads(json.dumps(sc_req.body))
    for turn in body["contents"]:
        for part in turn["parts"]:
            if "inlineData" in part:
                part["inlineData"]["data"] = decode(part["inlineData"]["data"]).format  # bytes -> their format
    assert body == {
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"inlineData": {"data": "JPEG", "mime_type": "image/jpeg"}},
                    {"inlineData": {"data": "JPEG", "mime_type": "image/jpeg"}},
                ],
            },
            {"role": "user", "parts": [{"text": load_prompts("viescore").sc_text("make the square blue")}]},
        ],
        "generationConfig": {
            "temperature": 1.0,
            "topP": 0.95,
            "topK": 64.0,
            "maxOutputTokens": 8192,
            "responseMimeType": "text/plain",
        },
        "safetySettings": [
            {"category": c, "threshold": "BLOCK_NONE"}
            for c in (
                "HARM_CATEGORY_HARASSMENT",
                "HARM_CATEGORY_HATE_SPEECH",
                "HARM_CATEGORY_SEXUALLY_EXPLICIT",
                "HARM_CATEGORY_DANGEROUS_CONTENT",
            )
        ],
    }
    m = metrics.build("gemini-sc", policy="faithful")
    assert m.run_info()["layout"]["top_k"] == 64 and m.run_info()["layout"]["safety"] == "BLOCK_NONE x4"


def test_faithful_item_retry_recovers_a_one_off_crash_as_gedits_runner_does(fake_api: FakeAPIServer) -> None:
    seen: list[str] = []

    def answer(text: str, body: dict) -> str:
        if "overedit" not in text.lower():
            return '{"score": [9, 4]}'
        seen.append(text)
        return '{"score": ["7", "6"]}' if len(seen) == 1 else '{"score": [7, 6]}'  # strings once, then numbers

    fake_api.answer = answer
    (out,) = scores_for("gpt-sc", [item("once", "once")], policy="faithful", cache=False)
    assert (out["gpt-sc"].value, out["gpt-sc"].detail["item_attempts"]) == (6.0, 2)
    seen.clear()
    (gone,) = scores_for("gpt-sc", [item("once", "once")], policy="faithful", cache=False, item_retries=0)
    assert gone["gpt-sc"].detail["dropped"] and gone["gpt-sc"].detail["error"].startswith("upstream raises TypeError")
