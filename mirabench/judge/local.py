"""An in-process Qwen-VL style judge (transformers, optional PEFT LoRA) behind the JudgeClient's `local` provider.

Requests are the same provider-neutral ChatRequests the API judges send; images travel as the encoded bytes in
the request (so the cache key is the same idea everywhere) and are decoded here. Two prompt layouts:
- `processor`: the checkpoint's own chat template, parts in request order (Qwen3-VL, EditScore's Qwen3-VL path);
- `vision-ids`: EditScore's hand-written Qwen2.5-VL layout: a fixed system turn, every image tagged `<imgN>: `
  with its vision tokens, then the text (upstream works around a transformers bug with vision ids this way).
Sampling follows the request: temperature None or 0 is greedy; `extra` may carry top_p / top_k; a request seed
seeds torch before generating (EditScore seeds every pass). Requests run one at a time (no padding effects).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any, Literal

from mirabench.judge.accounting import Usage
from mirabench.judge.backends import Reply
from mirabench.judge.messages import ChatRequest, ImagePart

__all__ = ["TransformersVLM", "vision_ids_prompt"]

Layout = Literal["processor", "vision-ids"]


def vision_ids_prompt(text: str, n_images: int, system: str = "You are a helpful assistant.") -> str:
    """EditScore's Qwen2.5-VL prompt layout (structure documented in PROTOCOLS.md section 4.3)."""
    images = "".join(f"<img{i}>: <|vision_start|><|image_pad|><|vision_end|>" for i in range(1, n_images + 1))
    return (
        f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{images}{text}<|im_end|>\n<|im_start|>assistant\n"
    )


class TransformersVLM:
    """`LocalGenerate` for JudgeClient: loads once, answers ChatRequests with decoded text and token counts."""

    def __init__(
        self,
        path: str,
        *,
        lora_path: str | None = None,
        layout: Layout = "processor",
        images_first: bool = False,
        dtype: str = "auto",
        device: str = "auto",
        max_new_tokens: int = 512,
        trust_remote_code: bool = False,
    ) -> None:
        import torch
        from transformers import AutoModelForImageTextToText, AutoProcessor

        self.path = path
        self.layout = layout
        self.images_first = images_first
        self.max_new_tokens = max_new_tokens
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        torch_dtype: Any = dtype if dtype == "auto" else getattr(torch, dtype)
        self.processor = AutoProcessor.from_pretrained(path, trust_remote_code=trust_remote_code)
        model: Any = AutoModelForImageTextToText.from_pretrained(
            path, dtype=torch_dtype, trust_remote_code=trust_remote_code
        )
        if lora_path:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, lora_path).merge_and_unload()
        self.model = model.to(device).eval()

    def render(self, req: ChatRequest) -> str:
        """The exact prompt text the model sees (golden tests compare it)."""
        if self.layout == "vision-ids":
            return vision_ids_prompt(req.text, len(req.images), req.system or "You are a helpful assistant.")
        parts = list(req.parts)
        if self.images_first:
            parts = [p for p in parts if isinstance(p, ImagePart)] + [p for p in parts if isinstance(p, str)]
        content = [{"type": "image"} if isinstance(p, ImagePart) else {"type": "text", "text": p} for p in parts]
        messages: list[dict[str, Any]] = []
        if req.system is not None:
            messages.append({"role": "system", "content": [{"type": "text", "text": req.system}]})
        messages.append({"role": "user", "content": content})
        return str(self.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False))

    def __call__(self, requests: Sequence[ChatRequest]) -> list[Reply]:
        return [self._one(r) for r in requests]

    def _one(self, req: ChatRequest) -> Reply:
        import torch
        from PIL import Image

        images = [Image.open(io.BytesIO(p.data)).convert("RGB") for p in req.images]
        text = self.render(req)
        inputs = self.processor(text=[text], images=images or None, return_tensors="pt").to(self.device)
        gen: dict[str, Any] = {"max_new_tokens": req.max_tokens or self.max_new_tokens}
        if req.temperature:
            gen.update(do_sample=True, temperature=req.temperature)
            gen.update({k: req.extra[k] for k in ("top_p", "top_k") if k in req.extra})
        else:
            gen["do_sample"] = False
        if req.seed is not None:
            torch.manual_seed(req.seed)
        with torch.no_grad():
            out = self.model.generate(**inputs, **gen)
        n_in = int(inputs["input_ids"].shape[1])
        new = out[0, n_in:]
        answer = self.processor.batch_decode([new], skip_special_tokens=True, clean_up_tokenization_spaces=False)[0]
        return Reply(answer.strip(), self.path, Usage(n_in, int(new.shape[0])), "stop")
