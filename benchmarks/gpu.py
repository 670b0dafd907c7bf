"""Where a step's time goes on a real GPU, with full-size random-weight models (no downloads, same compute).

Builds the models from the libraries' own default configurations, which are the published sizes: Qwen2.5-VL-7B
(`Qwen2_5_VLConfig()`), the FLUX.1 transformer that Kontext uses (`FluxTransformer2DModel` defaults, guidance
embedding on) and, when the GPU has room, the Qwen-Image transformer (`QwenImageTransformer2DModel()`, 20B). Random
weights in bf16 cost what the real ones cost. Printed:

* the denoiser's seconds per edit at 1 MP (Kontext: 28 steps over 4096 noisy + 4096 image tokens and 512 text
  tokens; Qwen-Image-Edit: 50 steps, two calls each for true CFG), plain and with each speed option (torch.compile,
  First-Block-Cache, an attention backend); the VAE and text encoders are not included (a few % of an edit);
* the agent's seconds per step: one prompt of two 512 px images (324 vision tokens each) and ~300 text tokens,
  32 new tokens, through transformers (and vLLM when it is installed);
* peak GPU memory of each, the agent's share of a step, and mirabench's own overhead per sample-step
  (benchmarks/overhead.py's measurement: the harness against a bare loop) as a share of a step.

    python benchmarks/gpu.py               # one H100: under 8 minutes
    python benchmarks/gpu.py --tiny        # tiny configurations on the CPU (< 1 min): keeps the script working
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

GB = 1024**3


def sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(fn: Callable[[], Any], device: str, repeat: int) -> float:
    """Seconds per call after one warm-up call (where compilation and allocator growth land)."""
    fn()
    sync(device)
    started = time.perf_counter()
    for _ in range(repeat):
        fn()
    sync(device)
    return (time.perf_counter() - started) / repeat


@contextlib.contextmanager
def peak(device: str, out: dict[str, float], key: str) -> Iterator[None]:
    import torch

    if device.startswith("cuda"):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    yield
    if device.startswith("cuda"):
        out[key] = torch.cuda.max_memory_allocated() / GB


def agent_config(tiny: bool) -> Any:
    from transformers import Qwen2_5_VLConfig

    if not tiny:
        return Qwen2_5_VLConfig()  # the library's default is Qwen2.5-VL-7B-Instruct's architecture
    text = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4}
    text.update(
        num_key_value_heads=2, vocab_size=152064, rope_parameters={"rope_type": "default", "mrope_section": [1, 1, 2]}
    )
    vision = {"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 4, "out_hidden_size": 32}
    return Qwen2_5_VLConfig(text_config=text, vision_config={**vision, "fullatt_block_indexes": [1]})


def agent_step(device: str, tiny: bool, new_tokens: int) -> tuple[Callable[[], Any], Any]:
    """One planner step: prefill of two images + text, then `new_tokens` greedy tokens."""
    import torch
    from transformers import Qwen2_5_VLForConditionalGeneration

    cfg = agent_config(tiny)
    with torch.device(device):
        model = Qwen2_5_VLForConditionalGeneration(cfg).to(torch.bfloat16 if device != "cpu" else torch.float32)
    model.eval()
    grid = 8 if tiny else 36  # 512 px / 14 px patches, rounded to the 2x2 merge
    per_image = grid * grid // 4
    text = 16 if tiny else 300
    image_id = cfg.image_token_id
    vocab = cfg.text_config.vocab_size
    words = torch.randint(0, min(vocab, 1000), (text,), device=device)
    image = torch.full((per_image,), image_id, device=device)
    ids = torch.cat([words[:4], image, words[4:8], image, words[8:]]).unsqueeze(0)  # "Before: <img> Now: <img> ..."
    patch = cfg.vision_config.in_channels * cfg.vision_config.temporal_patch_size * cfg.vision_config.patch_size**2
    pixels = torch.randn(2 * grid * grid, patch, device=device, dtype=model.dtype)
    thw = torch.tensor([[1, grid, grid]] * 2, device=device)

    def step() -> Any:
        with torch.inference_mode():
            return model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                pixel_values=pixels,
                image_grid_thw=thw,
                max_new_tokens=new_tokens,
                min_new_tokens=new_tokens,
                do_sample=False,
            )

    return step, model


def kontext(device: str, tiny: bool) -> tuple[Any, Callable[[Any], Any]]:
    """FLUX.1 transformer (Kontext: guidance embedding) and one denoiser call at 1 MP with the input image."""
    import torch
    from diffusers import FluxTransformer2DModel

    kw: dict[str, Any] = {"guidance_embeds": True}
    if tiny:
        kw.update(num_layers=1, num_single_layers=2, attention_head_dim=16, num_attention_heads=2)
        kw.update(joint_attention_dim=32, pooled_projection_dim=32, in_channels=16, axes_dims_rope=(4, 6, 6))
    dtype = torch.bfloat16 if device != "cpu" else torch.float32
    with torch.device(device):
        net = FluxTransformer2DModel(**kw).to(dtype).eval()
    side = 4 if tiny else 64  # 1024 px / 8 (VAE) / 2 (patch)
    tokens, text = side * side, 8 if tiny else 512
    cfg = net.config
    latents = torch.randn(1, 2 * tokens, cfg.in_channels, device=device, dtype=dtype)  # noisy + the input image
    ctx = torch.randn(1, text, cfg.joint_attention_dim, device=device, dtype=dtype)
    pooled = torch.randn(1, cfg.pooled_projection_dim, device=device, dtype=dtype)
    grid = torch.stack(torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij"), -1).reshape(-1, 2)
    img_ids = torch.cat([torch.zeros(tokens, 1), grid], 1)
    img_ids = torch.cat([img_ids, img_ids.clone().index_fill_(1, torch.tensor([0]), 1)]).to(device)
    txt_ids = torch.zeros(text, 3, device=device)

    def call(t: Any) -> Any:
        return net(
            hidden_states=latents,
            encoder_hidden_states=ctx,
            pooled_projections=pooled,
            timestep=t.expand(1).to(dtype),
            img_ids=img_ids,
            txt_ids=txt_ids,
            guidance=torch.full((1,), 2.5, device=device, dtype=dtype),
            return_dict=False,
        )[0]

    return net, call


def qwen_image(device: str, tiny: bool) -> tuple[Any, Callable[[Any], Any]] | None:
    """Qwen-Image transformer and one denoiser call at 1 MP with the input image; None when it cannot fit."""
    import torch
    from diffusers import QwenImageTransformer2DModel

    kw: dict[str, Any] = {}
    if tiny:
        kw.update(num_layers=2, attention_head_dim=16, num_attention_heads=2, joint_attention_dim=32)
        kw.update(in_channels=16, out_channels=4, axes_dims_rope=(4, 6, 6))
    dtype = torch.bfloat16 if device != "cpu" else torch.float32
    if device.startswith("cuda"):
        with torch.device("meta"):
            params = sum(p.numel() for p in QwenImageTransformer2DModel(**kw).parameters())
        free, _ = torch.cuda.mem_get_info()
        if params * 2 * 1.15 > free:
            print(f"qwen-image: {params / 1e9:.1f}B parameters need {params * 2 / GB:.0f} GiB, {free / GB:.0f} free")
            return None
    with torch.device(device):
        net = QwenImageTransformer2DModel(**kw).to(dtype).eval()
    side = 4 if tiny else 64
    tokens, text = side * side, 8 if tiny else 512
    cfg = net.config
    latents = torch.randn(1, 2 * tokens, cfg.in_channels, device=device, dtype=dtype)
    ctx = torch.randn(1, text, cfg.joint_attention_dim, device=device, dtype=dtype)
    mask = torch.ones(1, text, device=device, dtype=torch.long)
    shapes = [[(1, side, side), (1, side, side)]]

    def call(t: Any) -> Any:
        return net(
            hidden_states=latents,
            encoder_hidden_states=ctx,
            encoder_hidden_states_mask=mask,
            timestep=t.expand(1).to(dtype),
            img_shapes=shapes,
            return_dict=False,
        )[0]

    return net, call


def edit_fn(net: Any, call: Callable[[Any], Any], steps: int, calls_per_step: int, cached: bool) -> Callable[[], Any]:
    """One edit's denoiser work: `steps` steps of `calls_per_step` calls (cond, uncond), cache state reset after."""
    import torch

    def edit() -> None:
        with torch.inference_mode():
            for i in range(steps):
                t = torch.tensor([1.0 - i / steps])
                for name in ("cond", "uncond")[:calls_per_step]:
                    with net.cache_context(name) if cached else contextlib.nullcontext():
                        call(t.to(net.device))
        if cached:
            net._reset_stateful_cache()

    return edit


