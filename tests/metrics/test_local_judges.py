"""qwen3vl-sc and editscore in-process: tiny random-weight Qwen-VL checkpoints (and a LoRA adapter) loaded
through the same from_pretrained / PeftModel paths as real ones. Random outputs are never asserted on: the
numbers come from a generate() that appends a known answer, decoded by the real tokenizer."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from mirabench.backends.local_judge import vision_ids_prompt
from mirabench.judge.viescore import load_prompts
from mirabench.plugins import ScoreItem
from mirabench.registry import PluginUnavailable, metrics
from mirabench.types import Sample, ScoreStatus

pytest.importorskip("transformers")
qwen_vl = pytest.importorskip("mirabench.testing.qwen_vl")

SOURCE = Image.new("RGB", (64, 64), (250, 0, 0))
EDITED = Image.new("RGB", (64, 64), (0, 0, 250))
ITEM = ScoreItem(Sample("s1", "make it blue", SOURCE), SOURCE, EDITED)


@pytest.fixture(scope="module")
def qwen3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return qwen_vl.tiny_qwen3_vl(tmp_path_factory.mktemp("qwen3vl"))


@pytest.fixture(scope="module")
def qwen25_lora(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForImageTextToText

    base = qwen_vl.tiny_qwen25_vl(tmp_path_factory.mktemp("qwen25vl"))
    model = AutoModelForImageTextToText.from_pretrained(base)
    adapter = tmp_path_factory.mktemp("lora")
    get_peft_model(model, LoraConfig(r=2, target_modules=["q_proj", "v_proj"])).save_pretrained(adapter)
    return base, adapter


def scripted(metric: Any, sc_answer: str, pq_answer: str) -> list[dict[str, Any]]:
    """Make the loaded model answer `sc_answer` to SC prompts and `pq_answer` to PQ prompts; record what it saw."""
    import torch

    vlm = metric.client._local
    seen: list[dict[str, Any]] = []

    def generate(**kwargs: Any) -> Any:
        ids = kwargs["input_ids"]
        prompt = vlm.processor.tokenizer.decode(ids[0])
        answer = sc_answer if "overedit" in prompt.lower() or "over-edit" in prompt.lower() else pq_answer
        seen.append({"prompt": prompt, "kwargs": kwargs, "seed": torch.initial_seed()})
        new = torch.tensor([vlm.processor.tokenizer.encode(answer)], dtype=ids.dtype)
        return torch.cat([ids, new], dim=1)

    vlm.model.generate = generate
    return seen


def test_qwen3vl_sc_in_process_real_generation_and_scripted_numbers(qwen3: Path) -> None:
    m = metrics.build("qwen3vl-sc", backend="transformers", path=str(qwen3), max_tokens=8, cache=False)
    try:
        (real,) = m.score_batch([ITEM])  # random weights: whatever it says is parsed or counted, never a crash
        assert {s.status for s in real.values()} <= {ScoreStatus.OK, ScoreStatus.PARSE_ERROR}
        seen = scripted(m, '{"score": [8, 5], "reasoning": "r"}', '{"score": [9, 6], "reasoning": "r"}')
        (out,) = m.score_batch([ITEM])
    finally:
        m.close()
    assert (out["qwen3vl-sc"].value, out["qwen3vl-pq"].value) == (5.0, 6.0)
    assert out["qwen3vl-o"].value == pytest.approx(math.sqrt(30))
    sc_prompt = next(s["prompt"] for s in seen if "overedit" in s["prompt"].lower())
    assert sc_prompt.count("<|vision_start|>") == 2
    assert sc_prompt.index("<|vision_start|>") < sc_prompt.index("RULES")  # images first (GEdit's Qwen judge)
    assert load_prompts("viescore").sc_text("make it blue").splitlines()[0] in sc_prompt
    assert all(s["kwargs"]["do_sample"] is False for s in seen)  # no temperature: greedy


def test_qwen3vl_sc_server_backend_needs_a_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # the GPT endpoint: never a fallback
    with pytest.raises(PluginUnavailable, match="OPENAI_BASE_URL is not used"):
        metrics.build("qwen3vl-sc")


def test_editscore_lora_in_process_protocol(qwen25_lora: tuple[Path, Path]) -> None:
    base, adapter = qwen25_lora
    m = metrics.build("editscore", path=str(base), lora_path=str(adapter), max_tokens=8, num_pass=2, cache=False)
    try:
        (real,) = m.score_batch([ITEM])
        assert {s.status for s in real.values()} <= {ScoreStatus.OK, ScoreStatus.PARSE_ERROR}
        seen = scripted(m, '{"reasoning": "r", "score": [20, 15]}', '{"reasoning": "r", "score": [25, 10]}')
        (out,) = m.score_batch([ITEM])
    finally:
        m.close()
    # 0-25 answers / 2.5: SC = min(8, 6) = 6, PQ = min(10, 4) = 4, OA = sqrt(24); both passes agree here
    assert out["editscore-sc"].value == pytest.approx(6.0) and out["editscore-pq"].value == pytest.approx(4.0)
    assert out["editscore-oa"].value == pytest.approx(math.sqrt(24))
    assert out["editscore-sc"].detail["passes"] == pytest.approx([6.0, 6.0])
    prompts = load_prompts("editscore", 25)
    sc = [s for s in seen if "overedit" in s["prompt"].lower()]
    assert len(sc) == 2 and [s["seed"] for s in sc] == [42, 43]  # pass i seeded 42 + i
    assert sc[0]["prompt"] == vision_ids_prompt(prompts.sc_text("make it blue"), 2).replace(
        "<|image_pad|>", "<|image_pad|>" * (sc[0]["prompt"].count("<|image_pad|>") // 2)
    )
    kw = sc[0]["kwargs"]
    assert kw["do_sample"] is True and kw["temperature"] == 0.7 and kw["top_p"] == 0.9 and kw["top_k"] == 20
    pq = next(s for s in seen if "overedit" not in s["prompt"].lower())
    assert pq["prompt"].count("<img") == 1  # evaluate(): PQ sees the edited image only


def judged_with_batch(path: Path, items: list[ScoreItem], batch: int) -> tuple[list[Any], list[int]]:
    """Every (status, raw answer) of qwen3vl-sc at a batch size, and the rows of each generate() call."""
    m = metrics.build("qwen3vl-sc", backend="transformers", path=str(path), max_tokens=6, cache=False, batch_size=batch)
    vlm = m.client._local
    rows: list[int] = []
    real = vlm.model.generate

    def counted(**kwargs: Any) -> Any:
        rows.append(int(kwargs["input_ids"].shape[0]))
        return real(**kwargs)

    vlm.model.generate = counted
    try:
        return [(s.status, s.raw) for out in m.score_batch(items) for s in out.values()], rows
    finally:
        m.close()


def test_batched_greedy_judgements_equal_one_at_a_time(qwen3: Path) -> None:
    colours = [(250, 0, 0), (0, 250, 0), (0, 0, 250), (200, 200, 0), (0, 120, 240)]
    items = [
        ScoreItem(Sample(f"s{i}", f"make it colour {i}" + " please" * i, SOURCE), SOURCE, Image.new("RGB", (64, 64), c))
        for i, c in enumerate(colours)
    ]
    one, one_rows = judged_with_batch(qwen3, items, 1)
    four, four_rows = judged_with_batch(qwen3, items, 4)
    assert one_rows == [1] * 10  # SC and PQ per item
    assert sorted(four_rows) == [1, 1, 4, 4]  # greedy: 4 at a time, SC prompts (2 images) apart from PQ ones (1)
    assert four == one  # left padding changes nothing a greedy judge says
