"""`http`: an editor running in another process or on another machine, behind the mirabench HTTP editor protocol.

Protocol (see mirabench.backends.http_editor): `GET /health`, `POST /edit` and, when the server says `batch: true`,
`POST /edit_batch` with a whole wave. Start a server for any registered editor with `mirabench serve-editor NAME`
(e.g. a GPU host runs `mirabench serve-editor kontext --port 8000`, the harness runs `--editor http --set
editor.url=http://gpu-host:8000`). Several comma-separated URLs are used round robin.

`step1x-edit`, `omnigen2` and `bagel` are this same client under their own names: diffusers does not ship them, so
run their authors' inference code on the GPU host behind the three routes (a small wrapper answering /health and
/edit with the authors' published defaults: Step1X-Edit 28 steps, cfg 6.0; OmniGen2 50 steps, text 5.0, image 2.0;
Bagel 50 steps, text 4.0, image 2.0) and point `editor.url` at it. EditThinker's released editor services speak
the `/edit` + `/health` subset and work as they are. The remote editor's identity (from /health) enters cache keys;
servers that report none are keyed by `editor.model`, so name the checkpoint there.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar, Literal

from PIL import Image
from pydantic import Field

from mirabench.backends.http_editor import b64_png, from_b64_png
from mirabench.plugins import Editor, Options
from mirabench.registry import PluginUnavailable, editors
from mirabench.types import EditRequest


class HttpEditorOptions(Options):
    url: str = Field("", description="service base URL(s), comma-separated for round robin")
    model: str = Field("", description="what the service runs (enters cache keys when /health reports nothing)")
    timeout_s: float = Field(600.0, gt=0)
    retries: int = Field(2, ge=0, description="retries of a failed connection or 5xx answer")
    batch: Literal["auto", "on", "off"] = "auto"
    concurrency: int = Field(4, ge=1, description="parallel /edit calls when batching is off")
    config: dict[str, Any] = Field(default_factory=dict, description="extra JSON fields sent with every request")


class RemoteEditError(RuntimeError):
    pass


@editors.register("http", description="Any editor behind the mirabench HTTP protocol (mirabench serve-editor)")
class HttpEditor(Editor[HttpEditorOptions]):
    """Client of a remote editor service."""

    version = "1"
    Options = HttpEditorOptions
    service: ClassVar[str] = "an editor service"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        urls = [u.strip().rstrip("/") for u in self.options.url.split(",") if u.strip()]
        if not urls:
            raise PluginUnavailable(
                f"editor {self.name!r} needs editor.url: the base URL of {self.service} speaking the mirabench HTTP"
                " editor protocol (e.g. started with `mirabench serve-editor NAME` on the GPU host)"
            )
        self.urls = urls
        self._next = itertools.cycle(range(len(urls)))
        self._lock = threading.Lock()
        self.remote = self._health()
        self.deterministic = bool(self.remote.get("deterministic", True))  # type: ignore[misc]
        self.use_batch = self.options.batch == "on" or (self.options.batch == "auto" and bool(self.remote.get("batch")))

    def identity(self) -> dict[str, Any]:
        opts = self.options.model_dump(mode="json", include={"model", "config"})
        return {"name": self.name, "version": self.version, "options": opts, "remote": self.remote.get("identity")}

    def _url(self) -> str:
        with self._lock:
            return self.urls[next(self._next)]

    def _request(self, url: str, payload: dict[str, Any] | None) -> Any:
        data = json.dumps(payload).encode("utf-8") if payload is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        last: Exception | None = None
        for attempt in range(self.options.retries + 1):
            req = urllib.request.Request(url, data=data, headers=headers, method="POST" if data else "GET")
            try:
                with urllib.request.urlopen(req, timeout=self.options.timeout_s) as resp:
                    return json.loads(resp.read())
            except urllib.error.HTTPError as exc:
                if exc.code < 500:
                    raise RemoteEditError(f"{url} answered HTTP {exc.code}: {exc.read()[:300]!r}") from None
                last = exc
            except (urllib.error.URLError, OSError, json.JSONDecodeError) as exc:
                last = exc
            time.sleep(min(2.0**attempt * 0.5, 10.0))
        raise RemoteEditError(f"{url} failed after {self.options.retries + 1} attempts: {last}")

    def _health(self) -> dict[str, Any]:
        try:
            answer = self._request(self.urls[0] + "/health", None)
        except RemoteEditError as exc:
            raise PluginUnavailable(
                f"editor {self.name!r}: {self.service} at {self.urls[0]} is not answering: {exc}"
            ) from None
        return answer if isinstance(answer, dict) else {}

    def _item(self, request: EditRequest) -> dict[str, Any]:
        return {
            **self.options.config,
            "image": b64_png(request.image),
            "prompt": request.instruction,
            "seed": request.seed,
            "sample_id": request.sample_id,
        }

    @staticmethod
    def _image(result: Any) -> Image.Image:
        if not isinstance(result, dict) or not result.get("success"):
            error = result.get("error") if isinstance(result, dict) else result
            raise RemoteEditError(f"remote edit failed: {error}")
        return from_b64_png(str(result.get("edited_image", "")), "edited_image").convert("RGB")

    def edit(self, request: EditRequest) -> Image.Image:
        return self._image(self._request(self._url() + "/edit", self._item(request)))

    def edit_batch(self, requests: Sequence[EditRequest]) -> list[Image.Image]:
        if not self.use_batch:
            with ThreadPoolExecutor(max_workers=self.options.concurrency) as pool:
                return list(pool.map(self.edit, requests))
        answer = self._request(self._url() + "/edit_batch", {"items": [self._item(r) for r in requests]})
        results = answer.get("results") if isinstance(answer, dict) else None
        if not isinstance(results, list) or len(results) != len(requests):
            raise RemoteEditError("edit_batch answer has no results list of the right length")
        return [self._image(r) for r in results]


@editors.register("step1x-edit", description="Step1X-Edit via its authors' code behind the http editor protocol")
class Step1XEdit(HttpEditor):
    """Step1X-Edit (stepfun-ai): not in diffusers; serve the authors' inference code, then set editor.url."""

    service = "a Step1X-Edit service (authors' code: 28 steps, cfg 6.0)"


@editors.register("omnigen2", description="OmniGen2 via its authors' code behind the http editor protocol")
class OmniGen2(HttpEditor):
    """OmniGen2: own package, not in diffusers; serve it behind the protocol, then set editor.url."""

    service = "an OmniGen2 service (authors' code: 50 steps, text 5.0, image 2.0)"


@editors.register("bagel", description="BAGEL via its authors' code behind the http editor protocol")
class Bagel(HttpEditor):
    """BAGEL-7B-MoT: own inferencer, not in diffusers; serve it behind the protocol, then set editor.url."""

    service = "a BAGEL service (authors' code: 50 steps, text 4.0, image 2.0)"
