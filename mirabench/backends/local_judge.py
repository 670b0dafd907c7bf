"""An in-process Qwen-VL style judge (transformers, optional PEFT LoRA) behind the JudgeClient's `local` provider.

Loaded by `backends.local_vlm.load_vlm`, the same loader the local agents use.

Requests are the same provider-neutral ChatRequests the API judges send; images travel as the encoded bytes in
the request (so the cache key is the same idea everywhere) and are decoded here. Two prompt layouts:
- `processor`: the checkpoint's own chat template, parts in request order (Qwen3-VL, EditScore's Qwen3-VL path);
- `vision-ids`: EditScore's hand-written Qwen2.5-VL layout: a fixed system turn, every image tagged `<imgN>: `
  with its vision tokens, then the text (upstream works around a transformers bug with vision ids this way).
Sampling follows the request: temperature None or 0 is greedy; `extra` may carry top_p / top_k; a request seed
seeds torch before generating (EditScore seeds every pass). Greedy requests may run `batch_size` at a time
(left-padded; default 1, one at a time); sampled ones always run alone.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any, Literal

from mirabench.backends.local_vlm import load_vlm
from mirabench.backends.weights import pick_device
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
        batch_size: int = 1,
    ) -> None:
        self.path = path
        self.layout = layout
        self.images_first = images_first
        self.max_new_tokens = max_new_tokens
        self.batch_size = max(1, batch_size)
        self.device = pick_device(device)
        self.model, self.processor = load_vlm(
            path,
            what="judge model",
            adapter=lora_path,
            dtype=dtype,
            device=self.device,
            trust_remote_code=trust_remote_code,
        )

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
        """Greedy requests with the same token limit go `batch_size` at a time; sampled ones (seeded per request,
        as EditScore's passes are) one at a time, so a seed means the same draw as when run alone."""
        replies: list[Reply | None] = [None] * len(requests)
        groups: dict[
            tuple[int | None, int], list[int]
        ] = {}  # alike prompts (same images, similar text): little padding
        for i, req in enumerate(requests):
            if req.temperature or self.batch_size == 1:
                replies[i] = self._generate([req])[0]
            else:
                groups.setdefault((req.max_tokens, len(req.images)), []).append(i)
        for idx in groups.values():
            idx.sort(key=lambda i: len(requests[i].text))
            for start in range(0, len(idx), self.batch_size):
                chunk = idx[start : start + self.batch_size]
                for i, reply in zip(chunk, self._generate([requests[i] for i in chunk]), strict=True):
                    replies[i] = reply
        return [r for r in replies if r is not None]

    def _generate(self, reqs: Sequence[ChatRequest]) -> list[Reply]:
        """One generate() call; several requests are left-padded together (they share every generation setting)."""
        import torch
        from PIL import Image

        images = [Image.open(io.BytesIO(p.data)).convert("RGB") for req in reqs for p in req.images]
        texts = [self.render(req) for req in reqs]
        inputs = self.processor(text=texts, images=images or None, padding=True, return_tensors="pt").to(self.device)
        req = reqs[0]
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
        width = int(inputs["input_ids"].shape[1])
        pad = self.processor.tokenizer.pad_token_id
        replies = []
        for row, mask in zip(out, inputs["attention_mask"], strict=True):
            new = row[width:]
            n_out = int((new != pad).sum()) if pad is not None else int(new.shape[0])
            answer = self.processor.batch_decode([new], skip_special_tokens=True, clean_up_tokenization_spaces=False)
            replies.append(Reply(answer[0].strip(), self.path, Usage(int(mask.sum()), n_out), "stop"))
        return replies
