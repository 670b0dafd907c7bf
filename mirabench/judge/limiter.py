"""Adaptive concurrency: a semaphore whose size follows the provider's rate limit.

A single 429 is a blip (a shared quota, another client); a sustained share of 429s among recent calls means we
are too many. So the limit shrinks (x0.7) only when the share of 429s in the last `window` outcomes reaches
`threshold`, grows by one after `limit` successes in a row, and every caller waits out a Retry-After.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

__all__ = ["AdaptiveLimiter"]


class AdaptiveLimiter:
    def __init__(self, maximum: int, minimum: int = 1, window: int = 32, threshold: float = 0.2) -> None:
        self.maximum = max(1, maximum)
        self.minimum = max(1, min(minimum, self.maximum))
        self.limit = self.maximum
        self.threshold = threshold
        self.in_flight = 0
        self.resume_at = 0.0
        self.decreases = 0
        self._outcomes: deque[int] = deque(maxlen=max(4, window))
        self._streak = 0
        self._min_seen = self.maximum
        self._cond: asyncio.Condition | None = None

    @property
    def min_seen(self) -> int:
        return self._min_seen

    def _condition(self) -> asyncio.Condition:
        if self._cond is None:
            self._cond = asyncio.Condition()
        return self._cond

    async def acquire(self) -> None:
        """Wait for a slot, then for any Retry-After pause in force."""
        cond = self._condition()
        async with cond:
            while self.in_flight >= self.limit:
                await cond.wait()
            self.in_flight += 1
        while True:
            delay = self.resume_at - time.monotonic()
            if delay <= 0:
                return
            await asyncio.sleep(delay)

    async def release(self, outcome: str, retry_after: float | None = None) -> None:
        """`outcome`: "ok", "rate_limited" or "error" (errors other than 429 do not move the limit)."""
        cond = self._condition()
        async with cond:
            self.in_flight -= 1
            if retry_after and retry_after > 0:
                self.resume_at = max(self.resume_at, time.monotonic() + retry_after)
            if outcome == "rate_limited":
                self._outcomes.append(1)
                self._streak = 0
                seen = len(self._outcomes)
                if seen >= min(8, self._outcomes.maxlen or 8) and sum(self._outcomes) / seen >= self.threshold:
                    self.limit = max(self.minimum, int(self.limit * 0.7))
                    self._min_seen = min(self._min_seen, self.limit)
                    self.decreases += 1
                    self._outcomes.clear()
            elif outcome == "ok":
                self._outcomes.append(0)
                self._streak += 1
                if self._streak >= self.limit and self.limit < self.maximum:
                    self.limit += 1
                    self._streak = 0
            free = self.limit - self.in_flight
            if free > 0:
                cond.notify(free)  # wake only as many waiters as there are slots (notify_all is O(waiters))
