"""Sharding: K ranks under torchrun (CPU, 127.0.0.1) vs one process, on a latency-bound fake editor.

Both sides run the same shapes suite through `mirabench.run.runner.run` as separate processes, so both pay process
start-up; the torchrun side also pays its launcher (it imports torch), the plain side sets RANK/WORLD_SIZE itself
as a SLURM array or job script would. The editor sleeps a fixed time per request (one image at a time,
as a GPU pipeline would), so the ideal speed-up is K. The script checks that the merged summary equals the
single process's.

    python benchmarks/sharding.py [--samples 200] [--ranks 2] [--editor-ms 200]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()


def worker(args: argparse.Namespace) -> None:
    """One process of a run: the rank comes from torchrun's environment (none: the whole suite)."""
    from slowworld import SlowShapesEditor  # noqa: F401  (registers shapes-slow)

    from mirabench.run.runner import run
    from mirabench.rundir.shards import shard_from_env
    from mirabench.spec import RunSpec

    spec = RunSpec(
        suite="shapes",
        agent="heuristic",
        editor="shapes-slow",
        metrics=["shapes"],
        suite_options={"n": args.samples, "size": 128},
        editor_options={"error_rate": 0.2, "latency_ms": args.editor_ms},
    )
    result = run(spec, Path(args.out), shard=shard_from_env(), use_cache=False)
    print(json.dumps({"editor_calls": result.stats.editor_calls, "merged": result.merged}))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def timed_ranks(cmd: list[str], env: dict[str, str], world: int) -> float:
    """`world` plain processes with RANK/WORLD_SIZE set by hand, as a SLURM array or a job script would."""
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(cmd, env={**env, "RANK": str(r), "WORLD_SIZE": str(world)}, stdout=subprocess.DEVNULL)
        for r in range(world)
    ]
    if any(p.wait() != 0 for p in procs):
        raise SystemExit("a rank failed")
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--editor-ms", type=float, default=200.0)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "MIRABENCH_CACHE_DIR": f"{tmp}/cache", "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"}
        common = [str(HERE), "--worker", f"--samples={args.samples}", f"--editor-ms={args.editor_ms}"]
        one = timed([sys.executable, *common, f"--out={tmp}/one"], env)
        launcher = [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={args.ranks}"]
        rendezvous = ["--master-addr=127.0.0.1", f"--master-port={free_port()}"]
        many = timed([*launcher, *rendezvous, *common, f"--out={tmp}/many"], env)
        plain = timed_ranks([sys.executable, *common, f"--out={tmp}/plain"], env, args.ranks)
        start = timed([sys.executable, "-c", "import torch.distributed.run, mirabench.run.runner"], env)
        same = all(
            Path(f"{tmp}/one/summary.json").read_text() == Path(f"{tmp}/{way}/summary.json").read_text()
            for way in ("many", "plain")
        )
        editor_calls = json.loads(Path(f"{tmp}/one/run.json").read_text())["calls"]["editor"]
    print(f"shapes, {args.samples} samples, heuristic agent, editor {args.editor_ms} ms/request, caches off")
    print(f"editor calls: {editor_calls} (sequential editor time {editor_calls * args.editor_ms / 1000:.1f} s)")
    print(f"{'way':<22} {'wall s':>8}")
    print(f"{'1 process':<22} {one:>8.2f}")
    print(f"{f'{args.ranks} ranks (torchrun)':<22} {many:>8.2f}")
    print(f"{f'{args.ranks} ranks (RANK env)':<22} {plain:>8.2f}")
    print(f"speed-up: torchrun {one / many:.2f}x, plain ranks {one / plain:.2f}x (ideal {args.ranks}x)")
    print(f"one python start importing torchrun and mirabench: {start:.2f} s")
    print(f"merged summaries identical to the single process's: {same}")


if __name__ == "__main__":
    main()
