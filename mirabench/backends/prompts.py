"""Prompt templates for planner and thinker agents: our default wording, or the exact published text from a file.

A template is plain text with `<image>` markers where images go (in order) and literal placeholders for text
fields. The placeholder spellings match the published artefacts (the MIRA supplementary's planner template uses
`<instruction>`; EditThinker's `prompt_template.txt` uses `{original_instruction}` and `{rewritten_prompt}`), so
`--set agent.template_file=PATH` drops the authors' text in unchanged. Upstream text is never stored in this
repository: it is read from the user's file at run time and its sha256 enters the agent's identity (run.json).

Our defaults follow the published structure without copying it:
* MIRA planner (supplementary B.2): a role line; an inputs block with three labelled slots (original image, latest
  edited image, instruction set); four numbered steps (compare the images, find what is done, pick the most
  important remaining part, state it precisely); one output-format line with `NEXT_EDITING_INSTRUCTION:`.
* EditThinker (paper Fig. 7): the two images first; the original instruction and the last rewritten prompt; the
  semantic and quality criteria on 0-10; the `<think>`, `<score>` (JSON) and `<answer>` blocks in that order.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

__all__ = [
    "EDITTHINKER_TEMPLATE",
    "IMAGE",
    "MIRA_PLANNER_TEMPLATE",
    "Part",
    "REWRITE_TEMPLATE",
    "STOP_NOTE",
    "Template",
    "TemplateError",
]

IMAGE = "<image>"
Part = str | Image.Image


class TemplateError(ValueError):
    """A template file is missing, unreadable, or lacks a marker the agent fills in."""


@dataclass(frozen=True)
class Template:
    """Template text plus where it came from; renders to an interleaved list of text and images."""

    text: str
    source: str
    images: int
    fields: tuple[str, ...]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def identity(self) -> dict[str, str]:
        return {"source": self.source, "sha256": self.sha256}

    @classmethod
    def load(cls, default: Template, path: str | None) -> Template:
        """The default template, or the text of `path` checked for the same markers."""
        if not path:
            return default
        try:
            text = Path(path).expanduser().read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TemplateError(f"cannot read template file {path}: {exc}") from None
        return cls.checked(text.strip("\n"), f"file:{Path(path).name}", default.images, default.fields)

    @classmethod
    def checked(cls, text: str, source: str, images: int, fields: tuple[str, ...]) -> Template:
        found = text.count(IMAGE)
        if found != images:
            raise TemplateError(f"template {source} has {found} {IMAGE} markers, this agent fills in {images}")
        absent = [f for f in fields if f not in text]
        if absent:
            raise TemplateError(f"template {source} lacks the placeholder(s) {', '.join(absent)}")
        return cls(text, source, images, fields)

    def render(self, images: list[Image.Image], values: dict[str, str], suffix: str = "") -> list[Part]:
        """Split at image markers, then fill the text fields: text, image, text, ... (empty texts dropped).

        Splitting first and filling in one pass means user text that contains a marker stays text.
        """
        if len(images) != self.images:
            raise ValueError(f"template {self.source} takes {self.images} images, got {len(images)}")
        if set(values) != set(self.fields):
            raise ValueError(f"template {self.source} fills {sorted(self.fields)}, got {sorted(values)}")
        pattern = re.compile("|".join(re.escape(k) for k in sorted(values, key=len, reverse=True)))
        parts: list[Part] = []
        for i, raw in enumerate(self.text.split(IMAGE)):
            piece = pattern.sub(lambda m: values[m.group(0)], raw) if values else raw
            if piece:
                parts.append(piece)
            if i < len(images):
                parts.append(images[i])
        if suffix:
            parts.append(suffix)
        return parts


MIRA_PLANNER_TEMPLATE = Template.checked(
    "You plan image edits one step at a time. Looking at the original picture, the picture as edited so far and"
    " the complete set of requested changes, decide which single edit should be made next to bring the picture"
    " closer to the requested end result.\n\n"
    "Inputs:\n"
    "Original picture: <image>\n"
    "Picture after the latest edit: <image>\n"
    "Requested changes: <instruction>\n\n"
    "Steps:\n"
    "1. Compare the original picture with the latest edit.\n"
    "2. Work out which of the requested changes are already visible.\n"
    "3. Choose the most important requested change that is still missing.\n"
    "4. Write that change as one precise, self-contained editing command.\n\n"
    "Output format:\n"
    "NEXT_EDITING_INSTRUCTION: <one short, precise editing command>",
    "builtin:mira-planner-v1",
    2,
    ("<instruction>",),
)

STOP_NOTE = (
    "\n\nIf every requested change is already visible in the latest edit, answer with NEXT_EDITING_INSTRUCTION: <STOP>"
)
"""Appended for planners that were not trained on MIRA's trajectories (API models) so they know how to stop."""

EDITTHINKER_TEMPLATE = Template.checked(
    "<image><image>\n"
    "You review an image edit and improve the instruction that produced it.\n\n"
    "The first picture is the original; the second is the result of editing the original with the last rewritten"
    " prompt.\n"
    'What the user asked for: "{original_instruction}"\n'
    'Last rewritten prompt given to the editor: "{rewritten_prompt}"\n\n'
    "Rate the result from 0 to 10 on two axes:\n"
    "- semantic: did the edit do what the user asked while leaving everything else untouched? Missing the request"
    " and changing unrelated content both lower this score.\n"
    "- quality: does the edited picture look natural, without artifacts, distortions or lighting errors?\n\n"
    "If the result falls short, write a better prompt for the editor: say precisely what to change, where, and"
    " what must be preserved, fixing whatever went wrong this time. If it is good enough, repeat the last"
    " rewritten prompt unchanged.\n\n"
    "Answer in exactly this form:\n"
    "<think>your analysis</think>\n"
    '<score>{"semantic": S, "quality": Q}</score>\n'
    "<answer>the prompt for the next edit</answer>",
    "builtin:editthinker-v1",
    2,
    ("{original_instruction}", "{rewritten_prompt}"),
)

REWRITE_TEMPLATE = Template.checked(
    "<image>\n"
    "Rewrite the following image-editing request as one explicit instruction that an image editor can follow"
    " in a single pass: name every object and change precisely, and say what must stay the same.\n"
    "Request: <instruction>\n\n"
    "Output format:\n"
    "REWRITTEN_INSTRUCTION: <the rewritten instruction>",
    "builtin:rewrite-once-v1",
    1,
    ("<instruction>",),
)
