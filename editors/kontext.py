"""`kontext`: FLUX.1-Kontext [dev] through diffusers' FluxKontextPipeline.

Defaults are the published ones: 28 steps and guidance 2.5 (diffusers docs example, BFL's CLI, EditThinker's
setting; the pipeline's own signature default is 3.5). Kontext works at about one megapixel: with
`size_mode=native` (default) each input is resized to the trained resolution nearest its aspect ratio (the list
diffusers ships) and the result is resized back to the input size; `size_mode=input` edits at the input size
(floored to 16 px), off the training distribution but cheap. Either way height, width and max_area are passed
explicitly, which avoids the pipeline's square-output trap for non-square inputs (diffusers#11886).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

from PIL import Image
from pydantic import Field, model_validator

from mirabench.backends.diffusers_editor import DIFFUSERS, DiffusersEditor, DiffusersOptions, floor_to
from mirabench.registry import editors


class KontextOptions(DiffusersOptions):
    steps: int = Field(28, ge=1)
    guidance: float = Field(2.5, ge=0.0, description="embedded (distilled) guidance")
    true_cfg_scale: float = Field(1.0, ge=1.0, description="real CFG; > 1 needs negative_prompt")
    size_mode: Literal["native", "input"] = "native"
    max_sequence_length: int = Field(512, ge=1)

    @model_validator(mode="after")
    def _cache_without_true_cfg(self) -> KontextOptions:
        if self.cache != "none" and self.true_cfg_scale > 1:
            raise ValueError("cache needs true_cfg_scale 1 for kontext (its pipeline does not name cond/uncond calls)")
        return self


@editors.register(
    "kontext",
    description="FLUX.1-Kontext-dev (diffusers; 28 steps, guidance 2.5)",
    needs=replace(DIFFUSERS, weights="black-forest-labs/FLUX.1-Kontext-dev"),
)
class KontextEditor(DiffusersEditor):
    """Instruction editing with FLUX.1-Kontext [dev]."""

    version = "1"
    pipeline_class = "FluxKontextPipeline"
    default_path = "black-forest-labs/FLUX.1-Kontext-dev"
    Options = KontextOptions
    options: KontextOptions
    names_cache_calls = False  # FluxKontextPipeline does not: one context per call, so no true CFG with a cache

    def working_size(self, image: Image.Image) -> tuple[int, int]:
        if self.options.size_mode == "input":
            return floor_to(image.width, 16), floor_to(image.height, 16)
        from diffusers.pipelines.flux.pipeline_flux_kontext import PREFERRED_KONTEXT_RESOLUTIONS

        ratio = image.width / image.height
        _, w, h = min((abs(ratio - w / h), w, h) for w, h in PREFERRED_KONTEXT_RESOLUTIONS)
        return floor_to(w, 16), floor_to(h, 16)

    def call_kwargs(self, size: tuple[int, int]) -> dict[str, Any]:
        w, h = size
        opts = self.options
        return {
            "guidance_scale": opts.guidance,
            "true_cfg_scale": opts.true_cfg_scale,
            "height": h,
            "width": w,
            "max_area": w * h,
            "_auto_resize": False,
            "max_sequence_length": opts.max_sequence_length,
        }
