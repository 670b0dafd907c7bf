"""Training is correct at real size: fp32 master weights whatever the checkpoint's dtype, weights loaded straight
onto the rank's device, editor and reward on the rank's own GPU, a memory plan before GRPO, paths that survive a
change of directory, one-line merge failures, a ZeRO-2 config that parses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file
from training_chain import CPU

from mirabench.training.config import SFTSettings, load_settings
from mirabench.training.sft import train_sft

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def _copy_as(base: Path, out: Path, dtype: torch.dtype) -> Path:
    from transformers import AutoModelForImageTextToText, AutoProcessor

    model = AutoModelForImageTextToText.from_pretrained(base, dtype=torch.float32)
    # round once to bf16 so both copies hold the very same numbers, stored in different dtypes
    model.to(torch.bfloat16).to(dtype).save_pretrained(out)
    AutoProcessor.from_pretrained(base).save_pretrained(out)
    return out


def _changed_fraction(before: dict[str, torch.Tensor], after: dict[str, torch.Tensor]) -> float:
    changed = sum(int((after[k].float() != before[k].float()).sum()) for k in before)
    return changed / sum(t.numel() for t in before.values())


@pytest.fixture(scope="module")
def twins(chain: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("twins")
    return {
        name: _copy_as(chain["base"], root / name, dtype)
        for name, dtype in (("bf16", torch.bfloat16), ("fp32", torch.float32))
    }


def _one_step(chain: dict[str, Path], base: Path, out: Path, **extra: Any) -> Path:
    settings = SFTSettings(
        model=str(base),
        dataset=str(chain["dataset"]),
        output_dir=str(out),
        max_steps=1,
        learning_rate=1e-5,  # the paper's SFT learning rate
        lr_scheduler_type="constant",
        warmup_ratio=0.0,
        template_file=str(chain["template"]),
        **{**CPU, "bf16": True, **extra},  # bf16 autocast on the CPU: the GPU recipe's code path
    )
    return train_sft(settings).output_dir


def test_a_step_from_a_bf16_checkpoint_changes_as_many_weights_as_from_fp32(
    chain: dict[str, Path], twins: dict[str, Path], tmp_path: Path
) -> None:
    start = load_file(twins["fp32"] / "model.safetensors")
    assert load_file(twins["bf16"] / "model.safetensors")["lm_head.weight"].dtype == torch.bfloat16
    fractions = {}
    for name, base in twins.items():
        out = _one_step(chain, base, tmp_path / name, save_dtype="float32")
        fractions[name] = _changed_fraction(start, load_file(out / "model.safetensors"))
    assert fractions["fp32"] > 0.5, fractions
    assert fractions["bf16"] == pytest.approx(fractions["fp32"], abs=0.01), fractions

    # the defect this guards against: the same kind of step applied to bf16 weights rounds most of it away
    model = torch.nn.Linear(64, 64).to(torch.bfloat16)
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.5)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model(torch.randn(8, 64, dtype=torch.bfloat16)).square().mean().backward()
    torch.optim.AdamW(model.parameters(), lr=1e-5).step()
    assert _changed_fraction(before, model.state_dict()) < 0.5 * fractions["fp32"]


def test_full_weights_are_saved_in_the_base_dtype_by_default(
    chain: dict[str, Path], twins: dict[str, Path], tmp_path: Path
) -> None:
    out = _one_step(chain, twins["bf16"], tmp_path / "auto")
    assert {t.dtype for t in load_file(out / "model.safetensors").values()} == {torch.bfloat16}


def test_trainable_weights_must_be_fp32() -> None:
    from mirabench.training.sft import check_fp32_trainable

    check_fp32_trainable(torch.nn.Linear(2, 2))
    frozen = torch.nn.Linear(2, 2).to(torch.bfloat16).requires_grad_(False)
    check_fp32_trainable(frozen)  # frozen bf16 (a LoRA base) is fine
    with pytest.raises(ValueError, match="float32 master weights"):
        check_fp32_trainable(torch.nn.Linear(2, 2).to(torch.bfloat16))


def test_policy_loads_straight_onto_its_device(chain: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from transformers import AutoModelForImageTextToText

    from mirabench.training.sft import load_policy

    seen: list[dict[str, Any]] = []
    original = AutoModelForImageTextToText.from_pretrained.__func__  # type: ignore[attr-defined]

    def spy(cls: Any, name: str, **kwargs: Any) -> Any:
        seen.append(kwargs)
        return original(cls, name, **kwargs)

    monkeypatch.setattr(AutoModelForImageTextToText, "from_pretrained", classmethod(spy))
    settings = SFTSettings(model=str(chain["base"]), dataset="x", output_dir="x")
    full = load_policy(settings, lora=False, device="cpu")
    lora = load_policy(settings, lora=True, device="cpu")
    assert [s["device_map"] for s in seen] == [{"": "cpu"}, {"": "cpu"}]
    assert next(full.parameters()).dtype == torch.float32  # trainable: fp32 master weights
    assert next(lora.parameters()).dtype == torch.bfloat16  # frozen LoRA base under bf16 autocast


def test_editor_and_reward_go_to_the_ranks_own_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    from mirabench.registry import editors, metrics
    from mirabench.training.placement import place_options, rank_device

    chosen: list[int] = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "set_device", lambda i: chosen.append(i))
    monkeypatch.setenv("LOCAL_RANK", "3")
    device = rank_device()
    assert device == "cuda:3" and chosen == [3]
    assert rank_device(use_cpu=True) == "cpu"
    assert place_options(editors, "kontext", {"steps": 4}, device) == {"steps": 4, "device": "cuda:3"}
    assert place_options(editors, "kontext", {"device": "cuda:7"}, device) == {"device": "cuda:7"}  # user's choice
    assert place_options(metrics, "editscore", {"backend": "transformers"}, device)["device"] == "cuda:3"
    assert place_options(editors, "shapes", {}, device) == {}  # no device option: nothing added
    monkeypatch.delenv("LOCAL_RANK")
    monkeypatch.setenv("SLURM_LOCALID", "5")
    assert rank_device() == "cuda:5"


def test_memory_plan_counts_each_component_per_device(chain: dict[str, Path]) -> None:
    from mirabench.training.config import LoraSettings
    from mirabench.training.placement import memory_plan, module_bytes, policy_bytes
    from mirabench.training.sft import lora_config

    editor = {"pipe": {"transformer": torch.nn.Linear(100, 100)}}  # 10100 fp32 numbers
    reward = type("Judge", (), {})()
    reward.client = type("Client", (), {})()
    reward.client.model = torch.nn.Linear(10, 10).to(torch.bfloat16)  # 110 bf16 numbers
    assert module_bytes(editor) == {"cpu": 40400} and module_bytes(reward) == {"cpu": 220}

    from transformers import AutoModelForImageTextToText

    n = sum(p.numel() for p in AutoModelForImageTextToText.from_pretrained(chain["base"]).parameters())
    full = policy_bytes(str(chain["base"]), torch.float32, None, beta=0.04)
    assert full == {"policy": 4 * n, "trainable": 12 * n, "reference": 4 * n}
    assert policy_bytes(str(chain["base"]), torch.float32, None, beta=0.0)["reference"] == 0
    lora = policy_bytes(str(chain["base"]), torch.bfloat16, lora_config(LoraSettings(r=4, alpha=8)), beta=0.04)
    assert lora["reference"] == 0 and 0 < lora["trainable"] < full["trainable"] / 4
    plan = memory_plan("cpu", lora, editor, reward)
    assert plan.rows["cpu"]["editor"] == 40400 and plan.rows["cpu"]["reward"] == 220
    text = plan.render()
    assert "policy" in text and "reward" in text and "over its memory" not in text
    plan.capacity["cpu"] = 1000  # pretend a small device: the plan names it and the offload options
    assert plan.over() == ["cpu"] and "cpu_offload=model" in plan.render()


def test_paths_resolve_against_the_config_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mirabench.training.config import GRPOSettings

    (tmp_path / "ckpt" / "sft").mkdir(parents=True)
    cfg = tmp_path / "configs" / "grpo.yaml"
    cfg.parent.mkdir()
    cfg.write_text("model: ../ckpt/sft\ndataset: ../data\noutput_dir: ../out\neditor: shapes\n")
    monkeypatch.chdir(tmp_path / "ckpt")  # anywhere else
    s = load_settings(cfg, GRPOSettings, {"output_dir": "here"})
    assert s.model == str(tmp_path / "ckpt" / "sft") and s.dataset == str(tmp_path / "data")
    assert s.output_dir == str(tmp_path / "ckpt" / "here")  # --set values are relative to where you are
    hub = load_settings(cfg, GRPOSettings, {"model": "Qwen/Qwen2.5-VL-7B-Instruct"})
    assert hub.model == "Qwen/Qwen2.5-VL-7B-Instruct"
    for name in ("sft-3b", "sft-7b", "grpo-3b", "grpo-7b", "grpo-7b-node8"):
        kind = GRPOSettings if name.startswith("grpo") else SFTSettings
        shipped = load_settings(CONFIGS / f"{name}.yaml", kind, {})
        assert Path(shipped.dataset) == CONFIGS.parent / "data" / "mira-editing" / "dataset"
        assert shipped.model.startswith(("Qwen/", str(CONFIGS.parent / "checkpoints")))


def test_node8_config_runs_editor_and_reward_as_services() -> None:
    from accelerate.commands.config.config_args import load_config_from_file

    from mirabench.registry import editors, metrics
    from mirabench.training.config import GRPOSettings

    s = load_settings(CONFIGS / "grpo-7b-node8.yaml", GRPOSettings, {})
    editors.validate_options(s.editor, s.editor_options)
    metrics.validate_options(s.metric, s.metric_options)
    assert s.editor == "http" and len(s.editor_options["url"].split(",")) == 5
    assert s.metric_options["backend"] == "openai" and s.metric_options["base_url"].startswith("http://")
    policy = load_config_from_file(str(CONFIGS / "accelerate-node8-policy.yaml"))
    assert policy.num_processes == 2 and policy.mixed_precision == "bf16"
    assert (policy.num_processes * s.per_device_train_batch_size) % s.num_generations == 0


def test_zero2_config_parses() -> None:
    from accelerate.commands.config.config_args import load_config_from_file
    from accelerate.utils import DeepSpeedPlugin

    cfg = load_config_from_file(str(CONFIGS / "accelerate-zero2.yaml"))
    assert cfg.distributed_type == "DEEPSPEED" and cfg.mixed_precision == "bf16"
    plugin = DeepSpeedPlugin(**cfg.deepspeed_config)
    assert plugin.zero_stage == 2 and plugin.deepspeed_config["zero_optimization"]["stage"] == 2
    pyproject = (CONFIGS.parent / "pyproject.toml").read_text()
    assert 'deepspeed = ["deepspeed' in pyproject


def test_merge_lora_failures_are_one_clear_line(tmp_path: Path) -> None:
    from mirabench.backends.weights import ModelNotFound
    from mirabench.training.checkpoint import merge_lora

    with pytest.raises(FileNotFoundError, match="not a LoRA adapter folder"):
        merge_lora(tmp_path, tmp_path / "out")
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(tmp_path / "gone")}))
    with pytest.raises(ModelNotFound) as err:
        merge_lora(adapter, tmp_path / "out")
    assert "\n" not in str(err.value) and str(tmp_path / "gone") in str(err.value)
