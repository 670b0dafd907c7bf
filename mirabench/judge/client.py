"""JudgeClient: the one way mirabench calls a remote (or local) model. See the package docstring for the API.

Every request ends as a ChatResult with a status; nothing raises per call, nothing is lost, and each request is
counted exactly once in the ledger whatever number of attempts it took.

Two kinds of failure end more than the call at hand, because every later call would meet them too:
- the key or the model is refused (401, 403, 404, a 429 for billing): the first such answer ends the client's
  remaining calls unsent, with one line naming the environment variable or the model (no request per sample);
- the provider asks for a wait longer than `max_wait_s` (Retry-After, RetryInfo, a key's reset): the calls end
  with one line saying how long, and none is sent until that time has passed. A run never sleeps for hours in
  silence; running the same command later resumes it.
"""

from __future__ import annotations

import asyncio
import errno
import math
import random
import sqlite3
import threading
import time
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Literal

from mirabench.cache import Cache, cache_key
from mirabench.judge.accounting import Ledger, Usage
from mirabench.judge.backends import Backend, CallError, GeminiBackend, OpenAIBackend, Reply, one_line
from mirabench.judge.edits import ImageEditRequest
from mirabench.judge.journal import Attempt, Journal, JournalError, active_journal
from mirabench.judge.limiter import AdaptiveLimiter, WaitTooLong
from mirabench.judge.messages import ChatRequest
from mirabench.secrets import MESSAGE_CHARS, scrub

__all__ = ["ChatResult", "JudgeClient", "JudgeConfig", "LazyClient", "LocalGenerate"]

Status = Literal["ok", "api_error", "refused", "budget"]
LocalGenerate = Callable[[Sequence[ChatRequest]], Sequence[Reply]]
"""An in-process model: a batch of requests in, one Reply per request out (raise to fail the whole batch)."""


@dataclass(frozen=True)
class JudgeConfig:
    """Where calls go and how hard we push. Recorded (minus nothing secret: keys never live here) in run.json."""

    provider: Literal["openai", "gemini", "local"] = "openai"
    model: str = ""
    base_url: str | None = None
    api_version: str | None = None
    image_detail: str | None = None
    max_concurrency: int = 16
    min_concurrency: int = 1
    timeout_s: float = 120.0
    max_attempts: int = 6
    backoff_base_s: float = 0.5  # as the openai SDK (its INITIAL_RETRY_DELAY)
    backoff_max_s: float = 60.0
    backoff_threshold: float = 0.2
    max_wait_s: float = 120.0  # the longest wait a provider may ask for that is slept out (see the module doc)
    max_calls: int | None = None
    max_cost_usd: float | None = None
    prices: dict[str, tuple[float, float]] = field(default_factory=dict)
    use_cache: bool = True
    rpm: float | None = None
    tpm: float | None = None
    label: str = ""  # whose calls these are in the run's journal (a plugin name); default provider:model

    def public(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "model": self.model,
            "base_url": self.base_url,
            "api_version": self.api_version,
            "max_concurrency": self.max_concurrency,
            "timeout_s": self.timeout_s,
            "max_attempts": self.max_attempts,
            "max_wait_s": self.max_wait_s,
            "max_calls": self.max_calls,
            "max_cost_usd": self.max_cost_usd,
            "rpm": self.rpm,
            "tpm": self.tpm,
            "label": self.label,
        }


