"""Tiny random-weight Qwen2.5-VL and Qwen3-VL checkpoints (model, tokenizer, processor, chat template).

The tokenizer is byte-level with no merges (every string encodes, one token per byte) plus Qwen's special tokens;
the chat template is our own minimal Qwen-VL style one (images inline as vision blocks, a default system turn,
assistant content in generation tags so assistant-only losses work). Configs follow the Qwen-VL rules: M-RoPE
sections sum to head_dim / 2, vision output width = text width, token ids taken from the tokenizer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["CHAT_TEMPLATE", "SPECIAL_TOKENS", "tiny_qwen25_vl", "tiny_qwen3_vl", "tiny_qwen_tokenizer"]

SPECIAL_TOKENS = [
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
]

CHAT_TEMPLATE = (
    "{%- macro body(content) -%}"
    "{%- if content is string -%}{{ content }}"
    "{%- else -%}{%- for item in content -%}"
    "{%- if item['type'] == 'image' -%}<|vision_start|><|image_pad|><|vision_end|>"
    "{%- elif item['type'] == 'text' -%}{{ item['text'] }}{%- endif -%}"
    "{%- endfor -%}{%- endif -%}"
    "{%- endmacro -%}"
    "{%- for message in messages -%}"
    "{%- if loop.first and message['role'] != 'system' -%}"
    "<|im_start|>system{{ '\\n' }}You are a helpful assistant.<|im_end|>{{ '\\n' }}"
    "{%- endif -%}"
    "<|im_start|>{{ message['role'] }}{{ '\\n' }}"
    "{%- if message['role'] == 'assistant' -%}"
    "{% generation %}{{ body(message['content']) }}<|im_end|>{% endgeneration %}"
    "{%- else -%}{{ body(message['content']) }}<|im_end|>{%- endif -%}{{ '\\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}<|im_start|>assistant{{ '\\n' }}{%- endif -%}"
)


def tiny_qwen_tokenizer(chat_template: str = CHAT_TEMPLATE, corpus: Sequence[str] = (), vocab_size: int = 1024) -> Any:
    """A byte-level Qwen2Tokenizer built from Python objects: 256 byte symbols + `<|endoftext|>` + specials.

    With a `corpus`, byte-pair merges are learnt from it (up to `vocab_size` entries), so the words of a small
    world are single tokens and a tiny model's sequences are several times shorter; without, one token per byte.
    """
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import Qwen2Tokenizer

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {"<|endoftext|>": 0}
    for sym in alphabet:
        vocab[sym] = len(vocab)
    merges: list[Any] = []
    if corpus:
        bpe = Tokenizer(models.BPE())
        bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size, initial_alphabet=alphabet, special_tokens=["<|endoftext|>"], show_progress=False
        )
        bpe.train_from_iterator(corpus, trainer)
        learnt = json.loads(bpe.to_str())["model"]
        for token, _ in sorted(learnt["vocab"].items(), key=lambda kv: kv[1]):
            vocab.setdefault(token, len(vocab))
        merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ", 1)) for m in learnt["merges"]]
    kwargs: dict[str, Any] = {"unk_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"}
    tok = Qwen2Tokenizer(vocab=vocab, merges=merges, extra_special_tokens=SPECIAL_TOKENS, **kwargs)
    tok.chat_template = chat_template
    return tok


def _token_ids(tok: Any) -> dict[str, Any]:
    tid = tok.convert_tokens_to_ids
    return {
        "image_token_id": tid("<|image_pad|>"),
        "video_token_id": tid("<|video_pad|>"),
        "vision_start_token_id": tid("<|vision_start|>"),
        "vision_end_token_id": tid("<|vision_end|>"),
    }


def _text_ids(tok: Any) -> dict[str, Any]:
    tid = tok.convert_tokens_to_ids
    return {
        "bos_token_id": tid("<|endoftext|>"),
        "eos_token_id": tid("<|im_end|>"),
        "pad_token_id": tid("<|endoftext|>"),
    }


def _save(model: Any, processor: Any, tok: Any, out_dir: Path) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ids = _text_ids(tok)
    model.generation_config.eos_token_id = ids["eos_token_id"]
    model.generation_config.pad_token_id = ids["pad_token_id"]
    model.generation_config.bos_token_id = ids["bos_token_id"]
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    return out_dir


def _image_processor(patch: int) -> Any:
    from transformers import Qwen2VLImageProcessor

    return Qwen2VLImageProcessor(
        patch_size=patch, merge_size=2, temporal_patch_size=2, min_pixels=(2 * patch) ** 2, max_pixels=(8 * patch) ** 2
    )


def tiny_qwen25_vl(
    out_dir: Path,
    hidden: int = 32,
    heads: int = 4,
    layers: int = 2,
    seed: int = 0,
    init_std: float = 0.5,
    corpus: Sequence[str] = (),
    vision_hidden: int = 32,
) -> Path:
    """Save a ~100k-parameter Qwen2.5-VL (patch 14) with its processor into `out_dir` (with `corpus`, a tokenizer
    whose merges are learnt from it; benchmarks/train_shapes.py trains a wider one).

    `init_std` is far above the usual 0.02 so that the random model's output depends on its input (with small
    weights every prompt decodes to the same bytes, and batched-vs-single comparisons would prove nothing).
    """
    import torch
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration, Qwen2_5_VLProcessor
    from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

    tok = tiny_qwen_tokenizer(corpus=corpus)
    half = hidden // heads // 2
    cfg = Qwen2_5_VLConfig(
        text_config={
            "vocab_size": len(tok),
            "hidden_size": hidden,
            "intermediate_size": 2 * hidden,
            "num_hidden_layers": layers,
            "num_attention_heads": heads,
            "num_key_value_heads": 2,
            "rope_parameters": {"rope_type": "default", "rope_theta": 1e4, "mrope_section": [1, 1, half - 2]},
            "initializer_range": init_std,
            **_text_ids(tok),
        },
        vision_config={
            "depth": 2,
            "hidden_size": vision_hidden,
            "intermediate_size": 2 * vision_hidden,
            "num_heads": 4,
            "out_hidden_size": hidden,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "window_size": 56,
            "fullatt_block_indexes": [1],
        },
        **{"initializer_range": init_std, **_token_ids(tok)},
    )
    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(cfg)
    video = Qwen2VLVideoProcessor(patch_size=14, merge_size=2, temporal_patch_size=2)
    processor = Qwen2_5_VLProcessor(_image_processor(14), tok, video, chat_template=CHAT_TEMPLATE)
    return _save(model, processor, tok, out_dir)


def tiny_qwen3_vl(
    out_dir: Path, hidden: int = 32, heads: int = 4, layers: int = 2, seed: int = 0, init_std: float = 0.5
) -> Path:
    """Save a ~150k-parameter Qwen3-VL (patch 16, deepstack at layer 0) with its processor (see tiny_qwen25_vl)."""
    import torch
    from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration, Qwen3VLProcessor
    from transformers.models.qwen3_vl.video_processing_qwen3_vl import Qwen3VLVideoProcessor

    tok = tiny_qwen_tokenizer()
    head_dim = 8
    cfg = Qwen3VLConfig(
        text_config={
            "vocab_size": len(tok),
            "hidden_size": hidden,
            "intermediate_size": 2 * hidden,
            "num_hidden_layers": layers,
            "num_attention_heads": heads,
            "num_key_value_heads": 2,
            "head_dim": head_dim,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 1e4,
                "mrope_section": [1, 1, head_dim // 2 - 2],
                "mrope_interleaved": True,
            },
            "initializer_range": init_std,
            **_text_ids(tok),
        },
        vision_config={
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_heads": 4,
            "out_hidden_size": hidden,
            "patch_size": 16,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "num_position_embeddings": 64,
            "deepstack_visual_indexes": [0],
        },
        **{"initializer_range": init_std, **_token_ids(tok)},
    )
    torch.manual_seed(seed)
    model = Qwen3VLForConditionalGeneration(cfg)
    video = Qwen3VLVideoProcessor(patch_size=16, merge_size=2, temporal_patch_size=2)
    processor = Qwen3VLProcessor(_image_processor(16), tok, video, chat_template=CHAT_TEMPLATE)
    return _save(model, processor, tok, out_dir)
