"""`qwen-image-edit` (Qwen-Image-Edit) and `qwen-image-edit-plus` (Qwen-Image-Edit-2509, also takes -2511 weights).

Published defaults: Edit 50 steps, 2509/2511 40 steps, both true CFG 4.0 with negative prompt " " (CFG is only active
when a negative prompt is given, hence the default). The model works at about one megapixel at the input aspect
ratio (`size_mode=native`); `size_mode=input` keeps the input size (floored to 32 px). The pipelines resize the VAE
conditioning to about one megapixel whatever the output size. The Plus pipeline reads a list of images as several
references for one prompt, so it is called one request at a time; the Edit pipeline batches.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Literal

from PIL import Image
from pydantic import Field

from mirabench.backends.diffusers_editor import DIFFUSERS, DiffusersEditor, DiffusersOptions, floor_to
from mirabench.registry import editors


class QwenImageEditOptions(DiffusersOptions):
    steps: int = Field(50, ge=1)
    guidance: float = Field(4.0, ge=0.0, description="true_cfg_scale")
    negative_prompt: str | None = " "
    size_mode: Literal["native", "input"] = "native"
    max_sequence_length: int = Field(512, ge=1)


class QwenImageEditPlusOptions(QwenImageEditOptions):
    steps: int = Field(40, ge=1)


@editors.register(
    "qwen-image-edit",
    description="Qwen-Image-Edit (diffusers; 50 steps, true CFG 4)",
    needs=replace(DIFFUSERS, weights="Qwen/Qwen-Image-Edit"),
)
class QwenImageEditor(DiffusersEditor):
    """Instruction editing with Qwen-Image-Edit (20B MMDiT, Qwen2.5-VL condition encoder)."""

    version = "1"
    pipeline_class = "QwenImageEditPipeline"
    default_path = "Qwen/Qwen-Image-Edit"
    Options = QwenImageEditOptions
    options: QwenImageEditOptions

    def working_size(self, image: Image.Image) -> tuple[int, int]:
        if self.options.size_mode == "input":
            return floor_to(image.width, 32), floor_to(image.height, 32)
        ratio = image.width / image.height
        w = math.sqrt(1024 * 1024 * ratio)
        return floor_to(round(w / 32) * 32, 32), floor_to(round(w / ratio / 32) * 32, 32)

    def call_kwargs(self, size: tuple[int, int]) -> dict[str, Any]:
        w, h = size
        return {
            "true_cfg_scale": self.options.guidance,
            "height": h,
            "width": w,
            "max_sequence_length": self.options.max_sequence_length,
        }


@editors.register(
    "qwen-image-edit-plus",
    description="Qwen-Image-Edit-2509/2511 (diffusers; 40 steps, true CFG 4)",
    needs=replace(DIFFUSERS, weights="Qwen/Qwen-Image-Edit-2509"),
)
class QwenImageEditPlusEditor(QwenImageEditor):
    """Qwen-Image-Edit-2509 (set editor.path to Qwen/Qwen-Image-Edit-2511 for the newer weights)."""

    version = "1"
    pipeline_class = "QwenImageEditPlusPipeline"
    default_path = "Qwen/Qwen-Image-Edit-2509"
    Options = QwenImageEditPlusOptions
    options: QwenImageEditPlusOptions

    def max_batch(self) -> int:
        return 1
