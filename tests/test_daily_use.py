"""Daily use from the shell (issue 18): messages keep their text, long runs talk, options are discoverable."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from runprobe import committed_steps
from test_cli import TOY, mirabench

from mirabench.cli.progress import EVERY_ENV


def test_brackets_in_errors_and_help_print_as_written(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("suite: toy\nmetrics: [grey, \nagent: counter\n")
    res = mirabench("run", "--config", "bad.yaml", cwd=tmp_path)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "metrics: [grey," in res.stderr and "expected ',' or ']'" in res.stderr
    assert "^" in res.stderr  # the caret under the offending column
    res = mirabench(
        "run",
        "--suite",
        "jsonl",
        "--set",
        "suite.path=myset/[weird].jsonl",
        "--agent",
        "counter",
        "--editor",
        "toy",
        "--metrics",
        "grey",
        cwd=tmp_path,
    )
    assert res.returncode == 2 and "myset/[weird].jsonl" in res.stderr
    res = mirabench("run", "--help", cwd=tmp_path)
    assert "(extra [ray])" in " ".join(res.stdout.split())
    res = mirabench("run", *TOY[1:], "--agent", "counter", "--out", "[x]run", "--set", "suite.n=2", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "[x]run" in res.stderr  # "run directory: .../[x]run"


GATED_AGENT = '''
import time
from pathlib import Path
from mirabench.agents import register
from mirabench.plugins import Agent, Options
from mirabench.types import Edit, Stop


class GatedOptions(Options):
    release: str = ""


@register("gated")
class GatedAgent(Agent):
    """Edits once freely; from the second step on waits until the `release` file exists."""

    version = "1"
    Options = GatedOptions

    def plan(self, state):
        if state.step >= 1:
            deadline = time.monotonic() + 20
            while not Path(self.options.release).exists() and time.monotonic() < deadline:
                time.sleep(0.01)
            return Stop("released")
        return Edit("add 10")
'''


def start_gated(tmp_path: Path) -> tuple[subprocess.Popen[str], queue.Queue[str], threading.Thread]:
    """A toy run that blocks after its first committed wave until tmp_path/release exists; stderr is a pipe."""
    code = (  # Ctrl-C as in a terminal, even where this test's own parent ignores SIGINT (background shells)
        "import signal, sys, toyworld; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "from mirabench.cli.root import main; sys.argv = ['mirabench', *sys.argv[1:]]; main()"
    )
    args = ["--plugin", "gated.py", *TOY[:-2], "--agent", "gated", "--metrics", "grey", "--set", "suite.n=4"]
    args += ["--set", f"agent.release={tmp_path / 'release'}", "--out", "r"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent), EVERY_ENV: "0.2"}
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(x) for x in proc.stderr], daemon=True)  # type: ignore[union-attr]
    reader.start()
    return proc, lines, reader


def wait_for(lines: queue.Queue[str], pattern: str) -> str:
    while True:
        line = lines.get(timeout=60)
        if re.search(pattern, line):
            return line


def test_a_redirected_run_prints_progress_lines_and_a_signal_says_how_to_resume(tmp_path: Path) -> None:
    (tmp_path / "gated.py").write_text(GATED_AGENT)
    for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
        proc, lines, reader = start_gated(tmp_path)
        # the first line comes as editing starts (nothing finished yet; the agent is blocked on its first wave)
        wait_for(lines, r"^\d\d:\d\d:\d\d editing: 0/4 samples \(0%\), \d+s elapsed, 0 failed$")
        deadline = time.monotonic() + 60
        while committed_steps(tmp_path / "r" / "store.sqlite") < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert committed_steps(tmp_path / "r" / "store.sqlite") == 4  # the first wave is committed, then blocked
        wait_for(lines, r"editing: 0/4 samples")  # and again at the steady interval while nothing finishes
        proc.send_signal(sig)
        assert proc.wait(timeout=60) == code
        reader.join(timeout=30)  # stderr closed: everything the process printed is in the queue
        rest = [lines.get_nowait() for _ in range(lines.qsize())]
        assert "interrupted: 0 of 4 samples done; run the same command to resume\n" in rest
        assert not any("Traceback" in x for x in rest)
    (tmp_path / "release").touch()
    res = mirabench(
        "--plugin",
        "gated.py",
        *TOY[:-2],
        "--agent",
        "gated",
        "--metrics",
        "grey",
        "--set",
        "suite.n=4",
        "--set",
        f"agent.release={tmp_path / 'release'}",
        "--out",
        "r",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    assert "editing: 0/4 samples" in res.stderr and "editing: 4/4 samples (100%)" in res.stderr
