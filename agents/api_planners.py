"""`gpt-planner`, `gemini-planner` (the MIRA planner prompt on an API model) and `gpt-thinker` (EditThinker's loop
with GPT as the thinker, the "Expert GPT-4.1" rows of the EditThinker paper).

Same prompts, parsing and stop rules as `mira-7b` and `editthinker`; only the model differs: calls go through the
core judge client (mirabench.judge), so they are concurrent across the wave, retried, cached at temperature 0,
budgeted (`agent.max_calls`, `agent.max_cost_usd`) and cost-accounted. An untrained model is told how to stop
(`agent.stop_note`, on by default here). Keys come from the environment only (OPENAI_API_KEY, GEMINI_API_KEY);
`agent.base_url` or OPENAI_BASE_URL points the OpenAI planners at any compatible server (vLLM, SGLang).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from mirabench.agents.editthinker import ThinkerAgent, ThinkerLoopOptions
from mirabench.agents.mira import MiraPlanner, PlannerPromptOptions
from mirabench.backends.api_chat import ApiChat, ApiChatOptions
from mirabench.backends.local_vlm import ChatBackend
from mirabench.judge.backends import GEMINI_API, OPENAI_API
from mirabench.plugins import Options
from mirabench.registry import agents


class GptPlannerOptions(ApiChatOptions, PlannerPromptOptions):
    stop_note: bool = Field(True, description="tell the model how to signal stop (it was not trained on MIRA data)")


class GeminiPlannerOptions(GptPlannerOptions):
    model: str = Field("gemini-2.5-flash", description="model id")


class GptThinkerOptions(ApiChatOptions, ThinkerLoopOptions):
    max_tokens: int = Field(2048, ge=1, description="room for the think block")


class ApiPlanner(MiraPlanner[GptPlannerOptions]):
    """The MIRA planner with an API model answering."""

    provider: ClassVar[str] = "openai"

    def make_chat(self) -> ChatBackend:
        return ApiChat("gemini" if self.provider == "gemini" else "openai", self.options, self.name)


@agents.register("gpt-planner", description="MIRA planner prompt on a GPT model (judge client)", needs=OPENAI_API)
class GptPlanner(ApiPlanner):
    Options: ClassVar[type[Options]] = GptPlannerOptions


@agents.register("gemini-planner", description="MIRA planner prompt on Gemini (judge client)", needs=GEMINI_API)
class GeminiPlanner(ApiPlanner):
    Options: ClassVar[type[Options]] = GeminiPlannerOptions
    provider = "gemini"


@agents.register("gpt-thinker", description="EditThinker loop with GPT as the thinker (judge client)", needs=OPENAI_API)
class GptThinker(ThinkerAgent[GptThinkerOptions]):
    Options: ClassVar[type[Options]] = GptThinkerOptions

    def make_chat(self) -> ChatBackend:
        return ApiChat("openai", self.options, self.name)
