"""Tiny random-weight diffusers editing pipelines, saved with `save_pretrained` so they load like real ones.

Component shapes follow diffusers' own fast tests, shrunk; tokenizers are built from Python objects (no vocab
files, no sentencepiece). Call them at 32-64 px with 1-2 steps. Qwen-Image-Edit resizes every input to about one
megapixel inside `__call__` (20 s per edit even with these weights): wrap calls in `small_qwen_image_area()`.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["small_qwen_image_area", "tiny_instructpix2pix", "tiny_kontext", "tiny_qwen_image_edit"]


def _clip(seed: int) -> tuple[Any, Any]:
    import torch
    from tokenizers import pre_tokenizers
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    vocab = {sym + "</w>": i for i, sym in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    tok: Any = CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)
    eos = int(tok.convert_tokens_to_ids("<|endoftext|>"))
    cfg = CLIPTextConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=37,
        num_hidden_layers=2,
        num_attention_heads=4,
        projection_dim=32,
        max_position_embeddings=77,
        bos_token_id=int(tok.convert_tokens_to_ids("<|startoftext|>")),
        eos_token_id=eos,
        pad_token_id=eos,
    )
    torch.manual_seed(seed)
    return tok, CLIPTextModel(cfg)


def _t5(seed: int) -> tuple[Any, Any]:
    import torch
    from transformers import T5Config, T5EncoderModel, T5Tokenizer

    chars = [c for c in string.printable if not c.isspace()]
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -2.0)]
    vocab += [(c, -5.0) for c in chars] + [("\u2581" + c, -4.0) for c in chars]
    tok = T5Tokenizer(vocab=vocab, extra_ids=0)
    cfg = T5Config(
        vocab_size=len(tok),
        d_model=32,
        d_kv=8,
        d_ff=37,
        num_layers=2,
        num_heads=4,
        relative_attention_num_buckets=8,
        pad_token_id=0,
        eos_token_id=1,
    )
    torch.manual_seed(seed)
    return tok, T5EncoderModel(cfg)


def _save(pipe: Any, out_dir: Path) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pipe.save_pretrained(out_dir)
    return out_dir


def tiny_kontext(out_dir: Path, seed: int = 0) -> Path:
    """FluxKontextPipeline: 1+1-layer Flux transformer, 1-channel VAE, tiny CLIP and T5 (about 0.5 MB)."""
    import torch
    from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, FluxKontextPipeline, FluxTransformer2DModel

    torch.manual_seed(seed)
    transformer = FluxTransformer2DModel(
        patch_size=1,
        in_channels=4,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=32,
        pooled_projection_dim=32,
        axes_dims_rope=[4, 4, 8],
    )
    vae = AutoencoderKL(
        sample_size=32,
        in_channels=3,
        out_channels=3,
        block_out_channels=(4, 8),
        layers_per_block=1,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=1,
        norm_num_groups=1,
        use_quant_conv=False,
        use_post_quant_conv=False,
        shift_factor=0.0609,
        scaling_factor=1.5035,
    )
    clip_tok, clip = _clip(seed)
    t5_tok, t5 = _t5(seed)
    pipe = FluxKontextPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=vae,
        text_encoder=clip,
        tokenizer=clip_tok,
        text_encoder_2=t5,
        tokenizer_2=t5_tok,
        transformer=transformer,
        image_encoder=None,
        feature_extractor=None,
    )
    return _save(pipe, out_dir)


def tiny_instructpix2pix(out_dir: Path, seed: int = 0) -> Path:
    """StableDiffusionInstructPix2PixPipeline: 2-level UNet with 8 input channels, 4-channel VAE, tiny CLIP."""
    import torch
    from diffusers import (
        AutoencoderKL,
        EulerAncestralDiscreteScheduler,
        StableDiffusionInstructPix2PixPipeline,
        UNet2DConditionModel,
    )

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=32,
        in_channels=8,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        norm_num_groups=8,
    )
    vae = AutoencoderKL(
        block_out_channels=(32, 64),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        norm_num_groups=8,
    )
    tok, clip = _clip(seed)
    pipe = StableDiffusionInstructPix2PixPipeline(
        vae=vae,
        text_encoder=clip,
        tokenizer=tok,
        unet=unet,
        scheduler=EulerAncestralDiscreteScheduler(),
        safety_checker=None,
        feature_extractor=None,
        image_encoder=None,
        requires_safety_checker=False,
    )
    return _save(pipe, out_dir)


def tiny_qwen_image_edit(out_dir: Path, plus: bool = False, seed: int = 0) -> Path:
    """QwenImageEditPipeline (or the Plus/2509 one): tiny MMDiT, Qwen VAE, tiny Qwen2.5-VL text encoder."""
    import torch
    from diffusers import (
        AutoencoderKLQwenImage,
        FlowMatchEulerDiscreteScheduler,
        QwenImageEditPipeline,
        QwenImageEditPlusPipeline,
        QwenImageTransformer2DModel,
    )
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration, Qwen2VLProcessor
    from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

    from mirabench.testing.qwen_vl import CHAT_TEMPLATE, _image_processor, _text_ids, _token_ids, tiny_qwen_tokenizer

    tok = tiny_qwen_tokenizer()
    torch.manual_seed(seed)
    text_encoder = Qwen2_5_VLForConditionalGeneration(
        Qwen2_5_VLConfig(
            text_config={
                "vocab_size": len(tok),
                "hidden_size": 16,
                "intermediate_size": 16,
                "num_hidden_layers": 2,
                "num_attention_heads": 2,
                "num_key_value_heads": 2,
                "rope_parameters": {"rope_type": "default", "rope_theta": 1e6, "mrope_section": [1, 1, 2]},
                **_text_ids(tok),
            },
            vision_config={
                "depth": 2,
                "hidden_size": 16,
                "intermediate_size": 16,
                "num_heads": 2,
                "out_hidden_size": 16,
                "patch_size": 14,
                "spatial_merge_size": 2,
                "temporal_patch_size": 2,
                "window_size": 56,
                "fullatt_block_indexes": [1],
            },
            **_token_ids(tok),
        )
    )
    transformer = QwenImageTransformer2DModel(
        patch_size=2,
        in_channels=16,
        out_channels=4,
        num_layers=2,
        attention_head_dim=16,
        num_attention_heads=3,
        joint_attention_dim=16,
        guidance_embeds=False,
        axes_dims_rope=(8, 4, 4),
    )
    vae = AutoencoderKLQwenImage(
        base_dim=24,
        z_dim=4,
        dim_mult=[1, 2, 4],
        num_res_blocks=1,
        temperal_downsample=[False, True],
        latents_mean=[0.0] * 4,
        latents_std=[1.0] * 4,
    )
    processor = Qwen2VLProcessor(
        _image_processor(14), tok, Qwen2VLVideoProcessor(patch_size=14), chat_template=CHAT_TEMPLATE
    )
    cls = QwenImageEditPlusPipeline if plus else QwenImageEditPipeline
    pipe = cls(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tok,
        processor=processor,
        transformer=transformer,
    )
    return _save(pipe, out_dir)


@contextmanager
def small_qwen_image_area(max_area: int = 64 * 64) -> Iterator[None]:
    """Cap the area Qwen-Image-Edit pipelines resize inputs to (they hard-code about one megapixel)."""
    from diffusers.pipelines.qwenimage import pipeline_qwenimage_edit as edit
    from diffusers.pipelines.qwenimage import pipeline_qwenimage_edit_plus as plus

    saved = (edit.calculate_dimensions, plus.calculate_dimensions, plus.VAE_IMAGE_SIZE, plus.CONDITION_IMAGE_SIZE)

    def capped(original: Any) -> Any:
        return lambda area, ratio: original(min(area, max_area), ratio)

    edit.calculate_dimensions = capped(saved[0])
    plus.calculate_dimensions = capped(saved[1])
    plus.VAE_IMAGE_SIZE = plus.CONDITION_IMAGE_SIZE = max_area
    try:
        yield
    finally:
        edit.calculate_dimensions, plus.calculate_dimensions, plus.VAE_IMAGE_SIZE, plus.CONDITION_IMAGE_SIZE = saved
