"""Stage 1: supervised fine-tuning of the planner on start / continue / stop rows (trl SFTTrainer).

Two images per row (I0 and I_{t-1}) and the planner prompt; the loss covers only the assistant's answer
(`NEXT_EDITING_INSTRUCTION: ...`), as trl does for prompt-completion data. Multi-GPU: `accelerate launch -m
mirabench.cli train sft ...` (configs/accelerate-zero2.yaml ships a DeepSpeed ZeRO-2 setup).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mirabench.training.checkpoint import write_checkpoint
from mirabench.training.config import LoraSettings, SFTSettings
from mirabench.training.prompting import planner_template, sft_row

__all__ = ["TrainResult", "lora_config", "train_sft"]


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
    from transformers import AutoModelForImageTextToText, AutoProcessor
    from trl import SFTConfig, SFTTrainer

    template = planner_template(settings.template_file)
    raw = load_from_disk(settings.dataset)
    data = raw.map(lambda row: sft_row(row, template, settings.image_size), remove_columns=raw.column_names)
    processor = AutoProcessor.from_pretrained(settings.model)
    model = AutoModelForImageTextToText.from_pretrained(settings.model)
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
    metrics: dict[str, float] = {}
    if held is not None:
        metrics["eval_loss_before"] = float(trainer.evaluate()["eval_loss"])
    output = trainer.train()
    metrics["train_loss"] = float(output.training_loss)
    if held is not None:
        metrics["eval_loss_after"] = float(trainer.evaluate()["eval_loss"])
    out = Path(settings.output_dir)
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
