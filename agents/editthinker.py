"""`editthinker`: EditThinker's Think-while-Edit critic/refiner (Qwen3-VL-8B; EditThinker-8B weights by default).

The loop of the released code (appletea233/EditThinker `inference/run_edit_thinker_inference.py`), rules
`released` (default): every edit re-edits the source image with a full instruction. Turn 1 sends the user's
instruction unchanged (`--skip_first_turn_rewrite`, which every benchmark script passes; `first_turn=rewrite` asks
the thinker first). Each later turn the thinker sees (source, latest edit, original instruction, last prompt) and
answers `<think>`, `<score>{"semantic", "quality"}`, `<answer>`: the first `<score>` block is read as JSON (not
JSON: no scores), the first `<answer>` block is the new prompt (absent: the last prompt). The loop stops when the
new prompt equals the last one or is empty, or when semantic >= `semantic_stop` and quality >= `quality_stop`
(8 and 8 upstream); otherwise it edits with the new prompt. Scores that cannot be compared (strings, a JSON list)
make upstream retry and then edit again with the same prompt: we do the latter at once. At most
`max_edit_turns` edits (5 in the released vLLM script); the last edit is not judged. The final image is the
latest edit. Rules `strict`: a reply without a parsable score or answer ends the sample as an error instead.
Prompt wording is our own unless `template_file` points at the released `inference/prompt_template.txt`, or
`mirabench data get-prompts` fetched it (pinned by commit and sha256): it is then read at run time and hash-pinned.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import Field, model_validator

from mirabench.backends.local_vlm import (
    ChatBackend,
    LocalVLMOptions,
    TemplateOptions,
    chat_backend,
    load_template,
    pin_template,
)
from mirabench.backends.parsing import ParseError, parse_thinker
from mirabench.backends.prompts import EDITTHINKER_TEMPLATE, Part, Template
from mirabench.judge.prompt_files import default_path
from mirabench.plugins import Agent, Options
from mirabench.registry import Needs, agents
from mirabench.types import Action, AgentState, Edit, Stop

LOCAL = Needs(modules=("torch", "transformers"), extra="local")


class ThinkerLoopOptions(TemplateOptions):
    """The loop's own settings, whatever model thinks."""

    @model_validator(mode="before")
    @classmethod
    def _pin_template(cls, data: Any) -> Any:
        """The released prompt (`mirabench data get-prompts`) when fetched and no other file is given."""
        fetched = default_path("editthinker_prompt_template.txt")
        if isinstance(data, dict) and not data.get("template_file") and fetched.is_file():
            data = {**data, "template_file": str(fetched)}
        return pin_template(data)

    first_turn: Literal["direct", "rewrite"] = "direct"
    semantic_stop: float = Field(8.0, ge=0.0, le=10.0)
    quality_stop: float = Field(8.0, ge=0.0, le=10.0)
    max_edit_turns: int = Field(5, ge=1, description="edits per sample (released vLLM script: MAX_EDIT_TURNS=5)")
    rules: Literal["released", "strict"] = "released"


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


def decide(
    text: str,
    state: AgentState,
    semantic_stop: float,
    quality_stop: float,
    rules: Literal["released", "strict"] = "released",
) -> Action:
    """One thinker answer -> Edit(refined prompt) or Stop, by the released loop's rules (or strictly)."""
    previous = state.last_instruction or state.sample.instruction
    if rules == "strict":
        try:
            reply = parse_thinker(text)
        except ParseError as exc:
            return Stop(f"unparseable thinker output: {exc}", raw=text, error=True)
        new: str | None = reply.answer
        semantic: Any = reply.semantic
        quality: Any = reply.quality
        by_score = semantic >= semantic_stop and quality >= quality_stop
    else:
        score = re.search(r"<score>(.*?)</score>", text, re.DOTALL)
        try:
            scores: Any = json.loads(score.group(1).strip()) if score else {}
        except ValueError:
            scores = {}
        answer = re.search(r"<answer>(.*?)</answer>", text, re.DOTALL)
        new = answer.group(1).strip() if answer else None
        try:
            semantic, quality = scores.get("semantic", 0), scores.get("quality", 0)
            by_score = bool(semantic >= semantic_stop and quality >= quality_stop)  # raises where upstream raises
        except (AttributeError, TypeError):  # upstream retries, then edits again with the same prompt
            return Edit(previous, None, text)
    critique = {"semantic": float(semantic), "quality": float(quality)}
    if state.step == 0:  # first-turn rewrite: there is no edit to judge yet
        return Edit(new or state.sample.instruction, critique, text)
    if new is None:
        return Stop("thinker gave no <answer>: the last prompt stands (satisfied)", critique, text)
    if not new.strip():
        return Stop("thinker gave an empty prompt (satisfied)", critique, text)
    if new.strip() == previous.strip():
        return Stop("thinker kept the last prompt (satisfied)", critique, text)
    if by_score:
        return Stop("thinker satisfied (scores at threshold)", critique, text)
    return Edit(new.strip(), critique, text)


ThinkerOptionsT = TypeVar("ThinkerOptionsT", bound=ThinkerLoopOptions)


class ThinkerAgent(Agent[ThinkerOptionsT], ABC):
    """The Think-while-Edit loop around any chat backend (subclasses pick the backend and its options)."""

    version = "1"
    policy = "refine"
    Options: ClassVar[type[Options]] = EditThinkerOptions

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
            if s.step >= opts.max_edit_turns:  # the released loop never judges its last edit
                actions[i] = Stop(f"turn limit reached (max_edit_turns={opts.max_edit_turns})")
            elif s.step == 0 and opts.first_turn == "direct":
                actions[i] = Edit(s.sample.instruction)
            else:
                asking.append(i)
        if asking:
            replies = self.chat.generate([thinker_prompt(self.template, states[i]) for i in asking])
            for i, reply in zip(asking, replies, strict=True):
                if isinstance(reply, str):
                    actions[i] = decide(reply, states[i], opts.semantic_stop, opts.quality_stop, opts.rules)
                else:
                    actions[i] = Stop(reply.reason, error=True)
        return [a if a is not None else Stop("no decision", error=True) for a in actions]

    def close(self) -> None:
        self.chat.close()


@agents.register(
    "editthinker",
    description="EditThinker-8B Think-while-Edit refiner (refine policy)",
    needs=replace(LOCAL, weights="appletea2333/EditThinker-8B"),
)
class EditThinker(ThinkerAgent[EditThinkerOptions]):
    """EditThinker on a local Qwen3-VL checkpoint."""

    def make_chat(self) -> ChatBackend:
        assert isinstance(self.options, LocalVLMOptions)
        return chat_backend(self.options, f"{self.name} (thinker)")
