"""A local vision-language chat model (Qwen2.5-VL, Qwen3-VL, any `AutoModelForImageTextToText`) behind one call.

`LocalVLM.generate(prompts)` takes prompts as interleaved text and images (see mirabench.backends.prompts), renders
each as one user turn with the checkpoint's own chat template, and decodes them in left-padded batches: greedy by
default, so a batch gives the same text as one prompt at a time. Images are resized before the processor (MIRA
trains at 512 px). Weights: a hub id, a full local folder, or a PEFT adapter folder over its base model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from PIL import Image
from pydantic import Field, model_validator

from mirabench.backends.prompts import Part, Template
from mirabench.backends.weights import (
    ModelNotFound,
    adapter_base,
    is_adapter_dir,
    missing_model,
    pick_device,
    pick_dtype,
)
from mirabench.plugins import Options

__all__ = [
    "ChatBackend",
    "LocalVLM",
    "LocalVLMOptions",
    "ServedVLM",
    "TemplateOptions",
    "chat_backend",
    "chat_messages",
    "load_template",
    "load_vlm",
    "resize_for_planner",
]


@dataclass(frozen=True)
class ChatFailure:
    """A prompt the backend could not answer (API error, refusal, budget); agents record it as an agent error."""

    reason: str


Reply = str | ChatFailure


class ChatBackend(Protocol):
    """What planner and thinker agents need from a model: prompts in, replies out (same order)."""

    def generate(self, prompts: Sequence[Sequence[Part]]) -> Sequence[Reply]: ...

    def close(self) -> None: ...


class LocalVLMOptions(Options):
    """Where the weights are, where they run and how they decode (shared by every local VLM agent)."""

    path: str = Field("", description="hub id or local folder (full model, or a LoRA adapter folder)")
    base: str = Field("", description="base model for an adapter folder (default: the one the adapter records)")
    device: str = Field("auto", description="auto, cpu, cuda, cuda:1 ... (independent of the editor's)")
    dtype: str = Field("auto", description="auto (bf16 on CUDA, fp32 on CPU), bfloat16, float16, float32")
    attn_implementation: str | None = Field(None, description="sdpa, flash_attention_2, eager (default: library's)")
    trust_remote_code: bool = False
    image_size: int = Field(512, ge=0, description="resize images to this many pixels before the processor; 0 = off")
    image_resize: Literal["longest", "square"] = "longest"
    batch_size: int = Field(8, ge=1, description="prompts decoded together")
    max_new_tokens: int = Field(128, ge=1)
    temperature: float = Field(0.0, ge=0.0, description="0 = greedy")
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    seed: int = 0
    answer_prefix: str = Field("", description="text the assistant turn starts with (prefill), e.g. an output tag")
    min_pixels: int | None = Field(None, ge=1, description="processor's lower pixel budget per image (None: its own)")
    max_pixels: int | None = Field(None, ge=1, description="processor's upper pixel budget per image (None: its own)")
    backend: Literal["transformers", "openai"] = Field(
        "transformers", description="openai: the same prompts sent to an OpenAI-compatible server (vLLM, SGLang)"
    )
    base_url: str | None = Field(None, description="backend=openai: the server, e.g. http://127.0.0.1:8000/v1")
    served_model: str = Field("", description="backend=openai: the model name the server knows (default: path)")
    max_concurrency: int = Field(64, ge=1, description="backend=openai: requests in flight (the server batches)")
    timeout_s: float = Field(300.0, gt=0, description="backend=openai: per request")


class TemplateOptions(Options):
    """A prompt template file (e.g. the authors' exact text) whose sha256 is pinned into the run's config."""

    template_file: str | None = Field(None, description="text file replacing the built-in template wording")
    template_sha256: str = Field("", description="filled in from template_file; a mismatch is an error")

    @model_validator(mode="before")
    @classmethod
    def _pin_template(cls, data: Any) -> Any:
        return pin_template(data)


def pin_template(data: Any) -> Any:
    """Options data with `template_sha256` filled in from `template_file` (a mismatch with a pinned hash raises)."""
    if not isinstance(data, dict) or not data.get("template_file"):
        return data
    import hashlib

    path = Path(str(data["template_file"])).expanduser()
    try:
        digest = hashlib.sha256(path.read_text(encoding="utf-8").strip("\n").encode("utf-8")).hexdigest()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read template_file {path}: {exc}") from None
    pinned = data.get("template_sha256")
    if pinned and pinned != digest:
        raise ValueError(f"template_file {path} has sha256 {digest}, the run was pinned to {pinned}")
    return {**data, "template_sha256": digest}


def chat_messages(prompt: Sequence[Part]) -> list[dict[str, Any]]:
    """One user turn with the prompt's parts in order (images as image items); shared with training rows."""
    content = [{"type": "image"} if isinstance(p, Image.Image) else {"type": "text", "text": p} for p in prompt]
    return [{"role": "user", "content": content}]


def resize_for_planner(image: Image.Image, size: int, mode: str) -> Image.Image:
    """Square `size` x `size`, or the longer side to `size` keeping the aspect ratio; 0 leaves it alone."""
    image = image.convert("RGB")
    if size <= 0:
        return image
    if mode == "square":
        target = (size, size)
    else:
        w, h = image.size
        scale = size / max(w, h)
        target = (max(1, round(w * scale)), max(1, round(h * scale)))
    return image if image.size == target else image.resize(target, Image.Resampling.BICUBIC)


def load_vlm(
    model_id: str,
    *,
    what: str,
    adapter: str | None = None,
    processor_id: str | None = None,
    dtype: str = "auto",
    device: str = "auto",
    trust_remote_code: bool = False,
    attn_implementation: str | None = None,
    pixels: dict[str, int] | None = None,
) -> tuple[Any, Any]:
    """The one way agents and judges load a local VLM: weights straight onto `device` (never a full copy in host
    RAM first), an optional PEFT adapter merged in, the processor set to left padding for batched generation.
    Missing weights are one ModelNotFound line naming `what`; `pixels` are the processor's min_pixels / max_pixels."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    device = pick_device(device)
    kwargs: dict[str, Any] = {
        "dtype": pick_dtype(dtype, device),
        "trust_remote_code": trust_remote_code,
        "device_map": device,
    }
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    try:
        model: Any = AutoModelForImageTextToText.from_pretrained(model_id, **kwargs)
    except OSError as exc:
        raise missing_model(model_id, what, exc) from None
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    proc_id = processor_id or model_id
    try:
        processor = AutoProcessor.from_pretrained(proc_id, trust_remote_code=trust_remote_code, **(pixels or {}))
    except OSError as exc:
        raise missing_model(str(proc_id), f"{what} processor", exc) from None
    processor.tokenizer.padding_side = "left"
    return model.eval(), processor


class LocalVLM:
    """Loads once, then decodes batches of interleaved text/image prompts."""

    def __init__(self, options: LocalVLMOptions, what: str, default_path: str = "") -> None:
        self.options = options
        self.path = options.path or default_path
        if not self.path:
            raise ModelNotFound(f"{what} needs weights: set agent.path to a hub id or a local folder")
        self.device = pick_device(options.device)
        self.model, self.processor = self._load(what)

    def _load(self, what: str) -> tuple[Any, Any]:
        import torch

        opts = self.options
        adapter = Path(self.path).expanduser().is_dir() and is_adapter_dir(self.path)
        model_id = adapter_base(self.path, opts.base) if adapter else self.path
        has_processor = any(Path(self.path, n).is_file() for n in ("processor_config.json", "preprocessor_config.json"))
        model, processor = load_vlm(
            model_id,
            what=what,
            adapter=self.path if adapter else None,
            processor_id=self.path if has_processor else (opts.base or model_id),  # adapters often ship none
            dtype=opts.dtype,
            device=self.device,
            trust_remote_code=opts.trust_remote_code,
            attn_implementation=opts.attn_implementation,
            pixels={k: v for k, v in (("min_pixels", opts.min_pixels), ("max_pixels", opts.max_pixels)) if v},
        )
        torch.manual_seed(opts.seed)
        return model, processor

    def messages(self, prompt: Sequence[Part]) -> list[dict[str, Any]]:
        return chat_messages(prompt)

    def render(self, prompt: Sequence[Part]) -> str:
        """The exact text the model sees (before image tokens are expanded), for golden tests and audits."""
        text = self.processor.apply_chat_template(self.messages(prompt), add_generation_prompt=True, tokenize=False)
        return str(text) + self.options.answer_prefix

    def generate(self, prompts: Sequence[Sequence[Part]]) -> list[str]:
        out: list[str] = []
        size = self.options.batch_size
        for start in range(0, len(prompts), size):
            out.extend(self._generate_chunk(prompts[start : start + size]))
        return out

    def _generate_chunk(self, prompts: Sequence[Sequence[Part]]) -> list[str]:
        import torch

        opts = self.options
        texts = [self.render(p) for p in prompts]
        images = [
            resize_for_planner(part, opts.image_size, opts.image_resize)
            for p in prompts
            for part in p
            if isinstance(part, Image.Image)
        ]
        inputs = self.processor(text=texts, images=images or None, padding=True, return_tensors="pt").to(self.device)
        sampling = opts.temperature > 0
        extra: dict[str, Any] = {"temperature": opts.temperature, "top_p": opts.top_p} if sampling else {}
        if sampling:
            torch.manual_seed(opts.seed)
        with torch.inference_mode():
            ids = self.model.generate(**inputs, max_new_tokens=opts.max_new_tokens, do_sample=sampling, **extra)
        new = ids[:, inputs["input_ids"].shape[1] :]
        prefix = opts.answer_prefix
        return [prefix + str(t) for t in self.processor.batch_decode(new, skip_special_tokens=True)]

    def close(self) -> None:
        self.model = None
        self.processor = None
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.empty_cache()


class ServedVLM:
    """The same prompts, images and decoding through an OpenAI-compatible server that serves the checkpoint.

    The server applies the checkpoint's own chat template to the same user turn `LocalVLM` renders; images are
    resized here exactly as `LocalVLM` resizes them and sent as PNG (lossless), so the model sees the same pixels.
    Requests of a wave go out concurrently and the server batches them. Answers are not cached: a served name
    does not say which weights answered.
    """

    def __init__(self, options: LocalVLMOptions, what: str, default_path: str = "") -> None:
        from mirabench.backends.api_chat import ApiChat, ApiChatOptions

        if not options.base_url:
            raise ValueError(f"{what}: backend=openai needs base_url (e.g. http://127.0.0.1:8000/v1)")
        if options.answer_prefix:
            raise ValueError(f"{what}: answer_prefix (a prefilled answer) needs backend=transformers")
        self.options = options
        model = options.served_model or options.path or default_path
        self.chat = ApiChat(
            "openai",
            ApiChatOptions(
                model=model,
                base_url=options.base_url,
                temperature=options.temperature,
                max_tokens=options.max_new_tokens,
                seed=options.seed,
                image_size=None,
                max_concurrency=options.max_concurrency,
                timeout_s=options.timeout_s,
                use_cache=False,
                extra_body={"top_p": options.top_p} if options.temperature > 0 and options.top_p < 1 else {},
            ),
        )

    def generate(self, prompts: Sequence[Sequence[Part]]) -> list[Reply]:
        opts = self.options
        resized = [
            [resize_for_planner(p, opts.image_size, opts.image_resize) if isinstance(p, Image.Image) else p for p in q]
            for q in prompts
        ]
        return self.chat.generate(resized)

    def close(self) -> None:
        self.chat.close()


def chat_backend(options: LocalVLMOptions, what: str, default_path: str = "") -> ChatBackend:
    """The model behind a local-VLM agent: in process (transformers) or served (backend=openai)."""
    if options.backend == "openai":
        return ServedVLM(options, what, default_path)
    return LocalVLM(options, what, default_path)


def load_template(default: Template, options: TemplateOptions) -> Template:
    """The agent's template: built-in wording, or the user's file (already hash-pinned by the options)."""
    return Template.load(default, options.template_file)
