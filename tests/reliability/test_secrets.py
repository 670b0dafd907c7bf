"""Planted API keys never leave the environment: not in the run dir, the global cache, reports, logs, stdout /
stderr, Scores or the messages of failed calls (even when the server echoes the key back in its error)."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from fakes import FakeAPIServer
from judgefault import GEMINI_KEY, OPENAI_KEY
from PIL import Image

from mirabench.cli import root as cli
from mirabench.plugins import ScoreItem
from mirabench.registry import metrics
from mirabench.types import Sample, ScoreStatus

KEYS = (OPENAI_KEY, GEMINI_KEY)


def mirabench(monkeypatch: pytest.MonkeyPatch, *args: str) -> None:
    monkeypatch.setattr(sys, "argv", ["mirabench", *args])
    try:
        cli.main()
    except SystemExit as exc:
        assert not exc.code, f"mirabench {' '.join(args)} exited with {exc.code}"


def planner_or_judge(text: str, body: dict) -> str:
    if "NEXT_EDITING_INSTRUCTION" in text:
        return "NEXT_EDITING_INSTRUCTION: make the circle blue"
    return json.dumps({"reasoning": "fake", "score": [7, 8]})


class EchoingServer(FakeAPIServer):
    """When `echo` is on, answers 401 with the caller's credential in the message, as some real APIs do."""

    echo = False

    def _respond(self, h: BaseHTTPRequestHandler, provider: str, model: str, text: str, body: dict, fault: str):
        if self.echo:
            key = h.headers.get("x-goog-api-key") or h.headers.get("authorization", "")
            self._error(h, 401, f"Incorrect API key provided: {key}. Find your key at the dashboard.")
            return
        super()._respond(h, provider, model, text, body, fault)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[EchoingServer]:
    with EchoingServer.running(planner_or_judge) as s:
        monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", s.openai_url)
        monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEY)
        monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", s.gemini_url)
        yield s


def leaks(root: Path) -> list[str]:
    """Files under root whose bytes contain a key (raw, or as it would appear JSON- or URL-escaped)."""
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path}: {key[:6]}..." for key in KEYS if key.encode() in data]
    return found


def test_keys_are_in_no_output(
    tmp_path: Path,
    server: EchoingServer,
    isolated_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    runs = [
        ("gpt-planner", "shapes", "gpt-sc,gemini-sc"),
        ("gemini-planner", "nano-banana", "gpt-sc"),  # no image comes back: every edit is a recorded editor error
    ]
    for i, (agent, editor, metric_names) in enumerate(runs):
        args = ["run", "--suite", "shapes", "--agent", agent, "--editor", editor, "--metrics", metric_names]
        args += ["--max-steps", "2", "--set", "suite.n=4", "--out", str(tmp_path / f"run{i}")]
        mirabench(monkeypatch, *args)
    server.echo = True  # a third run, fresh cache, against a server that echoes the key in every error
    monkeypatch.setenv("MIRABENCH_CACHE_DIR", str(tmp_path / "cache2"))
    args = ["run", "--suite", "shapes", "--agent", "gpt-planner", "--editor", "shapes", "--metrics", "gpt-sc"]
    args += ["--set", "suite.n=2", "--set", "agent.max_attempts=1", "--set", "metrics.gpt-sc.max_attempts=1"]
    mirabench(monkeypatch, *args, "--out", str(tmp_path / "run2"))
    server.echo = False
    mirabench(monkeypatch, "report", *(str(tmp_path / f"run{i}") for i in range(3)), "--out", f"{tmp_path}/report/")

    assert server.count("openai") > 0 and server.count("gemini") > 0  # the keys were really used
    runs_meta = [json.loads((tmp_path / f"run{i}" / "run.json").read_text()) for i in range(3)]
    assert all(m["status"] == "complete" for m in runs_meta)
    errors = [json.loads(line) for line in (tmp_path / "run2" / "samples.jsonl").read_text().splitlines()]
    assert errors and all("401" in (r.get("error") or "") for r in errors)  # the echoed error was recorded...
    captured = capsys.readouterr()
    logs = "\n".join(r.getMessage() for r in caplog.records)
    assert leaks(tmp_path) == [] and leaks(isolated_cache) == []  # ...but without the key
    for stream in (captured.out, captured.err, logs):
        assert not any(key in stream for key in KEYS)


def test_failed_call_messages_carry_no_key(server: EchoingServer) -> None:
    server.echo = True
    image = Image.new("RGB", (16, 16), (1, 2, 3))
    for name in ("gpt-sc", "gemini-sc"):
        metric = metrics.build(name, max_attempts=1, cache=False)
        try:
            out = metric.score_batch([ScoreItem(Sample("s", "make it blue", image), image, image)])[0]
        finally:
            metric.close()
        score = next(iter(out.values()))
        assert score.status is ScoreStatus.API_ERROR and "401" in score.raw + json.dumps(score.detail)
        text = repr(out) + json.dumps(metric.run_info(), default=str)
        assert not any(key in text for key in KEYS)
