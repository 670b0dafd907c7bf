"""A provider that echoes the caller's key everywhere it can: in every answer, in the `model` it reports, and in
error bodies long enough that the 500-character cut falls inside a key; and a base_url carrying a password in
its userinfo. Nothing of any of them may reach the run dir (store.sqlite and its WAL included) or the cache."""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from fakes import FakeAPIServer
from judgefault import GEMINI_KEY, OPENAI_KEY

from mirabench.cli import root as cli

URL_PASSWORD = "hunter2-userinfo-pass"
FRAGMENTS = (b"sk-planted", b"AIzaPlanted", URL_PASSWORD.encode())  # any 10-char start of a key is a leak


def echo_answer(text: str, body: dict) -> str:
    if "NEXT_EDITING_INSTRUCTION" in text:
        return f"NEXT_EDITING_INSTRUCTION: make the circle blue ({OPENAI_KEY})"
    return json.dumps({"reasoning": f"judged with {OPENAI_KEY} and {GEMINI_KEY}", "score": [7, 8]})


class EchoEverywhere(FakeAPIServer):
    long_errors = False

    def _respond(self, h: BaseHTTPRequestHandler, provider: str, model: str, text: str, body: dict, fault: str):
        if self.long_errors:
            self._error(h, 400, " ".join([OPENAI_KEY] * 30))  # the cut at 500 characters lands inside a key
            return
        self.model_versions[model] = f"{model}-{OPENAI_KEY}"  # the served model name carries the key too
        super()._respond(h, provider, model, text, body, fault)


def mirabench(monkeypatch: pytest.MonkeyPatch, *args: str) -> None:
    monkeypatch.setattr(sys, "argv", ["mirabench", *args])
    try:
        cli.main()
    except SystemExit as exc:
        assert not exc.code, f"mirabench {' '.join(args)} exited with {exc.code}"


def fragments(root: Path) -> list[str]:
    return [f"{p}: {f.decode()}" for p in root.rglob("*") if p.is_file() for f in FRAGMENTS if f in p.read_bytes()]


def test_no_echoed_key_or_url_password_is_stored(
    tmp_path: Path, isolated_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with EchoEverywhere.running(echo_answer) as server:
        monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", server.openai_url)
        monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEY)
        monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.gemini_url)
        with_password = server.openai_url.replace("http://", f"http://alice:{URL_PASSWORD}@")
        base = ["run", "--suite", "shapes", "--agent", "gpt-planner", "--editor", "shapes", "--metrics", "gpt-sc"]
        base += ["--max-steps", "2", "--set", "suite.n=2", "--set", f"metrics.gpt-sc.base_url={with_password}"]
        mirabench(monkeypatch, *base, "--out", str(tmp_path / "answers"))
        server.long_errors = True
        monkeypatch.setenv("MIRABENCH_CACHE_DIR", str(tmp_path / "cache2"))  # fresh cache: every call is made
        retry_once = ["--set", "agent.max_attempts=1", "--set", "metrics.gpt-sc.max_attempts=1"]
        mirabench(monkeypatch, *base, *retry_once, "--out", str(tmp_path / "errors"))
    assert server.count("openai") > 0
    scores = [json.loads(line) for line in (tmp_path / "answers" / "samples.jsonl").read_text().splitlines()]
    assert any(r["scores"].get("gpt-sc") is not None for r in scores)  # the echoing answers were used ...
    errors = (tmp_path / "errors" / "samples.jsonl").read_text()
    assert errors.count("HTTP 400") >= 2  # ... and the long errors were recorded
    assert "alice:***@" not in (tmp_path / "answers" / "run.json").read_text()
    assert "://***@127.0.0.1" in (tmp_path / "answers" / "run.json").read_text()
    assert fragments(tmp_path) == [] and fragments(isolated_cache) == []
