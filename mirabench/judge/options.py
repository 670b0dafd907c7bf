"""ClientOptions: the one set of options every API-backed plugin (judge, planner, editor) gives its JudgeClient.

Judges, API planners and API editors subclass it and add only what is theirs (prompts, image encoding, decoding).
Defaults may differ per plugin (`max_concurrency: Concurrency = 4`); the checks live in the annotated types below,
so they cannot drift apart. Old names persisted in run.json stay readable: `use_cache` (API planners) is `cache`.

These options say how calls are made, not what is asked: they are left out of a plugin's identity (`identity`), so
raising `max_calls` or `max_concurrency` neither invalidates stored scores nor changes a run's config hash.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, model_validator

from mirabench.judge.client import JudgeConfig
from mirabench.plugins import Options

__all__ = ["CLIENT_FIELDS", "ClientOptions", "Concurrency", "Attempts", "Timeout"]

Concurrency = Annotated[int, Field(ge=1, description="calls in flight at most (adaptive below that)")]
Timeout = Annotated[float, Field(gt=0, description="seconds per attempt")]
Attempts = Annotated[int, Field(ge=1, description="attempts per call (the first one included)")]


class ClientOptions(Options):
    """Which model answers, where, and how hard the client may push it. Keys only ever come from the environment."""

    model: str = Field("", description="model id (pin a dated snapshot for reproducible rows)")
    base_url: str | None = Field(None, description="API base URL (default: the provider client's own variable)")
    max_concurrency: Concurrency = 16
    timeout_s: Timeout = 120.0
    max_attempts: Attempts = 6
    max_wait_s: float = Field(
        120.0, gt=0, description="longest provider-asked wait slept out; a longer one ends the calls with one line"
    )
    cache: bool = Field(
        True,
        validation_alias=AliasChoices("cache", "use_cache"),
        description="reuse stored answers of identical requests (the global cache)",
    )
    price_in_per_m: float | None = Field(None, ge=0, description="USD per million input tokens (text + images)")
    price_out_per_m: float | None = Field(None, ge=0, description="USD per million output tokens")
    max_calls: int | None = Field(None, ge=0, description="calls this run may send (all attempts of the run)")
    max_cost_usd: float | None = Field(None, ge=0, description="USD this run may spend (needs the prices)")
    rpm: float | None = Field(None, gt=0, description="requests a minute the key allows (paced, never exceeded)")
    tpm: float | None = Field(None, gt=0, description="tokens a minute the key allows (estimated before sending)")

    @model_validator(mode="after")
    def _cost_cap_needs_prices(self) -> ClientOptions:
        if self.max_cost_usd is not None and self.price_in_per_m is None and self.price_out_per_m is None:
            raise ValueError("max_cost_usd needs price_in_per_m / price_out_per_m (no prices: no cost to cap)")
        return self

    def prices(self, model: str | None = None) -> dict[str, tuple[float, float]]:
        """USD per million (input, output) tokens by model, for the ledger and the cost cap."""
        if self.price_in_per_m is None and self.price_out_per_m is None:
            return {}
        return {model or self.model: (self.price_in_per_m or 0.0, self.price_out_per_m or 0.0)}

    def judge_config(
        self, provider: Literal["openai", "gemini", "local"], model: str | None = None, **extra: Any
    ) -> JudgeConfig:
        """The client configuration these options describe (`model` overrides an empty `self.model`)."""
        model = model or self.model
        settings: dict[str, Any] = {
            "provider": provider,
            "model": model,
            "base_url": self.base_url,
            "max_concurrency": self.max_concurrency,
            "timeout_s": self.timeout_s,
            "max_attempts": self.max_attempts,
            "max_wait_s": self.max_wait_s,
            "max_calls": self.max_calls,
            "max_cost_usd": self.max_cost_usd,
            "prices": self.prices(model),
            "use_cache": self.cache,
            "rpm": self.rpm,
            "tpm": self.tpm,
        }
        return JudgeConfig(**{**settings, **extra})

    def identity(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude=set(CLIENT_FIELDS))


CLIENT_FIELDS = (
    "max_concurrency",
    "timeout_s",
    "max_attempts",
    "max_wait_s",
    "cache",
    "price_in_per_m",
    "price_out_per_m",
    "max_calls",
    "max_cost_usd",
    "rpm",
    "tpm",
)
"""How calls are made, not what they ask: not part of a plugin's identity (model and base_url are)."""
