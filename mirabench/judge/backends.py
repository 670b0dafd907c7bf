"""Provider adapters: one async `send(request, timeout)` per wire protocol, errors classified for the retry loop.

The official clients are built with their own retries off (`max_retries=0`, no genai retry options): retrying is
the JudgeClient's job, so attempts are counted once and Retry-After is honoured for every caller.
`OpenAIBackend.edit_image` is the one non-chat call (OpenAI image edits); it shares the same error classes.
"""

from __future__ import annotations

import email.utils
import json
import math
import os
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from mirabench.judge.accounting import Usage
from mirabench.judge.edits import ImageEditRequest, openai_edit_params
from mirabench.judge.messages import ChatRequest, gemini_contents, openai_messages
from mirabench.plugins import Needs
from mirabench.secrets import MESSAGE_CHARS, scrub, scrub_all, secret_values

__all__ = [
    "GEMINI_API",
    "OPENAI_API",
    "Backend",
    "CallError",
    "GeminiBackend",
    "OpenAIBackend",
    "RateInfo",
    "Reply",
    "duration_seconds",
    "rate_info",
    "retry_after_seconds",
]

GEMINI_KEYS = ("GEMINI_API_KEY", "GOOGLE_API_KEY")  # either one, as the google-genai client reads them
OPENAI_API = Needs(modules=("openai",), extra="api", env=("OPENAI_API_KEY",))
GEMINI_API = Needs(modules=("google.genai",), extra="api", env=(GEMINI_KEYS,))
"""What a plugin calling the OpenAI or Gemini API needs (its `needs=`), checked before any work."""

RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 520, 521, 522, 524, 529})
ACCOUNT_STATUS = frozenset({401, 403, 404})
"""The key is refused, or the model (or endpoint) does not exist: no request can succeed, so none is sent again."""


@dataclass(frozen=True)
class RateInfo:
    """What a response's OpenAI-style `x-ratelimit-*` headers say about the key: calls and tokens left, and the
    seconds until each allowance is whole again (None where a header is absent)."""

    remaining_requests: int | None = None
    reset_requests_s: float | None = None
    remaining_tokens: int | None = None
    reset_tokens_s: float | None = None

    def exhausted_for(self) -> float | None:
        """Seconds the key is out of calls or tokens (the longer wait), None when it is not out of either."""
        waits = [
            reset
            for left, reset in (
                (self.remaining_requests, self.reset_requests_s),
                (self.remaining_tokens, self.reset_tokens_s),
            )
            if left is not None and left <= 0 and reset is not None
        ]
        return max(waits) if waits else None


@dataclass(frozen=True)
class Reply:
    text: str
    model: str = ""
    usage: Usage = field(default_factory=Usage)
    finish_reason: str = ""
    refusal: str | None = None
    images: tuple[bytes, ...] = ()
    rate: RateInfo | None = None
    served: dict[str, str] = field(default_factory=dict)  # what the provider says answered (model, fingerprint)

    def __post_init__(self) -> None:
        """Everything a provider wrote is scrubbed here, once, before anything stores, caches or parses it."""
        secrets = secret_values()
        object.__setattr__(self, "text", scrub(self.text, secrets))
        object.__setattr__(self, "model", scrub(self.model, secrets))
        object.__setattr__(self, "finish_reason", scrub(self.finish_reason, secrets))
        object.__setattr__(self, "refusal", None if self.refusal is None else scrub(self.refusal, secrets))
        object.__setattr__(self, "served", scrub_all(self.served, secrets))


class CallError(Exception):
    """A failed attempt: `kind` (rate_limited, server, timeout, connection, bad_response, client), HTTP status.

    `retry_after`: how long this request should wait before its retry (Retry-After, Gemini's RetryInfo).
    `key_pause`: set only when the provider says the whole key is exhausted (x-ratelimit-remaining-*: 0 with its
    reset, Gemini's QuotaFailure): every call waits that long, not just this one.
    `account`: the failure is the key's or the model's, not this request's (401, 403, 404, a 429 for billing):
    every later call would fail the same way, so the client sends no more of them.
    The message is one line (an HTML error page or a multi-line provider message is folded), shown to the user.
    """

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        key_pause: float | None = None,
        account: bool = False,
    ) -> None:
        super().__init__(one_line(message))
        self.kind = kind
        self.status = status
        self.retry_after = retry_after
        self.key_pause = key_pause
        self.account = account

    @property
    def retryable(self) -> bool:
        return self.kind in ("rate_limited", "server", "timeout", "connection", "bad_response")


