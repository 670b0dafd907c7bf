"""Prompt rendering, golden: the exact text a Qwen-VL planner/thinker sees, and template files pinned by hash."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from mirabench.backends.prompts import EDITTHINKER_TEMPLATE, MIRA_PLANNER_TEMPLATE, STOP_NOTE, Template, TemplateError
from mirabench.registry import PluginError, agents
from mirabench.types import AgentState, Edit, Sample, Step

VISION = "<|vision_start|><|image_pad|><|vision_end|>"
GOLDEN_MIRA = (
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
    "You plan image edits one step at a time. Looking at the original picture, the picture as edited so far and the"
    " complete set of requested changes, decide which single edit should be made next to bring the picture closer"
    " to the requested end result.\n\n"
    f"Inputs:\nOriginal picture: {VISION}\nPicture after the latest edit: {VISION}\n"
    "Requested changes: turn the red circle blue, then add a small star\n\n"
    "Steps:\n1. Compare the original picture with the latest edit.\n"
    "2. Work out which of the requested changes are already visible.\n"
    "3. Choose the most important requested change that is still missing.\n"
    "4. Write that change as one precise, self-contained editing command.\n\n"
    "Output format:\nNEXT_EDITING_INSTRUCTION: <one short, precise editing command><|im_end|>\n"
    "<|im_start|>assistant\n"
)


def state(instruction: str, step: int = 0, history: tuple[Step, ...] = ()) -> AgentState:
    src = Image.new("RGB", (64, 48), (200, 0, 0))
    latest = Image.new("RGB", (64, 48), (0, 0, 200))
    return AgentState(Sample("s1", instruction, src), src, latest, step, history)


def test_mira_prompt_renders_exactly_through_the_checkpoint_chat_template(tiny: dict[str, Path]) -> None:
    agent = agents.build("mira-7b", path=str(tiny["qwen25-vl"]))
    s = state("turn the red circle blue, then add a small star")
    parts = agent.prompt(s)
    assert [type(p).__name__ for p in parts] == ["str", "Image", "str", "Image", "str"]
    assert parts[1] is s.source and parts[3] is s.latest  # original first, latest edit second
    assert agent.chat.render(parts) == GOLDEN_MIRA
    assert agent.identity()["template"] == {"source": "builtin:mira-planner-v1", "sha256": MIRA_PLANNER_TEMPLATE.sha256}


def test_stop_note_is_appended_only_when_asked(tiny: dict[str, Path]) -> None:
    plain = agents.build("mira-7b", path=str(tiny["qwen25-vl"]))
    noted = agents.build("mira-7b", path=str(tiny["qwen25-vl"]), stop_note=True)
    s = state("add a hat")
    assert noted.chat.render(noted.prompt(s)) == plain.chat.render(plain.prompt(s)).replace(
        "<|im_end|>\n<|im_start|>assistant", STOP_NOTE + "<|im_end|>\n<|im_start|>assistant"
    )


def test_thinker_prompt_fills_original_and_last_prompt(tiny: dict[str, Path]) -> None:
    agent = agents.build("editthinker", path=str(tiny["qwen3-vl"]))
    history = (Step(0, Edit("add a red hat to the dog"), "img", 0),)
    text = agent.chat.render(agent_prompt(agent, state("give the dog a hat", 1, history)))
    head = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n" + VISION * 2 + "\n"
    assert text.startswith(head)
    assert 'What the user asked for: "give the dog a hat"\n' in text
    assert 'Last rewritten prompt given to the editor: "add a red hat to the dog"\n' in text
    assert text.endswith("<answer>the prompt for the next edit</answer><|im_end|>\n<|im_start|>assistant\n")


def agent_prompt(agent: object, s: AgentState) -> list:
    from mirabench.agents.editthinker import thinker_prompt

    return thinker_prompt(agent.template, s)  # type: ignore[attr-defined]


def test_user_text_containing_markers_stays_text() -> None:
    s = state("put <image> and {rewritten_prompt} on a sign")
    parts = EDITTHINKER_TEMPLATE.render(
        [s.source, s.latest], {"{original_instruction}": s.sample.instruction, "{rewritten_prompt}": "x <image>"}
    )
    assert sum(isinstance(p, Image.Image) for p in parts) == 2
    text = "".join(p for p in parts if isinstance(p, str))
    assert 'asked for: "put <image> and {rewritten_prompt} on a sign"' in text
    assert 'editor: "x <image>"' in text


def test_template_file_is_hash_pinned_in_the_options(tmp_path: Path) -> None:
    f = tmp_path / "planner.txt"
    f.write_text("Plan.\nA: <image>\nB: <image>\nC: <instruction>\nNEXT_EDITING_INSTRUCTION: ...\n")
    opts = agents.validate_options("mira-7b", {"template_file": str(f)})
    loaded = Template.load(MIRA_PLANNER_TEMPLATE, str(f))
    assert opts["template_sha256"] == loaded.sha256 and loaded.source == "file:planner.txt"
    assert agents.validate_options("mira-7b", opts) == opts  # resuming with the same file is fine
    f.write_text("Changed.\nA: <image>\nB: <image>\nC: <instruction>\n")
    with pytest.raises(PluginError, match="sha256"):
        agents.validate_options("mira-7b", opts)


def test_template_file_missing_a_marker_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "bad.txt"
    f.write_text("Only one image <image> and <instruction>")
    with pytest.raises(TemplateError, match="1 <image> markers"):
        Template.load(MIRA_PLANNER_TEMPLATE, str(f))
    f.write_text("<image><image> no instruction slot")
    with pytest.raises(TemplateError, match="<instruction>"):
        Template.load(MIRA_PLANNER_TEMPLATE, str(f))
    with pytest.raises(PluginError, match="cannot read template_file"):
        agents.validate_options("mira-7b", {"template_file": str(tmp_path / "absent.txt")})
