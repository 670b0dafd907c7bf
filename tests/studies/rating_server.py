"""The rating app served in-process on 127.0.0.1 (ephemeral port) for tests: uvicorn in a thread, ready when its
startup has bound the socket (an event, not a sleep)."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from mirabench.studies.rating.app import build_app


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        self.ready.set()


@contextmanager
def serving(study_dir: Path) -> Iterator[str]:
    """Yield the base URL of the study's app while it is being served."""
    server = _Server(uvicorn.Config(build_app(study_dir), host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    if not server.ready.wait(60) or not server.servers:
        raise RuntimeError("the rating app did not start")
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(60)


def http(url: str, body: Any = None, content_type: str = "application/json") -> tuple[int, str, dict[str, str]]:
    """(status, text, headers) of a GET (body None) or a JSON POST; HTTP errors are answers, not exceptions."""
    data = None if body is None else (json.dumps(body) if content_type == "application/json" else body).encode()
    req = urllib.request.Request(url, data=data, method="GET" if body is None else "POST")
    if body is not None:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            return res.status, res.read().decode(errors="replace"), dict(res.headers)
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(), dict(err.headers)
