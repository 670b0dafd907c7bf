"""What keeps the judge client's event loop free (its latency bounds throughput at high concurrency):
set-up in the caller's thread, one wire body per request whatever the retries, encoding paced by the calls."""

from __future__ import annotations

import threading

import pytest
from fakes import FakeAPIServer
from PIL import Image

from mirabench.judge import ChatRequest, JudgeClient, JudgeConfig
from mirabench.judge.backends import OpenAIBackend
from mirabench.plugins import ScoreItem
from mirabench.registry import metrics
from mirabench.types import Sample, ScoreStatus

IMG = Image.new("RGB", (16, 16), (200, 40, 40))


def client(**kw: object) -> JudgeClient:
    cfg = {"timeout_s": 2.0, "backoff_base_s": 0.01, "max_attempts": 4, "use_cache": False, **kw}
    return JudgeClient(JudgeConfig(provider="openai", model="gpt-4.1-2025-04-14", **cfg))  # type: ignore[arg-type]


def test_start_builds_the_backend_in_the_calling_thread(
    fake_api: FakeAPIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    built_in: list[str] = []
    make = JudgeClient._make_backend

    def spy(self: JudgeClient) -> object:
        built_in.append(threading.current_thread().name)
        return make(self)

    monkeypatch.setattr(JudgeClient, "_make_backend", spy)
    c = client()
    try:
        c.start()
        assert built_in == [threading.current_thread().name]
        assert c.chat(ChatRequest.build(["hello"])).ok
    finally:
        c.close()
    assert built_in == [threading.current_thread().name]  # not again, and never on the loop thread


def test_a_retried_request_is_serialized_once_and_resent_byte_for_byte(
    fake_api: FakeAPIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepared: list[str] = []
    prepare = OpenAIBackend.prepare

    def spy(self: OpenAIBackend, req: ChatRequest) -> bytes:
        prepared.append(threading.current_thread().name)
        return prepare(self, req)

    monkeypatch.setattr(OpenAIBackend, "prepare", spy)
    c = client()
    try:
        via_loop = c.chat_many([ChatRequest.build(["rate me FAULT:429x2", IMG])])[0]
        via_submit = c.submit(ChatRequest.build(["and me FAULT:503x1", IMG])).result()
    finally:
        c.close()
    assert (via_loop.status, via_loop.attempts) == ("ok", 3)
    assert (via_submit.status, via_submit.attempts) == ("ok", 2)
    # The fake server counts faults per exact body: the retries only succeeded because the bytes were the same.
    assert prepared == ["judge-loop", threading.current_thread().name]  # submit: built before reaching the loop
    assert c.ledger.snapshot()["api_attempts"] == fake_api.count() == 5


def test_an_unserializable_request_fails_in_its_attempt_not_in_submit(fake_api: FakeAPIServer) -> None:
    c = client()
    try:
        res = c.submit(ChatRequest.build(["nan"], temperature=float("nan"))).result()
    finally:
        c.close()
    assert res.status == "api_error" and "JSON" in res.error and fake_api.count() == 0


def test_encoding_keeps_pace_with_the_calls(fake_api: FakeAPIServer) -> None:
    fake_api.latency_s = 0.01
    m = metrics.build("gpt-sc", max_concurrency=2, cache=False, timeout_s=2.0)
    answered_when_built: list[int] = []
    requests = m.requests

    def spy(item: ScoreItem, salt: str = "", seed: int | None = None) -> tuple[ChatRequest, ChatRequest]:
        answered_when_built.append(fake_api.count())
        return requests(item, salt, seed)

    m.requests = spy  # type: ignore[method-assign]
    items = [ScoreItem(Sample(f"s{i}", f"edit {i}", IMG), IMG, IMG) for i in range(16)]
    try:
        out = m.score_batch(items)
    finally:
        m.close()
    assert all(o["gpt-o"].status is ScoreStatus.OK for o in out) and fake_api.count() == 32
    # at most 2 x max_concurrency = 4 pairs built or in flight: item k is built once k - 4 pairs were answered
    assert all(n >= 2 * (k - 4) for k, n in enumerate(sorted(answered_when_built)))
    assert max(answered_when_built) >= 2 * (16 - 4)


def test_a_cached_submit_is_answered_in_the_calling_thread(fake_api: FakeAPIServer) -> None:
    c = client(use_cache=True)
    try:
        first = c.submit(ChatRequest.build(["cache me", IMG])).result()
        again = c.submit(ChatRequest.build(["cache me", IMG]))
        assert again.done()  # no trip through the event loop, no body built
        second = again.result()
    finally:
        c.close()
    assert first.ok and not first.cached and second.cached and second.text == first.text
    snap = c.ledger.snapshot()
    assert fake_api.count() == 1 and snap["requests"] == 2 and snap["cache_hits"] == 1
