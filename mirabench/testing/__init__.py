"""Tiny random-weight stand-ins for every local backend, built at test time and loaded like real checkpoints.

Nothing is downloaded: each builder creates a model from a small config, saves it with `save_pretrained` into a
folder and returns that folder, so tests load it through the same `from_pretrained` path users take with real
weights (`--set agent.path=DIR`, `--set editor.path=DIR`). Outputs are deterministic garbage: never assert on
their values, only on shapes, types, parsing and bookkeeping. Not imported by `import mirabench`.

API (each builder: `out_dir` is created if missing; returns `out_dir` as a Path; < 1 s on 2 CPU cores):

    from mirabench.testing import qwen_vl, diffusion

    qwen_vl.tiny_qwen25_vl(out_dir, hidden=32)   # Qwen2_5_VLForConditionalGeneration + processor + chat template
    qwen_vl.tiny_qwen3_vl(out_dir, hidden=32)    # Qwen3VLForConditionalGeneration + processor + chat template
    qwen_vl.tiny_qwen_tokenizer()                # byte-level Qwen2Tokenizer (270 tokens, Qwen special tokens)
    qwen_vl.CHAT_TEMPLATE                        # minimal Qwen-VL Jinja template (images inline, generation tags)

    diffusion.tiny_kontext(out_dir)              # FluxKontextPipeline (tiny Flux transformer, VAE, CLIP + T5)
    diffusion.tiny_instructpix2pix(out_dir)      # StableDiffusionInstructPix2PixPipeline
    diffusion.tiny_qwen_image_edit(out_dir, plus=False)  # QwenImageEditPipeline / QwenImageEditPlusPipeline
    diffusion.small_qwen_image_area(64 * 64)     # context manager: cap Qwen-Image-Edit's hard-coded 1 MP resize

    from mirabench.testing import build_tiny
    build_tiny("qwen25-vl" | "qwen3-vl" | "kontext" | "instructpix2pix" | "qwen-image-edit"
               | "qwen-image-edit-plus", out_dir)  # the same builders by name

Load the VL fixtures with `AutoProcessor.from_pretrained(d)` and `AutoModelForImageTextToText.from_pretrained(d)`
(processor min/max pixels are set so a 64 px image is a handful of tokens), the pipelines with
`DiffusionPipeline.from_pretrained(d)`; call pipelines at 32-64 px with 1-2 steps (Kontext: `_auto_resize=False`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

__all__ = ["BUILDERS", "build_tiny"]


def _builders() -> dict[str, Callable[[Path], Path]]:
    from mirabench.testing.diffusion import tiny_instructpix2pix, tiny_kontext, tiny_qwen_image_edit
    from mirabench.testing.qwen_vl import tiny_qwen3_vl, tiny_qwen25_vl

    return {
        "qwen25-vl": tiny_qwen25_vl,
        "qwen3-vl": tiny_qwen3_vl,
        "kontext": tiny_kontext,
        "instructpix2pix": tiny_instructpix2pix,
        "qwen-image-edit": tiny_qwen_image_edit,
        "qwen-image-edit-plus": lambda d: tiny_qwen_image_edit(d, plus=True),
    }


BUILDERS = ("qwen25-vl", "qwen3-vl", "kontext", "instructpix2pix", "qwen-image-edit", "qwen-image-edit-plus")


def build_tiny(kind: str, out_dir: Path | str) -> Path:
    """Build the tiny stand-in named `kind` (one of BUILDERS) into `out_dir`."""
    builders = _builders()
    if kind not in builders:
        raise KeyError(f"no tiny builder {kind!r}; choose from {', '.join(BUILDERS)}")
    return builders[kind](Path(out_dir))
