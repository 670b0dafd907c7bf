"""A fake OpenAI + Gemini HTTP server on 127.0.0.1 for offline tests and benchmarks (stdlib, plus Pillow for edits).

    with FakeAPIServer.running(answer=lambda text, body: '{"score": [7, 8]}') as server:
        os.environ["OPENAI_BASE_URL"] = server.openai_url        # http://127.0.0.1:PORT/v1
        os.environ["GOOGLE_GEMINI_BASE_URL"] = server.gemini_url # http://127.0.0.1:PORT
        ...
        server.requests      # every request received: path, provider, model, body (parsed), headers

Endpoints: POST /v1/chat/completions, POST /v1[beta]/models/{model}:generateContent, and POST /v1/images/edits
(multipart form as the openai client sends it; logged as provider "openai-images", body = the form fields with
each file as {"filename", "content_type", "data": bytes}; answers `edit_image(input, body)` as b64_json PNG: by
default the input inverted, at `size` when that is WxH, else at twice the input size).

Fault injection, five ways:
- a marker in the request text, `FAULT:<kind>x<n>` (kinds: 400, 429, 500, 503, hang, malformed, noscore,
  refusal, empty, exhausted): the first n arrivals of that exact request body fail that way, later ones succeed.
  `exhausted` is a 429 that says the key is out of calls for `exhausted_s` (OpenAI: x-ratelimit-remaining-requests
  0 and its reset; Gemini: QuotaFailure + RetryInfo details). Counting per body
  keeps it deterministic under any concurrency (a multipart body counts by its fields and file hashes, not its
  random boundary). Image edits: `refusal` is a 400 `moderation_blocked`, `noscore` a b64_json that is no image,
  `empty` an answer without images;
- `rate_429`: a seeded random share of all requests gets 429 (with header `retry_after` / `retry_after_ms`, and
  with `retry_delay`, Gemini's RetryInfo in the error body);
- `max_in_flight`: requests beyond that many at once get 429 (a real rate limit);
- `quota`: at most that many requests per `quota_window_s` (a fixed window from the first request); every answer
  carries OpenAI's `x-ratelimit-limit/remaining/reset-requests` headers, a request over the quota gets a 429
  with remaining 0, the reset and a Retry-After;
- `error_bursts=(every, length)`: the last `length` arrivals of every `every` get a 503 (k % every >= every -
  length, k from 0; so a client's first calls go through).
- `script(received)`: a test's own answer to a request (`Scripted`: any status, headers and raw body, or a transport
  fault: close the socket unanswered, reset it, cut the body short, stall), or None for the usual handling.
`latency_s` delays every answer; `hang_s` is how long a `hang` fault sleeps before answering.
GET /_stats returns request counts (all, and distinct bodies) and status counts. As a separate process
(benchmarks: no GIL shared with the client):
`python tests/fakes/api_server.py --latency 0.2 --rate-429 0.05` prints its port, then serves until killed.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import socket
import struct
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeAPIServer", "Received", "Scripted", "default_answer"]

_FAULT = re.compile(r"FAULT:(400|429|500|503|hang|malformed|noscore|refusal|empty|exhausted)x(\d+)")
REFUSAL = "I'm sorry, but I can't assist with that request."

Answer = Callable[[str, dict[str, Any]], str]


def default_answer(text: str, body: dict[str, Any]) -> str:
    """A VIEScore-shaped JSON answer: SC prompts (they mention over-editing) get [7, 8], others [6, 9]."""
    score = [7, 8] if "overedit" in text.lower() or "over-edit" in text.lower() else [6, 9]
    return json.dumps({"reasoning": "fake judge", "score": score})


@dataclass
class Received:
    path: str
    provider: str
    model: str
    body: dict[str, Any]
    headers: dict[str, str]
    text: str
    n_images: int
    fault: str = ""
    t: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Scripted:
    """A scripted answer. `action`: "" (send it), "close" (close the socket without a word), "reset" (TCP RST before
    answering), "cut" (headers and half the body, then RST), "stall" (sleep `stall_s`, then send it)."""

    status: int = 200
    body: bytes | dict[str, Any] | list[Any] = b""
    headers: dict[str, str] = field(default_factory=dict)
    action: str = ""
    stall_s: float = 0.0

    def payload(self) -> bytes:
        return self.body if isinstance(self.body, bytes) else json.dumps(self.body).encode()


Script = Callable[[Received], "Scripted | None"]


class _Server(ThreadingHTTPServer):
    request_queue_size = 512  # listen() runs in __init__: a class attribute is the only way to raise the backlog
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer (a timed-out call, a run stopped by its own fault) is ordinary traffic
        for a provider: no traceback on the test's stderr, where it would read as the CLI's own output."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class FakeAPIServer:
    def __init__(
        self,
        answer: Answer = default_answer,
        *,
        latency_s: float = 0.0,
        rate_429: float = 0.0,
        retry_after: str | None = "0",
        retry_after_ms: str | None = None,
        retry_delay: str | None = None,
        exhausted_s: float = 1.0,
        max_in_flight: int | None = None,
        quota: int | None = None,
        quota_window_s: float = 60.0,
        quota_headers: bool = True,
        error_bursts: tuple[int, int] | None = None,
        hang_s: float = 5.0,
        seed: int = 0,
        model_versions: dict[str, str] | None = None,
        fingerprint: str = "fp_fake",
        log_bodies: bool = True,
        script: Script | None = None,
    ) -> None:
        self.answer = answer
        self.script = script
        self.latency_s = latency_s
        self.rate_429 = rate_429
        self.retry_after = retry_after
        self.retry_after_ms = retry_after_ms
        self.retry_delay = retry_delay
        self.exhausted_s = exhausted_s
        self.max_in_flight = max_in_flight
        self.quota = quota
        self.quota_window_s = quota_window_s
        self.quota_headers = quota_headers  # False: the quota is enforced but never announced
        self.error_bursts = error_bursts
        self._window_start: float | None = None
        self._window_count = 0
        self.window_counts: list[int] = []  # arrivals within the quota of each finished or current window
        self._arrivals = 0
        self.hang_s = hang_s
        self.model_versions = model_versions or {}
        self.fingerprint = fingerprint  # OpenAI's system_fingerprint; settable between calls (a backend change)
        self.log_bodies = log_bodies
        self.requests: list[Received] = []
        self.statuses: Counter[int] = Counter()
        self.in_flight = 0
        self.peak_in_flight = 0
        self._seen: Counter[str] = Counter()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._local = threading.local()
        self._httpd = _Server(("127.0.0.1", 0), self._handler())
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-api", daemon=True
        )

    # -- lifecycle ----------------------------------------------------------------------------------------------

    @classmethod
    @contextmanager
    def running(cls, answer: Answer = default_answer, **kwargs: Any) -> Iterator[FakeAPIServer]:
        server = cls(answer, **kwargs)
        server.start()
        try:
            yield server
        finally:
            server.stop()

    def start(self) -> FakeAPIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def openai_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def gemini_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def count(self, provider: str | None = None) -> int:
        with self._lock:
            return sum(1 for r in self.requests if provider is None or r.provider == provider)

    # -- request handling ---------------------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else Nagle + delayed ACK add ~40 ms per request

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server naming)
                if self.path != "/_stats":
                    server._error(self, 404, "no such endpoint")
                    return
                with server._lock:
                    stats = {
                        "requests": len(server.requests),
                        "distinct": len(server._seen),  # distinct request bodies
                        "statuses": {str(k): v for k, v in server.statuses.items()},
                        "peak_in_flight": server.peak_in_flight,
                        "window_counts": list(server.window_counts),
                    }
                server._send(self, 200, json.dumps(stats).encode())

            def do_POST(self) -> None:  # noqa: N802 (http.server naming)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                server._handle(self, raw)

        return Handler

    def _send(self, h: BaseHTTPRequestHandler, status: int, payload: bytes, headers: dict[str, str] | None = None):
        with self._lock:
            self.statuses[status] += 1
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(payload)))
        for k, v in {**getattr(self._local, "headers", {}), **(headers or {})}.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(payload)

    def _error(self, h: BaseHTTPRequestHandler, status: int, message: str, headers: dict[str, str] | None = None):
        body = {"error": {"code": status, "message": message, "status": "FAKE", "type": "fake_error"}}
        self._send(h, status, json.dumps(body).encode(), headers)

    def _handle(self, h: BaseHTTPRequestHandler, raw: bytes) -> None:
        path = h.path.split("?")[0]
        digest = hashlib.sha256(raw).hexdigest()
        try:
            if path == "/v1/images/edits":
                body, digest = _multipart(h.headers.get("Content-Type", ""), raw)
            else:
                body = json.loads(raw or b"{}")
        except (json.JSONDecodeError, ValueError) as exc:
            self._error(h, 400, f"unreadable request body: {exc}")
            return
        gem = re.match(r"^/(v1|v1beta|v1alpha)/models/([^:/]+):generateContent$", path)
        if path == "/v1/images/edits":
            provider, model = "openai-images", str(body.get("model", ""))
            text, n_images = str(body.get("prompt", "")), sum(isinstance(v, dict) for v in body.values())
        elif path == "/v1/chat/completions":
            provider, model = "openai", str(body.get("model", ""))
            text, n_images = _openai_text(body)
        elif gem:
            provider, model = "gemini", gem.group(2)
            text, n_images = _gemini_text(body)
        else:
            self._error(h, 404, f"no such endpoint {path}")
            return
        fault = ""
        with self._lock:
            self._seen[digest] += 1
            arrival = self._seen[digest]
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            over = self.max_in_flight is not None and self.in_flight > self.max_in_flight
            random_429 = self.rate_429 > 0 and self._rng.random() < self.rate_429
            every, length = self.error_bursts or (1, 0)
            burst = self._arrivals % every >= every - length
            self._arrivals += 1
            limits, over_quota = self._quota_headers()
        m = _FAULT.search(text)
        if m and arrival <= int(m.group(2)):
            fault = m.group(1)
        elif over_quota:
            fault = "quota"
        elif over or random_429:
            fault = "429"
        elif burst:
            fault = "503"
        headers = {k.lower(): v for k, v in h.headers.items() if k.lower() not in ("authorization", "x-goog-api-key")}
        rec = Received(path, provider, model, body if self.log_bodies else {}, headers, text, n_images, fault)
        with self._lock:
            self.requests.append(rec)
        try:
            if self.latency_s:
                time.sleep(self.latency_s)
            scripted = self.script(rec) if self.script is not None else None
            if scripted is not None:
                self._scripted(h, scripted)
            else:
                with self._extra_headers(limits):
                    self._respond(h, provider, model, text, body, fault)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _scripted(self, h: BaseHTTPRequestHandler, s: Scripted) -> None:
        """Play a `Scripted` answer; transport faults leave the connection closed (the client must reconnect)."""
        if s.stall_s:
            time.sleep(s.stall_s)
        payload = s.payload()
        if s.action in ("close", "reset", "cut"):
            h.close_connection = True
            with self._lock:
                self.statuses[0] += 1  # no status reached the client
            if s.action == "cut":
                head = f"HTTP/1.1 {s.status} OK\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}"
                h.wfile.write(head.encode() + b"\r\n\r\n" + payload[: len(payload) // 2])
                h.wfile.flush()
            if s.action in ("reset", "cut"):  # SO_LINGER 0: close() sends RST instead of FIN
                h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.connection.close()
            return
        try:
            self._send(h, s.status, payload, s.headers)
        except OSError:  # the client gave up first (a stall past its timeout)
            h.close_connection = True

    def _quota_headers(self) -> tuple[dict[str, str], bool]:
        """Count this arrival against the fixed-window quota (under the lock): its x-ratelimit headers (or {}), and
        whether it is over the quota."""
        if self.quota is None:
            return {}, False
        now = time.monotonic()
        if self._window_start is None or now >= self._window_start + self.quota_window_s:
            self._window_start, self._window_count = now, 0
            self.window_counts.append(0)
        self._window_count += 1
        if self._window_count <= self.quota:
            self.window_counts[-1] += 1
        reset = self._window_start + self.quota_window_s - now
        headers = {
            "x-ratelimit-limit-requests": str(self.quota),
            "x-ratelimit-remaining-requests": str(max(0, self.quota - self._window_count)),
            "x-ratelimit-reset-requests": f"{reset * 1000:.0f}ms",
        }
        return (headers if self.quota_headers else {}), self._window_count > self.quota

    @contextmanager
    def _extra_headers(self, headers: dict[str, str]) -> Iterator[None]:
        """Headers every response of this request carries (the handler thread's own; `_send` adds them)."""
        self._local.headers = headers
        try:
            yield
        finally:
            self._local.headers = {}

    def _rate_limited(self, h: BaseHTTPRequestHandler, provider: str, fault: str) -> None:
        """A 429: random (Retry-After / retry-after-ms / RetryInfo as configured), over the quota, or `exhausted`."""
        hdr: dict[str, str] = {}
        details: list[dict[str, Any]] = []
        if fault == "quota":
            reset = self._window_start + self.quota_window_s - time.monotonic() if self._window_start else 1.0
            hdr["Retry-After"] = str(max(1, int(reset + 0.999)))
        elif fault == "exhausted":
            hdr = {
                "x-ratelimit-remaining-requests": "0",
                "x-ratelimit-reset-requests": f"{self.exhausted_s:g}s",
            }
            quota = {"quotaMetric": "generativelanguage.googleapis.com/generate_content_requests", "quotaId": "fake"}
            details = [
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [quota]},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{self.exhausted_s:g}s"},
            ]
        else:
            if self.retry_after is not None:
                hdr["Retry-After"] = self.retry_after
            if self.retry_after_ms is not None:
                hdr["retry-after-ms"] = self.retry_after_ms
            if self.retry_delay is not None:
                details = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": self.retry_delay}]
        error: dict[str, Any] = {"code": 429, "message": "rate limited (fake)", "status": "RESOURCE_EXHAUSTED"}
        if details:
            error["details"] = details
        self._send(h, 429, json.dumps({"error": error}).encode(), hdr)

    def _respond(self, h: BaseHTTPRequestHandler, provider: str, model: str, text: str, body: dict, fault: str):
        if fault in ("429", "quota", "exhausted"):
            self._rate_limited(h, provider, fault)
            return
        if fault in ("400", "500", "503"):
            self._error(h, int(fault), "server error (fake)")
            return
        if fault == "hang":
            time.sleep(self.hang_s)
        if provider == "openai-images":
            self._respond_edit(h, body, fault)
            return
        if fault == "malformed":
            self._send(h, 200, b'{"choices": [{"message": {"content": "trunc')
            return
        answer = {"noscore": "I looked at both images carefully.", "empty": ""}.get(fault)
        if answer is None and fault != "refusal":
            answer = self.answer(text, body)
        version = self.model_versions.get(model, model)
        usage_in, usage_out = max(1, len(text) // 4), max(1, len(answer or REFUSAL) // 4)
        if provider == "openai":
            message: dict[str, Any] = {"role": "assistant", "content": answer}
            finish = "stop"
            if fault == "refusal":
                message = {"role": "assistant", "content": None, "refusal": REFUSAL}
            payload: dict[str, Any] = {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": version,
                "system_fingerprint": self.fingerprint,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": {
                    "prompt_tokens": usage_in,
                    "completion_tokens": usage_out,
                    "total_tokens": usage_in + usage_out,
                },
            }
        else:
            if fault == "refusal":
                cand: dict[str, Any] = {"content": {"role": "model", "parts": []}, "finishReason": "SAFETY", "index": 0}
            else:
                cand = {"content": {"role": "model", "parts": [{"text": answer}]}, "finishReason": "STOP", "index": 0}
            payload = {
                "candidates": [cand],
                "usageMetadata": {
                    "promptTokenCount": usage_in,
                    "candidatesTokenCount": usage_out,
                    "totalTokenCount": usage_in + usage_out,
                },
                "modelVersion": version,
                "responseId": f"fake-{len(self.requests)}",
            }
        self._send(h, 200, json.dumps(payload).encode())

    def edit_image(self, image: Any, body: dict[str, Any]) -> Any:
        """The fake edit (PIL in, PIL out): the input inverted, at `size` when WxH, else at twice its size."""
        from PIL import ImageOps

        size = re.fullmatch(r"(\d+)x(\d+)", str(body.get("size", "")))
        out = ImageOps.invert(image.convert("RGB"))
        return out.resize((int(size[1]), int(size[2])) if size else (image.width * 2, image.height * 2))

    def _respond_edit(self, h: BaseHTTPRequestHandler, body: dict[str, Any], fault: str) -> None:
        import base64
        import io

        from PIL import Image

        if fault == "refusal":
            error = {"message": "Your request was rejected by the safety system.", "code": "moderation_blocked"}
            self._send(h, 400, json.dumps({"error": {**error, "type": "image_generation_user_error"}}).encode())
            return
        if fault == "malformed":
            self._send(h, 200, b'{"created": 1, "data": [{"b64_json": "iVBORw0')
            return
        files = [v for v in body.values() if isinstance(v, dict)]
        if not files:
            self._error(h, 400, "no image file in the form")
            return
        if fault == "noscore":
            data = [{"b64_json": base64.b64encode(b"this is not an image").decode()}]
        elif fault == "empty":
            data = []
        else:
            buf = io.BytesIO()
            self.edit_image(Image.open(io.BytesIO(files[0]["data"])), body).save(buf, "PNG")
            data = [{"b64_json": base64.b64encode(buf.getvalue()).decode()}]
        usage_in = max(1, len(str(body.get("prompt", ""))) // 4) + 258 * len(files)
        usage_out = 1056 * len(data)
        usage = {"input_tokens": usage_in, "output_tokens": usage_out, "total_tokens": usage_in + usage_out}
        payload = {"created": int(time.time()), "data": data, "usage": usage}
        self._send(h, 200, json.dumps(payload).encode())


def _multipart(content_type: str, raw: bytes) -> tuple[dict[str, Any], str]:
    """Form fields of a multipart/form-data body (files as dicts), and a digest of them that ignores the boundary."""
    from email import policy
    from email.parser import BytesParser

    if not content_type.startswith("multipart/form-data"):
        raise ValueError(f"expected multipart/form-data, got {content_type!r}")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    msg = BytesParser(policy=policy.HTTP).parsebytes(head + raw)
    fields: dict[str, Any] = {}
    canonical: dict[str, Any] = {}
    for part in msg.iter_parts():
        name = str(part.get_param("name", header="content-disposition"))
        data = part.get_payload(decode=True) or b""
        if part.get_filename() is not None:
            fields[name] = {"filename": part.get_filename(), "content_type": part.get_content_type(), "data": data}
            canonical[name] = hashlib.sha256(data).hexdigest()
        else:
            fields[name] = canonical[name] = data.decode()
    if not fields:
        raise ValueError("empty multipart form")
    return fields, hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def _openai_text(body: dict[str, Any]) -> tuple[str, int]:
    texts, images = [], 0
    for msg in body.get("messages", []):
        content = msg.get("content")
        if isinstance(content, str):
            texts.append(content)
            continue
        for part in content or []:
            if part.get("type") == "text":
                texts.append(part.get("text", ""))
            elif part.get("type") == "image_url":
                images += 1
    return "\n".join(texts), images


def _gemini_text(body: dict[str, Any]) -> tuple[str, int]:
    texts, images = [], 0
    system = body.get("systemInstruction") or body.get("system_instruction")
    for part in (system or {}).get("parts", []):
        texts.append(part.get("text", ""))
    for content in body.get("contents", []):
        for part in content.get("parts", []):
            if "text" in part:
                texts.append(part["text"])
            elif "inlineData" in part or "inline_data" in part:
                images += 1
    return "\n".join(texts), images


def main() -> None:
    import argparse
    import sys

    ap = argparse.ArgumentParser(description="fake OpenAI + Gemini server on 127.0.0.1")
    ap.add_argument("--latency", type=float, default=0.0)
    ap.add_argument("--rate-429", type=float, default=0.0)
    ap.add_argument("--retry-after", default="0", help="Retry-After of random 429s ('none': no header)")
    ap.add_argument("--retry-delay", default=None, help="Gemini RetryInfo retryDelay in random 429s' bodies")
    ap.add_argument("--max-in-flight", type=int, default=None)
    ap.add_argument("--quota", type=int, default=None, help="requests per --quota-window (x-ratelimit headers)")
    ap.add_argument("--quota-window", type=float, default=60.0)
    ap.add_argument("--error-bursts", default=None, help="EVERY,LENGTH: last LENGTH of every EVERY arrivals get 503")
    args = ap.parse_args()
    bursts = tuple(int(v) for v in args.error_bursts.split(",")) if args.error_bursts else None
    server = FakeAPIServer(
        latency_s=args.latency,
        rate_429=args.rate_429,
        retry_after=None if args.retry_after == "none" else args.retry_after,
        retry_delay=args.retry_delay,
        max_in_flight=args.max_in_flight,
        quota=args.quota,
        quota_window_s=args.quota_window,
        error_bursts=bursts,  # type: ignore[arg-type]
        log_bodies=False,
    )
    print(server.port, flush=True)
    sys.stdout.close()
    server._httpd.serve_forever()


if __name__ == "__main__":
    main()
