"""Stage 1: supervised fine-tuning of the planner on start / continue / stop rows (trl SFTTrainer).

Two images per row (I0 and I_{t-1}) and the planner prompt; the loss covers only the assistant's answer
(`NEXT_EDITING_INSTRUCTION: ...`), as trl does for prompt-completion data. Multi-GPU: `accelerate launch -m
mirabench train sft ...` (configs/accelerate-zero2.yaml ships a DeepSpeed ZeRO-2 setup).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mirabench.backends.weights import missing_model
from mirabench.training.checkpoint import write_checkpoint
from mirabench.training.config import LoraSettings, SFTSettings
from mirabench.training.placement import rank_device
from mirabench.training.prompting import planner_template, sft_row

__all__ = ["TrainResult", "check_fp32_trainable", "load_policy", "lora_config", "save_full", "train_sft"]


@dataclass
class TrainResult:
    output_dir: Path
    metrics: dict[str, float] = field(default_factory=dict)
    log_history: list[dict[str, Any]] = field(default_factory=list)


def lora_config(lora: LoraSettings) -> Any:
    from peft import LoraConfig

    return LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=list(lora.target_modules),
        task_type="CAUSAL_LM",
    )


def load_policy(settings: SFTSettings | Any, lora: bool, device: str) -> Any:
    """The policy with fp32 trainable weights, loaded straight onto this rank's device.

    Trainable weights are fp32 master weights whatever dtype the checkpoint was saved in (`bf16=True` adds bf16
    autocast): an optimizer updating bf16 weights in place rounds away most updates at lr 1e-5 (bf16 keeps 8
    mantissa bits). A LoRA run keeps the frozen base in bf16 (it never changes) and peft makes the adapter fp32.
    Under DeepSpeed ZeRO-3 the weights must be partitioned by DeepSpeed itself, so no device map is given.
    """
    import torch
    from transformers import AutoModelForImageTextToText
    from transformers.integrations import is_deepspeed_zero3_enabled

    kwargs: dict[str, Any] = {"dtype": torch.bfloat16 if lora and settings.bf16 else torch.float32}
    if not is_deepspeed_zero3_enabled():
        kwargs["device_map"] = {"": device}
    source = Path(settings.model).expanduser()
    model_id = str(source.resolve()) if source.is_dir() else settings.model  # adapters record it as their base
    try:
        return AutoModelForImageTextToText.from_pretrained(model_id, **kwargs)
    except OSError as exc:
        raise missing_model(model_id, "policy", exc) from None


def check_fp32_trainable(model: Any) -> None:
    """Refuse to train when any trainable weight is not fp32 (its updates would round away)."""
    import torch

    wrong = sorted({str(p.dtype) for p in model.parameters() if p.requires_grad and p.dtype != torch.float32})
    if wrong:
        raise ValueError(f"trainable weights must be float32 master weights, found {wrong}")


def save_full(model: Any, settings: SFTSettings | Any) -> None:
    """Cast full weights to `save_dtype` before saving (auto: the dtype the base checkpoint was stored in)."""
    import torch
    from transformers import AutoConfig

    name = settings.save_dtype
    if name == "auto":
        stored = getattr(AutoConfig.from_pretrained(settings.model), "dtype", None)
        name = str(stored).removeprefix("torch.") if stored else "float32"
    model.to(getattr(torch, name))


def common_args(settings: SFTSettings | Any) -> dict[str, Any]:
    """Trainer arguments shared by SFT and GRPO; checkpoints are saved once, at the end, by us."""
    return {
        "output_dir": settings.output_dir,
        "max_steps": settings.max_steps,
        "learning_rate": settings.learning_rate,
        "per_device_train_batch_size": settings.per_device_train_batch_size,
        "gradient_accumulation_steps": settings.gradient_accumulation_steps,
        "bf16": settings.bf16,
        "gradient_checkpointing": settings.gradient_checkpointing,
        "use_cpu": settings.use_cpu,
        "seed": settings.seed,
        "logging_steps": settings.logging_steps,
        "save_strategy": "no",
        "report_to": "none",
    }


def train_sft(settings: SFTSettings, eval_rows: int = 0) -> TrainResult:
    """Train, save full weights (or the adapter) with the processor and a manifest; optionally measure the loss on
    the first `eval_rows` rows before and after training."""
    from datasets import load_from_disk
    from transformers import AutoProcessor
    from trl import SFTConfig, SFTTrainer

    template = planner_template(settings.template_file)
    raw = load_from_disk(settings.dataset)
    data = raw.map(lambda row: sft_row(row, template, settings.image_size), remove_columns=raw.column_names)
    processor = AutoProcessor.from_pretrained(settings.model)
    model = load_policy(settings, settings.lora is not None, rank_device(settings.use_cpu))
    args = SFTConfig(
        **common_args(settings),
        lr_scheduler_type=settings.lr_scheduler_type,
        warmup_steps=settings.warmup_ratio,  # a float below 1 is a ratio of max_steps (transformers >= 5)
        max_length=None,  # never truncate: a cut image token breaks the sample
        **settings.trl,
    )
    held = data.select(range(min(eval_rows, len(data)))) if eval_rows else None
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=data,
        eval_dataset=held,
        processing_class=processor,
        peft_config=lora_config(settings.lora) if settings.lora else None,
    )
    check_fp32_trainable(trainer.model)
    metrics: dict[str, float] = {}
    if held is not None:
        metrics["eval_loss_before"] = float(trainer.evaluate()["eval_loss"])
    output = trainer.train()
    metrics["train_loss"] = float(output.training_loss)
    if held is not None:
        metrics["eval_loss_after"] = float(trainer.evaluate()["eval_loss"])
    out = Path(settings.output_dir)
    if settings.lora is None:
        save_full(trainer.model, settings)
    trainer.save_model(str(out))
    processor.save_pretrained(str(out))
    (out / "training_args.bin").unlink(missing_ok=True)  # a pickle; the settings are in the manifest instead
    write_checkpoint(
        out,
        "sft",
        {
            "base_model": settings.model,
            "template": template.identity(),
            "settings": settings.model_dump(mode="json"),
            "metrics": metrics,
            "rows": len(data),
        },
    )
    return TrainResult(out, metrics, list(trainer.state.log_history))
