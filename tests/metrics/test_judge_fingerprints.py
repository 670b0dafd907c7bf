"""Each judge score records what the provider says served it: OpenAI model + system_fingerprint, Gemini
modelVersion + responseId; a cached answer keeps the record of the call that made it."""

from __future__ import annotations

from fakes import FakeAPIServer
from PIL import Image

from mirabench.plugins import ScoreItem
from mirabench.registry import metrics
from mirabench.types import Sample

IMG = Image.new("RGB", (32, 32), (10, 200, 30))


def _score(name: str, **opts: object) -> dict:
    m = metrics.build(name, timeout_s=2.0, max_attempts=2, prompts="stand-in", **opts)
    try:
        return m.score_batch([ScoreItem(Sample("s1", "make it blue", IMG), IMG, IMG)])[0]
    finally:
        m.close()


def test_openai_scores_record_model_and_system_fingerprint(fake_api: FakeAPIServer) -> None:
    fake_api.fingerprint = "fp_one"
    got = _score("gpt-sc")
    for col in ("gpt-sc", "gpt-pq", "gpt-o"):
        assert got[col].detail["served"] == {"model": "gpt-4.1-2025-04-14", "system_fingerprint": "fp_one"}
    fake_api.fingerprint = "fp_two"  # the provider changed its backend; the cache still answers from the old one
    calls = fake_api.count()
    again = _score("gpt-sc")
    assert fake_api.count() == calls and again["gpt-sc"].detail["served"]["system_fingerprint"] == "fp_one"
    fresh = _score("gpt-sc", cache=False)
    assert fresh["gpt-sc"].detail["served"]["system_fingerprint"] == "fp_two"


def test_gemini_scores_record_model_version_and_response_id(fake_api: FakeAPIServer) -> None:
    got = _score("gemini-sc")
    served = got["gemini-sc"].detail["served"]
    assert served["model_version"] == "gemini-2.5-flash-001" and served["response_id"].startswith("fake-")
