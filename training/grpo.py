"""Stage 2: GRPO with LoRA and editor-in-the-loop rewards (trl GRPOTrainer + peft).

For every sampled answer the reward executes the atomic instruction with an editor plugin on I_{t-1} and scores
the result with a metric plugin: R = lambda_sc * SC + lambda_pq * PQ (supplementary B.1: 2.0 and 0.5), plus a
separate well-formed-answer reward. A stop (or an answer that is not an instruction) leaves I_{t-1} unchanged and
is scored as such. Edits go through the global cache and are batched per group; a failed judgement makes that
completion's reward None (trl ignores it), is logged as `reward/failures` and counted, never a silent 0.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from mirabench.backends.parsing import parse_planner
from mirabench.cache import Cache
from mirabench.images import image_hash
from mirabench.plugins import Editor, Metric, ScoreItem
from mirabench.registry import editors, metrics
from mirabench.run.editing import run_edits
from mirabench.training.checkpoint import write_checkpoint
from mirabench.training.config import GRPOSettings
from mirabench.training.placement import local_rank, memory_plan, place_options, policy_bytes, rank_device
from mirabench.training.prompting import planner_template, prompt_row
from mirabench.training.sft import TrainResult, check_fp32_trainable, common_args, load_policy, lora_config
from mirabench.types import Edit, EditRequest, Sample, Stop

__all__ = ["EditReward", "format_reward", "grpo_processor", "train_grpo", "vision_token_ids"]


def _text(completion: Any) -> str:
    """trl passes conversational completions as [{"role": "assistant", "content": str}]."""
    if isinstance(completion, list):
        return "".join(str(m.get("content", "")) for m in completion if isinstance(m, dict))
    return str(completion)


def format_reward(completions: Sequence[Any], **_: Any) -> list[float | None]:
    """1 for an answer the agent can act on (an instruction or a clean stop), 0 for anything else."""
    out: list[float | None] = []
    for c in completions:
        action = parse_planner(_text(c))
        out.append(0.0 if isinstance(action, Stop) and action.error else 1.0)
    return out


@dataclass
class RewardStats:
    calls: int = 0
    completions: int = 0
    edits_executed: int = 0
    editor_calls: int = 0
    failures: int = 0
    executed_images: list[str] = field(default_factory=list)


class EditReward:
    """lambda_sc * SC + lambda_pq * PQ of the image each sampled instruction produces."""

    __name__ = "edit_reward"

    def __init__(self, editor: Editor, metric: Metric, settings: GRPOSettings, cache: Cache | None = None) -> None:
        self.editor, self.metric, self.settings, self.cache = editor, metric, settings, cache
        keys = {c.key for c in metric.columns}
        missing = [k for k in (settings.sc_column, settings.pq_column) if k not in keys]
        if missing:
            raise ValueError(f"metric {metric.name!r} has no column(s) {missing}; it reports {sorted(keys)}")
        self.stats = RewardStats()

    def __call__(
        self,
        prompts: Sequence[Any],
        completions: Sequence[Any],
        images: Sequence[Sequence[Image.Image]],
        instruction: Sequence[str],
        truth: Sequence[str],
        session: Sequence[str],
        **kwargs: Any,
    ) -> list[float | None]:
        self.stats.calls += 1
        self.stats.completions += len(completions)
        latest = [imgs[-1].convert("RGB") for imgs in images]
        actions = [parse_planner(_text(c)) for c in completions]
        edits = {i: a for i, a in enumerate(actions) if isinstance(a, Edit)}
        edit_ix = list(edits)
        requests = [
            EditRequest(
                latest[i],
                edits[i].instruction,
                _seed(session[i], edits[i].instruction),
                session[i],
            )
            for i in edit_ix
        ]
        outcomes, calls = run_edits(self.editor, requests, [image_hash(latest[i]) for i in edit_ix], self.cache)
        self.stats.editor_calls += calls
        results: list[Image.Image | None] = list(latest)
        for i, outcome in zip(edit_ix, outcomes, strict=True):
            results[i] = outcome.image
            if outcome.image is not None and outcome.digest:
                self.stats.edits_executed += 1
                self.stats.executed_images.append(outcome.digest)
                if self.cache is not None and outcome.key:
                    self.cache.put_image(outcome.key, outcome.image, outcome.digest)
        rewards = self._score(images, results, instruction, truth, session)
        failed = sum(r is None for r in rewards)
        self.stats.failures += failed
        log = kwargs.get("log_metric")
        if log is not None:
            log("reward/failures", float(failed))
            log("reward/edits_executed", float(len(edit_ix)))
        return rewards

    def _score(
        self,
        images: Sequence[Sequence[Image.Image]],
        results: Sequence[Image.Image | None],
        instruction: Sequence[str],
        truth: Sequence[str],
        session: Sequence[str],
    ) -> list[float | None]:
        s = self.settings
        items, where = [], []
        for i, edited in enumerate(results):
            if edited is None:  # the editor failed on this one: no image, no reward
                continue
            source = images[i][0].convert("RGB")
            sample = Sample(session[i], instruction[i], source, extra=json.loads(truth[i] or "{}"))
            items.append(ScoreItem(sample, source, edited))
            where.append(i)
        rewards: list[float | None] = [None] * len(results)
        for i, scores in zip(where, self.metric.score_batch(items) if items else [], strict=True):
            sc, pq = scores.get(s.sc_column), scores.get(s.pq_column)
            if sc is not None and pq is not None and sc.value is not None and pq.value is not None:
                rewards[i] = s.lambda_sc * sc.value + s.lambda_pq * pq.value
        return rewards


def grpo_processor(model: str) -> Any:
    """The processor, padding on the left. trl re-runs it on the prompts for the log-prob pass: padded on the right,
    Qwen-VL's mm_token_type_ids no longer line up with the left-padded generated ids (wrong M-RoPE positions, or a
    crash once a batch's prompt lengths differ by more than the text before the first image)."""
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(model)
    processor.tokenizer.padding_side = "left"
    return processor


