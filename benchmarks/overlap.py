"""Does the editor (the GPU) wait for the judges? Its busy fraction of wall time, three ways side by side.

A shapes run (heuristic agent) whose editor stands in for a GPU: `shapes-gpu` takes a fixed 200 ms per micro-batch
of up to 8 requests. Scored by the real `gpt-sc` judge path (JudgeClient, JPEG encoding, parsing) against the fake
OpenAI server in its own process answering after 400 ms. Editor busy = time inside `edit_batch` / wall time; GPU
busy adds the agent's planning time (in the paper's systems the agent is a VLM on the same accelerator; here the
heuristic agent is CPU code, so it stands in for that).

* mirabench: one `run` with the metric; the background scorer judges finished samples while the next waves edit;
* run, then score: `run` without metrics, then `score` on the run directory (judging starts when editing ends);
* per-sample loop: edit a sample to the end, judge it, then the next (mirabench with `max_live=1` and
  `score_between_waves`, so the same code and calls; measured on `--loop-samples`, the fraction does not depend
  on how many).

Caches off (a fresh cache folder per way); a 4-sample warm-up run first pays the one-time imports. Also printed:
the time before the first edit (start-up: suite, store, metric clients), after the last edit (the last judgements,
summary, report). Target: mirabench's GPU busy >= 95%.

    python benchmarks/overlap.py [--samples 200] [--loop-samples 10] [--editor-ms 200] [--judge-ms 400]
                                 [--max-live 64] [--concurrency 32] [--size 128]
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

from mirabench.run.runner import RunResult, run, score_run
from mirabench.spec import RunSpec

PIPELINED = "mirabench (judges overlap editing)"
FAKE = Path(__file__).resolve().parent.parent / "tests" / "fakes" / "api_server.py"


def measure(work: Callable[[Path], RunResult], tmp: Path, name: str) -> tuple[float, float, float, float, float]:
    """(wall, editor busy, agent busy, before the first edit, after the last edit) of one way in seconds, in a
    fresh run directory and cache."""
    os.environ["MIRABENCH_CACHE_DIR"] = str(tmp / f"cache-{name}")
    GpuShapesEditor.busy_s, GpuShapesEditor.first, GpuShapesEditor.last = 0.0, None, None
    t0 = time.perf_counter()
    result = work(tmp / name)
    end = time.perf_counter()
    first, last = GpuShapesEditor.first or t0, GpuShapesEditor.last or end
    return end - t0, GpuShapesEditor.busy_s, result.stats.agent_s, first - t0, end - last


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--loop-samples", type=int, default=10)
    ap.add_argument("--editor-ms", type=float, default=200.0, help="per micro-batch of 8")
    ap.add_argument("--judge-ms", type=float, default=400.0, help="judge API latency per call")
    ap.add_argument("--max-live", type=int, default=64, help="samples in flight (the run's --max-live)")
    ap.add_argument("--concurrency", type=int, default=32, help="judge calls in flight (gpt-sc max_concurrency)")
    ap.add_argument("--size", type=int, default=128, help="image side in px (the judge sends JPEGs of this size)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mirabench-overlap-"))
    server = subprocess.Popen(
        [sys.executable, str(FAKE), "--latency", str(args.judge_ms / 1000)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        base = f"http://127.0.0.1:{server.stdout.readline().strip()}"
        os.environ.update({"OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": base + "/v1"})

        judge = {"max_concurrency": args.concurrency}

        def spec(n: int, metrics: list[str]) -> RunSpec:
            return RunSpec(
                suite="shapes",
                agent="heuristic",
                editor="shapes-gpu",
                metrics=metrics,
                metric_options={m: judge for m in metrics},
                suite_options={"n": n, "size": args.size},
                editor_options={"error_rate": 0.2, "batch_ms": args.editor_ms},
            )

        def run_then_score(out: Path) -> RunResult:
            edited = run(spec(args.samples, []), out, use_cache=False, max_live=args.max_live)
            score_run(out, ["gpt-sc"], {"gpt-sc": judge})
            return edited

        measure(lambda out: run(spec(4, ["gpt-sc"]), out, use_cache=False), tmp, "warm-up")  # imports, clients
        ways = {
            PIPELINED: measure(
                lambda out: run(spec(args.samples, ["gpt-sc"]), out, use_cache=False, max_live=args.max_live),
                tmp,
                "pipelined",
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
        f"shapes, {args.samples} samples at {args.size} px, heuristic agent; editor {args.editor_ms:.0f} ms per "
        f"micro-batch of 8; gpt-sc judge at {args.judge_ms:.0f} ms per call (fake server), {args.concurrency} in "
        f"flight; max_live {args.max_live}; load average {load:.2f}"
    )
    print(
        f"{'way':<36} {'wall s':>7} {'editor s':>9} {'agent s':>8} {'editor busy':>12} {'GPU busy':>9} "
        f"{'before 1st edit':>16} {'after last':>11}"
    )
    for name, (wall, editor, agent, first, tail) in ways.items():
        print(
            f"{name:<36} {wall:>7.2f} {editor:>9.2f} {agent:>8.2f} {100 * editor / wall:>11.1f}% "
            f"{100 * (editor + agent) / wall:>8.1f}% {first:>15.2f}s {tail:>10.2f}s"
        )
    wall, editor, agent, _, _ = ways[PIPELINED]
    print(
        f"GPU busy = editor + agent time (both are models on the accelerator in the paper's systems; the heuristic "
        f"agent here is CPU code); target >= 95%: {'met' if (editor + agent) / wall >= 0.95 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
