"""The whole training chain on the shapes world with a tiny random-weight Qwen2.5-VL: data -> SFT -> GRPO ->
merge -> `mirabench run --agent mira-7b --set agent.path=CKPT`. Losses are asserted only as measured drops."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from training_chain import CPU

from mirabench.images import source_image
from mirabench.registry import editors, metrics
from mirabench.training.checkpoint import merge_lora, read_checkpoint
from mirabench.training.config import GRPOSettings, LoraSettings, SFTSettings
from mirabench.training.grpo import EditReward, format_reward, train_grpo
from mirabench.training.sft import train_sft


@pytest.fixture(scope="module")
def sft(chain: dict[str, Path]) -> tuple[Path, dict[str, float]]:
    settings = SFTSettings(
        model=str(chain["base"]),
        dataset=str(chain["dataset"]),
        output_dir=str(chain["root"] / "sft"),
        max_steps=40,
        learning_rate=1e-2,
        lr_scheduler_type="constant",
        warmup_ratio=0.0,
        template_file=str(chain["template"]),
        **CPU,
    )
    result = train_sft(settings, eval_rows=8)
    return result.output_dir, result.metrics


def test_sft_halves_the_loss_on_a_fixed_set(sft: tuple[Path, dict[str, float]]) -> None:
    out, m = sft
    assert m["eval_loss_after"] <= m["eval_loss_before"] / 2, m
    manifest = read_checkpoint(out)
    assert manifest["stage"] == "sft" and manifest["metrics"] == m
    assert (out / "model.safetensors").exists() and not list(out.glob("*.bin"))


def test_edit_reward_executes_and_composes(tmp_path: Path) -> None:
    from mirabench.suites.shapes import ShapesSuite

    sample = ShapesSuite(n=1, seed=4).sample(0)
    settings = GRPOSettings(
        model="x",
        dataset="x",
        output_dir="x",
        editor="shapes",
        metric="shapes",
        sc_column="shapes-sc",
        pq_column="shapes-bg",
    )
    reward = EditReward(editors.build("shapes"), metrics.build("shapes"), settings)
    src = source_image(sample)
    good = [{"role": "assistant", "content": f"NEXT_EDITING_INSTRUCTION: {sample.atomic[0]}"}]
    stop = [{"role": "assistant", "content": "NEXT_EDITING_INSTRUCTION: <stop>"}]
    junk = [{"role": "assistant", "content": "I would rather not"}]
    kw = dict(
        images=[[src, src]] * 3,
        instruction=[sample.instruction] * 3,
        truth=[json.dumps(sample.extra)] * 3,
        session=[sample.id] * 3,
    )
    r_good, r_stop, r_junk = reward(prompts=[[]] * 3, completions=[good, stop, junk], **kw)
    assert reward.stats.edits_executed == 1 and len(reward.stats.executed_images) == 1
    n = len(sample.atomic)
    # one of n goals met, nothing else touched: SC = 10/n, background intact (PQ column = shapes-bg = 10)
    assert r_good == pytest.approx(2.0 * 10 / n + 0.5 * 10.0)
    assert r_stop == r_junk == pytest.approx(0.5 * 10.0)  # unchanged image: no goal met yet
    assert format_reward([good, stop, junk]) == [1.0, 1.0, 0.0]
    with pytest.raises(ValueError, match="no column"):
        EditReward(editors.build("shapes"), metrics.build("shapes"), settings.model_copy(update={"pq_column": "nope"}))


def test_grpo_merge_and_evaluate(chain: dict[str, Path], sft: tuple[Path, dict[str, float]], tmp_path: Path) -> None:
    sft_dir, _ = sft
    settings = GRPOSettings(
        model=str(sft_dir),
        dataset=str(chain["dataset"]),
        output_dir=str(chain["root"] / "grpo"),
        max_steps=2,
        learning_rate=1e-4,
        num_generations=2,
        per_device_train_batch_size=4,
        max_completion_length=48,
        temperature=0.7,
        editor="shapes",
        metric="shapes",
        sc_column="shapes-sc",
        pq_column="shapes-bg",
        lora=LoraSettings(r=4, alpha=8, dropout=0.0),
        template_file=str(chain["template"]),
        **CPU,
    )
    result, reward = train_grpo(settings)
    assert reward.stats.calls == 2 and reward.stats.completions == 8
    assert reward.stats.edits_executed > 0 and reward.stats.failures == 0  # rollouts reached the editor
    adapter = result.output_dir
    assert (adapter / "adapter_model.safetensors").exists() and not list(adapter.glob("*.bin"))
    assert json.loads((adapter / "adapter_config.json").read_text())["base_model_name_or_path"] == str(sft_dir)
    assert read_checkpoint(adapter)["reward"]["edits_executed"] == reward.stats.edits_executed
    plan = read_checkpoint(adapter)["memory_plan"]["cpu"]  # printed before training, recorded with the adapter
    assert plan["policy"] > 0 and plan["trainable"] > 0 and "reference" not in plan  # LoRA: no second copy
    assert any("rewards/edit_reward/mean" in h for h in result.log_history)

    merged = merge_lora(adapter, chain["root"] / "merged")
    assert (merged / "model.safetensors").exists() and read_checkpoint(merged)["stage"] == "merged"

    from mirabench.run.runner import run
    from mirabench.spec import RunSpec

    for ckpt in (adapter, merged):  # an adapter folder (merged on load) and full weights both plug into --agent
        spec = RunSpec(
            suite="shapes",
            agent="mira-7b",
            editor="shapes",
            metrics=["shapes"],
            limit=3,
            max_steps=2,
            agent_options={
                "path": str(ckpt),
                "template_file": str(chain["template"]),
                "image_size": 64,
                "max_new_tokens": 48,
            },
        )
        summary = run(spec, tmp_path / ckpt.name).summary
        assert summary["n_samples"] == 3 and summary["n_pending"] == 0
        assert summary["metrics"]["shapes-sc"]["coverage"] == 1.0


def test_sampled_completions_never_hold_vision_tokens(chain: dict[str, Path]) -> None:
    from transformers import AutoTokenizer

    from mirabench.training.grpo import vision_token_ids

    tok = AutoTokenizer.from_pretrained(chain["base"])
    names = ["<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"]
    assert vision_token_ids(str(chain["base"])) == sorted(tok.convert_tokens_to_ids(names))


def test_grpo_prompts_pad_left_so_image_marks_line_up(chain: dict[str, Path], tmp_path: Path) -> None:
    """What trl does for the log-prob pass (prompts re-processed with padding), with train_grpo's processor."""
    from mirabench.training.grpo import grpo_processor
    from mirabench.training.prompting import planner_template, prompt_row

    processor = grpo_processor(str(chain["base"]))
    template = planner_template(str(chain["template"]))
    rows = [
        prompt_row({"images": [im, im], "session": "s", "instruction": text, "step": 0}, template, 64)
        for im, text in [(source_image_of(0), "x"), (source_image_of(1), "a much longer instruction " * 6)]
    ]
    texts = [processor.apply_chat_template(r["prompt"], add_generation_prompt=True, tokenize=False) for r in rows]
    batch = processor(images=[i for r in rows for i in r["images"]], text=texts, padding=True, return_tensors="pt")
    pad = processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    assert (batch["mm_token_type_ids"] == 1).equal(batch["input_ids"] == pad)
    assert batch["attention_mask"][0, 0] == 0  # the shorter prompt is padded on the left, like generated ids


def source_image_of(seed: int) -> Any:
    import numpy as np
    from PIL import Image

    return Image.fromarray(np.random.default_rng(seed).integers(0, 255, (64, 64, 3), dtype=np.uint8))
