"""Trials of the one-writer rule and crash recovery, through the real CLI (shapes world, CPU, no cache):

* `second writer`: while a `mirabench run` is writing, a second `run` and a `score` on the same --out must each
  be refused at once with one line naming the holder; the first run must then complete (status complete).
* `kill -9 + resume`: a run killed at a random moment (seeded) must read as "stopped (no writer since ...)" in
  `mirabench status`, resume to samples.jsonl / summary.json byte-identical to an uninterrupted run, and leave
  no temp file behind.

    python benchmarks/writer_trials.py [--trials 10] [--n 120] [--seed 0]
Prints: test | trials | survived | lost.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLI = [sys.executable, "-m", "mirabench"]


def run_args(out: Path, n: int) -> list[str]:
    return [
        *CLI,
        "run",
        "--suite",
        "shapes",
        "--agent",
        "heuristic",
        "--editor",
        "shapes",
        "--metrics",
        "shapes",
        "--set",
        f"suite.n={n}",
        "--no-cache",
        "--out",
        str(out),
    ]


def wait_running(out: Path, proc: subprocess.Popen[bytes]) -> bool:
    """Until the run holds its lock (its owner file exists) or has ended; polling is fine outside tests."""
    while proc.poll() is None:
        if any((out / ".writers").glob("*.json")):
            return True
        time.sleep(0.02)
    return False


def outputs(out: Path) -> tuple[bytes, bytes]:
    return (out / "samples.jsonl").read_bytes(), (out / "summary.json").read_bytes()


def temps(out: Path) -> list[Path]:
    return [p for p in out.rglob("*.tmp")]


def second_writer(tmp: Path, n: int, i: int) -> bool:
    out = tmp / f"two-{i}"
    first = subprocess.Popen(run_args(out, n), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not wait_running(out, first):
        return False
    refused = []
    for cmd in (run_args(out, n), [*CLI, "score", str(out), "--metrics", "shapes"]):
        done = subprocess.run(cmd, capture_output=True, text=True)
        lines = [ln for ln in (done.stdout + done.stderr).splitlines() if ln.strip()]
        refused.append(done.returncode == 2 and len(lines) == 1 and f"pid {first.pid} on " in lines[0])
    first.wait()
    status = json.loads((out / "run.json").read_text()).get("status")
    return all(refused) and first.returncode == 0 and status == "complete"


def kill_and_resume(tmp: Path, n: int, i: int, rng: random.Random, reference: Path) -> bool:
    out = tmp / f"kill-{i}"
    proc = subprocess.Popen(run_args(out, n), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not wait_running(out, proc):
        return False
    time.sleep(rng.uniform(0.0, 1.5))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    shown = subprocess.run([*CLI, "status", str(out)], capture_output=True, text=True)
    status = " ".join((shown.stderr + shown.stdout).split())
    said_stopped = "stopped (no writer since" in status or ": complete" in status  # killed after it finished
    done = subprocess.run(run_args(out, n), capture_output=True, text=True)
    checks = {
        "resumed": done.returncode == 0,
        "status said stopped": said_stopped,
        "identical": outputs(out) == outputs(reference),
        "no temp left": not temps(out),
    }
    if not all(checks.values()):
        print(f"kill trial {i}: failed {[k for k, v in checks.items() if not v]}: {status[:200]}", file=sys.stderr)
    return all(checks.values())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--n", type=int, default=600)  # long enough (~10 s) to start two more CLIs meanwhile
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        subprocess.run(run_args(tmp / "reference", args.n), check=True, capture_output=True)
        results = {
            "second writer (run + score refused, first completes)": [
                second_writer(tmp, args.n, i) for i in range(args.trials)
            ],
            "kill -9 at random, status, resume (identical, no temp left)": [
                kill_and_resume(tmp, args.n, i, rng, tmp / "reference") for i in range(args.trials)
            ],
        }
    print("| test | trials | survived | lost |\n|---|---|---|---|")
    for test, ok in results.items():
        print(f"| {test} | {len(ok)} | {sum(ok)} | {len(ok) - sum(ok)} |")


if __name__ == "__main__":
    main()
