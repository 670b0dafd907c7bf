"""Does the editor (the GPU) wait for the judges? Its busy fraction of wall time, three ways side by side.

A shapes run (heuristic agent) whose editor stands in for a GPU: `shapes-gpu` takes a fixed 200 ms per micro-batch
of up to 8 requests. Scored by the real `gpt-sc` judge path (JudgeClient, JPEG encoding, parsing) against the fake
OpenAI server in its own process answering after 400 ms. Busy fraction = time inside `edit_batch` / wall time.

* mirabench: one `run` with the metric; the background scorer judges finished samples while the next waves edit;
* run, then score: `run` without metrics, then `score` on the run directory (judging starts when editing ends);
* per-sample loop: edit a sample to the end, judge it, then the next (mirabench with `max_live=1` and
  `score_between_waves`, so the same code and calls; measured on `--loop-samples`, the fraction does not depend
  on how many).

Caches off (a fresh cache folder per way). Target: mirabench's busy fraction >= 95%.

    python benchmarks/overlap.py [--samples 200] [--loop-samples 20] [--editor-ms 200] [--judge-ms 400]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from slowworld import GpuShapesEditor

from mirabench.run.runner import run, score_run
from mirabench.spec import RunSpec

FAKE = Path(__file__).resolve().parent.parent / "tests" / "fakes" / "api_server.py"


def measure(work: Callable[[Path], object], tmp: Path, name: str) -> tuple[float, float, float, float]:
    """(wall, editor busy, before the first edit, after the last edit) of one way in seconds, in a fresh run
    directory and cache."""
    os.environ["MIRABENCH_CACHE_DIR"] = str(tmp / f"cache-{name}")
    GpuShapesEditor.busy_s, GpuShapesEditor.first, GpuShapesEditor.last = 0.0, None, None
    t0 = time.perf_counter()
    work(tmp / name)
    end = time.perf_counter()
    first, last = GpuShapesEditor.first or t0, GpuShapesEditor.last or end
    return end - t0, GpuShapesEditor.busy_s, first - t0, end - last


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--loop-samples", type=int, default=20)
    ap.add_argument("--editor-ms", type=float, default=200.0, help="per micro-batch of 8")
    ap.add_argument("--judge-ms", type=float, default=400.0, help="judge API latency per call")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mirabench-overlap-"))
    server = subprocess.Popen(
        [sys.executable, str(FAKE), "--latency", str(args.judge_ms / 1000)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        base = f"http://127.0.0.1:{server.stdout.readline().strip()}"
        os.environ.update({"OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": base + "/v1"})

        def spec(n: int, metrics: list[str]) -> RunSpec:
            return RunSpec(
                suite="shapes",
                agent="heuristic",
                editor="shapes-gpu",
                metrics=metrics,
                suite_options={"n": n, "size": 128},
                editor_options={"error_rate": 0.2, "batch_ms": args.editor_ms},
            )

        def run_then_score(out: Path) -> None:
            run(spec(args.samples, []), out, use_cache=False)
            score_run(out, ["gpt-sc"])

        ways = {
            "mirabench (judges overlap editing)": measure(
                lambda out: run(spec(args.samples, ["gpt-sc"]), out, use_cache=False), tmp, "pipelined"
            ),
            "run, then score": measure(run_then_score, tmp, "then-score"),
            f"per-sample loop ({args.loop_samples} samples)": measure(
                lambda out: run(
                    spec(args.loop_samples, ["gpt-sc"]), out, use_cache=False, max_live=1, score_between_waves=True
                ),
                tmp,
                "per-sample",
            ),
        }
    finally:
        server.terminate()
        server.wait()
    load = os.getloadavg()[0]
    print(
        f"shapes, {args.samples} samples at 128 px, heuristic agent; editor {args.editor_ms:.0f} ms per micro-batch "
        f"of 8; gpt-sc judge at {args.judge_ms:.0f} ms per call (fake server); load average {load:.2f}"
    )
    head = f"{'way':<40} {'wall s':>8} {'editor busy s':>14} {'busy fraction':>14}"
    print(f"{head} {'before 1st edit':>16} {'after last':>11}")
    for name, (wall, busy, head, tail) in ways.items():
        print(f"{name:<40} {wall:>8.2f} {busy:>14.2f} {100 * busy / wall:>13.1f}% {head:>15.2f}s {tail:>10.2f}s")
    busy = ways["mirabench (judges overlap editing)"]
    print(f"target >= 95% busy: {'met' if busy[1] / busy[0] >= 0.95 else 'NOT met'}")


if __name__ == "__main__":
    main()
