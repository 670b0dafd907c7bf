"""gemini-sc accepts either key the google-genai client reads (GEMINI_API_KEY or GOOGLE_API_KEY)."""

from __future__ import annotations

import pytest
from fakes import FakeAPIServer
from PIL import Image

from mirabench.plugins import ScoreItem
from mirabench.registry import Needs, PluginUnavailable, metrics
from mirabench.types import Sample, ScoreStatus

IMG = Image.new("RGB", (24, 24), (10, 200, 30))


def test_an_env_need_can_list_alternatives(monkeypatch: pytest.MonkeyPatch) -> None:
    needs = Needs(env=("ALWAYS_KEY", ("FIRST_KEY", "SECOND_KEY")))
    monkeypatch.setenv("ALWAYS_KEY", "x")
    monkeypatch.delenv("FIRST_KEY", raising=False)
    monkeypatch.delenv("SECOND_KEY", raising=False)
    assert needs.missing() == ["set the environment variable FIRST_KEY or SECOND_KEY"]
    monkeypatch.setenv("SECOND_KEY", "y")
    assert needs.missing() == []
    monkeypatch.delenv("ALWAYS_KEY")
    assert needs.missing() == ["set the environment variable ALWAYS_KEY"]  # a plain entry is still required
    assert needs.describe() == "$ALWAYS_KEY $FIRST_KEY|$SECOND_KEY"


def test_gemini_sc_runs_with_only_google_api_key(fake_api: FakeAPIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEMINI_API_KEY")
    monkeypatch.setenv("GOOGLE_API_KEY", "google-test-key")
    m = metrics.build("gemini-sc", timeout_s=2.0, max_attempts=2, cache=False)
    try:
        out = m.score_batch([ScoreItem(Sample("s1", "make it green", IMG), IMG, IMG)])[0]
    finally:
        m.close()
    assert out["gemini-sc"].status is ScoreStatus.OK and out["gemini-o"].status is ScoreStatus.OK
    assert fake_api.count("gemini") == 2


def test_gemini_sc_without_either_key_names_both(fake_api: FakeAPIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEMINI_API_KEY")
    with pytest.raises(PluginUnavailable, match="GEMINI_API_KEY or GOOGLE_API_KEY"):
        metrics.build("gemini-sc")
