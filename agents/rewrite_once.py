"""`rewrite-once`: the static-plan ablation. A planner rewrites the complex instruction once, the editor runs it once.

This is "think before edit" (EditThinker Table 3) and MIRA's one-shot comparison: the planner sees the source
image and the instruction, answers `REWRITTEN_INSTRUCTION: ...`, and the loop stops after that single edit, so the
row isolates what closing the loop adds. The planner is any local VLM (`agent.path`, default Qwen2.5-VL-7B-Instruct).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from pydantic import Field

from mirabench.backends.local_vlm import (
    ChatBackend,
    LocalVLMOptions,
    Reply,
    TemplateOptions,
    chat_backend,
    load_template,
)
from mirabench.backends.parsing import parse_tagged
from mirabench.backends.prompts import REWRITE_TEMPLATE, Part, Template
from mirabench.plugins import Agent
from mirabench.registry import Needs, agents
from mirabench.types import Action, AgentState, Edit, Stop

TAG = "REWRITTEN_INSTRUCTION"
LOCAL = Needs(modules=("torch", "transformers"), extra="local")


class RewriteOnceOptions(LocalVLMOptions, TemplateOptions):
    path: str = Field("Qwen/Qwen2.5-VL-7B-Instruct", description="planner: hub id or local folder")
    max_new_tokens: int = Field(160, ge=1)


def rewrite_prompt(template: Template, state: AgentState) -> list[Part]:
    return template.render([state.source], {"<instruction>": state.sample.instruction})


def rewritten(reply: Reply) -> Action:
    if not isinstance(reply, str):
        return Stop(reply.reason, error=True)
    text = reply
    answer = parse_tagged(text, TAG)
    if not answer:
        return Stop(f"unparseable rewrite: no non-empty {TAG}: line", raw=text, error=True)
    return Edit(answer, raw=text)


@agents.register(
    "rewrite-once",
    description="One planner rewrite of the instruction, then one edit (ablation)",
    needs=replace(LOCAL, weights="Qwen/Qwen2.5-VL-7B-Instruct"),
)
class RewriteOnce(Agent[RewriteOnceOptions]):
    """Rewrite at step 0, stop at step 1."""

    version = "1"
    Options = RewriteOnceOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.template = load_template(REWRITE_TEMPLATE, self.options)
        self.chat = self.make_chat()

    def make_chat(self) -> ChatBackend:
        return chat_backend(self.options, f"{self.name} (planner)")

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "template": self.template.identity()}

    def plan_batch(self, states: Sequence[AgentState]) -> list[Action]:
        first = [i for i, s in enumerate(states) if s.step == 0]
        texts = dict(
            zip(first, self.chat.generate([rewrite_prompt(self.template, states[i]) for i in first]), strict=True)
        )
        return [rewritten(texts[i]) if i in texts else Stop("single rewrite done") for i in range(len(states))]

    def close(self) -> None:
        self.chat.close()
