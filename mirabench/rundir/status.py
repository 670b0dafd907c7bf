"""`mirabench status RUN`: how far a run (and each of its shards) has got, read-only, while it runs.

Reads run.json and every store file of the run without locking or writing anything, so it is safe to call from
a login node while ranks are editing.
"""

from __future__ import annotations

import re
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mirabench.rundir.manifest import read_manifest
from mirabench.rundir.store import open_readonly
from mirabench.rundir.writer import holders

__all__ = ["StoreProgress", "run_state", "run_status"]

_SHARD = re.compile(r"^rank-(\d+)-of-(\d+)$")


@dataclass(frozen=True)
class StoreProgress:
    """Sample counts of one store, over the samples it owns (a shard: its rank's; the run's store: all)."""

    name: str
    done: int = 0
    failed: int = 0
    running: int = 0
    pending: int = 0
    steps: int = 0
    finished_rank: bool = False

    @property
    def total(self) -> int:
        return self.done + self.failed + self.running + self.pending


def run_status(run_dir: Path) -> tuple[dict[str, Any], list[StoreProgress]]:
    """run.json (or {} before it exists) and the progress of the run's store and of every shard store."""
    manifest = read_manifest(run_dir) or {}
    out = []
    main = run_dir / "store.sqlite"
    if main.exists():
        out.append(_progress(main, "store.sqlite", None))
    for path in sorted((run_dir / "shards").glob("rank-*.sqlite")):
        m = _SHARD.match(path.stem)
        if m:
            rank, world = int(m.group(1)), int(m.group(2))
            finished = path.with_suffix(".json").exists()
            out.append(_progress(path, path.stem, (rank, world), finished))
    return manifest, out


def _progress(path: Path, name: str, shard: tuple[int, int] | None, finished: bool = False) -> StoreProgress:
    owned, args = ("", ()) if shard is None else (" WHERE idx % ? = ?", (shard[1], shard[0]))
    with closing(open_readonly(path)) as db:
        counts = dict(db.execute(f"SELECT status, COUNT(*) FROM samples{owned} GROUP BY status", args).fetchall())
        steps = db.execute(
            f"SELECT COUNT(*) FROM steps WHERE sample_id IN (SELECT id FROM samples{owned})", args
        ).fetchone()[0]
    return StoreProgress(
        name,
        counts.get("done", 0),
        counts.get("failed", 0),
        counts.get("running", 0),
        counts.get("pending", 0),
        int(steps),
        finished,
    )


def run_state(run_dir: Path, manifest: dict[str, Any]) -> str:
    """The run's status word; a run.json saying `running` with no live writer is a crashed or killed run:
    "stopped (no writer since <its last heartbeat>)"."""
    status = str(manifest.get("status", "not started"))
    if status != "running":
        return status
    found = holders(run_dir)
    live = [h for h in found if h.alive()]
    if live:
        return "running (" + ", ".join(h.describe() for h in live) + ")"
    last = max((h.heartbeat for h in found), default=None)
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(last)) if last is not None else manifest.get("updated")
    return f"stopped (no writer since {since or '?'}); run the same command again to resume"
