"""AdaptiveLimiter (AIMD): random 429s leave the limit alone, a sustained share shrinks it, successes regrow it."""

from __future__ import annotations

import asyncio
import random

from mirabench.judge.limiter import AdaptiveLimiter


def drive(limiter: AdaptiveLimiter, outcomes: list[str]) -> list[int]:
    """Feed outcomes one call at a time; the limit after each."""

    async def run() -> list[int]:
        seen = []
        for outcome in outcomes:
            await limiter.acquire()
            await limiter.release(outcome)
            seen.append(limiter.limit)
        return seen

    return asyncio.run(run())


def test_random_five_percent_of_429s_never_shrinks_the_limit() -> None:
    # The benchmark's load: 5% of calls refused at random (a provider shedding load), 20 seeds x 2,000 calls.
    for seed in range(20):
        rng = random.Random(seed)
        limiter = AdaptiveLimiter(32)
        limits = drive(limiter, ["rate_limited" if rng.random() < 0.05 else "ok" for _ in range(2000)])
        assert min(limits) == 32 and limiter.decreases == 0, seed


def test_a_sustained_share_of_429s_shrinks_it_within_one_window() -> None:
    limiter = AdaptiveLimiter(32, window=64, threshold=0.2)
    limits = drive(limiter, ["ok", "ok", "ok", "rate_limited"] * 16)  # 25% refused: the 64th outcome decides
    assert limits[:63] == [32] * 63 and limits[63] == 22 and limiter.decreases == 1
    limits = drive(limiter, ["rate_limited"] * 64)
    assert limits[62] == 22 and limits[63] == 15  # the window restarted: the next step needs 64 new outcomes
    assert limiter.min_seen == 15


def test_successes_regrow_it_despite_scattered_429s() -> None:
    limiter = AdaptiveLimiter(32)
    drive(limiter, ["rate_limited"] * 128)
    assert limiter.limit == 15
    rng = random.Random(1)
    limits = drive(limiter, ["rate_limited" if rng.random() < 0.05 else "ok" for _ in range(600)])
    # one step per `limit` successes, counted since the last step (a 429 does not restart the count):
    # 15 + 16 + ... + 31 = 391 successes back to 32, even with the random 429s in between
    assert limits[-1] == 32 and limits.index(32) < 450


def test_the_limit_never_goes_below_the_minimum() -> None:
    limiter = AdaptiveLimiter(8, minimum=3)
    drive(limiter, ["rate_limited"] * 400)
    assert limiter.limit == 3 and limiter.min_seen == 3


def test_retry_after_pauses_the_key_only_when_429s_are_sustained() -> None:
    async def run(outcomes: list[str]) -> AdaptiveLimiter:
        limiter = AdaptiveLimiter(32)
        for outcome in outcomes:
            await limiter.acquire()
            await limiter.release(outcome, 0.001 if outcome == "rate_limited" else None)
        return limiter

    rng = random.Random(3)
    blips = asyncio.run(run(["rate_limited" if rng.random() < 0.05 else "ok" for _ in range(2000)]))
    assert blips.key_pauses == 0  # every 429 said Retry-After, none of them stopped the others
    sustained = asyncio.run(run(["ok", "ok", "ok", "rate_limited"] * 16))
    assert sustained.key_pauses == 1 and sustained.resume_at > 0  # the 64th outcome found 25%: the key waits


def test_an_exhausted_key_pauses_at_once() -> None:
    async def run() -> AdaptiveLimiter:
        limiter = AdaptiveLimiter(4)
        await limiter.acquire()
        await limiter.release("rate_limited", 0.001, key_pause=0.001)
        return limiter

    assert asyncio.run(run()).key_pauses == 1
