"""Adaptive concurrency and pacing for one key: a semaphore whose size follows the provider's rate limit (AIMD),
plus the waits the provider asks for.

A single 429 is a blip (a shared quota, another client, a provider that sheds a random share of load); a
sustained share of 429s among recent calls means we are too many. So:
- decrease (x0.7) only when a full window of recent outcomes holds at least `threshold` 429s. With the defaults
  (64 outcomes, 20%) a random 5% of 429s practically never does it (P(>= 13 of 64) = 0.0014% per check; a
  32-outcome window would cut the limit in ~4% of 1,000-call runs), while a real limit (most calls refused) does
  within one window; the window restarts after a decrease, so the next step judges calls made at the new limit;
- increase by one per `limit` successes (one round of calls), counted since the last change, not "in a row":
  with 5% random 429s a 20-success streak is rarer than not, and a streak rule would keep the limit low for good;
- a 429's Retry-After delays that request's retry only (the client sleeps it out without a slot). The whole key
  pauses only when the provider says the key is exhausted (`key_pause`: x-ratelimit-remaining-*: 0, Gemini's
  QuotaFailure) or when the window rule above finds the 429s sustained, and then for the time stated;
- proactive pacing: the `x-ratelimit-remaining-*` / `-reset-*` headers of answers give an allowance of calls
  (and tokens) until the reset; once it is spent, calls wait for the reset instead of collecting 429s;
- a wait longer than `max_wait_s` (a daily quota's reset, a Retry-After of hours) is not slept out in silence:
  `acquire` raises `WaitTooLong` and the client ends the call with one line saying so;
- optional `rpm` / `tpm` for a known tier: a sliding window (no more than that many calls, or estimated tokens,
  in any `period_s`), so such a run never sees a 429 even from a fixed-window quota, which a leaky bucket that
  starts full would overrun by up to twice its rate in the first period.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

__all__ = ["AdaptiveLimiter", "Allowance", "SlidingWindow", "WaitTooLong"]


class WaitTooLong(Exception):
    """The provider asks for a longer wait than the run allows (`max_wait_s`): `seconds` to wait, from now."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"{seconds:.0f} s")
        self.seconds = seconds


class SlidingWindow:
    """At most `limit` units in any `period_s`: a log of what was sent (one entry per call)."""

    def __init__(self, limit: float, period_s: float = 60.0) -> None:
        self.limit = limit
        self.period_s = period_s
        self._log: deque[tuple[float, float]] = deque()
        self._used = 0.0

    def wait(self, amount: float, now: float) -> float:
        """Seconds until `amount` fits (an amount above the limit fits once the window is empty)."""
        while self._log and self._log[0][0] <= now - self.period_s:
            self._used -= self._log.popleft()[1]
        if not self._log or self._used + amount <= self.limit:
            return 0.0
        used, i = self._used, 0
        while used + amount > self.limit and i < len(self._log):  # wait for enough entries to age out
            used -= self._log[i][1]
            i += 1
        return self._log[i - 1][0] + self.period_s - now

    def spend(self, amount: float, now: float) -> None:
        self._log.append((now, amount))
        self._used += amount


class Allowance:
    """What the key has left until its reset, as the newest headers say, less what we sent since.

    An answer's count was taken when its call arrived. Subtracted from it: every call sent after it (in a burst
    some arrived first and are counted already: an underestimate) and every call sent before it that is still
    unanswered (it may arrive after it: not counted yet). Within one reset period the newest answer's estimate
    wins, so an underestimate from a burst is corrected by the next answer (keeping the lowest estimate used
    84-91% of a fixed-window quota in benchmarks/judge_throughput.py; the newest, 100%). A reset time later than
    the one held by more than half the announced wait (plus 0.1 s of latency jitter) starts a new period. Once
    spent, calls wait for the announced reset: exact for fixed windows, cautious for a bucket that refills
    continuously (it is back to full by then). A call that still finds the key exhausted gets a 429 saying so,
    which pauses the key until the reset.
    """

    def __init__(self) -> None:
        self.left: float | None = None
        self.until = 0.0

    def observe(self, remaining: float, reset_s: float, sent_after: float, now: float) -> None:
        """`sent_after`: what we sent after the observed call (the server had not counted it yet)."""
        until = now + reset_s
        left = remaining - sent_after
        if self.left is None or now >= self.until or until > self.until + 0.5 * reset_s + 0.1:
            self.left, self.until = left, until
        else:
            self.left, self.until = left, max(self.until, until)

    def wait(self, amount: float, now: float) -> float:
        """Seconds to wait before spending `amount` (0: spend it now)."""
        if self.left is None:
            return 0.0
        if now >= self.until:
            self.left = None
            return 0.0
        return 0.0 if self.left >= amount else self.until - now

    def spend(self, amount: float) -> None:
        if self.left is not None:
            self.left -= amount


