"""Where each rank's models live during training, and how much memory they take, said before the policy loads.

Under torchrun / accelerate every rank runs `train_grpo`; the editor and the reward judge must go to that rank's
GPU (`LOCAL_RANK`), not to GPU 0, and the policy must load straight onto it (no full copy in host RAM per rank).
`memory_plan` measures the editor and reward models as loaded and estimates the policy from its config on the meta
device, so an over-full GPU is named, with the offload options, before any training step runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mirabench.registry import Registry

__all__ = [
    "MemoryPlan",
    "local_rank",
    "memory_plan",
    "module_bytes",
    "place_options",
    "policy_bytes",
    "rank_device",
]

GB = 1024**3
OFFLOAD_ADVICE = (
    "editor_options.cpu_offload=model (diffusers editors)",
    "editor=http with editor_options.url=... (mirabench serve-editor on another GPU)",
    "metric_options.backend=openai with metric_options.base_url=... (the judge behind vLLM/SGLang)",
    "offload_optimizer_device: cpu in the DeepSpeed ZeRO-2 accelerate config",
)


def local_rank() -> int:
    """This process's rank on its node (torchrun, accelerate and SLURM set it); 0 when run alone."""
    for name in ("LOCAL_RANK", "SLURM_LOCALID"):
        value = os.environ.get(name, "").strip()
        if value:
            return int(value)
    return 0


def rank_device(use_cpu: bool = False) -> str:
    """`cuda:LOCAL_RANK` when there is CUDA (and it is made the current device), else `cpu`."""
    import torch

    if use_cpu or not torch.cuda.is_available():
        return "cpu"
    index = local_rank()
    torch.cuda.set_device(index)
    return f"cuda:{index}"


def place_options(registry: Registry[Any], name: str, options: dict[str, Any], device: str) -> dict[str, Any]:
    """The plugin's options with `device` set to this rank's device when the plugin has one and it is `auto`."""
    fields = getattr(registry.get(name).Options, "model_fields", {})
    if "device" not in fields or options.get("device", "auto") != "auto":
        return dict(options)
    return {**options, "device": device}


def _modules(root: Any, depth: int = 4) -> Iterable[Any]:
    """torch modules reachable from a plugin through attributes, dicts and lists (pipelines, judge clients)."""
    import torch

    seen: set[int] = set()
    stack = [(root, 0)]
    while stack:
        obj, level = stack.pop()
        if id(obj) in seen or obj is None or isinstance(obj, str | bytes | int | float):
            continue
        seen.add(id(obj))
        if isinstance(obj, torch.nn.Module):
            yield obj
            continue
        if level >= depth:
            continue
        if isinstance(obj, dict):
            children: Iterable[Any] = obj.values()
        elif isinstance(obj, list | tuple):
            children = obj
        else:
            children = getattr(obj, "__dict__", {}).values()
        stack.extend((c, level + 1) for c in children)


def module_bytes(root: Any) -> dict[str, int]:
    """Bytes of parameters and buffers held by a plugin, per device (shared tensors counted once)."""
    out: dict[str, int] = {}
    seen: set[tuple[str, int]] = set()
    for module in _modules(root):
        for tensor in [*module.parameters(), *module.buffers()]:
            key = (str(tensor.device), tensor.data_ptr() if tensor.device.type != "meta" else id(tensor))
            if key in seen:
                continue
            seen.add(key)
            out[str(tensor.device)] = out.get(str(tensor.device), 0) + tensor.numel() * tensor.element_size()
    return out


def policy_bytes(model: str, dtype: Any, lora: Any | None, beta: float) -> dict[str, int]:
    """Policy weights, trainable state (fp32 weights + grads + Adam moments) and reference, from the config alone.

    Built on the meta device: no weights are read. With LoRA the reference is the base with the adapter disabled
    (no second copy); without it, a KL term (beta > 0) needs a frozen copy of the policy."""
    import torch
    from transformers import AutoConfig, AutoModelForImageTextToText

    config = AutoConfig.from_pretrained(model)
    with torch.device("meta"):
        net: Any = AutoModelForImageTextToText.from_config(config)
    total = sum(p.numel() for p in net.parameters())
    width = torch.empty((), dtype=dtype).element_size()
    if lora is not None:
        from peft import get_peft_model

        trainable = sum(p.numel() for p in get_peft_model(net, lora).parameters() if p.requires_grad)
        weights = total * width + trainable * 4
        reference = 0
    else:
        trainable = total
        weights = total * width
        reference = total * width if beta > 0 else 0
    return {"policy": weights, "trainable": trainable * (4 + 8), "reference": reference}


@dataclass
class MemoryPlan:
    """Bytes per device and component; `capacity` is each GPU's total memory (absent for the CPU)."""

    rows: dict[str, dict[str, int]] = field(default_factory=dict)
    capacity: dict[str, int] = field(default_factory=dict)

    def add(self, component: str, device: str, nbytes: int) -> None:
        if nbytes:
            row = self.rows.setdefault(device, {})
            row[component] = row.get(component, 0) + nbytes

    def over(self) -> list[str]:
        """Devices whose planned bytes exceed their memory (activations not yet counted)."""
        return [d for d, row in self.rows.items() if d in self.capacity and sum(row.values()) > self.capacity[d]]

    def render(self) -> str:
        names = ["policy", "trainable", "reference", "editor", "reward"]
        head = f"{'device':<10}" + "".join(f"{n:>11}" for n in names) + f"{'total':>11}{'capacity':>11}"
        lines = ["memory plan (GiB; weights and optimizer state, activations not included)", head]
        for device, row in sorted(self.rows.items()):
            cap = self.capacity.get(device)
            cells = "".join(f"{row.get(n, 0) / GB:>11.2f}" for n in names)
            lines.append(
                f"{device:<10}{cells}{sum(row.values()) / GB:>11.2f}" + (f"{cap / GB:>11.2f}" if cap else f"{'-':>11}")
            )
        for device in self.over():
            lines.append(f"{device} is over its memory; options: " + "; ".join(OFFLOAD_ADVICE))
        return "\n".join(lines)


def memory_plan(policy_device: str, policy: dict[str, int], editor: Any, reward: Any) -> MemoryPlan:
    """The plan for this rank: the policy (estimated) plus the editor and reward as loaded."""
    plan = MemoryPlan()
    for component, nbytes in policy.items():
        plan.add(component, policy_device, nbytes)
    for component, plugin in (("editor", editor), ("reward", reward)):
        for device, nbytes in module_bytes(plugin).items():
            plan.add(component, device, nbytes)
    import torch

    for device in plan.rows:
        if device.startswith("cuda") and torch.cuda.is_available():
            plan.capacity[device] = torch.cuda.get_device_properties(torch.device(device)).total_memory
    return plan
