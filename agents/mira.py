"""`mira-3b`, `mira-7b`: the MIRA planner (Qwen2.5-VL-3B/7B-Instruct policy), one atomic edit per step.

Each step the policy sees the original image I0, the latest edited image I_{t-1} and the complex instruction C in
the planner template (supplementary B.2 structure; see mirabench.backends.prompts), and answers
`NEXT_EDITING_INSTRUCTION: <command>` or a stop signal (`<stop>` / `<STOP>`). The editor applies the command to
the latest image (cumulative policy). Unparseable output ends the sample with stop reason `error`, raw text kept.

MIRA's weights are not public: `--set agent.path=...` names a checkpoint (hub id or folder, e.g. one trained by
mirabench's SFT/GRPO code; a LoRA adapter folder is merged over its base). Pointing it at the bare backbone
(`Qwen/Qwen2.5-VL-7B-Instruct`) gives the untrained-planner row. Decoding is greedy and batched across samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, ClassVar, TypeVar

from pydantic import Field

from mirabench.backends.local_vlm import ChatBackend, LocalVLMOptions, TemplateOptions, chat_backend, load_template
from mirabench.backends.parsing import parse_planner
from mirabench.backends.prompts import MIRA_PLANNER_TEMPLATE, STOP_NOTE, Part, Template
from mirabench.plugins import Agent, Options
from mirabench.registry import Needs, agents
from mirabench.types import Action, AgentState, Stop

LOCAL = Needs(modules=("torch", "transformers"), extra="local")
CHECKPOINT = replace(LOCAL, weights="agent.path")  # no published MIRA checkpoint: the user names one


class PlannerPromptOptions(TemplateOptions):
    """What the planner prompt needs, whatever model answers it (local Qwen-VL or an API model)."""

    stop_note: bool = Field(False, description="append a sentence telling an untrained model how to stop")


PlannerOptionsT = TypeVar("PlannerOptionsT", bound=PlannerPromptOptions)


class MiraOptions(LocalVLMOptions, PlannerPromptOptions):
    max_new_tokens: int = Field(64, ge=1, description="one short command fits easily")
    min_pixels: int | None = Field(4 * 28 * 28, ge=1, description="Qwen2.5-VL processor's lower pixel budget")
    max_pixels: int | None = Field(512 * 512, ge=1, description="upper budget: MIRA's 512 px input, never rescaled")


def planner_prompt(template: Template, state: AgentState, stop_note: bool = False) -> list[Part]:
    """The planner's input for one step: template with (I0, I_{t-1}, C) filled in."""
    return template.render(
        [state.source, state.latest],
        {"<instruction>": state.sample.instruction},
        suffix=STOP_NOTE if stop_note else "",
    )


class MiraPlanner(Agent[PlannerOptionsT]):
    """Perceive (I0, I_{t-1}, C), reason, act: the next atomic instruction or stop.

    Generic over its options: the local `mira-*` planners take MiraOptions, the API planners their client's."""

    version = "1"
    policy = "cumulative"
    Options: ClassVar[type[Options]] = MiraOptions
    backbone: ClassVar[str] = ""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.template = load_template(MIRA_PLANNER_TEMPLATE, self.options)
        self.chat = self.make_chat()

    def make_chat(self) -> ChatBackend:
        """The model that answers the prompts (a local Qwen-VL here; API planners override this)."""
        assert isinstance(self.options, LocalVLMOptions)
        return chat_backend(self.options, f"{self.name} (MIRA planner on {self.backbone})")

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "template": self.template.identity()}

    def prompt(self, state: AgentState) -> list[Part]:
        return planner_prompt(self.template, state, self.options.stop_note)

    def plan_batch(self, states: Sequence[AgentState]) -> list[Action]:
        replies = self.chat.generate([self.prompt(s) for s in states])
        return [parse_planner(r) if isinstance(r, str) else Stop(r.reason, error=True) for r in replies]

    def close(self) -> None:
        self.chat.close()


@agents.register(
    "mira-7b", description="MIRA planner on Qwen2.5-VL-7B-Instruct (agent.path = checkpoint)", needs=CHECKPOINT
)
class Mira7B(MiraPlanner[MiraOptions]):
    backbone = "Qwen/Qwen2.5-VL-7B-Instruct"


@agents.register(
    "mira-3b", description="MIRA planner on Qwen2.5-VL-3B-Instruct (agent.path = checkpoint)", needs=CHECKPOINT
)
class Mira3B(MiraPlanner[MiraOptions]):
    backbone = "Qwen/Qwen2.5-VL-3B-Instruct"
