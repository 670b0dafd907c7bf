"""One writer per run directory: a second run/score is refused at once naming the holder, a kill -9'd holder
never blocks the resume, status tells a crashed run from a running one, and only dead writers' temp files are
swept. Every "while it runs" is a real second process that holds the lock until the test lets it go."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mirabench.cli.root import app
from mirabench.run.runner import RunError, run, score_run
from mirabench.rundir.status import run_state, run_status
from mirabench.spec import RunSpec

SPEC = dict(suite="toy", agent="counter", editor="toy", metrics=["grey"], max_steps=5, suite_options={"n": 4})
HOLD = (
    "import sys; from pathlib import Path; from mirabench.rundir.writer import writer_lock\n"
    "with writer_lock(Path(sys.argv[1])):\n    print('held', flush=True); sys.stdin.read()"
)


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    """A finished run whose writer lock another process holds (until the test closes its stdin or kills it)."""
    out = tmp_path / "run"
    run(RunSpec(**SPEC), out, use_cache=False)
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(out)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"  # the event: it holds the lock now
    try:
        yield out, proc
    finally:
        proc.kill()
        proc.wait()


def test_a_second_writer_is_refused_naming_the_holder(holder: tuple[Path, subprocess.Popen[str]]) -> None:
    out, proc = holder
    before = (out / "run.json").read_text()
    for attempt in (lambda: run(RunSpec(**SPEC), out, use_cache=False), lambda: score_run(out, ["grey"])):
        with pytest.raises(RunError) as err:
            attempt()
        line = str(err.value)
        assert "\n" not in line and f"pid {proc.pid} on {socket.gethostname()} since " in line
    assert (out / "run.json").read_text() == before  # the refused writers touched nothing
    assert run_state(out, {"status": "running"}).startswith(f"running (pid {proc.pid} on ")


def test_a_killed_writer_leaves_no_lock_and_status_says_stopped(holder: tuple[Path, subprocess.Popen[str]]) -> None:
    out, proc = holder
    manifest = json.loads((out / "run.json").read_text())
    proc.kill()
    proc.wait()
    state = run_state(out, {**manifest, "status": "running"})  # as a run killed mid-way leaves run.json
    assert state.startswith("stopped (no writer since 20"), state
    again = run(RunSpec(**SPEC), out, use_cache=False)  # the OS released the dead holder's lock
    assert again.resumed and again.summary["n_done"] == 4
    assert not list((out / ".writers").glob("*.json"))  # its stale owner file was cleared, ours removed on exit


def test_only_dead_writers_temp_files_are_swept(tmp_path: Path) -> None:
    out = tmp_path / "run"
    run(RunSpec(**SPEC), out, use_cache=False)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    gone = int(dead.stdout)
    (out / "thumbs").mkdir(exist_ok=True)
    left = [
        out / f".samples.jsonl.{gone}.ab12cd34.tmp",
        out / f".summary.json.{gone}.x_y1z2ab.tmp",
        out / f".run.json.{gone}.qwertyui.tmp",
        out / f".report.html.{gone}.asdfghjk.tmp",
        out / "images" / f".{'0' * 64}.png.{gone}.zxcvbnm1.tmp",
        out / "thumbs" / f"{'1' * 64}.jpg.{gone}.tmp",
        out / ".samples.jsonl.oldstyle.tmp",  # written before temp names carried a PID
    ]
    live = out / f".report.html.{os.getpid()}.livewrit.tmp"  # e.g. `mirabench report` writing it right now
    for path in [*left, live]:
        path.write_bytes(b"half")
    run(RunSpec(**SPEC), out, use_cache=False)
    assert [p.name for p in left if p.exists()] == []
    assert live.exists()


@contextmanager
def read_only_view(folder: Path) -> Iterator[Path]:
    """`folder` where nothing can be written: a read-only bind mount as root (root ignores file modes), else
    the folder with its write bits removed."""
    if os.geteuid() != 0:
        paths = [folder, *folder.rglob("*")]
        for path in paths:
            path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield folder
        finally:
            for path in paths:
                path.chmod(0o755)
        return
    view = folder.with_name(folder.name + "-ro")
    view.mkdir()
    mounted = subprocess.run(["mount", "--bind", str(folder), str(view)], capture_output=True).returncode == 0
    if not mounted or subprocess.run(["mount", "-o", "remount,bind,ro", str(view)], capture_output=True).returncode:
        if mounted:
            subprocess.run(["umount", str(view)], check=True)
        pytest.skip("running as root without permission to mount a read-only view")
    try:
        yield view
    finally:
        subprocess.run(["umount", str(view)], check=True)


def test_status_reads_a_read_only_copy_of_a_finished_run(tmp_path: Path) -> None:
    out = tmp_path / "run"
    run(RunSpec(**SPEC), out, use_cache=False)
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    with read_only_view(copy) as view:
        assert not os.access(view, os.W_OK)
        result = CliRunner().invoke(app, ["status", str(view)])
        assert result.exit_code == 0, result.output
        assert "complete" in result.output and "unable to open" not in result.output
        assert not (view / "store.sqlite-shm").exists()


def test_status_of_a_run_with_no_owner_record_is_stopped_not_running(tmp_path: Path) -> None:
    out = tmp_path / "run"
    run(RunSpec(**SPEC), out, use_cache=False)
    manifest, _ = run_status(out)
    assert run_state(out, manifest) == "complete"
    assert run_state(out, {**manifest, "status": "running"}).startswith(
        f"stopped (no writer since {manifest['updated']}"
    )
    result = CliRunner().invoke(app, ["status", str(out)])
    assert result.exit_code == 0 and "complete" in result.output