def vision_token_ids(model: str) -> list[int]:
    """Image/video placeholder and vision start/end ids, which a sampled completion must never contain: one such
    token makes the next forward pass count more images than it has features (trl suppresses only the image pad)."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(model)
    names = ("image_token_id", "video_token_id", "vision_start_token_id", "vision_end_token_id")
    return sorted({int(v) for v in (getattr(config, n, None) for n in names) if v is not None})


def _seed(session: str, instruction: str) -> int:
    """Same answer in the same state, same edit: rollouts are reproducible and cacheable."""
    return int.from_bytes(hashlib.sha256(f"{session}\x00{instruction}".encode()).digest()[:4], "big") & 0x7FFFFFFF


def train_grpo(settings: GRPOSettings) -> tuple[TrainResult, EditReward]:
    """Train a LoRA adapter on the SFT checkpoint; saves adapter + processor + manifest in output_dir."""
    import torch
    from datasets import load_from_disk
    from trl import GRPOConfig, GRPOTrainer

    template = planner_template(settings.template_file)
    raw = load_from_disk(settings.dataset)
    keep = ["instruction", "truth", "session"]
    data = raw.map(
        lambda row: prompt_row(row, template, settings.image_size),
        remove_columns=[c for c in raw.column_names if c not in keep],
    )
    device = rank_device(settings.use_cpu)  # before anything is built: every rank's models go to its own GPU
    editor = editors.build(settings.editor, **place_options(editors, settings.editor, settings.editor_options, device))
    metric = metrics.build(settings.metric, **place_options(metrics, settings.metric, settings.metric_options, device))
    load_now = getattr(metric, "client", None)
    if callable(load_now):  # judges load lazily; load it now so the plan measures it and a missing one fails early
        load_now()
    cache = Cache()
    reward = EditReward(editor, metric, settings, cache)
    trl_extra = dict(settings.trl)
    generation = dict(trl_extra.pop("generation_kwargs", None) or {})
    args = GRPOConfig(
        **common_args(settings),
        beta=settings.beta,
        num_generations=settings.num_generations,
        max_completion_length=settings.max_completion_length,
        temperature=settings.temperature,
        reward_weights=[settings.format_weight, 1.0],
        generation_kwargs={"suppress_tokens": vision_token_ids(settings.model), **generation},
        **trl_extra,
    )
    try:
        frozen = torch.bfloat16 if settings.bf16 else torch.float32
        policy = policy_bytes(settings.model, frozen, lora_config(settings.lora), settings.beta)
        plan = memory_plan(device, policy, editor, metric)
        print(f"[rank {local_rank()}] " + plan.render(), file=sys.stderr, flush=True)
        processor = grpo_processor(settings.model)
        trainer = GRPOTrainer(
            model=load_policy(settings, True, device),
            reward_funcs=[format_reward, reward],
            args=args,
            train_dataset=data,
            processing_class=processor,
            peft_config=lora_config(settings.lora),
        )
        check_fp32_trainable(trainer.model)
        trainer.train()
    finally:
        editor.close()
        metric.close()
        cache.close()
    out = Path(settings.output_dir)
    trainer.save_model(str(out))
    processor.save_pretrained(str(out))
    (out / "training_args.bin").unlink(missing_ok=True)  # a pickle; the settings are in the manifest instead
    stats = {k: v for k, v in reward.stats.__dict__.items() if k != "executed_images"}
    write_checkpoint(
        out,
        "grpo",
        {
            "base_model": settings.model,
            "template": template.identity(),
            "settings": settings.model_dump(mode="json"),
            "reward": stats,
            "editor": editor.identity(),
            "metric": metric.identity(),
            "memory_plan": plan.rows,
        },
    )
    return TrainResult(out, {"reward_failures": float(reward.stats.failures)}, list(trainer.state.log_history)), reward
