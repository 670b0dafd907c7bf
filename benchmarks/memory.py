"""Peak memory of a run with many large images: flat in the number of samples (lazy sources, bounded scorer queue).

Each configuration runs in its own child process through the real runner: the `shapes` suite at 1024x1024, the
`direct` agent, the `shapes` editor, and a slow toy judge (a sleep per judgement, registered below) so the scorer
lags the editor, as an API judge does behind a GPU editor. The child reports its peak RSS (VmHWM) and its RSS
before the run. Side by side:

* `pipelined` (today): shapes samples render lazily when they go live; the scorer's queue is bounded, so the
  scheduler waits for the judge instead of piling finished images up;
* `eager` (before): every sample rendered up front, unbounded scorer queue (`max_pending=0`).

In the pipelined mode at most max_live + max_pending + one scorer batch samples' images are in memory (32 + 64 +
32 with the defaults here), so peak RSS rises with N up to that many samples and stays flat beyond.

    python benchmarks/memory.py [--sizes 100,500] [--px 1024] [--max-live 32] [--judge-ms 150]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from mirabench.plugins import Column, Metric, Options, ScoreItem
from mirabench.registry import metrics
from mirabench.types import Sample, Score

MODES = ("eager", "pipelined")


class SlowJudgeOptions(Options):
    ms: float = 150.0


@metrics.register("bench-slow-judge", description="benchmark only: sleeps per judgement, scores mean brightness")
class SlowJudge(Metric):
    """A judge slower than the editor: `ms` per image, one at a time (like a rate-limited API judge)."""

    version = "1"
    Options = SlowJudgeOptions
    columns = (Column("bench-bright", 0, 255),)

    def score_batch(self, items: Sequence[ScoreItem]) -> list[dict[str, Score]]:
        out = []
        for item in items:
            time.sleep(self.options.ms / 1000)  # type: ignore[attr-defined]
            out.append({"bench-bright": Score.ok(float(np.asarray(item.edited).mean()))})
        return out


def rss_mb() -> tuple[float, float]:
    """(current RSS, peak RSS) of this process in MiB: /proc's VmRSS and VmHWM, else getrusage's peak."""
    status = Path("/proc/self/status")
    if status.exists():
        fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
    return peak, peak


def child(mode: str, n: int, args: argparse.Namespace) -> dict[str, Any]:
    import mirabench.suites.shapes as shapes_suite
    from mirabench.images import source_image
    from mirabench.run.runner import run
    from mirabench.spec import RunSpec

    max_pending = args.max_pending
    if mode == "eager":  # the suite and the scorer as they were: rendered up front, unbounded queue
        lazy = shapes_suite.ShapesSuite.sample

        def eager(self: shapes_suite.ShapesSuite, i: int) -> Sample:
            s = lazy(self, i)
            return replace(s, image=source_image(s))

        shapes_suite.ShapesSuite.sample = eager  # type: ignore[method-assign]
        max_pending = 0
    spec = RunSpec(
        suite="shapes",
        agent="direct",
        editor="shapes",
        metrics=["bench-slow-judge"],
        max_steps=1,
        seed=0,
        suite_options={"n": n, "size": args.px},
        metric_options={"bench-slow-judge": {"ms": args.judge_ms}},
    )
    before, _ = rss_mb()
    t0 = time.perf_counter()
    result = run(spec, args.out, use_cache=False, max_live=args.max_live, max_pending=max_pending)
    wall = time.perf_counter() - t0
    _, peak = rss_mb()
    return {
        "mode": mode,
        "n": n,
        "before_mb": before,
        "peak_mb": peak,
        "wall_s": wall,
        "judgements": result.judgements,
        "mean": result.summary["metrics"]["bench-bright"]["mean"],
    }


def measure(mode: str, n: int, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", mode, "--sizes", str(n), "--px", str(args.px)]
    cmd += ["--max-live", str(args.max_live), "--judge-ms", str(args.judge_ms), "--out", str(tmp / f"{mode}-{n}")]
    if args.max_pending is not None:
        cmd += ["--max-pending", str(args.max_pending)]
    env = {**os.environ, "MIRABENCH_CACHE_DIR": str(tmp / "cache")}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"child {mode} n={n} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100,500", help="sample counts, each compared with the first")
    ap.add_argument("--px", type=int, default=1024)
    ap.add_argument("--max-live", type=int, default=32)
    ap.add_argument("--judge-ms", type=float, default=150.0)
    ap.add_argument("--max-pending", type=int, help="pipelined scorer queue bound (default: the runner's)")
    ap.add_argument("--modes", default=",".join(MODES), help="eager,pipelined or one of them")
    ap.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    modes = [m for m in MODES if m in args.modes.split(",")]
    if args.child:
        print(json.dumps(child(args.child, sizes[0], args)))
        return

    from mirabench.run.scoring import PENDING_BATCHES

    print(
        f"shapes {args.px}px, direct agent, shapes editor, judge {args.judge_ms:.0f} ms/image, "
        f"max_live {args.max_live}, pipelined scorer queue "
        + (f"{args.max_pending} jobs" if args.max_pending is not None else f"{PENDING_BATCHES} batches (default)")
    )
    print(f"{'mode':<10} {'N':>5} {'peak RSS':>10} {'run growth':>11} {'wall':>8}")
    rows: dict[tuple[str, int], dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in modes:
            for n in sizes:
                r = rows[(mode, n)] = measure(mode, n, args, Path(tmp))
                growth = r["peak_mb"] - r["before_mb"]
                print(f"{mode:<10} {n:>5} {r['peak_mb']:>7.0f} MiB {growth:>7.0f} MiB {r['wall_s']:>7.1f}s", flush=True)
    for n in sizes if len(modes) == 2 else []:
        a, b = rows[("eager", n)], rows[("pipelined", n)]
        same = a["mean"] == b["mean"] and a["judgements"] == b["judgements"] == n
        print(f"N={n}: same scores in both modes: {same}; peak eager / pipelined = {a['peak_mb'] / b['peak_mb']:.2f}x")
    for mode in modes:
        peaks = [rows[(mode, n)]["peak_mb"] for n in sizes]
        ratios = ", ".join(
            f"N={n} / N={sizes[0]} = {p / peaks[0]:.2f}x" for n, p in zip(sizes[1:], peaks[1:], strict=True)
        )
        print(f"{mode}: peak RSS {ratios} (flat is 1.0x)")


if __name__ == "__main__":
    main()
