"""`mirabench serve-editor NAME`: any registered editor behind the mirabench HTTP editor protocol.

The protocol (JSON over HTTP; images are base64 PNG), shaped like EditThinker's editor services so either side
can talk to the other:

    GET  /health      -> {"status": "ok", "editor": NAME, "identity": {...}, "deterministic": true, "batch": true}
    POST /edit        {"image": B64, "prompt": TEXT, "seed": INT}
                      -> {"success": true, "edited_image": B64} | {"success": false, "error": TEXT}
    POST /edit_batch  {"items": [{"image", "prompt", "seed"}, ...]}
                      -> {"results": [{"success": true, "edited_image": B64} | {"success": false, "error": TEXT}]}

Calls into the editor are serialised (one GPU, one pipeline); `/edit_batch` lets the client hand over a whole
wave so the editor batches it. A request that fails to decode or edit answers `success: false` with the reason;
the server keeps serving. Bind to 127.0.0.1 (default) or put it behind your own network controls: there is no
authentication. Editors the harness cannot import (Step1X-Edit, OmniGen2, Bagel) implement the same three routes
in their authors' environment; see mirabench.editors.http.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mirabench.images import ImageLoadError, decode_image, encode_png
from mirabench.plugins import Editor
from mirabench.types import EditRequest

__all__ = ["MAX_BODY_BYTES", "EditorServer", "b64_png", "from_b64_png", "make_server"]

MAX_BODY_BYTES = 256 * 1024 * 1024


def b64_png(image: Any) -> str:
    return base64.b64encode(encode_png(image)).decode("ascii")


def from_b64_png(data: str, label: str = "image") -> Any:
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise ImageLoadError(f"{label} is not valid base64: {exc}") from None
    return decode_image(raw, label)


class EditorServer(ThreadingHTTPServer):
    """An HTTP server that owns one built editor and a lock around it."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], editor: Editor) -> None:
        super().__init__(address, _Handler)
        self.editor = editor
        self.lock = threading.Lock()
        self.served = 0

    def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "editor": self.editor.name,
            "identity": self.editor.identity(),
            "deterministic": self.editor.deterministic,
            "batch": True,
        }

    def run_items(self, items: list[Any]) -> list[dict[str, Any]]:
        results: list[dict[str, Any] | None] = [None] * len(items)
        requests: list[tuple[int, EditRequest]] = []
        for i, item in enumerate(items):
            try:
                if not isinstance(item, dict) or not isinstance(item.get("prompt"), str):
                    raise ValueError("each item needs a string 'prompt' and a base64 'image'")
                image = from_b64_png(str(item.get("image", "")), f"item {i} image")
                seed = int(item.get("seed", 0))
                requests.append((i, EditRequest(image, item["prompt"], seed, str(item.get("sample_id", "")))))
            except (ImageLoadError, ValueError, TypeError) as exc:
                results[i] = {"success": False, "error": str(exc)}
        if requests:
            outs = self._edit([r for _, r in requests])
            for (i, _), out in zip(requests, outs, strict=True):
                results[i] = {"success": False, "error": out} if isinstance(out, str) else out
        self.served += len(items)
        return [r if r is not None else {"success": False, "error": "no result"} for r in results]

    def _edit(self, requests: list[EditRequest]) -> list[dict[str, Any] | str]:
        with self.lock:
            try:
                images = self.editor.edit_batch(requests)
                if len(images) != len(requests):
                    raise RuntimeError(f"edit_batch returned {len(images)} images for {len(requests)} requests")
            except Exception as exc:  # one bad request must not fail its batch mates: retry one by one
                if len(requests) == 1:
                    return [f"{type(exc).__name__}: {exc}"]
                return [o for r in requests for o in self._edit([r])]
        return [{"success": True, "edited_image": b64_png(img)} for img in images]


class _Handler(BaseHTTPRequestHandler):
    server: EditorServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet by default; the CLI prints a summary line
        pass

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/health":
            self._send(200, self.server.health())
        else:
            self._send(404, {"success": False, "error": f"no route {self.path}"})

    def do_POST(self) -> None:
        route = self.path.rstrip("/")
        if route not in ("/edit", "/edit_batch"):
            self._send(404, {"success": False, "error": f"no route {self.path}"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length <= 0 or length > MAX_BODY_BYTES:
            self._send(413 if length > 0 else 400, {"success": False, "error": f"body of {length} bytes refused"})
            return
        try:
            body = json.loads(self.rfile.read(length))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            self._send(400, {"success": False, "error": f"body is not JSON: {exc}"})
            return
        if route == "/edit":
            self._send(200, self.server.run_items([body])[0])
            return
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list):
            self._send(400, {"success": False, "error": "edit_batch needs a list 'items'"})
            return
        self._send(200, {"results": self.server.run_items(items)})


def make_server(editor: Editor, host: str = "127.0.0.1", port: int = 8000) -> EditorServer:
    """Bind (port 0 = any free port; read it back from `server.server_address`); call serve_forever() to run."""
    return EditorServer((host, port), editor)
