"""One writer per run directory: an OS lock on `.writer.lock` plus an owner file with PID, host and heartbeat.

`run`, `score` and `import` hold it exclusively; the ranks of a sharded run and `merge` share it (each rank writes
its own shard store). A second writer is refused at once with one line naming the holder. The OS releases the
lock when its process dies (kill -9 included), so a crashed writer never blocks a resume; its owner file stays
behind and tells `mirabench status` when the run last had a writer. Readers (status, report, compare) never take
the lock. Temp files are swept only under the exclusive lock, and never those of a process still alive here.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mirabench.images import atomic_write_text

__all__ = ["HEARTBEAT_S", "Holder", "WriterBusy", "WriterLock", "holders", "sweep_temps", "writer_lock"]

LOCK_FILE = ".writer.lock"
OWNERS = ".writers"
HEARTBEAT_S = 15.0
"""How often a live writer refreshes its owner file."""
STALE_S = 4 * HEARTBEAT_S
"""A writer on another host whose heartbeat is older than this is taken as gone (its PID cannot be checked)."""
_TEMP_PID = re.compile(r"\.(\d+)(\.[A-Za-z0-9_]+)?\.tmp$")


class WriterBusy(RuntimeError):
    """Another process is writing this run directory; the message names it."""


@dataclass(frozen=True)
class Holder:
    """A writer as its owner file records it."""

    pid: int
    host: str
    since: str
    heartbeat: float
    mode: str

    def alive(self, now: float | None = None) -> bool:
        """On this host: is its PID running; elsewhere: is its heartbeat recent."""
        if self.host == socket.gethostname():
            return _pid_alive(self.pid)
        return (now if now is not None else time.time()) - self.heartbeat < STALE_S

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host} since {self.since}"


def holders(run_dir: Path) -> list[Holder]:
    """Every owner file of the run dir (live and crashed writers), read without any lock or write."""
    out = []
    for path in sorted((run_dir / OWNERS).glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            out.append(
                Holder(
                    int(data["pid"]),
                    str(data["host"]),
                    str(data["since"]),
                    float(data["heartbeat"]),
                    str(data.get("mode", "exclusive")),
                )
            )
        except (OSError, ValueError, KeyError, TypeError):
            continue  # half-written by a writer killed mid-heartbeat: not a holder
    return out


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _now_text() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class WriterLock:
    """A held writer lock (see `writer_lock`)."""

    def __init__(self, run_dir: Path, shared: bool) -> None:
        self.run_dir = run_dir
        self.shared = shared
        self.owner = run_dir / OWNERS / f"{socket.gethostname()}.{os.getpid()}.json"
        self.since = _now_text()
        self._stop = threading.Event()
        self._fd = -1
        self._thread: threading.Thread | None = None

    def acquire(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, (fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            live = [h for h in holders(self.run_dir) if h.alive()]
            who = ", ".join(h.describe() for h in live) or "another process"
            raise WriterBusy(
                f"{self.run_dir} is being written by {who}; wait for it to end (`mirabench status` reads it meanwhile)"
            ) from None
        try:
            for old in holders(self.run_dir):  # crashed writers' owner files: the lock says none of them writes
                if not self.shared or (old.host == socket.gethostname() and not old.alive()):
                    (self.run_dir / OWNERS / f"{old.host}.{old.pid}.json").unlink(missing_ok=True)
            if not self.shared:
                sweep_temps(self.run_dir)  # first: it may free the space the owner file needs
            self._beat()
        except BaseException:  # e.g. a full disk: let go of the lock, nothing else was touched
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            raise
        self._thread = threading.Thread(target=self._heartbeat, name="writer-heartbeat", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        record = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": self.since,
            "heartbeat": time.time(),
            "heartbeat_at": _now_text(),
            "mode": "shared" if self.shared else "exclusive",
        }
        atomic_write_text(self.owner, json.dumps(record, sort_keys=True) + "\n")

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                self._beat()
            except OSError:  # a full disk: the lock itself still holds; status shows an older heartbeat
                continue

    def moved(self, new_dir: Path) -> None:
        """The run dir was renamed while held (--force-new moves a run aside): its owner file moved with it."""
        self.run_dir = new_dir
        self.owner = new_dir / OWNERS / self.owner.name

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.owner.unlink(missing_ok=True)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)


_HELD: dict[Path, WriterLock] = {}
_HELD_GUARD = threading.Lock()


@contextmanager
def writer_lock(run_dir: Path, *, shared: bool = False) -> Iterator[WriterLock]:
    """Hold the run dir's writer lock for the block; raises WriterBusy when another process writes it.

    Re-entrant within a process (a rank that merges at its end already holds it)."""
    key = run_dir.resolve()
    with _HELD_GUARD:
        held = _HELD.get(key)
        if held is not None and (shared or not held.shared):
            lock, mine = held, False
        elif held is not None:
            raise WriterBusy(f"{run_dir} is being written by this process's shard ranks; it cannot be opened alone")
        else:
            lock, mine = WriterLock(run_dir, shared), True
            lock.acquire()
            _HELD[key] = lock
    try:
        yield lock
    finally:
        if mine:
            with _HELD_GUARD:
                del _HELD[key]
            lock.release()


def sweep_temps(run_dir: Path) -> int:
    """Delete temp files left by writers killed mid-write (run.json, outputs, report, images, thumbnails, shards).

    Only under the exclusive lock (no other writer anywhere); a file whose name carries the PID of a process
    alive here (e.g. a `mirabench report` writing its page now) is left alone. Returns how many were removed."""
    removed = 0
    for folder in (run_dir, run_dir / "images", run_dir / "thumbs", run_dir / "shards", run_dir / OWNERS):
        for path in folder.glob("*.tmp"):
            m = _TEMP_PID.search(path.name)
            if m and _pid_alive(int(m.group(1))):
                continue
            path.unlink(missing_ok=True)
            removed += 1
    return removed
