"""A chat backend on an API model (GPT, Gemini, any OpenAI-compatible server) through the core judge client.

Planner and thinker agents use it exactly like a local VLM: prompts of interleaved text and images in, texts out.
The judge client brings retries with backoff, adaptive concurrency, the global cache (temperature 0 answers are
reused across runs), budgets and cost accounting. A call that still fails comes back as a `ChatFailure`, which the
agent records as that sample's error; the other samples of the wave go on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field

from mirabench.backends.local_vlm import ChatFailure, Reply
from mirabench.backends.prompts import Part
from mirabench.judge.options import ClientOptions

__all__ = ["ApiChat", "ApiChatOptions"]


class ApiChatOptions(ClientOptions):
    """Which API model answers, how prompts travel, and the client's limits (`ClientOptions`)."""

    model: str = Field("gpt-4.1-2025-04-14", description="model id (pin a dated snapshot for reproducible rows)")
    temperature: float | None = Field(0.0, ge=0.0, description="None = provider default")
    max_tokens: int = Field(512, ge=1)
    seed: int | None = 0
    image_format: Literal["png", "jpeg", "webp"] = "png"
    image_size: int | None = Field(512, ge=16, description="longest side sent; None = as is")
    extra_body: dict[str, Any] = Field(default_factory=dict, description="extra request fields, e.g. top_p")


class ApiChat:
    """Prompts -> one JudgeClient.chat_many call per wave (concurrent, cached, retried)."""

    def __init__(self, provider: Literal["openai", "gemini"], options: ApiChatOptions, label: str = "") -> None:
        from mirabench.judge import ImageEncoding, JudgeClient

        self.options = options
        self.encoding = ImageEncoding(format=options.image_format, max_side=options.image_size)
        self.client = JudgeClient(options.judge_config(provider, label=label))

    def generate(self, prompts: Sequence[Sequence[Part]]) -> list[Reply]:
        from mirabench.judge import ChatRequest

        opts = self.options
        requests = [
            ChatRequest.build(
                list(p),
                encoding=self.encoding,
                temperature=opts.temperature,
                max_tokens=opts.max_tokens,
                seed=opts.seed,
                extra=dict(opts.extra_body),
                tag="planner",
            )
            for p in prompts
        ]
        out: list[Reply] = []
        for result in self.client.chat_many(requests):
            if result.ok and result.text:
                out.append(result.text)
            else:
                out.append(ChatFailure(f"{opts.model} {result.status}: {result.error or 'empty answer'}"))
        return out

    def usage(self) -> dict[str, Any]:
        return self.client.usage()

    def close(self) -> None:
        self.client.close()