@dataclass(frozen=True)
class ChatResult:
    status: Status
    text: str = ""
    model: str = ""
    usage: Usage = field(default_factory=Usage)
    attempts: int = 0
    cached: bool = False
    error: str = ""
    finish_reason: str = ""
    images: tuple[bytes, ...] = ()
    served: dict[str, str] = field(default_factory=dict)  # Reply.served: the provider's model and fingerprint

    def __post_init__(self) -> None:
        """`error` is what a user reads (a score's message, a summary line): always one line."""
        if "\n" in self.error or "\r" in self.error:
            object.__setattr__(self, "error", one_line(self.error))

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class JudgeClient:
    """Async core with a sync front door (`chat_many`) usable from any thread, e.g. the scorer's."""

    def __init__(
        self,
        config: JudgeConfig,
        *,
        local: LocalGenerate | None = None,
        backend: Backend | None = None,
        cache: Cache | None = None,
        rng: random.Random | None = None,
        journal: Journal | None = None,
    ) -> None:
        if config.provider == "local" and local is None:
            raise ValueError("a local judge needs a `local` generate function")
        self.config = config
        self.ledger = Ledger(config.prices)
        self._local = local
        self._backend = backend
        self._own_backend = backend is None
        self._cache = cache
        self._own_cache = cache is None
        self._rng = rng or random.Random()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._limiter: AdaptiveLimiter | None = None
        self._dispatched = 0
        self._lock = threading.Lock()
        self._journal = journal if journal is not None else active_journal()
        self.label = config.label or f"{config.provider}:{config.model}"
        # what earlier processes of this run spent: it counts for the caps
        self._carried: dict[str, Any] = {"attempts": 0, "cost_usd": 0.0}
        if self._journal is not None and config.provider != "local":
            self._carried = self._journal.totals(self.label)
        self._cache_failed = False
        self._halt: tuple[str, float] | None = None  # why no call is sent, and until when (monotonic; inf: never)

    # -- identity and cache -----------------------------------------------------------------------------------

    def key(self, req: ChatRequest) -> str:
        base = self.config.base_url
        if base is None and self.config.provider == "openai":
            import os

            base = os.environ.get("OPENAI_BASE_URL")
        return cache_key("judge/1", self.config.provider, self.config.model, base, req.fingerprint())

    def _cache_get(self, req: ChatRequest) -> ChatResult | None:
        """This run's own paid answer (journal), else the global cache's; None: the call must be made."""
        hit = None
        if self._journal is not None and self.config.provider != "local":
            hit = self._journal.answer(self.key(req))
        if hit is None and self.config.use_cache:
            try:
                hit = self._get_cache().get(self.key(req))
            except (sqlite3.Error, OSError) as exc:  # an unreadable cache is a miss, not a failed call
                self._cache_trouble("read", exc)
        if not isinstance(hit, dict) or not hit.get("text"):
            return None
        usage = Usage(**hit.get("usage", {}))
        model, finish, served = hit.get("model", ""), hit.get("finish_reason", ""), hit.get("served", {})
        return ChatResult("ok", hit["text"], model, usage, 0, True, "", finish, (), served)

    def _cache_put(self, req: ChatRequest, result: ChatResult) -> None:
        """Keep an answer in the global cache. A cache that cannot take it (disk full, read-only) costs only the
        reuse: the answer is already in the run's journal, so the run goes on (one warning per client)."""
        if self.config.use_cache and result.ok and result.text and not result.images:
            try:
                self._get_cache().put(self.key(req), _answer(result), kind="judge")
            except (sqlite3.Error, OSError) as exc:
                self._cache_trouble("write", exc)

    def _cache_trouble(self, what: str, exc: Exception) -> None:
        self.ledger.cache_error()
        if not self._cache_failed:
            self._cache_failed = True
            warnings.warn(f"judge cache {what} failed ({exc}); answers are kept in the run store", stacklevel=2)

    def _record(self, req: ChatRequest | ImageEditRequest, attempt: Attempt, answer: ChatResult | None) -> None:
        """Write one attempt (and its answer) to the run's journal before the result goes anywhere else."""
        if self._journal is None:
            return
        try:
            self._journal.record(attempt, _answer(answer) if answer is not None else None)
        except (sqlite3.Error, OSError) as exc:
            full = "disk is full" in str(exc) or getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT)
            raise JournalError(f"cannot record an API call in the run store: {exc}", disk_full=full) from exc

    def has_answer(self, req: ChatRequest) -> bool:
        """Whether a call for `req` would be free: this run's journal or the global cache holds its answer."""
        return self._cache_get(req) is not None

    def usage(self) -> dict[str, Any]:
        """This process's ledger, plus the run's totals over every process (`run`, `history`) when journaled."""
        snap = self.ledger.snapshot()
        if self._journal is not None and self.config.provider != "local":
            totals = dict(self._journal.totals(self.label))
            snap["history"] = totals.pop("history", [])
            snap["run"] = totals
        return snap

    def _get_cache(self) -> Cache:
        with self._lock:
            if self._cache is None:
                self._cache = Cache()
            return self._cache

    # -- public API -------------------------------------------------------------------------------------------

    def chat_many(self, requests: Sequence[ChatRequest]) -> list[ChatResult]:
        """All requests concurrently (bounded, adaptive); results in request order. Blocks the calling thread."""
        if not requests:
            return []
        if self.config.provider == "local":
            return self._chat_local(requests)
        loop = self._ensure_loop()
        future: Future[list[ChatResult]] = asyncio.run_coroutine_threadsafe(self._gather(requests), loop)
        return future.result()

    def chat(self, request: ChatRequest) -> ChatResult:
        return self.chat_many([request])[0]

    def edit_many(self, requests: Sequence[ImageEditRequest]) -> list[ChatResult]:
        """Image edits (provider "openai"), concurrent like `chat_many`; the image is `result.images[0]`.

        Same retries, limiter, timeout, budget and ledger as chat, but never cached: the edits API takes no
        seed, so a repeated request is a new sample and is always sent.
        """
        if not requests:
            return []
        if self._backend is None and self.config.provider != "openai":
            raise ValueError(f"image edits go through provider 'openai', not {self.config.provider!r}")
        loop = self._ensure_loop()
        future: Future[list[ChatResult]] = asyncio.run_coroutine_threadsafe(self._gather(requests), loop)
        return future.result()

    def submit(self, request: ChatRequest) -> Future[ChatResult]:
        """Start one call now and return at once (pipelining: send while the next request is being built)."""
        if self.config.provider == "local":
            done: Future[ChatResult] = Future()
            done.set_result(self._chat_local([request])[0])
            return done
        hit = self._cache_get(request)  # here, not on the loop: a cache read is disk I/O
        if hit is not None:
            self.ledger.finished("ok", cached=True)
            cached: Future[ChatResult] = Future()
            cached.set_result(hit)
            return cached
        loop = self._ensure_loop()  # builds the backend, which `_prepare` needs
        return asyncio.run_coroutine_threadsafe(self._one(request, self._prepare(request), cache_checked=True), loop)

    async def achat(self, request: ChatRequest) -> ChatResult:
        """Awaitable from any event loop: runs on the client's own loop (its HTTP pool lives there)."""
        if self.config.provider == "local":
            return (await asyncio.to_thread(self._chat_local, [request]))[0]
        loop = self._ensure_loop()
        if asyncio.get_running_loop() is loop:
            return await self._one(request)
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._one(request), loop))

    def start(self) -> None:
        """Do the one-time set-up now (loop thread, provider client and its imports) rather than on the first call."""
        if self.config.provider != "local":
            self._ensure_loop()

    def close(self) -> None:
        loop = self._loop
        if loop is not None and self._thread is not None:
            backend = self._backend

            async def shut() -> None:
                """Calls still waiting (for a pause, a reset, an rpm window) end cancelled, then the pool closes."""
                me = asyncio.current_task()
                pending = [t for t in asyncio.all_tasks() if t is not me]
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                if backend is not None:
                    await backend.aclose()

            try:
                asyncio.run_coroutine_threadsafe(shut(), loop).result(timeout=10)
            except Exception:  # closing is best effort; the process may be exiting
                pass
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(timeout=10)
            loop.close()
            self._loop = self._thread = None
        if self._own_backend:
            self._backend = None  # its HTTP pool belonged to the closed loop; a later call builds a new one
        if self._own_cache and self._cache is not None:
            self._cache.close()
            self._cache = None

    @property
    def concurrency(self) -> int:
        return self._limiter.limit if self._limiter else self.config.max_concurrency

    # -- internals --------------------------------------------------------------------------------------------

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        """The client's loop thread, started on first use, with the backend built beforehand in this thread.

        Building a backend imports the provider's package and sets up its HTTP client (~0.4 s for openai on a
        busy 2-core machine): done on the loop it would stall every call in flight. A backend that cannot be
        built (no key) is left to `_one`, which reports it per call.
        """
        with self._lock:
            if self._backend is None and self.config.provider != "local":
                try:
                    self._backend = self._make_backend()
                except CallError:
                    pass
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="judge-loop", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def _make_backend(self) -> Backend:
        c = self.config
        if c.provider == "openai":
            return OpenAIBackend(c.model, c.base_url, c.image_detail)
        if c.provider == "gemini":
            return GeminiBackend(c.model, c.base_url, c.api_version)
        raise ValueError(f"unknown provider {c.provider!r}")

    async def _gather(self, requests: Sequence[ChatRequest | ImageEditRequest]) -> list[ChatResult]:
        return list(await asyncio.gather(*(self._one(r) for r in requests)))

    def _budget_left(self) -> bool:
        """Caps count every attempt of the run: this process's and those the journal holds from earlier ones."""
        c = self.config
        if c.max_calls is not None and self._dispatched + self._carried["attempts"] >= c.max_calls:
            return False
        spent = self.ledger.cost_usd + float(self._carried["cost_usd"] or 0.0)
        return not (c.max_cost_usd is not None and spent >= c.max_cost_usd)

    def _prepare(self, req: ChatRequest | ImageEditRequest) -> Any:
        """The wire body built in the calling thread (`submit`): callers that build requests one by one while
        earlier calls are in flight keep that CPU off the event loop, whose latency limits throughput."""
        return None if self._backend is None else _prepare(self._backend, req)

    async def _one(
        self, req: ChatRequest | ImageEditRequest, prepared: Any = None, cache_checked: bool = False
    ) -> ChatResult:
        hit = None
        if isinstance(req, ChatRequest) and not cache_checked:  # edits: never cached
            hit = self._cache_get(req)
        if hit is not None:
            self.ledger.finished("ok", cached=True)
            return hit
        try:
            if self._backend is None:
                self._backend = self._make_backend()
        except CallError as exc:
            self.ledger.finished("api_error")
            return ChatResult("api_error", error=str(exc))
        if self._limiter is None:
            c = self.config
            self._limiter = AdaptiveLimiter(
                c.max_concurrency,
                c.min_concurrency,
                threshold=c.backoff_threshold,
                rpm=c.rpm,
                tpm=c.tpm,
                max_wait_s=c.max_wait_s,
            )
        result = await self._attempts(req, self._backend, self._limiter, prepared)
        self.ledger.finished(result.status)
        if isinstance(req, ChatRequest):
            self._cache_put(req, result)
        return result

    async def _attempts(
        self, req: ChatRequest | ImageEditRequest, backend: Backend, limiter: AdaptiveLimiter, prepared: Any = None
    ) -> ChatResult:
        c = self.config
        last = ""
        tokens = self._tokens(req) if c.tpm else 0
        for attempt in range(1, c.max_attempts + 1):
            halted = self._halted()
            if halted is None:
                try:
                    ticket = await limiter.acquire(tokens)
                except WaitTooLong as exc:
                    halted = self._halt_for(exc.seconds, last or "the key is paused")
                else:
                    halted = self._halted()  # set by another call while this one waited for its slot
                    if halted is not None:
                        await limiter.release("error", ticket=ticket)
            if halted is not None:
                return ChatResult("api_error", attempts=attempt - 1, error=halted)
            if not self._budget_left():
                await limiter.release("error", ticket=ticket)
                return ChatResult("budget", attempts=attempt - 1, error="run budget exhausted; call not sent")
            self._dispatched += 1
            if prepared is None and attempt == 1:  # after the slot: 1000 queued calls must not all build at once
                prepared = _prepare(backend, req)  # once per request: every retry sends the same bytes
            err: CallError | None = None
            reply: Reply | None = None
            try:
                reply = await _within(_send(backend, req, c.timeout_s, prepared), c.timeout_s + 1.0)
            except CallError as exc:
                err = exc
            except asyncio.TimeoutError:
                err = CallError("timeout", f"no answer within {c.timeout_s:g} s")
            except Exception as exc:  # a client bug or an unexpected transport error: fail the call, keep going
                err = CallError("client", f"{type(exc).__name__}: {exc}")
            if err is None and reply is not None:
                billed = reply.usage.input_tokens + reply.usage.output_tokens
                await limiter.release("ok", rate=reply.rate, tokens=billed, ticket=ticket)
                status: Status = "refused" if reply.refusal else "ok"
                empty = status == "ok" and not reply.text and not reply.images
                outcome = "empty" if empty else ("refused" if reply.refusal else "ok")
                result = ChatResult(
                    status,
                    reply.text,
                    reply.model,
                    reply.usage,
                    attempt,
                    False,
                    reply.refusal or (last if status != "ok" else ""),
                    reply.finish_reason,
                    reply.images,
                    reply.served,
                )
                keep = result if outcome == "ok" and isinstance(req, ChatRequest) and reply.text else None
                # stored before it is counted: a kill between the two must not leave a paid answer unrecorded
                self._record(req, self._attempt(req, outcome, reply.model, reply.usage), keep)
                self.ledger.concurrency(limiter.limit, limiter.key_pauses, limiter.paced)
                self.ledger.attempt(retry=attempt > 1)
                self.ledger.billed(c.model, reply.model, reply.usage)
                if empty:
                    status, last = "api_error", "empty answer"
                    if reply.finish_reason in _CUT_SHORT:  # the same request would be cut short again: no retry
                        last = f"empty answer: the output limit was reached first (finish_reason {reply.finish_reason})"
                    elif attempt < c.max_attempts:
                        await asyncio.sleep(self._backoff(attempt, None))
                        continue
                    return ChatResult("api_error", "", reply.model, reply.usage, attempt, False, last)
                return result
            assert err is not None
            rate_limited = err.kind == "rate_limited"
            outcome = "rate_limited" if rate_limited else "error"
            await limiter.release(outcome, err.retry_after, key_pause=err.key_pause, ticket=ticket)
            self._record(req, self._attempt(req, err.kind, "", Usage()), None)
            self.ledger.concurrency(limiter.limit, limiter.key_pauses, limiter.paced)
            self.ledger.attempt(
                retry=attempt > 1, rate_limited=rate_limited, timeout=err.kind == "timeout", error=err.kind
            )
            last = str(err)
            if err.account:
                return ChatResult("api_error", attempts=attempt, error=self._halt_for(math.inf, self._account(err)))
            if not err.retryable or attempt == c.max_attempts:
                break
            wait = max(err.retry_after or 0.0, err.key_pause or 0.0)
            if wait > c.max_wait_s:
                return ChatResult("api_error", attempts=attempt, error=self._halt_for(wait, last))
            await asyncio.sleep(self._backoff(attempt, err.retry_after))
        return ChatResult("api_error", attempts=attempt, error=last)

    def _halted(self) -> str | None:
        """Why calls are not sent now (an account failure, a wait past `max_wait_s`), or None."""
        if self._halt is not None and time.monotonic() < self._halt[1]:
            return self._halt[0]
        return None

    def _halt_for(self, seconds: float, why: str) -> str:
        """Send no call for `seconds` (inf: for good) and return the one line every call ended by it carries."""
        line = one_line(why)
        if math.isfinite(seconds):
            line = (
                f"{line}; the provider asks to wait {seconds:.0f} s, more than max_wait_s={self.config.max_wait_s:g}:"
                " calls are not sent until then (run the same command later to resume)"
            )
        with self._lock:
            if self._halt is None or self._halt[1] < time.monotonic() + seconds:
                self._halt = (line, time.monotonic() + seconds)
            return self._halt[0]

    def _account(self, err: CallError) -> str:
        """An account failure as the user can act on it: the key's environment variable, or the model's name."""
        if err.status in (401, 403):
            env = getattr(self._backend, "key_env", "the API key's environment variable")
            return f"{err} (the API refused the key: check {env}); no further calls are sent"
        if err.status == 404:
            where = f" at {self.config.base_url}" if self.config.base_url else ""
            return (
                f"{err} (model {self.config.model!r} not found{where}: check the model name); no further calls are sent"
            )
        return f"{err} (the account's quota or billing); no further calls are sent"

    def _attempt(self, req: ChatRequest | ImageEditRequest, outcome: str, model: str, usage: Usage) -> Attempt:
        key = self.key(req) if isinstance(req, ChatRequest) else ""
        cost = self.ledger.cost_of(self.config.model, usage)
        return Attempt(self.label, key, outcome, model, usage.input_tokens, usage.output_tokens, cost)

    def _tokens(self, req: ChatRequest | ImageEditRequest) -> int:
        """The estimate `tpm` paces by: input plus `max_tokens` (as providers count a call against the limit)."""
        if not isinstance(req, ChatRequest):
            return 0
        from mirabench.judge.tokens import request_tokens

        try:
            return sum(request_tokens(req, self.config.provider, self.config.model, self.config.image_detail))
        except Exception:  # an unreadable image header: the call itself will say what is wrong
            return 0

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Retry-After when the server gives one (plus a little jitter), else full-jitter exponential."""
        if retry_after is not None:
            return retry_after + self._rng.uniform(0, 0.1)
        cap = min(self.config.backoff_max_s, self.config.backoff_base_s * 2 ** (attempt - 1))
        return self._rng.uniform(cap / 2, cap)

    def _chat_local(self, requests: Sequence[ChatRequest]) -> list[ChatResult]:
        assert self._local is not None
        out: list[ChatResult | None] = [self._cache_get(r) for r in requests]
        todo = [i for i, r in enumerate(out) if r is None]
        for i in range(len(requests)):
            if out[i] is not None:
                self.ledger.finished("ok", cached=True)
        if todo:
            try:
                replies = list(self._local([requests[i] for i in todo]))
                if len(replies) != len(todo):
                    raise RuntimeError(f"local model returned {len(replies)} answers for {len(todo)} requests")
            except Exception as exc:
                msg = scrub(f"{type(exc).__name__}: {exc}")[:MESSAGE_CHARS]
                for i in todo:
                    self.ledger.attempt(retry=False, error="local")
                    self.ledger.finished("api_error")
                    out[i] = ChatResult("api_error", attempts=1, error=msg)
                return [r for r in out if r is not None]
            for i, reply in zip(todo, replies, strict=True):
                self.ledger.attempt(retry=False)
                self.ledger.billed(self.config.model, reply.model, reply.usage)
                status: Status = "refused" if reply.refusal else ("ok" if reply.text else "api_error")
                res = ChatResult(
                    status, reply.text, reply.model, reply.usage, 1, False, reply.refusal or "", served=reply.served
                )
                self.ledger.finished(status)
                self._cache_put(requests[i], res)
                out[i] = res
        return [r for r in out if r is not None]


_CUT_SHORT = frozenset({"length", "MAX_TOKENS"})
"""finish_reason of an answer stopped by the output-token limit (OpenAI, Gemini)."""


def _answer(result: ChatResult) -> dict[str, Any]:
    """What is kept of an answer (journal and cache alike): enough to serve it again without a call."""
    return {
        "text": result.text,
        "model": result.model,
        "usage": result.usage.as_dict(),
        "finish_reason": result.finish_reason,
        "served": result.served,
    }


def _prepare(backend: Backend, req: ChatRequest | ImageEditRequest) -> Any:
    """A chat request's wire body if the backend builds one (`prepare`), else None (built in `send`).

    A request that cannot be serialized gives None here and fails inside its attempt, where errors are classified.
    """
    prepare = getattr(backend, "prepare", None)
    if prepare is None or not isinstance(req, ChatRequest):
        return None
    try:
        return prepare(req)
    except Exception:
        return None


def _send(backend: Backend, req: ChatRequest | ImageEditRequest, timeout: float, prepared: Any) -> Any:
    """The backend call for a request's kind (a coroutine); a backend without image edits fails the call."""
    if isinstance(req, ChatRequest):
        return backend.send(req, timeout, prepared)
    edit = getattr(backend, "edit_image", None)
    if edit is None:
        raise CallError("client", f"{type(backend).__name__} has no image-edit call")
    return edit(req, timeout)


async def _within(coro: Any, seconds: float) -> Any:
    """A hard deadline on top of the HTTP client's own timeout (asyncio.timeout avoids a task per call)."""
    timeout = getattr(asyncio, "timeout", None)
    if timeout is None:  # Python 3.10
        return await asyncio.wait_for(coro, seconds)
    async with timeout(seconds):
        return await coro


class LazyClient(ABC):
    """A metric's judge client, opened on first use (listing, hashing and dry runs never open one), closed once.

    Mixed into judge metrics before their plugin base (`class MyJudge(LazyClient, Metric)`), which say how the
    client is made."""

    _client: JudgeClient | None = None

    @abstractmethod
    def make_client(self) -> JudgeClient:
        """A new client for this metric's provider and options."""

    @property
    def client(self) -> JudgeClient:
        if self._client is None:
            self._client = self.make_client()
        return self._client

    def client_info(self) -> dict[str, Any]:
        """For run.json, once the client was used: its settings, usage and the model snapshots that answered."""
        if self._client is None:
            return {}
        usage = self._client.usage()
        return {"judge": self._client.config.public(), "usage": usage, "judge_snapshots": usage["models_reported"]}

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
