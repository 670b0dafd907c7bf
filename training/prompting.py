"""The planner's training rows in trl's conversational format, built with the agent's own prompt code.

SFT and GRPO render (I0, I_{t-1}, C) through `mirabench.agents.mira.planner_prompt`, the same function the `mira-*`
agents call at inference, so a trained checkpoint sees at evaluation exactly the prompt it was trained on.
"""

from __future__ import annotations

from typing import Any

from PIL import Image

from mirabench.backends.local_vlm import chat_messages, resize_for_planner
from mirabench.backends.prompts import MIRA_PLANNER_TEMPLATE, Template
from mirabench.types import AgentState, Sample

__all__ = ["ANSWER_TAG", "answer_text", "planner_template", "prompt_row", "sft_row"]

ANSWER_TAG = "NEXT_EDITING_INSTRUCTION:"


def answer_text(target: str) -> str:
    """The supervised answer: the output-format line of the planner template (stop rows say `<stop>`)."""
    return f"{ANSWER_TAG} {target}"


def planner_template(template_file: str | None) -> Template:
    return Template.load(MIRA_PLANNER_TEMPLATE, template_file)


def prompt_row(row: dict[str, Any], template: Template, image_size: int) -> dict[str, Any]:
    """`images` + conversational `prompt` for one data row (whose `images` are [I0, I_{t-1}])."""
    from mirabench.agents.mira import planner_prompt

    source, latest = row["images"]
    state = AgentState(Sample(row["session"], row["instruction"], source), source, latest, int(row["step"]))
    parts = planner_prompt(template, state)
    images = [resize_for_planner(p, image_size, "longest") for p in parts if isinstance(p, Image.Image)]
    return {"images": images, "prompt": chat_messages(parts)}


def sft_row(row: dict[str, Any], template: Template, image_size: int) -> dict[str, Any]:
    """Prompt plus the assistant's supervised answer (loss is computed on the completion only)."""
    completion = [{"role": "assistant", "content": [{"type": "text", "text": answer_text(row["target"])}]}]
    return {**prompt_row(row, template, image_size), "completion": completion}
