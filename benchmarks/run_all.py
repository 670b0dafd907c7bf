"""Every benchmark's headline figure in one table, so a regression shows in every CI log.

Runs each script below as its own process (quick sizes with `--quick`, the README's sizes without), keeps the line
that carries its headline figure, and prints one Markdown table with the date, the machine and its load. A script
that fails or runs past its time bound gets a row saying so; the table is information, never a gate (exit 0).
Scripts that need a GPU or real weights (gpu.py, editor_speed.py) and the long training run (train_shapes.py) are
not run here.

    python benchmarks/run_all.py [--quick] [--only overhead,overlap] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Bench:
    script: str
    what: str
    quick: list[str]
    full: list[str]
    headline: str  # regex; the last matching line is the figure: `fmt` filled with its groups, else group 1 or all
    fmt: str = ""
    limit_s: int = 600


BENCHES = [
    Bench(
        "overhead.py",
        "harness cost per sample-step, 512px, 1 core, cache off",
        ["--samples", "100"],
        [],
        r"cache off\): .*?harness overhead ([\d.]+) ms per sample-step \(CPU ([\d.]+) ms, ([\d.]+) of it in the "
        r"kernel.*disk: ([\d.]+) ms",
        "{0} ms wall, {1} ms CPU ({2} ms of it in the kernel: the disk); writing a 400 kB file {3} ms",
    ),
    Bench(
        "overlap.py",
        "GPU (editor + agent) busy while an API judge scores; 200 ms/batch editor, 400 ms judge",
        ["--samples", "64", "--loop-samples", "3"],
        [],
        r"^mirabench \(judges overlap editing\)\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+([\d.]+)%\s+([\d.]+)%",
        "GPU busy {1}% (editor alone {0}%)",
    ),
    Bench(
        "study_cost.py",
        "the paper's whole study: mirabench's plan / naive protocol",
        ["--samples", "8"],
        [],
        r"mirabench / naive: (.*?); target.*against naive with B and C sharing runs: all calls ([\d.]+x)",
        "{0}; vs naive with Tables B and C sharing runs {1} (the plan's floor)",
    ),
    Bench(
        "ablation.py",
        "step budgets 3-7 derived from one run vs one run per budget",
        ["--samples", "20"],
        [],
        r"saved by deriving: (.*)",
    ),
    Bench(
        "cache_rerun.py",
        "same config again from a warm cache",
        ["--samples", "20"],
        [],
        r"(wall-time ratio cold/warm: .*)",
    ),
    Bench(
        "judge_throughput.py",
        "API judge client vs openai SDK + semaphore, 200 ms, 429s with Retry-After, concurrency 32",
        ["--calls", "300", "--quota-calls", "100", "--sequential-calls", "5", "--scenarios", "retry-after"],
        [],
        r"^\| retry-after \| mirabench \| ([\d.]+) \| ([\d.]+x) \| (\d+) \|",
        "{1} the reference client's wall, {2} lost",
    ),
    Bench(
        "sharding.py",
        "2 ranks vs 1 process, latency-bound editor",
        ["--samples", "40", "--editor-ms", "100"],
        [],
        r"(speed-up: .*)",
    ),
    Bench(
        "soak.py",
        "samples through a judge failing 10% of the time",
        ["--samples", "200"],
        [],
        r"^(mismatched samples: \d+|PASS|FAIL)$",
    ),
    Bench(
        "memory.py",
        "peak RSS vs samples (1024px)",
        ["--sizes", "20,60", "--px", "512", "--modes", "pipelined"],
        [],
        r"(pipelined: peak RSS .*)",
    ),
    Bench(
        "report_scale.py",
        "report over runs x samples",
        ["--samples", "50", "--systems", "3"],
        [],
        r"(write_report warm: .*)",
    ),
    Bench(
        "batching.py",
        "one batched call vs single calls (tiny models, CPU)",
        ["--repeats", "2"],
        [],
        r"(overall ratio [\d.]+x)",
    ),
]


def run_one(bench: Bench, quick: bool) -> tuple[str, float, str]:
    """(figure or failure, seconds, full output)."""
    args = bench.quick if quick else bench.full
    cmd = [sys.executable, str(HERE / bench.script), *args]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=bench.limit_s, cwd=HERE.parent)
    except subprocess.TimeoutExpired:
        return f"did not finish in {bench.limit_s} s", time.perf_counter() - t0, ""
    wall = time.perf_counter() - t0
    out = proc.stdout + proc.stderr
    found = [m for m in (re.search(bench.headline, line) for line in proc.stdout.splitlines()) if m]
    if proc.returncode != 0:
        last = (out.strip().splitlines() or ["no output"])[-1]
        return f"failed (exit {proc.returncode}): {last[:150]}", wall, out
    if not found:
        return "no headline line in its output", wall, out
    m = found[-1]
    if bench.fmt:
        return bench.fmt.format(*m.groups()), wall, out
    return (m.group(1) if m.groups() else m.group(0)).strip(), wall, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes: the whole table in a few minutes")
    ap.add_argument("--only", default="", help="comma-separated script names without .py")
    ap.add_argument("--markdown", type=Path, help="also write the table to this file")
    ap.add_argument("--verbose", action="store_true", help="print every script's full output")
    args = ap.parse_args()
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    benches = [b for b in BENCHES if not only or b.script.removesuffix(".py") in only]
    load0 = os.getloadavg()[0]
    rows = []
    for bench in benches:
        print(f"running {bench.script} ...", file=sys.stderr, flush=True)
        figure, wall, out = run_one(bench, args.quick)
        if args.verbose:
            print(out, file=sys.stderr)
        rows.append(f"| {bench.script} | {bench.what} | {figure.replace('|', '/')} | {wall:.0f} s |")
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    lines = [
        f"Benchmarks ({'quick sizes' if args.quick else 'full sizes'}), {stamp}, {machine}, "
        f"load average {load0:.2f} at start, {os.getloadavg()[0]:.2f} at end",
        "",
        "| script | what | headline | took |",
        "|---|---|---|---|",
        *rows,
    ]
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
