"""The call journal: where a run keeps every API attempt and every paid answer, durably, as they happen.

A JudgeClient made while a journal is active (`use_journal`, entered by the runner around `run` and `score`)
writes each attempt (answered, failed, refused) with its tokens and cost, and each answer, before it hands the
result on. So budgets (`max_calls`, `max_cost_usd`) continue across kill -9 and resume, run.json's usage is the
total over all attempts, and a resume asks nothing again that was already answered and paid for.

The journal lives in the run store (mirabench.rundir implements `Journal`); this layer only names the contract.
A journal that cannot be written stops the command (`JournalError`, a BaseException so that no per-item
`except Exception` turns it into a failed score): going on would spend money that nothing records.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["Attempt", "Journal", "JournalError", "active_journal", "use_journal"]


@dataclass(frozen=True)
class Attempt:
    """One request sent: who sent it (`label`), for which request (`key`, "" for uncached kinds), how it ended."""

    label: str
    key: str
    outcome: str  # ok | refused | empty | rate_limited | server | timeout | connection | bad_response | client
    model: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None


class Journal(Protocol):
    def record(self, attempt: Attempt, answer: dict[str, Any] | None = None) -> None:
        """Store one attempt (and the answer it brought, if any) durably; raise when that is impossible."""

    def answer(self, key: str) -> dict[str, Any] | None:
        """A stored answer to the request `key`, if this run already paid for one."""

    def totals(self, label: str) -> dict[str, Any]:
        """Attempts, tokens and cost of `label` over the whole run, with one entry per process (`history`)."""


class JournalError(BaseException):
    """The run store refused an attempt or answer (disk full, read-only, corrupt): the command must stop."""

    def __init__(self, message: str, *, disk_full: bool = False) -> None:
        super().__init__(message)
        self.disk_full = disk_full


_active: Journal | None = None
_lock = threading.Lock()


@contextmanager
def use_journal(journal: Journal) -> Iterator[Journal]:
    """Make `journal` the one clients created meanwhile write to (process-wide: clients live on many threads)."""
    global _active
    with _lock:
        before, _active = _active, journal
    try:
        yield journal
    finally:
        with _lock:
            _active = before


def active_journal() -> Journal | None:
    return _active
