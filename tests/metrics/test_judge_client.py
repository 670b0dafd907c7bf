"""The judge client against the fake OpenAI/Gemini server: retries, statuses, budget, cache, accounting."""

from __future__ import annotations

import asyncio
import time

import pytest
from fakes import FakeAPIServer
from PIL import Image

from mirabench.judge import ChatRequest, JudgeClient, JudgeConfig

IMG = Image.new("RGB", (16, 16), (200, 40, 40))


def client(provider: str, **kw: object) -> JudgeClient:
    cfg = {"timeout_s": 1.0, "backoff_base_s": 0.01, "max_attempts": 4, **kw}
    model = "gpt-4.1-2025-04-14" if provider == "openai" else "gemini-2.5-flash"
    return JudgeClient(JudgeConfig(provider=provider, model=model, **cfg))  # type: ignore[arg-type]


def req(text: str) -> ChatRequest:
    return ChatRequest.build([text, IMG], max_tokens=32)


# fault marker -> (final status, attempts the client made)
FAULTS = {
    "FAULT:429x2": ("ok", 3),
    "FAULT:500x1": ("ok", 2),
    "FAULT:503x3": ("ok", 4),
    "FAULT:503x9": ("api_error", 4),  # retries exhausted
    "FAULT:400x1": ("api_error", 1),  # not retryable
    "FAULT:hangx1": ("ok", 2),  # timeout, then an answer
    "FAULT:malformedx1": ("ok", 2),
    "FAULT:emptyx1": ("ok", 2),
    "FAULT:noscorex1": ("ok", 1),  # an answer without a score is the metric's business
    "FAULT:refusalx1": ("refused", 1),
    "plain": ("ok", 1),
}


@pytest.mark.parametrize("provider", ["openai", "gemini"])
def test_faults_end_in_the_right_status_and_nothing_is_lost_or_double_counted(
    fake_api: FakeAPIServer, provider: str
) -> None:
    fake_api.hang_s = 3.0
    c = client(provider)
    try:
        results = c.chat_many([req(f"judge this {marker}") for marker in FAULTS])
    finally:
        c.close()
    assert len(results) == len(FAULTS)
    for (marker, (status, attempts)), res in zip(FAULTS.items(), results, strict=True):
        assert (res.status, res.attempts) == (status, attempts), marker
        if status == "ok":
            assert res.text and res.model
    assert results[list(FAULTS).index("FAULT:noscorex1")].text == "I looked at both images carefully."
    snap = c.ledger.snapshot()
    assert snap["requests"] == len(FAULTS)
    assert snap["api_attempts"] == sum(a for _, a in FAULTS.values()) == fake_api.count(provider)
    assert snap["statuses"] == {"api_error": 2, "ok": 8, "refused": 1}
    assert snap["rate_limited"] == 2 and snap["timeouts"] == 1
    expected_model = "gpt-4.1-2025-04-14" if provider == "openai" else "gemini-2.5-flash-001"
    assert set(snap["models_reported"]) == {expected_model}
    assert all(r.provider == provider for r in fake_api.requests)


def test_retry_after_is_honoured(fake_api: FakeAPIServer) -> None:
    fake_api.retry_after = "1"
    c = client("openai")
    try:
        res = c.chat(req("slow down FAULT:429x1"))
    finally:
        c.close()
    assert res.status == "ok" and res.attempts == 2
    first, second = fake_api.requests
    assert second.t - first.t >= 0.95


def test_budget_stops_cleanly_and_unsent_calls_say_so(fake_api: FakeAPIServer) -> None:
    c = client("openai", max_calls=3, max_concurrency=1, use_cache=False)
    try:
        results = c.chat_many([req(f"item {i}") for i in range(5)])
    finally:
        c.close()
    assert [r.status for r in results].count("ok") == 3
    assert [r.status for r in results].count("budget") == 2
    assert fake_api.count() == 3


def test_cost_cap_uses_reported_tokens(fake_api: FakeAPIServer) -> None:
    c = client("openai", max_cost_usd=1e-9, prices={"gpt-4.1-2025-04-14": (1000.0, 1000.0)}, max_concurrency=1)
    try:
        results = c.chat_many([req(f"item {i}") for i in range(3)])
    finally:
        c.close()
    assert [r.status for r in results] == ["ok", "budget", "budget"]
    snap = c.ledger.snapshot()
    usage = results[0].usage
    assert snap["estimated_cost_usd"] == pytest.approx((usage.input_tokens + usage.output_tokens) * 1000 / 1e6)
    assert snap["input_tokens"] == usage.input_tokens > 0


def test_concurrency_adapts_to_a_real_rate_limit(fake_api: FakeAPIServer) -> None:
    fake_api.max_in_flight = 4
    fake_api.latency_s = 0.03
    c = client("openai", max_concurrency=16, max_attempts=30, use_cache=False)
    try:
        results = c.chat_many([req(f"item {i}") for i in range(120)])
    finally:
        c.close()
    assert all(r.status == "ok" for r in results)
    snap = c.ledger.snapshot()
    assert snap["requests"] == 120 and snap["statuses"] == {"ok": 120}
    assert snap["rate_limited"] > 0 and snap["min_concurrency"] < 16
    assert snap["api_attempts"] == fake_api.count() == 120 + snap["rate_limited"]


def test_cache_makes_a_repeat_free_and_never_stores_failures(fake_api: FakeAPIServer) -> None:
    reqs = [req("a"), req("b FAULT:400x1"), req("c")]
    c = client("openai")
    try:
        first = c.chat_many(reqs)
        n = fake_api.count()
        second = c.chat_many(reqs)
    finally:
        c.close()
    assert [r.status for r in first] == ["ok", "api_error", "ok"]
    assert [r.status for r in second] == ["ok", "ok", "ok"]  # the 400 was not cached; its retry now succeeds
    assert [r.cached for r in second] == [True, False, True]
    assert fake_api.count() == n + 1
    assert second[0].text == first[0].text


def test_async_api_and_missing_key(fake_api: FakeAPIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    c = client("openai")
    try:
        res = asyncio.run(c.achat(req("async")))
    finally:
        c.close()
    assert res.status == "ok"
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.delenv("OPENAI_BASE_URL")
    c = client("openai")
    start = time.monotonic()
    try:
        res = c.chat(req("no key"))
    finally:
        c.close()
    assert res.status == "api_error" and "OPENAI_API_KEY" in res.error
    assert time.monotonic() - start < 2


def test_credentials_travel_only_in_headers(fake_api: FakeAPIServer) -> None:
    c = client("gemini")
    try:
        c.chat(req("hello"))
    finally:
        c.close()
    (got,) = fake_api.requests
    assert "gemini-test-key" not in repr(got.body) and "x-goog-api-key" not in got.headers
    assert "gemini-test-key" not in repr(c.ledger.snapshot()) and "gemini-test-key" not in repr(c.config.public())
