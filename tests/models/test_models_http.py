"""The `http` editor against `serve-editor` on 127.0.0.1: same pixels as the editor in-process, failures isolated."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mirabench.backends.http_editor import EditorServer, b64_png, make_server
from mirabench.registry import PluginError, editors
from mirabench.types import EditRequest


@pytest.fixture
def kontext_server(tiny: dict[str, Path]) -> Iterator[EditorServer]:
    editor = editors.build("kontext", path=str(tiny["kontext"]), steps=1, size_mode="input")
    server = make_server(editor, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def url(server: EditorServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def reqs() -> list[EditRequest]:
    rng = np.random.default_rng(1)
    return [
        EditRequest(Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)), f"paint {i}", i)
        for i in range(3)
    ]


@pytest.mark.parametrize("batch", ["auto", "off"])
def test_http_editor_returns_what_the_served_editor_makes(kontext_server: EditorServer, batch: str) -> None:
    client = editors.build("http", url=url(kontext_server), batch=batch, concurrency=2)
    assert client.use_batch is (batch == "auto")
    remote = client.edit_batch(reqs())
    editor = kontext_server.editor  # same batch composition as the server saw, so the same float sums
    local = editor.edit_batch(reqs()) if client.use_batch else [editor.edit(r) for r in reqs()]
    for got, want in zip(remote, local, strict=True):
        assert got.size == (64, 48)
        assert np.array_equal(np.asarray(got), np.asarray(want))  # PNG round trip is lossless
    assert kontext_server.served == 3
    # the remote editor's identity keys the cache, not the URL
    assert client.identity()["remote"] == kontext_server.editor.identity()


def test_server_isolates_bad_items_and_reports_why(kontext_server: EditorServer) -> None:
    good = {"image": b64_png(reqs()[0].image), "prompt": "x", "seed": 1}
    body = {"items": [good, {"image": "not base64!", "prompt": "y"}, {"prompt": 3}]}
    req = urllib.request.Request(url(kontext_server) + "/edit_batch", json.dumps(body).encode(), method="POST")
    results = json.loads(urllib.request.urlopen(req, timeout=60).read())["results"]
    assert [r["success"] for r in results] == [True, False, False]
    assert "base64" in results[1]["error"] and "prompt" in results[2]["error"]


def test_http_editor_without_a_service_fails_with_a_clear_message() -> None:
    with pytest.raises(PluginError, match="needs editor.url"):
        editors.build("omnigen2")
    with pytest.raises(PluginError, match="not answering"):
        editors.build("bagel", url="http://127.0.0.1:9", retries=0, timeout_s=2)


def test_serve_editor_command_serves_a_registered_editor(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mirabench",
            "serve-editor",
            "shapes",
            "--port",
            "0",
            "--set",
            "error_rate=0.0",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        port = int(re.search(r"127\.0\.0\.1:(\d+)", line).group(1))  # type: ignore[union-attr]
        client = editors.build("http", url=f"http://127.0.0.1:{port}")
        assert client.remote["editor"] == "shapes"
        assert client.remote["identity"]["options"] == {"error_rate": 0.0, "clause_decay": 0.25}
        image = Image.new("RGB", (32, 32), (255, 255, 255))
        assert client.edit(EditRequest(image, "add a red circle", 3)).size == (32, 32)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
