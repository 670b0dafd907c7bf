"""Adaptive concurrency: a semaphore whose size follows the provider's rate limit (AIMD).

A single 429 is a blip (a shared quota, another client, a provider that sheds a random share of load); a
sustained share of 429s among recent calls means we are too many. So:
- decrease (x0.7) only when a full window of recent outcomes holds at least `threshold` 429s. With the defaults
  (64 outcomes, 20%) a random 5% of 429s practically never does it (P(>= 13 of 64) = 0.0014% per check; a
  32-outcome window would cut the limit in ~4% of 1,000-call runs), while a real limit (most calls refused) does
  within one window; the window restarts after a decrease, so the next step judges calls made at the new limit;
- increase by one per `limit` successes (one round of calls), counted since the last change, not "in a row":
  with 5% random 429s a 20-success streak is rarer than not, and a streak rule would keep the limit low for good;
- every caller waits out a Retry-After (it is the provider's own instruction, for the whole key).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

__all__ = ["AdaptiveLimiter"]


class AdaptiveLimiter:
    def __init__(self, maximum: int, minimum: int = 1, window: int = 64, threshold: float = 0.2) -> None:
        self.maximum = max(1, maximum)
        self.minimum = max(1, min(minimum, self.maximum))
        self.limit = self.maximum
        self.threshold = threshold
        self.in_flight = 0
        self.resume_at = 0.0
        self.decreases = 0
        self._outcomes: deque[int] = deque(maxlen=max(4, window))
        self._successes = 0  # since the last change of the limit
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
            if outcome in ("ok", "rate_limited"):
                self._record(outcome == "rate_limited")
            free = self.limit - self.in_flight
            if free > 0:
                cond.notify(free)  # wake only as many waiters as there are slots (notify_all is O(waiters))

    def _record(self, rate_limited: bool) -> None:
        self._outcomes.append(int(rate_limited))
        window = self._outcomes.maxlen or len(self._outcomes)
        if rate_limited:
            full = len(self._outcomes) == window
            if full and sum(self._outcomes) >= self.threshold * window and self.limit > self.minimum:
                self.limit = max(self.minimum, int(self.limit * 0.7))
                self._min_seen = min(self._min_seen, self.limit)
                self.decreases += 1
                self._outcomes.clear()
                self._successes = 0
            return
        self._successes += 1
        if self._successes >= self.limit and self.limit < self.maximum:
            self.limit += 1
            self._successes = 0
