"""Where local model weights come from and where they run: hub ids or folders, devices, dtypes, clear failures.

Every local backend (MIRA, EditThinker, diffusers editors) loads through these helpers so that a missing model
always gives the same one-line message (the id, whether the Hub is offline, the command that fetches it), the
agent and the editor can sit on different devices, and `trust_remote_code` stays off unless the user asks.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mirabench.registry import PluginUnavailable

__all__ = [
    "ModelNotFound",
    "adapter_base",
    "describe_source",
    "hub_offline",
    "is_adapter_dir",
    "missing_model",
    "pick_device",
    "pick_dtype",
]


class ModelNotFound(PluginUnavailable):
    """The weights a plugin needs are neither a local folder nor reachable on the Hub."""


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def missing_model(model_id: str, what: str, error: BaseException | None = None) -> ModelNotFound:
    """The one message a user sees when weights are missing: which id, why, and how to fetch it."""
    where = "HF_HUB_OFFLINE is set and it is not in the local Hub cache" if hub_offline() else "could not be loaded"
    detail = f" ({type(error).__name__}: {' '.join(str(error).split())})" if error else ""  # whole, on one line
    return ModelNotFound(
        f"{what} weights {model_id!r} {where}{detail}. Fetch them on a machine with network access with"
        f" `hf download {model_id}` (then copy the Hub cache or pass the folder as the path option), or set the"
        " path option to a local folder."
    )


def is_adapter_dir(path: str) -> bool:
    """A folder holding a PEFT adapter (LoRA) rather than a full model."""
    return Path(path, "adapter_config.json").is_file() and not Path(path, "config.json").is_file()


def adapter_base(path: str, override: str = "") -> str:
    """The base model an adapter was trained on (from adapter_config.json), unless the user names one."""
    if override:
        return override
    cfg = json.loads(Path(path, "adapter_config.json").read_text(encoding="utf-8"))
    base = cfg.get("base_model_name_or_path")
    if not base:
        raise ModelNotFound(f"adapter {path} does not record its base model; set the base option")
    return str(base)


def describe_source(path: str) -> str:
    """'local folder' or 'hub id' for manifests and messages."""
    return "local folder" if Path(path).expanduser().is_dir() else "hub id"


def pick_device(device: str) -> str:
    """`auto` is the first CUDA device when there is one, else the CPU; anything else is used as given."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def pick_dtype(dtype: str, device: str) -> Any:
    """`auto` is bfloat16 on CUDA and float32 elsewhere (CPU half precision is slow and lossy)."""
    import torch

    if dtype == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    try:
        value = getattr(torch, dtype)
    except AttributeError:
        raise ValueError(f"unknown dtype {dtype!r}; use auto, bfloat16, float16 or float32") from None
    if not isinstance(value, torch.dtype):
        raise ValueError(f"unknown dtype {dtype!r}; use auto, bfloat16, float16 or float32")
    return value