class Backend(Protocol):
    """`send(req, timeout, prepared)`: `prepared` is what the backend's optional `prepare(req)` returned (the wire
    body, built once per request and reused by every attempt), or None to build it in `send`."""

    async def send(self, req: ChatRequest, timeout: float, prepared: Any = None) -> Reply: ...

    async def aclose(self) -> None: ...


def one_line(message: str) -> str:
    """A provider's text as one message line: scrubbed (servers may echo the key), whitespace folded, then cut."""
    return " ".join(scrub(message).split())[:MESSAGE_CHARS]


def _seconds(value: float) -> float | None:
    """A wait a server stated: negative is now, and a non-number (nan, inf) is no statement at all."""
    return max(0.0, value) if math.isfinite(value) else None


def retry_after_seconds(headers: Any) -> float | None:
    """`retry-after-ms`, else Retry-After as seconds (delta, float or HTTP date); None when absent or unreadable.

    A header that is garbage must not turn a retryable 429 into a failed call, so nothing here raises."""
    try:
        ms, value = headers.get("retry-after-ms"), headers.get("retry-after")
    except AttributeError:
        return None
    for raw, scale in ((ms, 0.001), (value, 1.0)):
        try:
            if raw is not None:
                return _seconds(float(raw) * scale)
        except (TypeError, ValueError):
            pass
    try:
        parsed = email.utils.parsedate_to_datetime(str(value)) if value else None
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return _seconds(parsed.timestamp() - time.time()) if parsed else None


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration_seconds(text: Any) -> float | None:
    """`6m0s`, `1.5s`, `250ms`, `34s` (OpenAI's reset headers, Gemini's retryDelay) or a bare number of seconds."""
    if text is None:
        return None
    value = str(text).strip()
    try:
        return _seconds(float(value))
    except ValueError:
        pass
    parts = _DURATION.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        return None
    return sum(float(n) * _UNIT[u] for n, u in parts)


def rate_info(headers: Any) -> RateInfo | None:
    """The `x-ratelimit-remaining-*` / `x-ratelimit-reset-*` headers, or None when the server sends none."""
    if headers is None:
        return None
    try:
        got = {
            k: headers.get(f"x-ratelimit-{k}")
            for k in ("remaining-requests", "reset-requests", "remaining-tokens", "reset-tokens")
        }
    except AttributeError:
        return None
    if got["remaining-requests"] is None and got["remaining-tokens"] is None:
        return None

    def count(v: Any) -> int | None:
        try:
            return int(float(v)) if v is not None else None
        except ValueError:
            return None

    return RateInfo(
        count(got["remaining-requests"]),
        duration_seconds(got["reset-requests"]),
        count(got["remaining-tokens"]),
        duration_seconds(got["reset-tokens"]),
    )


def gemini_retry(body: Any) -> tuple[float | None, bool]:
    """Gemini's error details: RetryInfo's `retryDelay` in seconds, and whether a QuotaFailure says the key's quota
    is used up (then the delay is for the whole key)."""
    error = body.get("error", body) if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    delay, quota = None, False
    for d in details if isinstance(details, list) else []:
        kind = str(d.get("@type", "")) if isinstance(d, dict) else ""
        if kind.endswith("google.rpc.RetryInfo"):
            delay = duration_seconds(d.get("retryDelay"))
        elif kind.endswith("google.rpc.QuotaFailure"):
            quota = True
    return delay, quota


