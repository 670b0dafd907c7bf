"""How a command shows progress: a rich bar on a terminal, plain timestamped lines when stderr is a log file.

Under SLURM or nohup stderr is a file: a live bar there writes nothing until the end, so the log would stay
empty for hours. There a line "editing: 120/600 samples (20%), 3.1/s, ETA 2m34s, 4 failed" is printed when a
stage starts, at a steady interval (MIRABENCH_PROGRESS_EVERY seconds, default 30, also while no sample
finishes), and when a stage completes. Ctrl-C and SIGTERM end the run with the last known count.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mirabench.cli.common import console

__all__ = ["EVERY_ENV", "Interrupted", "Tracker", "interruptible", "tracking"]

EVERY_ENV = "MIRABENCH_PROGRESS_EVERY"


class Interrupted(BaseException):
    """Ctrl-C or SIGTERM: the command stops; what was committed stays and a rerun resumes.

    A BaseException like KeyboardInterrupt, so a plugin's `except Exception` cannot turn it into a failed sample."""

    def __init__(self, signum: int, message: str) -> None:
        super().__init__(message)
        self.signum = signum


@dataclass
class _Stage:
    done: int
    total: int
    failed: int | None
    started: float
    done_at_start: int  # samples done before this process (a resumed run): not part of the rate
    printed: float = 0.0


class Tracker:
    """The progress callback the runner gets; remembers the editing stage for the interruption message."""

    def __init__(self, bar: Progress | None, every: float) -> None:
        self.bar, self.every = bar, every
        self.stages: dict[str, _Stage] = {}
        self._tasks: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def __call__(self, stage: str, done: int, total: int, failed: int | None = None) -> None:
        now = time.monotonic()
        with self._lock:
            st = self.stages.get(stage)
            if st is None:
                st = self.stages[stage] = _Stage(done, total, failed, now, done)
            st.done, st.total, st.failed = done, total, failed
            if self.bar is not None:
                if stage not in self._tasks:
                    self._tasks[stage] = self.bar.add_task(stage, total=total)
                self.bar.update(self._tasks[stage], completed=done, total=total)
            elif st.printed == 0.0 or done >= total or now - st.printed >= self.every:
                self._line(stage, st, now)

    def _line(self, stage: str, st: _Stage, now: float) -> None:
        st.printed = now
        elapsed = now - st.started
        new = st.done - st.done_at_start
        parts = [f"{stage}: {st.done}/{st.total}" + (" samples" if stage == "editing" else "")]
        if st.total:
            parts[0] += f" ({100 * st.done / st.total:.0f}%)"
        if elapsed > 0 and new > 0:
            rate = new / elapsed
            parts.append(f"{rate:.2f}/s")
            parts.append(f"ETA {_duration((st.total - st.done) / rate)}")
        else:
            parts.append(f"{_duration(elapsed)} elapsed")
        if st.failed is not None:
            parts.append(f"{st.failed} failed")
        sys.stderr.write(f"{time.strftime('%H:%M:%S')} {', '.join(parts)}\n")
        sys.stderr.flush()

    def _tick(self) -> None:
        """Print each unfinished stage's line once an interval has passed without one."""
        while not self._stop.wait(min(self.every, 1.0)):
            now = time.monotonic()
            with self._lock:
                for stage, st in self.stages.items():
                    if st.done < st.total and now - st.printed >= self.every:
                        self._line(stage, st, now)

    def interrupted_message(self) -> str:
        st = self.stages.get("editing")
        done = f"{st.done} of {st.total} samples done" if st else "no sample done yet"
        return f"interrupted: {done}; run the same command to resume"


def _duration(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else (f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s")


@contextmanager
def tracking(show: bool = True) -> Iterator[Tracker]:
    """A Tracker for the duration of a command: a transient bar on a terminal, plain lines otherwise.

    `show=False` (ranks other than 0 of a sharded job) prints nothing but still tracks."""
    every = float(os.environ.get(EVERY_ENV) or 30)
    if not show:
        yield Tracker(None, float("inf"))
        return
    if console.is_terminal:
        bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        with bar:
            yield Tracker(bar, every)
        return
    tracker = Tracker(None, every)
    ticker = threading.Thread(target=tracker._tick, name="mirabench-progress", daemon=True)
    ticker.start()
    try:
        yield tracker
    finally:
        tracker._stop.set()
        ticker.join()


@contextmanager
def interruptible(tracker: Tracker) -> Iterator[None]:
    """SIGTERM raises like Ctrl-C does; either becomes Interrupted with the tracker's count in its message."""

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise Interrupted(signum, tracker.interrupted_message())

    previous = signal.signal(signal.SIGTERM, on_term) if threading.current_thread() is threading.main_thread() else None
    try:
        yield
    except KeyboardInterrupt:
        raise Interrupted(signal.SIGINT, tracker.interrupted_message()) from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
