"""Fixtures for metric tests: the fake OpenAI + Gemini server with credentials and base URLs in the env."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fakes import FakeAPIServer
from judge_env import OPENAI_KEY

SNAPSHOTS = {"gpt-4.1-2025-04-14": "gpt-4.1-2025-04-14", "gemini-2.5-flash": "gemini-2.5-flash-001"}


@pytest.fixture
def fake_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAPIServer]:
    with FakeAPIServer.running(model_versions=SNAPSHOTS) as server:
        monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", server.openai_url)
        monkeypatch.setenv("GEMINI_API_KEY", "gemini-test-key")
        monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.gemini_url)
        yield server
