"""Spend that survives crashes: every API attempt and paid answer is in the run store as it happens.

- `max_calls` holds across kill -9 / resume cycles: the server never sees more than the cap plus what was in flight
  at each kill (requests sent but not yet recorded);
- run.json's usage is the total over all attempts of the run (== the server's count), with one entry per process;
- a global cache that cannot be written costs a warning, not a paid answer; a resume pays for nothing twice;
- a run store that cannot be written stops `mirabench score` (as `run`) with one line and a non-zero exit.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import faults
import pytest
import yaml
from fakes import FakeAPIServer
from judgefault import OPENAI_KEY

from mirabench.cache import Cache
from mirabench.run.runner import run, score_run
from mirabench.rundir.store import RunStore
from mirabench.spec import RunSpec

N = 8  # samples: 16 judge calls (SC + PQ) for the final images
CAP, CONCURRENCY = 6, 2


class KillingServer(FakeAPIServer):
    """The fake server, plus: SIGKILL the process under test when the `kill_at`-th request arrives (unanswered)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.victim: int | None = None
        self.kill_at: int | None = None
        self._kill_lock = threading.Lock()

    def _respond(self, h: BaseHTTPRequestHandler, provider: str, model: str, text: str, body: dict, fault: str):
        with self._kill_lock:
            if self.victim is not None and self.kill_at is not None and self.count() >= self.kill_at:
                os.kill(self.victim, signal.SIGKILL)
                self.victim = None
        super()._respond(h, provider, model, text, body, fault)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[KillingServer]:
    srv = KillingServer(latency_s=0.05)
    srv.start()
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", srv.openai_url)
    try:
        yield srv
    finally:
        srv.stop()


def spec_dict(**judge: Any) -> dict[str, Any]:
    options = {"cache": False, "timeout_s": 5.0, "max_attempts": 3, "max_concurrency": CONCURRENCY, **judge}
    return dict(
        suite="toy",
        agent="faulty-counter",
        editor="faulty-toy",
        metrics=["gpt-sc"],
        max_steps=3,
        suite_options={"n": N},
        metric_options={"gpt-sc": options},
    )


def journal(run_dir: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(run_dir / "store.sqlite") as db:
        return db.execute("SELECT session, label, outcome FROM calls ORDER BY n").fetchall()


def usage(run_dir: Path) -> dict[str, Any]:
    manifest = json.loads((run_dir / "run.json").read_text())
    return dict(manifest["metric_info"]["gpt-sc"]["usage"])


def test_the_call_cap_holds_across_two_kill_and_resume_cycles(tmp_path: Path, server: KillingServer) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(spec_dict(max_calls=CAP)))
    cmd = faults.cli_command("run", "--config", str(config), "--out", str(tmp_path / "r"), "--no-cache")
    for kill_at in (3, 6):  # per process the cap alone would allow 6 each: 3 + 3 + 6 = 12 without a journal
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        server.victim, server.kill_at = proc.pid, kill_at
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == -signal.SIGKILL, err[-2000:]
    server.victim = None
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    recorded = journal(tmp_path / "r")
    assert len(recorded) <= CAP  # the journal is what the caps count
    assert server.count() <= CAP + 2 * CONCURRENCY  # plus at most what was in flight at each of the two kills
    assert server.count() - len(recorded) <= 2 * CONCURRENCY
    total = usage(tmp_path / "r")
    assert total["run"]["attempts"] == len(recorded)
    assert sum(h["attempts"] for h in total["history"]) == len(recorded) and len(total["history"]) >= 2
    rows = [json.loads(line) for line in (tmp_path / "r" / "samples.jsonl").read_text().splitlines()]
    skipped = [r for r in rows if r["score_status"]["gpt-sc"] == "skipped"]
    assert skipped  # 16 calls were needed, 6 allowed: the rest are recorded as skipped by the budget


def test_run_totals_equal_the_servers_count_over_every_process(tmp_path: Path, server: KillingServer) -> None:
    server.rate_429, server.retry_after = 0.2, "0"  # retried attempts count too
    first = run(RunSpec(**spec_dict()), tmp_path / "r", use_cache=False)
    assert first.summary["metrics"]["gpt-o"]["n_ok"] == N
    after_first = server.count()
    score_run(tmp_path / "r", [], {"gpt-sc": {"max_tokens": 999}})  # another config: every judgement again
    total = usage(tmp_path / "r")
    assert total["run"]["attempts"] == len(journal(tmp_path / "r")) == server.count() > after_first
    assert [h["attempts"] for h in total["history"]] == [after_first, server.count() - after_first]
    # (<= 4N: alike requests of two samples in flight at once are both paid; one asked later is served from the run)
    assert server.statuses[429] > 0 and total["run"]["answered"] == server.statuses[200] <= 4 * N


def test_a_cache_that_cannot_be_written_keeps_every_paid_answer(
    tmp_path: Path, server: KillingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_put = Cache.put

    def full_for_judges(self: Cache, key: str, value: Any, kind: str = "json") -> None:
        if kind == "judge":
            raise sqlite3.OperationalError("database or disk is full")
        real_put(self, key, value, kind)

    monkeypatch.setattr(Cache, "put", full_for_judges)
    with pytest.warns(UserWarning, match="judge cache write failed .* kept in the run store"):
        result = run(RunSpec(**spec_dict(cache=True)), tmp_path / "r", use_cache=False)
    assert result.summary["metrics"]["gpt-o"]["n_ok"] == N  # not one answer turned into an error
    paid = server.count()
    assert paid <= 2 * N and usage(tmp_path / "r")["cache_errors"] == paid
    with sqlite3.connect(tmp_path / "r" / "store.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM calls WHERE outcome='ok'").fetchone()[0] == paid
        db.execute("DELETE FROM scores")  # as if killed before the scores were committed
    again = score_run(tmp_path / "r", [])
    assert again.summary["metrics"]["gpt-o"]["n_ok"] == N and server.count() == paid  # served from the store


@pytest.mark.parametrize("where", ["journal", "scores"])
def test_score_on_a_full_disk_is_one_line_and_a_failing_exit(
    tmp_path: Path,
    server: KillingServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    where: str,
) -> None:
    from mirabench.cli import root as cli

    run(RunSpec(**{**spec_dict(), "metrics": [], "metric_options": {}}), tmp_path / "r", use_cache=False)
    if where == "journal":

        def full(self: RunStore, *args: Any) -> None:
            raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(RunStore, "record_call", full)
    else:
        monkeypatch.setenv(faults.ENV, "scores:enospc:1")
    monkeypatch.setattr(sys, "argv", ["mirabench", "score", str(tmp_path / "r"), "--metrics", "gpt-sc"])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "Traceback" not in err
    message = " ".join(err.split())  # one message (the console wraps it at its width)
    assert message.startswith("error: no space left") and message.count("error") == 1, err
    assert message.endswith("run the same command again to resume")


def test_a_resume_pays_for_no_answer_twice(tmp_path: Path, server: KillingServer) -> None:
    run(RunSpec(**spec_dict()), tmp_path / "reference", use_cache=False)
    needed = server.count()  # what an uninterrupted run asks
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(spec_dict()))
    cmd = faults.cli_command("run", "--config", str(config), "--out", str(tmp_path / "r"), "--no-cache")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    server.victim, server.kill_at = proc.pid, needed + needed // 2  # killed with half its judgements answered
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL, err[-2000:]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    # the answers before the kill were stored as they came (not with their batch's scores): only the calls in
    # flight at the kill are asked again
    assert server.count() - needed <= needed + CONCURRENCY
    assert len(journal(tmp_path / "r")) >= needed // 2 - CONCURRENCY
