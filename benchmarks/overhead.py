"""Harness overhead per sample-step with zero-latency backends on 512x512 images.

Runs the real scheduler and store (hashing, PNG encoding, SQLite commits, cache) with an agent and an editor that
cost almost nothing, and a bare sequential loop calling the same backends with no storage, side by side. The
difference is what mirabench itself costs per sample-step. Target: under 3 ms per sample-step on one core.
The figure is the run's wall time less the CPU time the backends used (not their wall time: on one core the run's
background threads, e.g. the committer, run while a backend call is in progress, and subtracting that call's wall
time would hide their work). CPU time (process minus backends) is printed beside it because on a shared machine
other jobs stretch the wall time but not the CPU time.

The run directories go under `--dir` (default benchmarks/out/, the project's disk, where a user's runs/ also is) and
are deleted when the script ends, never between its runs: ext4 looks past recently deleted inodes when it allocates
new ones (the kernel's `recently_deleted` check), so files created just after a run's ~1,200 files were deleted cost
several times more (seen here: 0.6-0.8 ms instead of 0.02-0.1 ms per file, the largest swing in this figure). The
script prints what writing one PNG-sized file costs there, the disk's share of a sample-step.

    python benchmarks/overhead.py [--samples 200] [--steps 5] [--cores 1] [--dir benchmarks/out]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from mirabench.plugins import Agent, Editor, Options, Suite
from mirabench.registry import agents, editors, suites
from mirabench.run.runner import run
from mirabench.spec import RunSpec
from mirabench.types import Action, AgentState, Edit, EditRequest, Sample, Stop


def photo(size: int = 512) -> Image.Image:
    """A natural photograph when scikit-image is installed (PNG cost depends on content), else a gradient."""
    try:
        from skimage import data

        return Image.fromarray(data.astronaut()).resize((size, size))
    except ImportError:
        y, x = np.mgrid[0:size, 0:size]
        arr = np.stack([x % 256, y % 256, (x + y) % 256], axis=-1).astype(np.uint8)
        return Image.fromarray(arr)


class BenchOptions(Options):
    n: int = 200
    steps: int = 5


@suites.register("bench-photos")
class PhotoSuite(Suite):
    """n copies of one 512x512 photo."""

    Options = BenchOptions

    def samples(self) -> Iterator[Sample]:
        img = photo()
        for i in range(self.options.n):  # type: ignore[attr-defined]
            yield Sample(f"s{i:05d}", "make it different", img)


BACKEND = {"cpu": 0.0}
"""CPU time spent inside the backends themselves, measured where they run (the harness's own timers include
hashing and cache look-ups, which are harness work)."""


class _Clock:
    def __enter__(self) -> None:
        self.cpu = time.thread_time()

    def __exit__(self, *exc: object) -> None:
        BACKEND["cpu"] += time.thread_time() - self.cpu


@agents.register("bench-fixed")
class FixedAgent(Agent):
    """Asks for `steps` edits, then stops; no perception."""

    Options = BenchOptions

    def plan(self, state: AgentState) -> Action:
        with _Clock():
            return Edit(f"tweak {state.step}") if state.step < self.options.steps else Stop("done")  # type: ignore[attr-defined]


@editors.register("bench-tweak")
class TweakEditor(Editor):
    """Returns a new image that differs in one pixel (so every step stores a new PNG)."""

    def edit_batch(self, requests: Sequence[EditRequest]) -> list[Image.Image]:
        with _Clock():
            out = []
            for r in requests:
                arr = np.array(r.image)
                arr[r.seed % arr.shape[0], 0] ^= 0xFF
                out.append(Image.fromarray(arr))
            return out


def bare_loop(n: int, steps: int) -> float:
    """The same backends with no harness: plan, edit, keep the image in memory."""
    agent, editor = FixedAgent(steps=steps), TweakEditor()
    source = photo()
    t0 = time.perf_counter()
    for i in range(n):
        sample = Sample(f"s{i:05d}", "make it different", source)
        latest, history = source, 0
        while True:
            action = agent.plan(AgentState(sample, source, latest, history))
            if not isinstance(action, Edit):
                break
            latest = editor.edit_batch([EditRequest(latest, action.instruction, i * 31 + history)])[0]
            history += 1
    return time.perf_counter() - t0


def harness(n: int, steps: int, use_cache: bool, where: Path) -> dict[str, Any]:
    """One run into a new folder under `where` (kept until the script ends: see `main`)."""
    spec = RunSpec(
        suite="bench-photos",
        agent="bench-fixed",
        editor="bench-tweak",
        metrics=[],
        max_steps=steps,
        suite_options={"n": n},
        agent_options={"n": n, "steps": steps},
    )
    tmp = Path(tempfile.mkdtemp(dir=where))
    os.environ["MIRABENCH_CACHE_DIR"] = str(tmp / "cache")
    BACKEND.update(cpu=0.0)
    t0, c0, k0 = time.perf_counter(), time.process_time(), os.times().system
    result = run(spec, tmp / "run", use_cache=use_cache)
    wall, cpu, kernel = time.perf_counter() - t0, time.process_time() - c0, os.times().system - k0
    ss = n * steps
    return {
        "wall": wall,
        "sample_steps": ss,
        "harness_ms": 1000 * (wall - BACKEND["cpu"]) / ss,
        "harness_cpu_ms": 1000 * (cpu - BACKEND["cpu"]) / ss,
        "kernel_ms": 1000 * kernel / ss,
        "store_ms": 1000 * result.stats.store_s / ss,
    }


def file_cost_ms(where: Path, n: int = 200, size: int = 400_000) -> float:
    """What creating and writing one PNG-sized file costs in `where` now (the disk's share of a sample-step)."""
    probe = Path(tempfile.mkdtemp(dir=where))
    data = os.urandom(size)
    t0 = time.perf_counter()
    for i in range(n):
        (probe / f"{i}.bin").write_bytes(data)
    return 1000 * (time.perf_counter() - t0) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--cores", type=int, default=1, help="pin the process to this many cores")
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path("benchmarks/out"),
        help="where the run directories go (a user's runs/ sits "
        "on the project's disk); all are deleted when the script ends, not between runs (see the module docstring)",
    )
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[: args.cores]))
    n, steps = args.samples, args.steps
    args.dir.mkdir(parents=True, exist_ok=True)
    where = Path(tempfile.mkdtemp(prefix="overhead-", dir=args.dir))
    try:
        _measure(n, steps, args.cores, where)
    finally:
        shutil.rmtree(where, ignore_errors=True)


