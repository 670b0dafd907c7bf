"""The shared body of every diffusers editor: load, place, seed, batch, resize.

An editor plugin subclasses `DiffusersEditor` and declares its pipeline class, default weights, its authors'
published defaults (steps, guidance) and how one call's keyword arguments are built. This class does the rest:

* weights: a hub id or a local folder (`editor.path`), `HF_HUB_OFFLINE` respected, a missing model is one message;
* placement: `editor.device` (independent of the agent's), `editor.dtype`, `editor.cpu_offload` (model or
  sequential);
* speed, all off by default and recorded with the editor's options: `editor.attention_backend` (diffusers attention
  dispatcher: flash, sage, _native_cudnn ...), `editor.compile` (torch.compile of the denoiser), `editor.cache`
  (`first-block`: diffusers' First-Block-Cache, the cache-dit / ParaAttention scheme; it changes the images, and
  benchmarks/editor_speed.py measures by how much);
* seeds: every request gets its own CPU `torch.Generator` seeded with the request's seed, so an image depends only
  on (input, instruction, seed, options), never on batch composition or device;
* batching: requests whose working size agrees go through one pipeline call, `editor.batch_size` at a time;
* sizes: each request's output is resized back to its input size (`editor.resize_back`), so a trajectory keeps
  one resolution however the model likes to work.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any, ClassVar, Literal

from PIL import Image
from pydantic import Field

from mirabench.backends.weights import missing_model, pick_device, pick_dtype
from mirabench.plugins import Editor, Options
from mirabench.registry import Needs
from mirabench.types import EditRequest

__all__ = ["DIFFUSERS", "DiffusersEditor", "DiffusersOptions", "floor_to"]

DIFFUSERS = Needs(modules=("torch", "diffusers", "transformers"), extra="local")


class DiffusersOptions(Options):
    """Options every diffusers editor takes; subclasses override the defaults of steps and guidance."""

    path: str = Field("", description="hub id or local folder (default: the editor's published checkpoint)")
    device: str = Field("auto", description="auto, cpu, cuda, cuda:1 ... (independent of the agent's)")
    dtype: str = Field("auto", description="auto (bf16 on CUDA, fp32 on CPU), bfloat16, float16, float32")
    variant: str | None = Field(None, description="weight variant to load, e.g. fp16")
    cpu_offload: Literal["none", "model", "sequential"] = "none"
    attention_backend: str | None = Field(None, description="diffusers attention backend (flash, sage, ...)")
    compile: bool = Field(False, description="torch.compile the denoiser (the first calls pay the compilation)")
    cache: Literal["none", "first-block"] = Field(
        "none", description="first-block: reuse the denoiser's residual on steps whose first block barely changes"
    )
    cache_threshold: float = Field(0.12, gt=0.0, description="first-block: relative change that forces a full step")
    batch_size: int = Field(4, ge=1, description="requests per pipeline call")
    steps: int = Field(28, ge=1)
    guidance: float = Field(2.5, ge=0.0)
    negative_prompt: str | None = None
    resize_back: bool = Field(True, description="return each image at its input size")
    trust_remote_code: bool = False


@contextmanager
def _current_device(device: str) -> Iterator[None]:
    """diffusers' device_map takes `cuda` only: make `cuda:N` the current device while loading."""
    if device.startswith("cuda:"):
        import torch

        with torch.cuda.device(device):
            yield
    else:
        yield


