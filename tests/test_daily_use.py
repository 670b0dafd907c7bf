"""Daily use from the shell (issue 18): messages keep their text, long runs talk, options are discoverable."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

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


NEEDS_PLUGIN = """
from mirabench.agents import register
from mirabench.plugins import Agent, Needs, Options
from mirabench.types import Stop


class FarOptions(Options):
    reach: int = 3


@register("far-away", description="needs a package nobody has", needs=Needs(modules=("no_such_mod_q",), extra="ray"))
class FarAway(Agent):
    version = "1"
    Options = FarOptions

    def plan(self, state):
        return Stop("never")
"""


def test_list_shows_options_and_says_what_is_missing_here(tmp_path: Path) -> None:
    env_free = {"MIRABENCH_DATA": "", "HF_HUB_CACHE": str(tmp_path / "hub")}
    res = mirabench("list", "agents", "mira-7b", "--json", cwd=tmp_path, env=env_free)
    assert res.returncode == 0, res.stderr
    info = json.loads(res.stdout)
    opts = {o["name"]: o for o in info["options"]}
    assert opts["max_new_tokens"] == {
        "name": "max_new_tokens",
        "type": "int",
        "default": 64,
        "description": "one short command fits easily",
    }
    assert opts["path"]["type"] == "str" and info["status"] == "needs weights (agent.path)"
    res = mirabench("list", "agents", "mira-7b", cwd=tmp_path, env=env_free)
    assert "--set agent.OPTION=VALUE" in res.stdout and "max_new_tokens" in res.stdout

    def statuses(**env: str) -> dict[tuple[str, str], dict[str, Any]]:
        res = mirabench("--plugin", "far.py", "list", "--json", cwd=tmp_path, env={**env_free, **env})
        assert res.returncode == 0, res.stderr
        return {(r["kind"], r["name"]): r for r in json.loads(res.stdout)}

    (tmp_path / "far.py").write_text(NEEDS_PLUGIN)
    rows = statuses()
    assert rows["agent", "far-away"]["status"] == "needs extra [ray]"
    assert rows["agent", "far-away"]["options"] == [{"name": "reach", "type": "int", "default": 3, "description": ""}]
    assert rows["metric", "gpt-sc"]["status"] == "needs key ($OPENAI_API_KEY)"  # the helper unsets API keys
    assert rows["suite", "mira500"]["status"] == "needs data (MIRABENCH_DATA/mira500)"
    assert rows["editor", "kontext"]["status"] == "needs weights (black-forest-labs/FLUX.1-Kontext-dev)"
    assert rows["editor", "shapes"]["status"] == "ready"
    (tmp_path / "data" / "mira500").mkdir(parents=True)
    (tmp_path / "hub" / "models--black-forest-labs--FLUX.1-Kontext-dev" / "snapshots").mkdir(parents=True)
    rows = statuses(MIRABENCH_DATA=str(tmp_path / "data"))
    assert rows["suite", "mira500"]["status"] == rows["editor", "kontext"]["status"] == "ready"


def test_unknown_set_key_lists_the_valid_ones_and_version_and_short_help(tmp_path: Path) -> None:
    res = mirabench(*TOY, "--agent", "counter", "--set", "agent.fail_on_sampel=x", cwd=tmp_path)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "agent.fail_on_sampel: no such option. Did you mean agent.fail_on_sample?" in res.stderr
    assert "Valid keys: fail_on_sample, garbage_on_sample" in res.stderr
    assert "mirabench list agents counter" in res.stderr
    res = mirabench("--version", cwd=tmp_path)
    assert res.returncode == 0 and re.fullmatch(r"mirabench \d+\.\d+\.\d+\S*\n", res.stdout)
    res = mirabench("run", "-h", cwd=tmp_path)
    assert res.returncode == 0 and "--max-steps" in res.stdout


def test_outputs_honour_the_umask_and_reports_name_what_differs(tmp_path: Path) -> None:
    def under_022(*args: str) -> subprocess.CompletedProcess[str]:
        old = os.umask(0o022)  # the child inherits it
        try:
            return mirabench(*args, cwd=tmp_path)
        finally:
            os.umask(old)

    res = under_022(*TOY, "--agent", "counter", "--set", "suite.n=3", "--out", "a", "--budget-curve")
    assert res.returncode == 0, res.stderr
    res = under_022(*TOY, "--agent", "counter", "--set", "suite.n=3", "--set", "suite.start=5", "--out", "b")
    assert res.returncode == 0, res.stderr
    res = under_022(*TOY, "--agent", "counter", "--set", "suite.n=3", "--out", "c", "--label", "my [own] row")
    assert res.returncode == 0, res.stderr
    assert json.loads((tmp_path / "c" / "run.json").read_text())["label"] == "my [own] row"
    res = under_022("report", "a", "b", "c")  # no --out: a new folder, printed
    assert res.returncode == 0, res.stderr
    (site,) = tmp_path.glob("mirabench-report-*")
    assert f"report written to {(site / 'index.html').resolve()}" in " ".join(res.stderr.split())
    assert not (tmp_path / "report.html").exists() and not (tmp_path / "thumbs").exists()
    files = [tmp_path / "a" / n for n in ("run.json", "samples.jsonl", "summary.json", "report.html")]
    files += [*(tmp_path / "a" / "images").iterdir()]
    files += [site / "index.html", site / "leaderboard.csv", *(site / "thumbs").iterdir()]
    assert {f"{p.relative_to(tmp_path)} {p.stat().st_mode & 0o777:o}" for p in files} == {
        f"{p.relative_to(tmp_path)} 644" for p in files
    }
    # a and b are both "toy + counter": each is named by the setting that differs, c by its label
    md = mirabench("report", "a", "b", "c", "--format", "md", cwd=tmp_path).stdout
    assert "| toy + counter (suite.start=0) |" in md
    assert "| toy + counter (suite.start=5) |" in md and "| my [own] row |" in md
    page = (site / "index.html").read_text()
    legend = page.split('class="legend curve-legend">')[1].split("</p>")[0]
    assert "toy + counter (suite.start=0)" in legend  # only a has a budget curve
    assert "(no curve: toy + counter (suite.start=5), my [own] row)" in legend


def test_rough_edges_say_one_clear_thing(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    res = mirabench(*TOY, "--agent", "counter", "--out", "afile", cwd=tmp_path)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines() == [
        "error: --out afile is a file; a run directory is a folder (a new or an earlier run's)"
    ]
    # metrics that fit no sample of the suite: the reason, and a non-zero exit
    res = mirabench(*TOY[:-2], "--agent", "counter", "--metrics", "shapes", "--set", "suite.n=3", cwd=tmp_path)
    assert res.returncode == 1
    assert "nothing was scored: no metric has a value for any of the 3 finished samples" in res.stderr
    assert "(shapes: 3 skipped: no shapes ground truth)" in res.stderr
    (tmp_path / "sft.yaml").write_text("model: Qwen/Qwen2.5-VL-3B-Instruct\ndataset: nowhere/dataset\noutput_dir: o\n")
    res = mirabench("train", "sft", "--config", "sft.yaml", cwd=tmp_path)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "does not exist. Build one with `mirabench data build-mira-editing --out DIR`" in res.stderr


def test_missing_weights_message_keeps_the_whole_cause() -> None:
    from mirabench.backends.weights import missing_model

    cause = OSError("We couldn't connect to 'https://huggingface.co' " + "x" * 300 + "\nand outgoing traffic is off")
    message = str(missing_model("org/model", "kontext editor", cause))
    assert "and outgoing traffic is off)" in message and "x" * 300 in message
