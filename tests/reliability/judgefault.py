"""The fake judge server with one armed fault, and the planted keys (shared by the reliability tests)."""

from __future__ import annotations

import os
import signal
import threading
from http.server import BaseHTTPRequestHandler

from fakes import FakeAPIServer

OPENAI_KEY = "sk-planted-7f3a9c1e5b2d4f6a8c0e"
GEMINI_KEY = "AIzaPlanted-0d2f4b6c8e1a3c5e7a9b"


class FaultyJudgeServer(FakeAPIServer):
    """The fake server, plus one armed fault on requests whose text contains `target`.

    kinds: `500` (server error every time), `noscore` (an unparseable answer), `hang` (first arrival sleeps past
    the client timeout), `crash` (SIGKILL of `victim`, the process under test, on the first matching request).
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.kind = ""
        self.target = "reach 30"
        self.victim: int | None = None
        self._hung: set[str] = set()
        self.fired: list[str] = []
        self._fault_lock = threading.Lock()

    def arm(self, kind: str, victim: int | None = None) -> None:
        self.kind, self.victim = kind, victim
        self._hung.clear()
        self.fired.clear()

    def _respond(self, h: BaseHTTPRequestHandler, provider: str, model: str, text: str, body: dict, fault: str):
        if self.kind and self.target in text:
            with self._fault_lock:
                kind = self.kind
                if kind == "hang":
                    kind = "" if text in self._hung else "hang"
                    self._hung.add(text)
                if kind == "crash":
                    self.kind = ""
                    if self.victim is not None:
                        os.kill(self.victim, signal.SIGKILL)
                if kind:
                    self.fired.append(kind)
            fault = kind or fault
        super()._respond(h, provider, model, text, body, fault)