def _measure(n: int, steps: int, cores: int, where: Path) -> None:
    harness(10, steps, False, where)  # one-time costs (report modules, templates) are not per sample-step
    bare = bare_loop(n, steps)  # after the warm-up run: under the same allocator settings as the runs
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    disk = file_cost_ms(where)
    print(
        f"machine: {os.cpu_count()} cores visible, pinned to {cores}, load average {load:.2f}; "
        f"{n} samples x {steps} steps, 512x512; run directories in {where.parent} "
        f"(writing a 400 kB file there: {disk:.2f} ms)"
    )
    print(f"bare sequential loop (no storage): {bare:.2f} s = {1000 * bare / (n * steps):.3f} ms per sample-step")
    for use_cache in (False, True):
        h = harness(n, steps, use_cache, where)
        per = h["harness_ms"]
        print(
            f"mirabench run (cache {'on' if use_cache else 'off'}): {h['wall']:.2f} s wall, "
            f"{h['sample_steps'] / h['wall']:.0f} sample-steps/s; harness overhead {per:.2f} ms per sample-step "
            f"(CPU {h['harness_cpu_ms']:.2f} ms, {h['kernel_ms']:.2f} of it in the kernel: files, page faults; "
            f"committing, on its own thread: {h['store_ms']:.2f} ms wall); "
            f"ratio to bare loop {h['wall'] / bare:.1f}x; target < 3 ms: {'met' if per < 3 else 'NOT met'} "
            f"(disk: {disk:.2f} ms per 400 kB file)"
        )


if __name__ == "__main__":
    main()
