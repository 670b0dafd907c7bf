"""`instructpix2pix`: InstructPix2Pix (Brooks et al.) through diffusers' StableDiffusionInstructPix2PixPipeline.

Published defaults (paper and pipeline): 100 steps, text guidance 7.5, image guidance 1.5. The pipeline edits at the
input size floored to 8 px; `editor.size` > 0 first scales the longer side to that many pixels (the model was
trained at 256-512 px).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PIL import Image
from pydantic import Field

from mirabench.backends.diffusers_editor import DIFFUSERS, DiffusersEditor, DiffusersOptions, floor_to
from mirabench.registry import editors


class InstructPix2PixOptions(DiffusersOptions):
    steps: int = Field(100, ge=1)
    guidance: float = Field(7.5, ge=0.0, description="text guidance")
    image_guidance: float = Field(1.5, ge=0.0)
    size: int = Field(0, ge=0, description="scale the longer side to this before editing; 0 = input size")


@editors.register(
    "instructpix2pix",
    description="InstructPix2Pix (diffusers; 100 steps, guidance 7.5 / 1.5)",
    needs=replace(DIFFUSERS, weights="timbrooks/instruct-pix2pix"),
)
class InstructPix2PixEditor(DiffusersEditor):
    """Instruction editing with InstructPix2Pix (Stable Diffusion 1.5 based)."""

    version = "1"
    pipeline_class = "StableDiffusionInstructPix2PixPipeline"
    default_path = "timbrooks/instruct-pix2pix"
    Options = InstructPix2PixOptions
    options: InstructPix2PixOptions

    def working_size(self, image: Image.Image) -> tuple[int, int]:
        w, h = image.size
        if self.options.size:
            scale = self.options.size / max(w, h)
            w, h = round(w * scale), round(h * scale)
        return floor_to(w, 8), floor_to(h, 8)

    def call_kwargs(self, size: tuple[int, int]) -> dict[str, Any]:
        return {"guidance_scale": self.options.guidance, "image_guidance_scale": self.options.image_guidance}
