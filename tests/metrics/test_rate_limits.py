"""What a provider's rate-limit answers make the judge client do (fake server; arrival order and counts, with
waits asserted only as lower bounds):
- a 429's own wait (Retry-After, retry-after-ms, Gemini's RetryInfo) delays that request's retry and no other;
- a 429 that says the key is exhausted (x-ratelimit-remaining-requests: 0, Gemini's QuotaFailure) pauses every
  call for the stated time;
- x-ratelimit-* headers on answers pace the calls so that a fixed-window quota is not overrun;
- `rpm` holds a run to a known tier without a single 429.
"""

from __future__ import annotations

import time

import pytest
from fakes import FakeAPIServer

from mirabench.judge import ChatRequest, JudgeClient, JudgeConfig
from mirabench.judge.backends import RateInfo, duration_seconds, gemini_retry, rate_info
from mirabench.judge.limiter import SlidingWindow


def client(provider: str, **kw: object) -> JudgeClient:
    cfg = {"timeout_s": 5.0, "backoff_base_s": 0.01, "max_attempts": 4, "use_cache": False, **kw}
    model = "gpt-4.1-2025-04-14" if provider == "openai" else "gemini-2.5-flash"
    return JudgeClient(JudgeConfig(provider=provider, model=model, **cfg))  # type: ignore[arg-type]


def req(text: str) -> ChatRequest:
    return ChatRequest.build([text], max_tokens=16)


def arrivals(server: FakeAPIServer) -> list[str]:
    return [r.text for r in sorted(server.requests, key=lambda r: r.t)]


WAITS = {  # how the server states the wait of a random 429
    "retry-after": ("openai", {"retry_after": "2"}),
    "retry-after-ms": ("openai", {"retry_after": None, "retry_after_ms": "2000"}),
    "gemini-retryDelay": ("gemini", {"retry_after": None, "retry_delay": "2s"}),
    "openai-compatible-retryDelay": ("openai", {"retry_after": None, "retry_delay": "2s"}),  # Gemini's compat API
}


@pytest.mark.parametrize("how", list(WAITS))
def test_a_429s_wait_delays_only_that_request(fake_api: FakeAPIServer, how: str) -> None:
    provider, settings = WAITS[how]
    for k, v in settings.items():
        setattr(fake_api, k, v)
    c = client(provider, max_concurrency=1)  # one slot: a key pause would hold back every later request
    try:
        results = c.chat_many([req("first FAULT:429x1")] + [req(f"other {i}") for i in range(6)])
    finally:
        c.close()
    assert [r.status for r in results] == ["ok"] * 7 and results[0].attempts == 2
    # the others went while the first one waited; its retry came last, after its full wait
    assert arrivals(fake_api) == ["first FAULT:429x1"] + [f"other {i}" for i in range(6)] + ["first FAULT:429x1"]
    first, retry = (r for r in fake_api.requests if r.text.startswith("first"))
    assert retry.t - first.t >= 1.9
    snap = c.ledger.snapshot()
    assert snap["key_pauses"] == 0 and snap["rate_limited"] == 1


@pytest.mark.parametrize("provider", ["openai", "gemini"])
def test_an_exhausted_key_pauses_every_call_for_the_stated_time(fake_api: FakeAPIServer, provider: str) -> None:
    fake_api.exhausted_s = 1.5
    fake_api.retry_after = None  # the wait comes only from the exhaustion details (headers / QuotaFailure)
    c = client(provider, max_concurrency=1)
    try:
        results = c.chat_many([req("first FAULT:exhaustedx1"), req("second"), req("third")])
    finally:
        c.close()
    assert [r.status for r in results] == ["ok"] * 3
    first = fake_api.requests[0]
    assert first.fault == "exhausted"
    assert all(r.t - first.t >= 1.45 for r in fake_api.requests[1:])  # nobody went during the pause
    assert c.ledger.snapshot()["key_pauses"] == 1


@pytest.mark.parametrize("announced", [True, False])
def test_rate_limit_headers_pace_calls_under_a_fixed_window_quota(fake_api: FakeAPIServer, announced: bool) -> None:
    fake_api.quota, fake_api.quota_window_s, fake_api.quota_headers = 10, 1.0, announced
    fake_api.latency_s = 0.02
    fake_api.retry_after = None
    c = client("openai", max_concurrency=8, max_attempts=30)
    try:
        results = c.chat_many([req(f"item {i}") for i in range(35)])
    finally:
        c.close()
    assert all(r.ok for r in results)
    snap = c.ledger.snapshot()
    assert fake_api.statuses[429] == snap["rate_limited"]
    if announced:  # paced to the allowance: a straggler arriving late may cost a 429 now and then, not more
        assert snap["rate_limited"] <= 3 and snap["paced"] > 0 and fake_api.count() == 35 + snap["rate_limited"]
    else:  # the same quota unannounced: 8 in flight, 10 a second, and the client learns only from refusals
        assert snap["rate_limited"] >= 10 and snap["paced"] == 0


def test_rpm_keeps_a_known_tier_free_of_429s(fake_api: FakeAPIServer) -> None:
    fake_api.quota = 6  # the tier: 6 a minute, one fixed window (so no header can announce a useful reset)
    c = client("openai", max_concurrency=8, rpm=6)
    try:
        futures = [c.submit(req(f"item {i}")) for i in range(8)]
        done = [f.result(timeout=30) for f in futures[:6]]
        late = futures[6:]
        time.sleep(0.5)  # were the 7th and 8th free to go, they would have reached the server by now
        assert fake_api.count() == 6 and not any(f.done() for f in late)
    finally:
        c.close()
    assert all(r.ok for r in done) and fake_api.statuses[429] == 0
    assert all(f.cancelled() for f in late)  # closing ends the calls still waiting for the window


def test_sliding_window_never_exceeds_its_limit_in_any_period() -> None:
    window = SlidingWindow(5, period_s=10.0)
    sent, now = [], 0.0
    for _ in range(23):
        now += window.wait(1, now)
        window.spend(1, now)
        sent.append(now)
        now += 0.5
    assert all(sum(1 for t in sent if s <= t < s + 10) <= 5 for s in sent)
    assert sent[5] == 10.0 and sent[10] == 20.0  # and it waits no longer than it must
    big = SlidingWindow(100, period_s=60.0)
    assert big.wait(500, 0.0) == 0.0  # one call above the limit goes once the window is empty


def test_header_and_body_parsing() -> None:
    assert duration_seconds("6m0s") == 360 and duration_seconds("1.5s") == 1.5 and duration_seconds("250ms") == 0.25
    assert duration_seconds("2") == 2 and duration_seconds("soon") is None and duration_seconds("1s junk") is None
    info = rate_info({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "20ms"})
    assert info == RateInfo(0, 0.02, None, None) and info.exhausted_for() == 0.02
    info = rate_info({"x-ratelimit-remaining-requests": "5", "x-ratelimit-remaining-tokens": "0"})
    assert info is not None and info.exhausted_for() is None  # no reset given: nothing to wait for
    assert rate_info({"retry-after": "1"}) is None
    body = {"error": {"details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "34s"}]}}
    assert gemini_retry(body) == (34.0, False)
    body["error"]["details"].append({"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []})
    assert gemini_retry(body) == (34.0, True)
    assert gemini_retry("not json") == (None, False)
