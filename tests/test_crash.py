"""kill -9 in the middle of a 200-sample shapes run, resume, and get exactly the uninterrupted result."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from runprobe import committed_steps

from mirabench.run.runner import run
from mirabench.spec import RunSpec

N = 200
SPEC = dict(
    suite="shapes",
    agent="heuristic",
    editor="shapes",
    metrics=["shapes"],
    max_steps=5,
    suite_options={"n": N},
    editor_options={"error_rate": 0.2},
)
CLI = [
    "run",
    "--suite",
    "shapes",
    "--agent",
    "heuristic",
    "--editor",
    "shapes",
    "--metrics",
    "shapes",
    "--max-steps",
    "5",
    "--set",
    f"suite.n={N}",
    "--set",
    "editor.error_rate=0.2",
    "--max-live",
    "16",
]


def sorted_rows(run_dir: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    return sorted(rows, key=lambda r: r["id"])


def kill_mid_run(out: Path, cache: Path, threshold: int) -> int:
    env = {**os.environ, "MIRABENCH_CACHE_DIR": str(cache)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mirabench", *CLI, "--out", str(out)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if committed_steps(out / "store.sqlite") >= threshold:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    proc.wait()
    return proc.returncode


def test_sigkill_then_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    reference = run(RunSpec(**SPEC), tmp_path / "reference")  # type: ignore[arg-type]

    killed = tmp_path / "killed"
    code = kill_mid_run(killed, tmp_path / "cold-cache", threshold=150)
    assert code == -signal.SIGKILL, "the run finished before it could be killed; lower the threshold"
    with sqlite3.connect(killed / "store.sqlite") as db:
        finished = db.execute("SELECT COUNT(*) FROM samples WHERE status IN ('done','failed')").fetchone()[0]
    assert 0 < committed_steps(killed / "store.sqlite") and finished < N  # really interrupted mid-run
    assert not (killed / "summary.json").exists()

    resumed = run(RunSpec(**SPEC), killed)  # type: ignore[arg-type]
    assert resumed.resumed
    assert resumed.stats.agent_calls < reference.stats.agent_calls  # committed work was not redone

    ref_rows, got_rows = sorted_rows(reference.run_dir), sorted_rows(killed)
    assert len(got_rows) == N and len({r["id"] for r in got_rows}) == N
    assert got_rows == ref_rows
    assert (killed / "summary.json").read_text() == (reference.run_dir / "summary.json").read_text()
    with sqlite3.connect(killed / "store.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT COUNT(*) FROM samples").fetchone()[0] == N
        dupes = db.execute("SELECT COUNT(*) FROM (SELECT sample_id, t FROM steps GROUP BY 1, 2 HAVING COUNT(*) > 1)")
        assert dupes.fetchone()[0] == 0
    assert not list((killed / "images").glob(".*.tmp"))  # no half-written image survives as a real one