def _status_error(
    status: int, message: str, headers: Any, retry_after: float | None = None, key_pause: float | None = None
) -> CallError:
    """A classified HTTP error. A 429 that says the key is out of calls or tokens pauses the key until the reset."""
    kind = "rate_limited" if status == 429 else ("server" if status in RETRYABLE_STATUS else "client")
    wait = retry_after_seconds(headers)
    if retry_after is None:
        retry_after = wait
    if status == 429 and key_pause is None:
        info = rate_info(headers)
        key_pause = info.exhausted_for() if info is not None else None
        if key_pause is not None and wait is not None:
            key_pause = max(key_pause, wait)
    if key_pause is not None and retry_after is None:
        retry_after = key_pause
    message = re.sub(r"^Error code: \d+ - ", "", message)  # the openai client's prefix: we say "HTTP n" already
    return CallError(
        kind,
        f"HTTP {status}: {message}",
        status=status,
        retry_after=retry_after,
        key_pause=key_pause,
        account=status in ACCOUNT_STATUS,
    )


def _transport_error(exc: Exception) -> CallError:
    name = type(exc).__name__
    if "Timeout" in name:
        return CallError("timeout", f"{name}: {exc}")
    return CallError("connection", f"{name}: {exc}")


def json_body(body: dict[str, Any]) -> bytes:
    """`json.dumps(body)` as the openai client serializes it (httpx's JSON defaults; NaN refused), with every long
    data URL spliced in as bytes rather than scanned by the encoder. A base64 data URL needs no JSON escaping, and
    encoding two 512 px images' worth of it took ~0.7 ms per request: a fifth of the client's event-loop time at
    concurrency 32. Only strings that provably need no escaping are spliced, so the bytes are the same."""
    blobs: list[str] = []
    token = uuid.uuid4().hex

    def lift(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: lift(v) for k, v in value.items()}
        if isinstance(value, list):
            return [lift(v) for v in value]
        if isinstance(value, str) and len(value) > 1024 and value.startswith("data:") and _json_safe(value):
            blobs.append(value)
            return f"{token}{len(blobs) - 1:08d}"
        return value

    text = json.dumps(lift(body), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    head, *rest = text.split(token)
    out = [head.encode()]
    for piece in rest:  # each piece starts with its blob's 8-digit index
        out += [blobs[int(piece[:8])].encode(), piece[8:].encode()]
    return b"".join(out)


def _json_safe(text: str) -> bool:
    """True when JSON would write `text` verbatim (no quote, backslash or control character; plain ASCII)."""
    return text.isascii() and text.isprintable() and '"' not in text and "\\" not in text


class OpenAIBackend:
    """Chat completions through the official `openai` async client (OpenAI or any compatible server)."""

    def __init__(self, model: str, base_url: str | None = None, image_detail: str | None = None) -> None:
        from openai import AsyncOpenAI

        base = base_url or os.environ.get("OPENAI_BASE_URL") or None
        key = os.environ.get("OPENAI_API_KEY") or ("EMPTY" if base else None)
        if key is None:
            raise CallError("client", "set OPENAI_API_KEY (or give a base_url for a local OpenAI-compatible server)")
        self.key_env = "OPENAI_API_KEY"
        self.model = model
        self.image_detail = image_detail
        self._client = AsyncOpenAI(api_key=key, base_url=base, max_retries=0)

    def prepare(self, req: ChatRequest) -> bytes:
        """The chat-completions body as JSON bytes (the images' base64 included): ~0.5 ms of CPU for two 512 px
        JPEGs, so the client builds it once per request, off its event loop where it can, not once per attempt.
        """
        body: dict[str, Any] = {"model": self.model, "messages": openai_messages(req, self.image_detail)}
        if req.temperature is not None:
            body["temperature"] = req.temperature
        if req.max_tokens is not None:
            body["max_tokens"] = req.max_tokens
        if req.seed is not None:
            body["seed"] = req.seed
        if req.json_mode:
            body["response_format"] = {"type": "json_object"}
        body.update(req.extra)
        return json_body(body)

    async def send(self, req: ChatRequest, timeout: float, prepared: Any = None) -> Reply:
        from openai.types.chat import ChatCompletion

        body = prepared if isinstance(prepared, bytes) else self.prepare(req)
        # The client's low-level post with a ready JSON body: same transport, auth, errors and response model
        # as chat.completions.create, without its per-call recursive TypedDict transform of our plain-dict
        # messages (~2 ms of CPU per call, a third of the client's cost at concurrency 32) or a re-serialization.
        raw = await _openai_call(
            self._client.post(
                "/chat/completions", cast_to=ChatCompletion, content=body, options={"timeout": timeout, **_RAW}
            )
        )
        try:
            resp = raw.parse()
        except Exception as exc:  # the body did not match the response model
            raise CallError("bad_response", f"unreadable response: {exc}") from exc
        if not getattr(resp, "choices", None):
            raise CallError("bad_response", "response has no choices")
        choice = resp.choices[0]
        msg = choice.message
        usage = Usage(
            getattr(resp.usage, "prompt_tokens", 0) or 0 if resp.usage else 0,
            getattr(resp.usage, "completion_tokens", 0) or 0 if resp.usage else 0,
        )
        refusal = getattr(msg, "refusal", None) or (
            "content_filter" if choice.finish_reason == "content_filter" else None
        )
        rate = rate_info(raw.headers)
        served = _served(model=resp.model, system_fingerprint=getattr(resp, "system_fingerprint", None))
        reason = choice.finish_reason or ""
        return Reply(msg.content or "", resp.model or "", usage, reason, refusal, rate=rate, served=served)

    async def edit_image(self, req: ImageEditRequest, timeout: float) -> Reply:
        """One `images.edit` call (n=1): the answer's b64_json image comes back decoded in `Reply.images`.

        A moderation block (HTTP 400, `moderation_blocked`) is a refusal, not an error: it is final, not retried.
        """
        import base64
        import binascii

        try:
            resp = await _openai_call(self._client.images.edit(**openai_edit_params(req, self.model), timeout=timeout))
        except CallError as exc:
            if exc.status == 400 and getattr(exc.__cause__, "code", None) == "moderation_blocked":
                return Reply("", "", Usage(), "moderation_blocked", scrub(f"moderation_blocked: {exc}")[:MESSAGE_CHARS])
            raise
        data = getattr(resp, "data", None) or []
        b64 = getattr(data[0], "b64_json", None) if data else None
        if not b64:
            raise CallError("bad_response", "response has no b64_json image")
        try:
            image = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CallError("bad_response", f"b64_json is not base64: {exc}") from exc
        used = getattr(resp, "usage", None)
        usage = Usage(getattr(used, "input_tokens", 0) or 0, getattr(used, "output_tokens", 0) or 0)
        return Reply("", "", usage, "", None, (image,))

    async def aclose(self) -> None:
        await self._client.close()


def _served(**fields: Any) -> dict[str, str]:
    """The provider's own account of what answered, its empty fields left out."""
    return {k: str(v) for k, v in fields.items() if v}


_RAW: Any = {"headers": {"X-Stainless-Raw-Response": "true"}}
"""Request option: the openai client returns its raw response (headers, then `.parse()`), as `with_raw_response`."""


async def _openai_call(call: Any) -> Any:
    """Await one official-client call, its exceptions turned into classified CallErrors for the retry loop.

    A 429 for `insufficient_quota` is the account's billing, not a rate: retrying cannot help, so it fails at once.
    """
    import openai

    try:
        return await call
    except openai.APIStatusError as exc:
        if exc.status_code == 429 and getattr(exc, "code", None) == "insufficient_quota":
            raise CallError("client", f"HTTP 429: {exc.message}", status=429, account=True) from exc
        delay, quota = gemini_retry(exc.body)  # Gemini's OpenAI-compatible endpoint puts RetryInfo in the body
        pause = delay if quota and exc.status_code == 429 else None
        raise _status_error(exc.status_code, exc.message, exc.response.headers, delay, pause) from exc
    except openai.APITimeoutError as exc:
        raise CallError("timeout", str(exc)) from exc
    except openai.APIConnectionError as exc:  # its own message is "Connection error."; the cause says which
        cause = exc.__cause__
        why = f"{type(cause).__name__}: {cause}" if cause is not None else str(exc)
        raise CallError("connection", f"cannot reach {exc.request.url}: {why}") from exc
    except (openai.APIResponseValidationError, ValueError) as exc:
        raise CallError("bad_response", f"unreadable response: {exc}") from exc


_BLOCKED = frozenset({"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION", "IMAGE_SAFETY"})


class GeminiBackend:
    """generateContent through the official `google-genai` async client (retries off, timeout per call)."""

    def __init__(self, model: str, base_url: str | None = None, api_version: str | None = None) -> None:
        from google import genai
        from google.genai import types

        env = next((k for k in GEMINI_KEYS if os.environ.get(k)), None)
        if env is None:
            raise CallError("client", "set " + " or ".join(GEMINI_KEYS))
        key, self.key_env = os.environ[env], env
        self.model = model
        self._types = types
        opts: dict[str, Any] = {}
        base = base_url or os.environ.get("GOOGLE_GEMINI_BASE_URL")
        if base:
            opts["base_url"] = base
        if api_version:
            opts["api_version"] = api_version
        self._client = genai.Client(api_key=key, http_options=types.HttpOptions(**opts))

    async def send(self, req: ChatRequest, timeout: float, prepared: Any = None) -> Reply:
        from google.genai import errors

        types = self._types
        cfg: dict[str, Any] = {"http_options": types.HttpOptions(timeout=int(timeout * 1000))}
        if req.system is not None:
            cfg["system_instruction"] = req.system
        if req.temperature is not None:
            cfg["temperature"] = req.temperature
        if req.max_tokens is not None:
            cfg["max_output_tokens"] = req.max_tokens
        if req.seed is not None:
            cfg["seed"] = req.seed
        if req.json_mode:
            cfg["response_mime_type"] = "application/json"
        cfg.update(req.extra)
        try:
            resp = await self._client.aio.models.generate_content(
                model=self.model,
                contents=gemini_contents(req),  # type: ignore[arg-type]  # plain ContentDicts
                config=types.GenerateContentConfig(**cfg),
            )
        except errors.APIError as exc:
            headers = getattr(getattr(exc, "response", None), "headers", None)
            delay, quota = gemini_retry(exc.details)
            pause = delay if quota and exc.code == 429 else None
            raise _status_error(int(exc.code or 0), str(exc.message or exc), headers, delay, pause) from exc
        except ValueError as exc:
            raise CallError("bad_response", f"unreadable response: {exc}") from exc
        except Exception as exc:  # transport errors come from httpx2, which we do not import
            raise _transport_error(exc) from exc
        usage_meta = resp.usage_metadata
        usage = Usage(
            (usage_meta.prompt_token_count or 0) if usage_meta else 0,
            (usage_meta.candidates_token_count or 0) if usage_meta else 0,
        )
        feedback = resp.prompt_feedback
        if feedback is not None and feedback.block_reason:
            why = str(getattr(feedback.block_reason, "value", feedback.block_reason))  # "SAFETY", not the enum's repr
            return Reply("", resp.model_version or "", usage, "blocked", why)
        if not resp.candidates:
            raise CallError("bad_response", "response has no candidates")
        cand = resp.candidates[0]
        finish = str(getattr(cand.finish_reason, "value", cand.finish_reason) or "")
        texts: list[str] = []
        images: list[bytes] = []
        for part in (cand.content.parts if cand.content and cand.content.parts else []) or []:
            if getattr(part, "thought", False):
                continue
            if part.text:
                texts.append(part.text)
            elif part.inline_data is not None and part.inline_data.data:
                images.append(part.inline_data.data)
        refusal = finish if finish in _BLOCKED else None
        served = _served(model_version=resp.model_version, response_id=getattr(resp, "response_id", None))
        return Reply("".join(texts), resp.model_version or "", usage, finish, refusal, tuple(images), served=served)

    async def aclose(self) -> None:
        try:
            await self._client.aio.aclose()
        except Exception:  # older clients have no aclose; nothing to release then
            pass