def speed_options(net: Any, attention: str, tiny: bool) -> dict[str, Callable[[], bool]]:
    """Each option applied to the same module in turn (setup returns whether the edit runs under a cache).

    With --tiny, torch.compile traces with the eager backend: the same Dynamo path without minutes of codegen."""
    from diffusers.hooks import FirstBlockCacheConfig

    def cache() -> bool:
        net.enable_cache(FirstBlockCacheConfig(threshold=0.12))
        return True

    def uncache() -> bool:
        net.disable_cache()
        return False

    def compiled() -> bool:
        net.compile(**({"backend": "eager"} if tiny else {}))
        return False

    plain = "plain (fp32, CPU)" if tiny else "plain bf16"
    options: dict[str, Callable[[], bool]] = {plain: lambda: False, "first-block cache": cache, "(off)": uncache}
    if attention:
        options[f"attention {attention}"] = lambda: bool(net.set_attention_backend(attention)) and False
    options["torch.compile"] = compiled
    return options


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="tiny configurations on the CPU")
    parser.add_argument("--repeat", type=int, default=2, help="timed edits / agent steps per figure")
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--attention", default="", help="also time this diffusers attention backend, e.g. flash")
    parser.add_argument("--skip-qwen-image", action="store_true")
    args = parser.parse_args()

    import torch

    device = "cpu" if args.tiny or not torch.cuda.is_available() else "cuda"
    if device == "cpu" and not args.tiny:
        sys.exit("no CUDA device: run with --tiny (tiny configurations) or on a GPU machine")
    torch.manual_seed(0)
    where = "CPU, tiny configurations" if args.tiny else torch.cuda.get_device_name()
    print(f"gpu.py on {where}; torch {torch.__version__}")
    mem: dict[str, float] = {}
    rows: list[tuple[str, str, float]] = []

    with peak(device, mem, "agent"):
        step, model = agent_step(device, args.tiny, args.new_tokens)
        agent_s = timed(step, device, args.repeat)
    params = sum(p.numel() for p in model.parameters())
    rows.append(("agent (transformers)", f"Qwen2.5-VL {params / 1e9:.2f}B, {args.new_tokens} new tokens", agent_s))
    del model, step
    try:
        import vllm  # noqa: F401

        print("vLLM is installed: serve the agent (README) and time it with mirabench run --set agent.backend=openai")
    except ImportError:
        print("vLLM not installed: agent timed through transformers only")

    editors: dict[str, tuple[Callable[[], Any], int, int]] = {"kontext": (lambda: kontext(device, args.tiny), 28, 1)}
    if not args.skip_qwen_image:
        editors["qwen-image-edit"] = (lambda: qwen_image(device, args.tiny), 50, 2)
    edit_s: dict[str, float] = {}
    for name, (build, steps, calls) in editors.items():
        steps = 2 if args.tiny else steps
        with peak(device, mem, name):
            built = build()
            if built is None:
                continue
            net, call = built
            for label, setup in speed_options(net, args.attention, args.tiny).items():
                cached = setup()
                if label == "(off)":
                    continue
                seconds = timed(edit_fn(net, call, steps, calls, cached), device, args.repeat)
                edit_s.setdefault(name, seconds)
                rows.append((name, label, seconds))
        del net, call, built

    from overhead import bare_loop, harness

    n, k = (20, 3) if args.tiny else (100, 5)
    bare = bare_loop(n, k)
    with tempfile.TemporaryDirectory() as where:
        overhead_s = max(0.0, harness(n, k, use_cache=False, where=Path(where))["wall"] - bare) / (n * k)

    print(f"\n{'what':<22}{'setting':<44}{'s/call':>10}")
    for what, setting, seconds in rows:
        unit = "s/step" if what.startswith("agent") else "s/edit"
        print(f"{what:<22}{setting:<44}{seconds:>10.3f} {unit}")
    print(f"{'mirabench':<22}{'harness overhead per sample-step (512 px)':<44}{overhead_s:>10.4f} s")
    if mem:
        print("peak GPU memory (GiB): " + ", ".join(f"{k} {v:.1f}" for k, v in mem.items()))
    for name, seconds in edit_s.items():
        total = agent_s + seconds + overhead_s
        print(
            f"a step with {name}: {total:.2f} s; agent {100 * agent_s / total:.1f}%, editor "
            f"{100 * seconds / total:.1f}%, mirabench {100 * overhead_s / total:.2f}%"
        )


if __name__ == "__main__":
    main()
