"""Training settings (SFT and GRPO), read from YAML, validated, unknown keys refused.

Defaults are the MIRA supplementary's (B.1): SFT 1300 steps, AdamW, lr 1e-5, cosine, warmup 0.1, 512 px images;
GRPO with LoRA, 200 steps, G = 5, lr 5e-6, KL beta 0.04, reward 2.0 * SC + 0.5 * PQ. What the paper leaves open
(batch size, LoRA rank and targets, completion length, the rollout editor) is an explicit, recorded setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = ["GRPOSettings", "LoraSettings", "resolve_paths", "SFTSettings", "TrainConfigError", "load_settings"]


class TrainConfigError(ValueError):
    """A training config that cannot be used; the message names the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoraSettings(_Strict):
    r: int = Field(16, ge=1)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    target_modules: list[str] = Field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])


class _Common(_Strict):
    model: str = Field(description="hub id or local folder of the model to train")
    dataset: str = Field(description="a `datasets` folder written by `mirabench data build-mira-editing`")
    output_dir: str
    max_steps: int = Field(ge=1)
    learning_rate: float = Field(gt=0)
    per_device_train_batch_size: int = Field(4, ge=1)
    gradient_accumulation_steps: int = Field(1, ge=1)
    image_size: int = Field(512, ge=0, description="images resized (longest side) before the processor")
    template_file: str | None = Field(None, description="planner template text file (default: ours)")
    bf16: bool = Field(True, description="bf16 autocast over fp32 trainable weights (fp32 master weights)")
    save_dtype: Literal["auto", "float32", "bfloat16"] = Field(
        "auto", description="dtype of saved full weights; auto = the dtype the base checkpoint was stored in"
    )
    gradient_checkpointing: bool = True
    use_cpu: bool = False
    seed: int = 0
    logging_steps: int = Field(10, ge=1)
    trl: dict[str, Any] = Field(default_factory=dict, description="extra trl config fields, passed through")


class SFTSettings(_Common):
    """Stage 1: supervised fine-tuning on start/continue/stop rows (loss on the answer only)."""

    max_steps: int = Field(1300, ge=1)
    learning_rate: float = Field(1e-5, gt=0)
    lr_scheduler_type: str = "cosine"
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    lora: LoraSettings | None = None


class GRPOSettings(_Common):
    """Stage 2: GRPO with LoRA; each sampled instruction is executed by an editor and scored by a metric."""

    max_steps: int = Field(200, ge=1)
    learning_rate: float = Field(5e-6, gt=0)
    beta: float = Field(0.04, ge=0)
    num_generations: int = Field(5, ge=2)
    max_completion_length: int = Field(64, ge=1)
    temperature: float = Field(1.0, gt=0)
    lora: LoraSettings = Field(default_factory=LoraSettings)
    editor: str = "kontext"
    editor_options: dict[str, Any] = Field(default_factory=dict)
    metric: str = "editscore"
    metric_options: dict[str, Any] = Field(default_factory=dict)
    sc_column: str = Field("editscore-sc", description="metric column used as SC")
    pq_column: str = Field("editscore-pq", description="metric column used as PQ")
    lambda_sc: float = 2.0
    lambda_pq: float = 0.5
    format_weight: float = Field(1.0, ge=0, description="weight of the well-formed-answer reward")


LOCAL_FIELDS = ("dataset", "output_dir", "template_file")


def resolve_paths(data: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Relative paths made absolute against `folder`; `model` only when it is written as a path (./ ../ ~ /).

    The model path is written into LoRA adapters as their base, so a relative one would only work from the
    directory the training ran in (elsewhere it reads as a hub id)."""
    out = dict(data)
    for key in LOCAL_FIELDS:
        if isinstance(out.get(key), str):
            out[key] = str((folder / Path(out[key]).expanduser()).resolve())
    model = out.get("model")
    if isinstance(model, str) and (model.startswith((".", "/", "~")) or (folder / model).is_dir()):
        out["model"] = str((folder / Path(model).expanduser()).resolve())
    return out


def load_settings(path: Path, kind: type[SFTSettings] | type[GRPOSettings], overrides: dict[str, Any]) -> Any:
    """Settings from a YAML file plus overrides (e.g. from --set), with field-named errors.

    Paths in the file are resolved against the file's folder, paths given as overrides against the current one."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise TrainConfigError(f"cannot read training config {path}: {exc}") from None
    if not isinstance(data, dict):
        raise TrainConfigError(f"training config {path} must be a mapping")
    data = {**resolve_paths(data, Path(path).parent), **resolve_paths(overrides, Path.cwd())}
    try:
        return kind(**data)
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise TrainConfigError(f"invalid {kind.__name__} in {path}: " + "; ".join(problems)) from None
