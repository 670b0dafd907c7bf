"""Fault matrix: every stage x every way it can fail, then resume; the result must be the uninterrupted run's.

Two kinds of outcome are expected:
- contained faults (a plugin raises or answers garbage, a judge call errors or times out) finish the run; the
  hit sample or judgement carries a recorded status and message, every other row equals the fault-free run,
  and running again changes nothing (a recorded failure is a result, not a hole);
- interrupting faults (kill -9, disk full, a store or report write that raises) stop the run, with one clear
  line from the CLI where the cause is the user's to fix; running the same command again completes it and
  samples.jsonl / summary.json equal the fault-free run's.
Every case ends with: no sample lost or duplicated, `PRAGMA integrity_check` ok. An unexpected exception inside
the store or the report writer is a bug, not a user error: it propagates unchanged (its traceback is what a
developer needs) and still leaves a run that the same command completes. Local agents and editors have no
timeout of their own (a hung local model is the user's to interrupt; kill -9 is covered); the judge's is tested.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import faults
import pytest
import yaml
from judgefault import FaultyJudgeServer

from mirabench.run.runner import RunError, run
from mirabench.spec import RunSpec

N = 8
SPEC: dict[str, Any] = dict(
    suite="toy",
    agent="faulty-counter",
    editor="faulty-toy",
    metrics=["grey", "gpt-sc"],
    max_steps=5,
    suite_options={"n": N},
    metric_options={"gpt-sc": {"cache": False, "timeout_s": 1.0, "max_attempts": 2, "max_concurrency": 4}},
)
HIT = {"toy-002", "toy-006"}  # the judge faults target "reach 30": samples 2 and 6
_REFERENCE: dict[str, Any] = {}


def spec() -> RunSpec:
    return RunSpec(**SPEC)


def outputs(run_dir: Path) -> tuple[list[dict], str]:
    rows = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    return sorted(rows, key=lambda r: r["id"]), (run_dir / "summary.json").read_text()


def reference(tmp_path: Path, server: FaultyJudgeServer) -> tuple[list[dict], str]:
    if not _REFERENCE:
        server.arm("")
        _REFERENCE["out"] = outputs(run(spec(), tmp_path / "reference", use_cache=False).run_dir)
    return _REFERENCE["out"]


def check_store(run_dir: Path) -> None:
    rows, _ = outputs(run_dir)
    assert len(rows) == N and len({r["id"] for r in rows}) == N
    with sqlite3.connect(run_dir / "store.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT COUNT(*) FROM samples").fetchone()[0] == N
        assert db.execute("SELECT COUNT(*) FROM samples WHERE status NOT IN ('done','failed')").fetchone()[0] == 0
    assert not list((run_dir / "images").glob(".*.tmp"))


def resume(run_dir: Path) -> Any:
    os.environ.pop(faults.ENV, None)
    result = run(spec(), run_dir, use_cache=False)
    assert result.resumed
    return result


# -- contained faults: the run finishes, the failure is recorded where it happened ------------------------------

CONTAINED = [
    # (stage, kind, arg, sample ids hit, column whose status records it, expected status, message)
    ("agent", "transient", "1", set(), None, None, None),
    ("agent", "exception", "toy-002", {"toy-002"}, "error", None, "injected agent fault on toy-002"),
    ("agent", "garbage", "toy-002", {"toy-002"}, "error", None, "agent returned str"),
    ("editor", "transient", "1", set(), None, None, None),
    ("editor", "exception", "toy-002", {"toy-002"}, "error", None, "injected editor fault on toy-002"),
    ("editor", "garbage", "toy-002", {"toy-002"}, "error", None, "editor returned bytes, not an image"),
    ("judge", "500", "", HIT, "gpt-sc", "api_error", None),
    ("judge", "noscore", "", HIT, "gpt-sc", "parse_error", None),
    ("judge", "hang", "", set(), None, None, None),  # first try times out, the retry answers
]


@pytest.mark.parametrize("stage, kind, arg, hit, where, status, message", CONTAINED, ids=lambda v: str(v))
def test_contained_fault_finishes_and_resume_changes_nothing(
    tmp_path: Path,
    judge_server: FaultyJudgeServer,
    monkeypatch: pytest.MonkeyPatch,
    stage: str,
    kind: str,
    arg: str,
    hit: set[str],
    where: str | None,
    status: str | None,
    message: str | None,
) -> None:
    ref_rows, _ = reference(tmp_path, judge_server)
    if stage == "judge":
        judge_server.arm(kind)
    else:
        monkeypatch.setenv(faults.ENV, f"{stage}:{kind}:{arg}")
    first = run(spec(), tmp_path / "r", use_cache=False)
    fired = list(judge_server.fired)
    judge_server.arm("")
    rows, summary = outputs(first.run_dir)
    assert [r for r in rows if r["id"] not in hit] == [r for r in ref_rows if r["id"] not in hit]
    for r in (r for r in rows if r["id"] in hit):
        if where == "error":  # the sample stopped with the plugin's message
            assert r["stop_reason"] == "error" and message in r["error"]
        else:  # the judgement is missing with its status, never a number
            assert r["scores"][where] is None and r["score_status"][where] == status
            assert r["scores"]["grey-hit"] == next(x for x in ref_rows if x["id"] == r["id"])["scores"]["grey-hit"]
    if kind == "hang":  # the hung call was abandoned at the client timeout and retried
        assert fired == ["hang"]  # samples 2 and 6 send the same request: one hang, then answers
    if not hit:
        assert rows == ref_rows
    again = resume(first.run_dir)
    assert (again.stats.agent_calls, again.stats.editor_calls, again.judgements) == (0, 0, 0)
    assert outputs(first.run_dir) == (rows, summary)
    check_store(first.run_dir)


# -- interrupting faults: the run stops, the same command again completes it ------------------------------------

STOPPING = [
    # (stage, kind, arg, what the run raises, message)
    ("store", "exception", "2", RuntimeError, "injected store fault"),
    ("store", "enospc", "2", RunError, "no space left"),
    ("images", "enospc", "5", RunError, "no space left"),
    ("scores", "enospc", "1", RunError, "no space left"),
    ("report", "exception", "1", RuntimeError, "injected report fault"),
    ("report", "enospc", "1", RunError, "no space left"),
]


@pytest.mark.parametrize("stage, kind, arg, raised, message", STOPPING, ids=lambda v: getattr(v, "__name__", str(v)))
def test_interrupting_fault_stops_and_resume_equals_uninterrupted(
    tmp_path: Path,
    judge_server: FaultyJudgeServer,
    monkeypatch: pytest.MonkeyPatch,
    stage: str,
    kind: str,
    arg: str,
    raised: type[Exception],
    message: str,
) -> None:
    ref = reference(tmp_path, judge_server)
    monkeypatch.setenv(faults.ENV, f"{stage}:{kind}:{arg}")
    with pytest.raises(raised, match=message):
        run(spec(), tmp_path / "r", use_cache=False)
    resume(tmp_path / "r")
    assert outputs(tmp_path / "r") == ref
    assert (tmp_path / "r" / "report.html").exists()
    check_store(tmp_path / "r")


def test_disk_full_is_one_line_from_the_cli(
    tmp_path: Path, judge_server: FaultyJudgeServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from mirabench.cli import root as cli

    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(SPEC))
    monkeypatch.setenv(faults.ENV, "images:enospc:3")
    monkeypatch.setattr(sys, "argv", ["mirabench", "run", "--config", str(config), "--out", str(tmp_path / "r")])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert "error: no space left" in err and "run the same command again to resume" in err
    assert "Traceback" not in err


# -- kill -9 inside each stage ----------------------------------------------------------------------------------

CRASHES = [("agent", "3"), ("editor", "3"), ("judge", ""), ("store", "2"), ("scores", "1"), ("report", "1")]


@pytest.mark.parametrize("stage, arg", CRASHES)
def test_sigkill_inside_a_stage_then_resume(
    tmp_path: Path, judge_server: FaultyJudgeServer, monkeypatch: pytest.MonkeyPatch, stage: str, arg: str
) -> None:
    ref = reference(tmp_path, judge_server)
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(SPEC))
    env = dict(os.environ)
    if stage != "judge":
        env[faults.ENV] = f"{stage}:crash:{arg}"
    cmd = faults.cli_command("run", "--config", str(config), "--out", str(tmp_path / "r"), "--no-cache")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if stage == "judge":
        judge_server.arm("crash", victim=proc.pid)
    out, err = proc.communicate(timeout=60)
    judge_server.arm("")
    assert proc.returncode == -signal.SIGKILL, f"the run was not killed inside {stage}: {err[-2000:]}"
    assert not (tmp_path / "r" / "report.html").exists()
    resume(tmp_path / "r")
    assert outputs(tmp_path / "r") == ref
    check_store(tmp_path / "r")
