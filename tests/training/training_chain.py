"""Shared settings of the tiny training chain (shapes data, byte-level tiny Qwen2.5-VL, short template)."""

from __future__ import annotations

from typing import Any

# A short template of our own keeps the byte-level tiny model's sequences short (the default one works the same,
# only slower); the agent is given the same file at evaluation.
TEMPLATE = "Before: <image> Now: <image> Goal: <instruction>\nAnswer with NEXT_EDITING_INSTRUCTION:"
CPU: dict[str, Any] = dict(bf16=False, gradient_checkpointing=False, use_cpu=True, image_size=64, logging_steps=5)
