"""Token, call and cost accounting for one client; its snapshot goes to run.json.

Costs are estimates from a price table the user gives (USD per million input/output tokens); with no price for a
model the cost stays None rather than a made-up number.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

__all__ = ["Ledger", "Usage"]


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens}


class Ledger:
    """Thread-safe counters: requests by final status, attempts, retries, 429s, tokens, cost, cache hits."""

    def __init__(self, prices: dict[str, tuple[float, float]] | None = None) -> None:
        self.prices = dict(prices or {})
        self._lock = threading.Lock()
        self.requests = 0
        self.attempts = 0
        self.retries = 0
        self.rate_limited = 0
        self.timeouts = 0
        self.cache_hits = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.cost_usd = 0.0
        self.unpriced_calls = 0
        self.statuses: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.models: Counter[str] = Counter()
        self.min_concurrency: int | None = None
        self.key_pauses = 0
        self.paced = 0
        self.cache_errors = 0

    def cost_of(self, model: str, usage: Usage) -> float | None:
        price = self.prices.get(model)
        if price is None:
            return None
        return (usage.input_tokens * price[0] + usage.output_tokens * price[1]) / 1e6

    def attempt(self, *, retry: bool, rate_limited: bool = False, timeout: bool = False, error: str = "") -> None:
        with self._lock:
            self.attempts += 1
            self.retries += int(retry)
            self.rate_limited += int(rate_limited)
            self.timeouts += int(timeout)
            if error:
                self.errors[error] += 1

    def billed(self, model: str, reported_model: str, usage: Usage) -> None:
        """Tokens of an answered call (also failed parses: the provider bills them)."""
        cost = self.cost_of(model, usage)
        with self._lock:
            self.input_tokens += usage.input_tokens
            self.output_tokens += usage.output_tokens
            if cost is None:
                self.unpriced_calls += 1
            else:
                self.cost_usd += cost
            if reported_model:
                self.models[reported_model] += 1

    def finished(self, status: str, *, cached: bool = False) -> None:
        with self._lock:
            self.requests += 1
            self.statuses[status] += 1
            self.cache_hits += int(cached)

    def cache_error(self) -> None:
        with self._lock:
            self.cache_errors += 1

    def concurrency(self, limit: int, key_pauses: int = 0, paced: int = 0) -> None:
        """The limiter's state after a call: its lowest limit, whole-key pauses and calls held for a reset."""
        with self._lock:
            if self.min_concurrency is None or limit < self.min_concurrency:
                self.min_concurrency = limit
            self.key_pauses, self.paced = key_pauses, paced

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self.requests,
                "api_attempts": self.attempts,
                "retries": self.retries,
                "rate_limited": self.rate_limited,
                "timeouts": self.timeouts,
                "cache_hits": self.cache_hits,
                "statuses": dict(sorted(self.statuses.items())),
                "errors": dict(sorted(self.errors.items())),
                "input_tokens": self.input_tokens,
                "output_tokens": self.output_tokens,
                "estimated_cost_usd": round(self.cost_usd, 6) if self.prices else None,
                "unpriced_calls": self.unpriced_calls if self.prices else None,
                "models_reported": dict(sorted(self.models.items())),
                "min_concurrency": self.min_concurrency,
                "key_pauses": self.key_pauses,
                "paced": self.paced,
                "cache_errors": self.cache_errors,
            }
