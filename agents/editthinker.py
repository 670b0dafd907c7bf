"""`editthinker`: EditThinker's Think-while-Edit critic/refiner (Qwen3-VL-8B; EditThinker-8B weights by default).

Policy `refine`: every edit re-edits the source image with a full, refined instruction. Round 1 sends the user's
instruction unchanged (all four of the authors' benchmark scripts skip the first rewrite; `first_turn=rewrite`
asks the thinker first). Each later round the thinker sees (source, latest edit, original instruction, last
prompt) and answers `<think>`, `<score>{"semantic", "quality"}`, `<answer>`. It stops, as the released loop does,
when semantic >= `semantic_stop` and quality >= `quality_stop`, or when the answer repeats the last prompt or is
empty; otherwise the answer is the next prompt. The final image is the latest edit. Output without a score or an
answer ends the sample with stop reason `error` and the raw text.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from pydantic import Field

from mirabench.backends.local_vlm import ChatBackend, LocalVLMOptions, TemplateOptions, chat_backend, load_template
from mirabench.backends.parsing import ParseError, parse_thinker
from mirabench.backends.prompts import EDITTHINKER_TEMPLATE, Part, Template
from mirabench.plugins import Agent, Options
from mirabench.registry import Needs, agents
from mirabench.types import Action, AgentState, Edit, Stop

LOCAL = Needs(modules=("torch", "transformers"), extra="local")


class ThinkerLoopOptions(TemplateOptions):
    """The loop's own settings, whatever model thinks."""

    first_turn: Literal["direct", "rewrite"] = "direct"
    semantic_stop: float = Field(8.0, ge=0.0, le=10.0)
    quality_stop: float = Field(8.0, ge=0.0, le=10.0)


class EditThinkerOptions(LocalVLMOptions, ThinkerLoopOptions):
    path: str = Field("appletea2333/EditThinker-8B", description="hub id or folder (base: Qwen3-VL-8B-Instruct)")
    max_new_tokens: int = Field(1024, ge=1, description="room for the think block")


def thinker_prompt(template: Template, state: AgentState) -> list[Part]:
    """(I_src, I_edit, original instruction, last prompt) in the thinker template."""
    previous = state.last_instruction or state.sample.instruction
    return template.render(
        [state.source, state.latest],
        {"{original_instruction}": state.sample.instruction, "{rewritten_prompt}": previous},
    )


def decide(text: str, state: AgentState, semantic_stop: float, quality_stop: float) -> Action:
    """One thinker answer -> Edit(refined prompt) or Stop, by the released loop's rules."""
    try:
        reply = parse_thinker(text)
    except ParseError as exc:
        return Stop(f"unparseable thinker output: {exc}", raw=text, error=True)
    critique = {"semantic": reply.semantic, "quality": reply.quality}
    if state.step == 0:  # first-turn rewrite: there is no edit to judge yet
        return Edit(reply.answer or state.sample.instruction, critique, text)
    if reply.semantic >= semantic_stop and reply.quality >= quality_stop:
        return Stop("thinker satisfied (scores at threshold)", critique, text)
    previous = (state.last_instruction or state.sample.instruction).strip()
    if not reply.answer.strip():
        return Stop("thinker gave an empty prompt (satisfied)", critique, text)
    if reply.answer.strip() == previous:
        return Stop("thinker kept the last prompt (satisfied)", critique, text)
    return Edit(reply.answer.strip(), critique, text)


class ThinkerAgent(Agent, ABC):
    """The Think-while-Edit loop around any chat backend (subclasses pick the backend)."""

    version = "1"
    policy = "refine"
    Options: ClassVar[type[Options]] = EditThinkerOptions
    options: Any

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.template = load_template(EDITTHINKER_TEMPLATE, self.options)
        self.chat = self.make_chat()

    @abstractmethod
    def make_chat(self) -> ChatBackend:
        """The model that thinks: a local VLM (`editthinker`) or an API model (`gpt-thinker`)."""

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "template": self.template.identity()}

    def plan_batch(self, states: Sequence[AgentState]) -> list[Action]:
        opts = self.options
        actions: list[Action | None] = [None] * len(states)
        asking: list[int] = []
        for i, s in enumerate(states):
            if s.step == 0 and opts.first_turn == "direct":
                actions[i] = Edit(s.sample.instruction)
            else:
                asking.append(i)
        if asking:
            replies = self.chat.generate([thinker_prompt(self.template, states[i]) for i in asking])
            for i, reply in zip(asking, replies, strict=True):
                if isinstance(reply, str):
                    actions[i] = decide(reply, states[i], opts.semantic_stop, opts.quality_stop)
                else:
                    actions[i] = Stop(reply.reason, error=True)
        return [a if a is not None else Stop("no decision", error=True) for a in actions]

    def close(self) -> None:
        self.chat.close()


@agents.register("editthinker", description="EditThinker-8B Think-while-Edit refiner (refine policy)", needs=LOCAL)
class EditThinker(ThinkerAgent):
    """EditThinker on a local Qwen3-VL checkpoint."""

    def make_chat(self) -> ChatBackend:
        assert isinstance(self.options, LocalVLMOptions)
        return chat_backend(self.options, f"{self.name} (thinker)")
