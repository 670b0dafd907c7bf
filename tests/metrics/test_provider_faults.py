"""Real providers' fault patterns against the judge client (fake server scripts each answer byte for byte).

For each pattern: the status every request ends in, how many requests reached the server, that the run's journal
(the run store) and the ledger count exactly the server's requests, and that what the user reads is one line.
- waits the server states (Retry-After as date, float, garbage, negative, inf, huge; retry-after-ms; none; 503):
  a readable wait is honoured, an unreadable one falls back to backoff, one past `max_wait_s` ends the calls with
  one line instead of sleeping for hours;
- 200 answers that are not answers (not JSON, cut JSON, no choices/candidates, null content, filters, blocks);
- transport faults (reset, closed unanswered, body cut, stall past the timeout, port closed): retried, bounded;
- account failures (401/403: the key's env var; 404: the model) stop the client's calls after the first answers;
- 429s among successes at concurrency 32: nothing lost, order kept.
"""

from __future__ import annotations

import email.utils
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeAPIServer, Received, Scripted

from mirabench.judge import ChatRequest, ChatResult, JudgeClient, JudgeConfig
from mirabench.judge.backends import retry_after_seconds
from mirabench.rundir.store import CallLog, RunStore

Script = Callable[[Received], Scripted | None]


def openai_ok(content: Any = "fine", finish: str = "stop", **message: Any) -> dict[str, Any]:
    msg = {"role": "assistant", "content": content, **message}
    return {
        "id": "x",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4.1-2025-04-14",
        "choices": [{"index": 0, "message": msg, "finish_reason": finish}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }


def gemini_ok(text: str = "fine", **extra: Any) -> dict[str, Any]:
    cand = {"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP", "index": 0}
    return {"candidates": [cand], "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2}, **extra}


def first(n: int, answer: Scripted) -> Script:
    """The first `n` arrivals get `answer`, later ones the fake's usual answer."""
    seen = [0]

    def script(_: Received) -> Scripted | None:
        seen[0] += 1
        return answer if seen[0] <= n else None

    return script


def always(answer: Scripted) -> Script:
    return lambda _: answer


def err(
    status: int, message: str = "nope", headers: dict[str, str] | None = None, grpc: str = "", **error: Any
) -> Scripted:
    """An error answer as both providers write it (`grpc`: Gemini's status name)."""
    body = {"code": status, "message": message, **error, **({"status": grpc} if grpc else {})}
    return Scripted(status, {"error": body}, headers or {})


class Run:
    """A client with the run store as its journal: what the server saw must equal what the run recorded."""

    def __init__(self, tmp: Path, provider: str, **cfg: Any) -> None:
        self.store = RunStore(tmp)
        settings = {"timeout_s": 1.0, "backoff_base_s": 0.01, "max_attempts": 3, "use_cache": False, **cfg}
        model = "gpt-4.1-2025-04-14" if provider == "openai" else "gemini-2.5-flash"
        config = JudgeConfig(provider=provider, model=model, **settings)  # type: ignore[arg-type]
        self.client = JudgeClient(config, journal=CallLog(self.store, "s1"))

    def ask(self, n: int) -> list[ChatResult]:
        return self.client.chat_many([ChatRequest.build([f"question {i}"], max_tokens=8) for i in range(n)])

    def journaled(self) -> int:
        return int(self.client.usage()["run"]["attempts"])

    def close(self) -> None:
        self.client.close()
        self.store.close()


@pytest.fixture
def run(fake_api: FakeAPIServer, tmp_path: Path) -> Iterator[Callable[..., Run]]:
    made: list[Run] = []

    def make(provider: str = "openai", script: Script | None = None, **cfg: Any) -> Run:
        fake_api.script = script
        made.append(Run(tmp_path / f"r{len(made)}", provider, **cfg))
        return made[-1]

    yield make
    for r in made:
        r.close()


def check(r: Run, server: FakeAPIServer, results: list[ChatResult]) -> None:
    """Every attempt that reached the server is journaled and in the ledger, once; every message is one line."""
    snap = r.client.ledger.snapshot()
    assert snap["api_attempts"] == r.journaled() == server.count() == sum(x.attempts for x in results)
    assert snap["requests"] == len(results)
    assert all("\n" not in x.error and "\r" not in x.error and "Traceback" not in x.error for x in results)


# -- stated waits ------------------------------------------------------------------------------------------------


def test_retry_after_parsing_never_raises_and_never_means_forever() -> None:
    date = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= (retry_after_seconds({"retry-after": date}) or 0) <= 31
    past = email.utils.formatdate(time.time() - 30, usegmt=True)
    assert retry_after_seconds({"retry-after": past}) == 0.0
    assert retry_after_seconds({"retry-after": "1.5"}) == 1.5
    assert retry_after_seconds({"retry-after-ms": "250"}) == 0.25
    assert retry_after_seconds({"retry-after-ms": "junk", "retry-after": "2"}) == 2.0
    assert retry_after_seconds({"retry-after": "-5"}) == 0.0
    for garbage in ("soon", "inf", "nan", "-inf", "", "1e999", "Mon, 99 Foo 2024 99:99:99 GMT"):
        assert retry_after_seconds({"retry-after": garbage}) is None, garbage
    assert retry_after_seconds(None) is None and retry_after_seconds({}) is None


WAITS = {  # header -> lower bound of the retry's delay (s)
    "date": ({"Retry-After": "DATE+1"}, 0.5),
    "float": ({"Retry-After": "0.6"}, 0.55),
    "ms": ({"retry-after-ms": "600"}, 0.55),
    "negative": ({"Retry-After": "-3"}, 0.0),
    "garbage": ({"Retry-After": "after lunch"}, 0.0),
    "inf": ({"Retry-After": "inf"}, 0.0),
    "none": ({}, 0.0),
}


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("how", list(WAITS))
def test_a_stated_wait_is_honoured_and_an_unreadable_one_retries_on_backoff(
    run: Callable[..., Run], fake_api: FakeAPIServer, how: str, status: int
) -> None:
    headers, at_least = WAITS[how]
    if "DATE+1" in headers.values():  # an HTTP date has whole seconds: wait for the next one and then some
        headers = {"Retry-After": email.utils.formatdate(time.time() + 1.6, usegmt=True)}
    r = run(script=first(1, err(status, "slow down", headers)), max_concurrency=1)
    results = r.ask(2)
    assert [x.status for x in results] == ["ok", "ok"] and results[0].attempts == 2
    check(r, fake_api, results)
    first_try, retry = fake_api.requests[0], fake_api.requests[-1]
    assert retry.text == first_try.text and retry.t - first_try.t >= at_least


@pytest.mark.parametrize("provider", ["openai", "gemini"])
@pytest.mark.parametrize("how", ["retry-after", "key-reset"])
def test_a_wait_past_max_wait_ends_the_calls_with_one_line_instead_of_sleeping(
    run: Callable[..., Run], fake_api: FakeAPIServer, provider: str, how: str
) -> None:
    if how == "retry-after":
        answer = err(429, "quota", {"Retry-After": "86400"})
    elif provider == "openai":  # the key is out of calls for a day
        answer = err(429, "quota", {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "24h0m0s"})
    else:
        details = [
            {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "86400s"},
        ]
        answer = err(429, "quota", details=details)
    r = run(provider, script=first(1, answer), max_concurrency=1, max_wait_s=5.0)
    start = time.monotonic()
    results = r.ask(4)
    assert time.monotonic() - start < 3
    assert [x.status for x in results] == ["api_error"] * 4
    assert fake_api.count() == 1 and [x.attempts for x in results] == [1, 0, 0, 0]  # the rest were never sent
    check(r, fake_api, results)
    assert len({x.error for x in results}) == 1
    line = results[0].error
    assert "wait 86400 s, more than max_wait_s=5" in line and "run the same command later" in line


# -- 200 answers that are not answers ----------------------------------------------------------------------------

EMPTY_PARTS = {"candidates": [{"content": {"role": "model", "parts": []}, "finishReason": "STOP"}]}
BODIES: dict[str, tuple[str, Any, str, int]] = {  # name -> (provider, body, final status, attempts)
    "not json": ("openai", b"<html>\n<body>gateway</body>\n</html>", "api_error", 3),
    "cut json": ("openai", b'{"choices": [{"message": {"content": "tru', "api_error", 3),
    "no choices": ("openai", {**openai_ok(), "choices": []}, "api_error", 3),
    "null content": ("openai", openai_ok(None), "api_error", 3),
    "content_filter": ("openai", openai_ok(None, "content_filter"), "refused", 1),
    "length, some text": ("openai", openai_ok('{"score": [5', "length"), "ok", 1),  # the parser's business
    "length, no text": ("openai", openai_ok("", "length"), "api_error", 1),  # asking again is cut again
    "refusal": ("openai", openai_ok(None, refusal="I can't help with that.\nSorry."), "refused", 1),
    "g not json": ("gemini", b"<html>oops</html>", "api_error", 3),
    "g cut json": ("gemini", b'{"candidates": [{"cont', "api_error", 3),
    "g blockReason": ("gemini", {"promptFeedback": {"blockReason": "SAFETY"}}, "refused", 1),
    "g SAFETY": ("gemini", {"candidates": [{"finishReason": "SAFETY", "index": 0}]}, "refused", 1),
    "g no candidates": ("gemini", {"usageMetadata": {"promptTokenCount": 3}}, "api_error", 3),
    "g empty parts": ("gemini", EMPTY_PARTS, "api_error", 3),
    "g MAX_TOKENS, no text": ("gemini", {"candidates": [{"finishReason": "MAX_TOKENS"}]}, "api_error", 1),
}


@pytest.mark.parametrize("name", list(BODIES))
def test_an_ok_status_without_an_answer_ends_in_a_status_never_a_traceback(
    run: Callable[..., Run], fake_api: FakeAPIServer, name: str
) -> None:
    provider, body, status, attempts = BODIES[name]
    r = run(provider, script=always(Scripted(200, body)))
    results = r.ask(2)
    assert [(x.status, x.attempts) for x in results] == [(status, attempts)] * 2, results[0].error
    check(r, fake_api, results)
    if status == "refused":
        assert results[0].error and "Enum" not in results[0].error and "." not in results[0].error[:6]
    if status == "ok":
        assert results[0].finish_reason == "length"


# -- transport faults --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["openai", "gemini"])
@pytest.mark.parametrize("action", ["reset", "close", "cut", "stall"])
def test_a_broken_connection_is_retried_and_counted_once(
    run: Callable[..., Run], fake_api: FakeAPIServer, provider: str, action: str
) -> None:
    body = openai_ok() if provider == "openai" else gemini_ok()
    r = run(provider, script=first(1, Scripted(200, body, action=action, stall_s=1.5 if action == "stall" else 0)))
    results = r.ask(3)
    assert [x.status for x in results] == ["ok"] * 3 and sorted(x.attempts for x in results) == [1, 1, 2]
    check(r, fake_api, results)
    if action == "stall":
        assert r.client.ledger.snapshot()["timeouts"] == 1


@pytest.mark.parametrize("provider", ["openai", "gemini"])
def test_a_closed_port_fails_within_bounded_time_with_one_line(run: Callable[..., Run], provider: str) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    url = f"http://127.0.0.1:{port}" + ("/v1" if provider == "openai" else "")
    r = run(provider, base_url=url, max_attempts=3)
    start = time.monotonic()
    results = r.ask(2)
    assert time.monotonic() - start < 5
    assert [(x.status, x.attempts) for x in results] == [("api_error", 3)] * 2
    assert r.journaled() == 6 and r.client.ledger.snapshot()["errors"] == {"connection": 6}
    assert "\n" not in results[0].error and ("Connect" in results[0].error or "connect" in results[0].error)


# -- account failures and per-request 400s -----------------------------------------------------------------------

ACCOUNT = {  # name -> (provider, answer, what the line must name)
    "401": ("openai", err(401, "Incorrect API key provided", code="invalid_api_key"), "OPENAI_API_KEY"),
    "403": ("openai", err(403, "Project does not have access"), "OPENAI_API_KEY"),
    "404": ("openai", err(404, "The model does not exist", code="model_not_found"), "gpt-4.1-2025-04-14"),
    "billing": ("openai", err(429, "You exceeded your current quota", code="insufficient_quota"), "quota"),
    "g 401": ("gemini", err(401, "API key not valid.", grpc="UNAUTHENTICATED"), "GEMINI_API_KEY"),
    "g 403": ("gemini", err(403, "Permission denied.", grpc="PERMISSION_DENIED"), "GEMINI_API_KEY"),
    "g 404": ("gemini", err(404, "models/x is not found", grpc="NOT_FOUND"), "gemini-2.5-flash"),
}


@pytest.mark.parametrize("name", list(ACCOUNT))
def test_a_refused_key_or_unknown_model_stops_the_calls_with_one_line_naming_it(
    run: Callable[..., Run], fake_api: FakeAPIServer, name: str
) -> None:
    provider, answer, named = ACCOUNT[name]
    r = run(provider, script=always(answer), max_concurrency=2, max_attempts=6)
    results = r.ask(20)
    assert [x.status for x in results] == ["api_error"] * 20
    assert fake_api.count() <= 2  # the calls in flight when the first answer came; none after it
    check(r, fake_api, results)
    assert len({x.error for x in results}) == 1 and named in results[0].error
    assert "no further calls are sent" in results[0].error


@pytest.mark.parametrize("provider", ["openai", "gemini"])
def test_a_bad_request_fails_only_itself_with_the_providers_message_on_one_line(
    run: Callable[..., Run], fake_api: FakeAPIServer, provider: str
) -> None:
    bad = err(400, "This model's maximum context length is 128000 tokens.\nHowever, you requested 200000 tokens.")

    def script(rec: Received) -> Scripted | None:
        return bad if "question 1" in rec.text else None

    r = run(provider, script=script)
    results = r.ask(3)
    assert [(x.status, x.attempts) for x in results] == [("ok", 1), ("api_error", 1), ("ok", 1)]
    check(r, fake_api, results)
    assert results[1].error == (
        "HTTP 400: This model's maximum context length is 128000 tokens. However, you requested 200000 tokens."
    )


# -- mixed -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["openai", "gemini"])
def test_429s_among_successes_at_concurrency_32_lose_nothing_and_keep_order(
    run: Callable[..., Run], fake_api: FakeAPIServer, provider: str
) -> None:
    fake_api.rate_429, fake_api.retry_after, fake_api.latency_s = 0.3, "0", 0.005
    fake_api.answer = lambda text, body: "answer to " + text.split("question ")[-1]
    r = run(provider, max_concurrency=32, max_attempts=10)
    results = r.ask(96)
    assert [x.text for x in results] == [f"answer to {i}" for i in range(96)]
    check(r, fake_api, results)
    snap = r.client.ledger.snapshot()
    assert snap["rate_limited"] == fake_api.statuses[429] > 0 and fake_api.statuses[200] == 96
    assert r.client.usage()["run"]["answered"] == 96
