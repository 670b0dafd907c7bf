"""Which slice of a suite this process runs: rank-strided sharding from the launcher's environment.

Sample i belongs to rank `i % world`. Nothing is keyed on the rank count except the shard's own store file, so a
run may be resumed with any number of ranks: each rank first takes over whatever earlier attempts (of any
world size) did for its samples. Ranks never talk to each other during the run (no collectives, no hangs); the
last rank to finish merges the shards (`mirabench merge RUN` does the same by hand).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

from mirabench.images import atomic_write_text
from mirabench.rundir.store import RunStore

__all__ = [
    "LOCK_NAME",
    "Shard",
    "ShardError",
    "absorb_earlier",
    "clear_rank_info",
    "pin_local_device",
    "rank_infos",
    "run_lock",
    "shard_db",
    "shard_from_env",
    "write_rank_info",
]

LOCK_NAME = ".lock"


class ShardError(ValueError):
    """A shard specification or launcher environment that makes no sense."""


@dataclass(frozen=True)
class Shard:
    rank: int
    world: int

    def __post_init__(self) -> None:
        if self.world < 1 or not 0 <= self.rank < self.world:
            raise ShardError(f"shard rank {self.rank} of world size {self.world}: need 0 <= rank < world")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """`RANK/WORLD`, e.g. `0/4` (the CLI's `--shard`)."""
        rank, sep, world = text.partition("/")
        if not sep or not rank.strip().isdigit() or not world.strip().isdigit():
            raise ShardError(f"--shard {text!r}: expected RANK/WORLD, e.g. 0/4")
        return cls(int(rank), int(world))

    @property
    def name(self) -> str:
        """The shard's file stem; zero-padded so shard files sort by rank."""
        return f"rank-{self.rank:04d}-of-{self.world:04d}"

    def owns(self, index: int) -> bool:
        return index % self.world == self.rank


def shard_from_env(env: Mapping[str, str] | None = None) -> Shard | None:
    """The shard a launcher asked for: torchrun / accelerate (`RANK`, `WORLD_SIZE`), a SLURM job array
    (`SLURM_ARRAY_TASK_ID` within `SLURM_ARRAY_TASK_MIN`..`COUNT`) or SLURM tasks (`SLURM_PROCID`, `SLURM_NTASKS`).
    None for a single process."""
    env = os.environ if env is None else env
    candidates = (
        ("RANK", "WORLD_SIZE", None),
        ("SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN"),
        ("SLURM_PROCID", "SLURM_NTASKS", None),
    )
    for rank_var, world_var, min_var in candidates:
        if rank_var not in env or world_var not in env:
            continue
        try:
            rank = int(env[rank_var]) - (int(env[min_var]) if min_var and min_var in env else 0)
            world = int(env[world_var])
        except ValueError:
            raise ShardError(
                f"{rank_var}={env[rank_var]!r} / {world_var}={env[world_var]!r} are not integers"
            ) from None
        shard = Shard(rank, world)
        return shard if shard.world > 1 else None
    return None


def pin_local_device(env: MutableMapping[str, str] | None = None, gpus_per_rank: int = 0) -> None:
    """Give this rank its own GPU(s) on a node, from its local rank (`LOCAL_RANK`: torchrun, accelerate;
    `SLURM_LOCALID`: srun). Nothing happens without a local rank.

    `gpus_per_rank` K > 0: before anything imports torch, narrow CUDA_VISIBLE_DEVICES to the rank's K GPUs, so a
    plugin's `cuda:0` .. `cuda:K-1` are its own (e.g. agent on cuda:0, editor on cuda:1 with K=2). Default: make
    GPU `local rank % GPUs seen` the current device, so plugins saying `cuda` land on their own GPU (with fewer
    than two GPUs, e.g. a SLURM array task that sees only its own, nothing changes)."""
    env = os.environ if env is None else env
    local = env.get("LOCAL_RANK", env.get("SLURM_LOCALID"))
    if local is None:
        return
    if gpus_per_rank > 0:
        if "torch" in sys.modules:
            raise ShardError("--gpus-per-rank must be applied before torch is imported")
        seen = [d.strip() for d in env.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]
        first = int(local) * gpus_per_rank
        mine = seen[first : first + gpus_per_rank] if seen else [str(i) for i in range(first, first + gpus_per_rank)]
        if seen and len(mine) < gpus_per_rank:
            wanted = f"GPUs {first}..{first + gpus_per_rank - 1}"
            raise ShardError(
                f"local rank {local} with --gpus-per-rank {gpus_per_rank} needs {wanted}: {len(seen)} visible"
            )
        env["CUDA_VISIBLE_DEVICES"] = ",".join(mine)
        return
    if importlib.util.find_spec("torch") is None:
        return
    import torch

    if torch.cuda.is_available() and torch.cuda.device_count() > 1:
        torch.cuda.set_device(int(local) % torch.cuda.device_count())


# -- the run directory's shard files ------------------------------------------------------------------------------


def shard_dir(run_dir: Path) -> Path:
    return run_dir / "shards"


def shard_db(run_dir: Path, shard: Shard) -> Path:
    """The shard's own SQLite store: one writer per file, so ranks never contend for a lock."""
    return shard_dir(run_dir) / f"{shard.name}.sqlite"


def run_lock(run_dir: Path) -> FileLock:
    """Serialises what ranks share: run.json's read-modify-write and the merge."""
    run_dir.mkdir(parents=True, exist_ok=True)
    return FileLock(run_dir / LOCK_NAME)


def absorb_earlier(store: RunStore, shard: Shard | None) -> int:
    """Before work starts, take over what earlier attempts (any world size) did for this process's samples.

    Files of the same world size but another rank are skipped: they hold none of this rank's samples and their
    writers may be running now."""
    run_dir = store.run_dir
    sources = [run_dir / "store.sqlite", *sorted(shard_dir(run_dir).glob("rank-*.sqlite"))]
    wanted: Callable[[str], bool] = lambda _: True  # noqa: E731
    if shard is not None:
        world_tag = f"-of-{shard.world:04d}"
        sources = [p for p in sources if not p.stem.endswith(world_tag)]
        mine = store.sample_ids(shard.owns)
        wanted = mine.__contains__
    return sum(store.absorb(p, wanted) for p in sources if p.exists() and p != store.path)


def write_rank_info(run_dir: Path, shard: Shard, info: dict[str, Any]) -> None:
    """A rank's closing record (calls, backend and metric info); its presence says the rank finished."""
    atomic_write_text(shard_dir(run_dir) / f"{shard.name}.json", json.dumps(info, indent=2, sort_keys=True))


def clear_rank_info(run_dir: Path, shard: Shard) -> None:
    (shard_dir(run_dir) / f"{shard.name}.json").unlink(missing_ok=True)


def rank_infos(run_dir: Path, world: int) -> dict[int, dict[str, Any]]:
    """Closing records of the ranks of a world size that have finished, by rank."""
    out = {}
    for rank in range(world):
        path = shard_dir(run_dir) / f"{Shard(rank, world).name}.json"
        if path.exists():
            out[rank] = json.loads(path.read_text())
    return out
