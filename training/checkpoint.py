"""Checkpoint folders that `--agent mira-7b --set agent.path=DIR` loads, with a small manifest beside the weights.

A folder holds either full weights (SFT, merged) or a PEFT adapter (GRPO) whose `adapter_config.json` names its
base; `mirabench.backends.local_vlm.LocalVLM` loads both. `mirabench-checkpoint.json` records how the folder was made.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from mirabench.rundir.manifest import environment, redact

__all__ = ["MANIFEST", "merge_lora", "read_checkpoint", "write_checkpoint"]

MANIFEST = "mirabench-checkpoint.json"


def write_checkpoint(out: Path, stage: str, info: dict[str, Any]) -> None:
    record = {
        "stage": stage,
        "agent": "mira",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "environment": environment(),
        **info,
    }
    (out / MANIFEST).write_text(json.dumps(redact(record), indent=2, sort_keys=True, default=str) + "\n")


def read_checkpoint(folder: Path) -> dict[str, Any]:
    path = Path(folder) / MANIFEST
    if not path.exists():
        raise FileNotFoundError(f"{folder} has no {MANIFEST}: not a checkpoint written by mirabench training")
    return dict(json.loads(path.read_text(encoding="utf-8")))


def merge_lora(adapter: Path, out: Path, base: str | None = None) -> Path:
    """Fold a LoRA adapter into its base model and save full weights (safetensors) plus the processor."""
    from peft import PeftModel
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from mirabench.backends.weights import adapter_base, is_adapter_dir, missing_model

    if not is_adapter_dir(str(adapter)):
        raise FileNotFoundError(f"{adapter} is not a LoRA adapter folder (it needs adapter_config.json)")
    base_id = adapter_base(str(adapter), base or "")
    try:
        model = AutoModelForImageTextToText.from_pretrained(base_id, device_map="cpu")
        merged = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    except OSError as exc:
        missing = missing_model(base_id, f"base model of adapter {adapter}", exc)
        raise type(missing)(f"{missing} Or name the base with --base.") from None
    out.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(out, safe_serialization=True)
    processor_source = adapter if (Path(adapter) / "processor_config.json").exists() else base_id
    AutoProcessor.from_pretrained(processor_source).save_pretrained(out)
    before = read_checkpoint(adapter) if (Path(adapter) / MANIFEST).exists() else {}
    write_checkpoint(out, "merged", {"adapter": str(adapter), "base_model": base_id, "from": before})
    return out