def floor_to(value: int, multiple: int) -> int:
    return max(multiple, value // multiple * multiple)


class DiffusersEditor(Editor):
    """Base of the diffusers editors; subclasses set the class variables and `call_kwargs`."""

    pipeline_class: ClassVar[str] = ""
    default_path: ClassVar[str] = ""
    names_cache_calls: ClassVar[bool] = True  # the pipeline wraps each denoiser call in cache_context(...)
    Options = DiffusersOptions
    options: DiffusersOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.device = pick_device(self.options.device)
        self.pipe = self._load()

    # -- what subclasses define ---------------------------------------------------------------------------

    def working_size(self, image: Image.Image) -> tuple[int, int]:
        """(width, height) the pipeline is called at for this input; requests batch together when it agrees."""
        return floor_to(image.width, 16), floor_to(image.height, 16)

    def call_kwargs(self, size: tuple[int, int]) -> dict[str, Any]:
        """Pipeline keyword arguments besides image, prompt, generator and steps."""
        return {"guidance_scale": self.options.guidance}

    def max_batch(self) -> int:
        return self.options.batch_size

    # -- the shared machinery -----------------------------------------------------------------------------

    def _load(self) -> Any:
        import diffusers

        opts = self.options
        path = opts.path or self.default_path
        cls = getattr(diffusers, self.pipeline_class)
        kwargs: dict[str, Any] = {"dtype": pick_dtype(opts.dtype, self.device)}
        if opts.variant:
            kwargs["variant"] = opts.variant
        if opts.trust_remote_code:
            kwargs["trust_remote_code"] = True
        if opts.cpu_offload == "none":  # straight onto the device; offloading hooks need the weights on the CPU
            kwargs["device_map"] = "cpu" if self.device == "cpu" else self.device.split(":")[0]
        try:
            with _current_device(self.device):
                pipe = cls.from_pretrained(path, **kwargs)
        except OSError as exc:
            raise missing_model(path, f"editor {self.name!r}", exc) from None
        self._speed_up(pipe)
        if opts.cpu_offload == "model":
            pipe.enable_model_cpu_offload(device=self.device)
        elif opts.cpu_offload == "sequential":
            pipe.enable_sequential_cpu_offload(device=self.device)
        else:
            pipe.to(self.device)
        pipe.set_progress_bar_config(disable=True)
        return pipe

    def _speed_up(self, pipe: Any) -> None:
        """The speed options, all off by default: each changes cost, and the cache also changes outputs."""
        opts = self.options
        if not (opts.attention_backend or opts.compile or opts.cache != "none"):
            return
        denoiser: Any = getattr(pipe, "transformer", None) or getattr(pipe, "unet", None)
        if denoiser is None:
            raise ValueError(f"editor {self.name!r} has no transformer or unet to speed up")
        if opts.attention_backend:
            denoiser.set_attention_backend(opts.attention_backend)
        if opts.cache == "first-block":
            from diffusers.hooks import FirstBlockCacheConfig

            denoiser.enable_cache(FirstBlockCacheConfig(threshold=opts.cache_threshold))
        if opts.compile:
            denoiser.compile()

    def _cache_context(self) -> Any:
        """Pipelines that do not name their denoiser calls for the cache get one context for the whole call."""
        if self.options.cache == "none" or self.names_cache_calls:
            return nullcontext()
        return self.pipe.transformer.cache_context("cond")

    def edit(self, request: EditRequest) -> Image.Image:
        return self.edit_batch([request])[0]

    def edit_batch(self, requests: Sequence[EditRequest]) -> list[Image.Image]:
        groups: dict[tuple[int, int], list[int]] = {}
        for i, r in enumerate(requests):
            groups.setdefault(self.working_size(r.image), []).append(i)
        out: list[Image.Image | None] = [None] * len(requests)
        step = self.max_batch()
        for size, idx in groups.items():
            for start in range(0, len(idx), step):
                chunk = idx[start : start + step]
                images = self._call([requests[i] for i in chunk], size)
                for i, image in zip(chunk, images, strict=True):
                    out[i] = self._finish(requests[i], image)
        return [o for o in out if o is not None]

    def _call(self, requests: list[EditRequest], size: tuple[int, int]) -> list[Image.Image]:
        import torch

        generators = [torch.Generator("cpu").manual_seed(r.seed) for r in requests]
        images = [r.image.convert("RGB").resize(size, Image.Resampling.LANCZOS) for r in requests]
        kwargs = self.call_kwargs(size)
        if self.options.negative_prompt is not None:
            kwargs["negative_prompt"] = [self.options.negative_prompt] * len(requests)
        with torch.inference_mode(), self._cache_context():
            result = self.pipe(
                image=images if len(images) > 1 else images[0],
                prompt=[r.instruction for r in requests],
                generator=generators,
                num_inference_steps=self.options.steps,
                **kwargs,
            )
        return list(result.images)

    def _finish(self, request: EditRequest, image: Image.Image) -> Image.Image:
        image = image.convert("RGB")
        if self.options.resize_back and image.size != request.image.size:
            image = image.resize(request.image.size, Image.Resampling.LANCZOS)
        return image

    def close(self) -> None:
        self.pipe = None
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.empty_cache()