class AdaptiveLimiter:
    def __init__(
        self,
        maximum: int,
        minimum: int = 1,
        window: int = 64,
        threshold: float = 0.2,
        rpm: float | None = None,
        tpm: float | None = None,
        period_s: float = 60.0,
        max_wait_s: float = float("inf"),
    ) -> None:
        self.maximum = max(1, maximum)
        self.max_wait_s = max_wait_s
        self.minimum = max(1, min(minimum, self.maximum))
        self.limit = self.maximum
        self.threshold = threshold
        self.in_flight = 0
        self.sent = 0  # calls let through so far: a call's ticket is its place in this order
        self._flying: set[int] = set()  # tickets sent and not yet answered
        self.resume_at = 0.0
        self.decreases = 0
        self.key_pauses = 0
        self.paced = 0  # calls that waited for a header-announced reset
        self.requests = Allowance()
        self.tokens = Allowance()
        self.tokens_per_call = 0.0  # running mean of billed tokens per answer: the token allowance's unit
        self._answers = 0
        self._outcomes: deque[int] = deque(maxlen=max(4, window))
        self._successes = 0  # since the last change of the limit
        self._min_seen = self.maximum
        self._cond: asyncio.Condition | None = None
        self.rpm = SlidingWindow(rpm, period_s) if rpm else None
        self.tpm = SlidingWindow(tpm, period_s) if tpm else None

    @property
    def min_seen(self) -> int:
        return self._min_seen

    def _condition(self) -> asyncio.Condition:
        if self._cond is None:
            self._cond = asyncio.Condition()
        return self._cond

    async def acquire(self, tokens: int = 0) -> int:
        """Wait for a slot, then for any key pause, header-announced reset, or room in the rpm/tpm windows.

        `tokens`: the call's estimated tokens, for `tpm`. Returns the call's ticket (for `release`).
        Raises `WaitTooLong` (the slot given back) when the wait would be longer than `max_wait_s`.
        """
        cond = self._condition()
        async with cond:
            while self.in_flight >= self.limit:
                await cond.wait()
            self.in_flight += 1
        paced = False
        while True:
            now = time.monotonic()
            delay = max(
                self.resume_at - now,
                self.requests.wait(1, now),
                self.tokens.wait(self.tokens_per_call, now) if self.tokens_per_call else 0.0,
                self.rpm.wait(1, now) if self.rpm else 0.0,
                self.tpm.wait(tokens, now) if self.tpm else 0.0,
            )
            if delay <= 0:
                break
            if delay > self.max_wait_s:
                await self._give_back()
                raise WaitTooLong(delay)
            paced = paced or self.resume_at <= now
            await asyncio.sleep(delay)
        self.paced += int(paced)
        self.requests.spend(1)
        self.tokens.spend(self.tokens_per_call)
        if self.rpm:
            self.rpm.spend(1, now)
        if self.tpm:
            self.tpm.spend(tokens, now)
        self.sent += 1
        self._flying.add(self.sent)
        return self.sent

    async def _give_back(self) -> None:
        """Return a slot taken by `acquire` for a call that is not sent."""
        cond = self._condition()
        async with cond:
            self.in_flight -= 1
            cond.notify(1)

    async def release(
        self,
        outcome: str,
        retry_after: float | None = None,
        *,
        key_pause: float | None = None,
        rate: Any = None,
        tokens: int = 0,
        ticket: int | None = None,
    ) -> None:
        """`outcome`: "ok", "rate_limited" or "error" (errors other than 429 do not move the limit).

        `retry_after` (a 429's own wait) pauses the key only when this 429 makes the share sustained; `key_pause`
        (the provider says the key is exhausted) always does. `rate`: the answer's RateInfo; `tokens` it billed.
        """
        cond = self._condition()
        async with cond:
            self.in_flight -= 1
            if ticket is not None:
                self._flying.discard(ticket)
            now = time.monotonic()
            if outcome in ("ok", "rate_limited"):
                sustained = self._record(outcome == "rate_limited")
                if sustained and retry_after and retry_after > 0:
                    key_pause = max(key_pause or 0.0, retry_after)
            if key_pause and key_pause > 0:
                self.key_pauses += 1
                self.resume_at = max(self.resume_at, now + key_pause)
            if outcome == "ok" and tokens > 0:
                self._answers += 1
                self.tokens_per_call += (tokens - self.tokens_per_call) / self._answers
            if rate is not None:
                after: float = self.in_flight
                if ticket is not None:  # sent after it, and sent before it but maybe arriving after it
                    after = self.sent - ticket + sum(1 for t in self._flying if t < ticket)
                if rate.remaining_requests is not None and rate.reset_requests_s is not None:
                    self.requests.observe(rate.remaining_requests, rate.reset_requests_s, after, now)
                if rate.remaining_tokens is not None and rate.reset_tokens_s is not None:
                    spent = after * self.tokens_per_call
                    self.tokens.observe(rate.remaining_tokens, rate.reset_tokens_s, spent, now)
            free = self.limit - self.in_flight
            if free > 0:
                cond.notify(free)  # wake only as many waiters as there are slots (notify_all is O(waiters))

    def _record(self, rate_limited: bool) -> bool:
        """Count one outcome; True when it shrank the limit (the 429s are sustained)."""
        self._outcomes.append(int(rate_limited))
        window = self._outcomes.maxlen or len(self._outcomes)
        if rate_limited:
            full = len(self._outcomes) == window
            if not (full and sum(self._outcomes) >= self.threshold * window):
                return False
            if self.limit > self.minimum:
                self.limit = max(self.minimum, int(self.limit * 0.7))
                self._min_seen = min(self._min_seen, self.limit)
                self.decreases += 1
            self._outcomes.clear()  # the next step judges calls made at the new limit (or after the pause)
            self._successes = 0
            return True
        self._successes += 1
        if self._successes >= self.limit and self.limit < self.maximum:
            self.limit += 1
            self._successes = 0
        return False
