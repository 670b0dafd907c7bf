"""Reliability fixtures: the fault plugins, and a fake judge server that fails on request."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import faults  # noqa: E402  (registers faulty-counter / faulty-toy and the store hooks)
from judgefault import GEMINI_KEY, OPENAI_KEY, FaultyJudgeServer  # noqa: E402


@pytest.fixture(scope="module")
def judge_server() -> Iterator[FaultyJudgeServer]:
    server = FaultyJudgeServer(hang_s=2.5)
    server.start()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPENAI_API_KEY", OPENAI_KEY)
        mp.setenv("OPENAI_BASE_URL", server.openai_url)
        mp.setenv("GEMINI_API_KEY", GEMINI_KEY)
        mp.delenv("GOOGLE_API_KEY", raising=False)
        mp.setenv("GOOGLE_GEMINI_BASE_URL", server.gemini_url)
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(autouse=True)
def disarmed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(faults.ENV, raising=False)
    faults.reset()
