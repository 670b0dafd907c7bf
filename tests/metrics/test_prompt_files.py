"""Pinned upstream prompt files: `mirabench data get-prompts` against a 127.0.0.1 server, run-time loading, labels.

The served bytes are our own fixture wording (never the upstream text), so the real pins must refuse them.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fakes import FakeAPIServer
from typer.testing import CliRunner

from mirabench.cli.root import app
from mirabench.judge.prompt_files import PINNED, PinnedFile, download
from mirabench.judge.viescore import load_prompts
from mirabench.registry import PluginUnavailable, metrics

FIXTURE = (
    b'_context_no_delimit = """Judge images. Reply in JSON."""\n'
    b'_prompts_0shot_two_image_edit_rule = """Two images: before, after."""\n'
    b'_prompts_0shot_tie_rule_SC = """Score 0 to 10 how well <instruction> was done."""\n'
    b'_prompts_0shot_rule_PQ = """Score 0 to 10 the quality."""\n'
)


@pytest.fixture
def raw_host() -> Iterator[tuple[str, list[str]]]:
    """A raw-file host on 127.0.0.1 that serves FIXTURE at any path and logs the paths asked for."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", str(len(FIXTURE)))
            self.end_headers()
            self.wfile.write(FIXTURE)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", asked
    finally:
        server.shutdown()
        server.server_close()


def test_get_prompts_refuses_bytes_that_are_not_the_pinned_files(
    raw_host: tuple[str, list[str]], tmp_path: Path
) -> None:
    base, asked = raw_host
    res = CliRunner().invoke(app, ["data", "get-prompts", "--base-url", base, "--out", str(tmp_path / "p")])
    assert res.exit_code != 0 and "is not the pinned" in str(res.exception)
    assert not (tmp_path / "p").exists()  # nothing written
    pin = PINNED[0]
    assert asked[0] == f"/{pin.repo}/{pin.commit}/{pin.path}"  # fetched by full commit, not by branch


def test_download_by_commit_checks_the_hash_and_the_file_is_read_at_run_time(
    raw_host: tuple[str, list[str]], tmp_path: Path
) -> None:
    base, asked = raw_host
    pin = PinnedFile(
        "vie.py", "someone/repo", "c0ffee" * 6 + "c0ff", "x/vie_prompts.py", hashlib.sha256(FIXTURE).hexdigest()
    )
    (path,) = download((pin,), tmp_path, base)
    assert path.read_bytes() == FIXTURE and asked == [f"/someone/repo/{pin.commit}/x/vie_prompts.py"]
    p = load_prompts("viescore", file=path)
    # GEdit-Bench's composition: context, two-image rule, SC rule joined by newlines; PQ = context, PQ rule
    assert (
        p.sc
        == "Judge images. Reply in JSON.\nTwo images: before, after.\nScore 0 to 10 how well <instruction> was done."
    )
    assert p.pq == "Judge images. Reply in JSON.\nScore 0 to 10 the quality."
    assert p.sha256 == hashlib.sha256(FIXTURE).hexdigest() and "NOT the pinned file" in p.label


def test_judge_uses_the_file_and_labels_every_score(fake_api: FakeAPIServer, tmp_path: Path) -> None:
    from PIL import Image

    from mirabench.plugins import ScoreItem
    from mirabench.types import Sample

    vie = tmp_path / "vie_prompts.py"
    vie.write_bytes(FIXTURE)
    img = Image.new("RGB", (8, 8))
    m = metrics.build("gpt-sc", prompts_file=str(vie), cache=False)
    try:
        (out,) = m.score_batch([ScoreItem(Sample("s", "paint it", img), img, img)])
    finally:
        m.close()
    texts = sorted(r.body["messages"][0]["content"][0]["text"] for r in fake_api.requests)
    assert texts[1].endswith("Score 0 to 10 how well paint it was done.")
    assert "NOT the pinned file" in out["gpt-sc"].detail["prompt_text"]
    with pytest.raises(PluginUnavailable, match="not a readable VIEScore"):
        metrics.build("gpt-sc", prompts_file=str(tmp_path / "missing.py"))


def test_without_a_file_the_wheel_fork_is_used_and_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MIRABENCH_CACHE_DIR", str(tmp_path / "empty-cache"))
    p = load_prompts("viescore")
    if p.flavour == "stand-in":
        pytest.skip("editscore not installed")
    assert p.source.startswith("editscore==") and "forked in the editscore wheel" in p.label
    fetched = tmp_path / "empty-cache" / "prompts" / "viescore_vie_prompts.py"
    fetched.parent.mkdir(parents=True)
    fetched.write_bytes(FIXTURE)  # what get-prompts would have put there: now the default
    assert load_prompts("viescore").sha256 == hashlib.sha256(FIXTURE).hexdigest()
