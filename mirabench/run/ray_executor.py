"""`mirabench run --executor ray`: the shards of a run as Ray tasks, for elastic clusters (extra `[ray]`).

Each task is one rank of an ordinary sharded run (its own shard store in the run directory, which must be on a
filesystem every node sees), so Ray adds scheduling and nothing else: a task that dies is retried by Ray and
resumes from its shard's last committed step, and the driver merges at the end exactly as `mirabench merge`.
A local Ray (no `address`) is kept on 127.0.0.1: Ray otherwise listens on the machine's public address.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mirabench.run.runner import RunError, RunResult, merge_run, resolve
from mirabench.run.runner import run as run_spec
from mirabench.rundir.shards import Shard
from mirabench.spec import RunSpec

__all__ = ["run_on_ray"]


def _rank(spec: dict[str, Any], out: str, rank: int, world: int, use_cache: bool, max_live: int) -> None:
    """One rank, inside a Ray worker: a plain sharded run (its calls reach run.json through its shard)."""
    run_spec(RunSpec(**spec), Path(out), shard=Shard(rank, world), use_cache=use_cache, max_live=max_live)


def run_on_ray(
    spec: RunSpec,
    out: Path,
    *,
    shards: int,
    address: str | None = None,
    gpus_per_shard: float = 0.0,
    cpus_per_shard: float = 1.0,
    max_retries: int = 2,
    use_cache: bool = True,
    max_live: int = 256,
    init_options: dict[str, Any] | None = None,
) -> RunResult:
    """Run `spec` as `shards` Ray tasks into `out` and merge them; joins the cluster at `address` (e.g. `auto`)
    or starts a local Ray bound to loopback. `init_options` go to `ray.init` (tests: temp dir, memory)."""
    if shards < 2:
        raise RunError(f"--executor ray needs --shards of at least 2, got {shards} (one shard: run without Ray)")
    resolve(spec)  # every plugin and option problem before a cluster starts
    if address is None:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # must precede `import ray`
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
    except ImportError:
        raise RunError("--executor ray needs Ray: pip install 'mirabench[ray]'") from None

    started = not ray.is_initialized()
    if started:
        ray.init(address=address, include_dashboard=False, **(init_options or {}))
    try:
        task = ray.remote(num_cpus=cpus_per_shard, num_gpus=gpus_per_shard, max_retries=max_retries)(_rank)
        data = spec.model_dump(mode="json")
        ray.get([task.remote(data, str(out.resolve()), r, shards, use_cache, max_live) for r in range(shards)])
    finally:
        if started:
            ray.shutdown()
    return merge_run(out, shards)
