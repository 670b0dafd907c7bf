"""MIRA, EditThinker and rewrite-once: loading, batching, stop handling and the two loop policies."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from scripted_chat import ScriptedChat

from mirabench.agents.editthinker import EditThinker, decide
from mirabench.agents.mira import Mira7B
from mirabench.backends.prompts import Part
from mirabench.plugins import Editor
from mirabench.registry import PluginError, agents, editors
from mirabench.run.runner import run
from mirabench.rundir.store import RunStore
from mirabench.spec import RunSpec
from mirabench.types import AgentState, Edit, EditRequest, Sample, Stop


def states(n: int) -> list[AgentState]:
    out = []
    for i in range(n):
        src = Image.new("RGB", (64, 64), (40 * i % 256, 90, 10))
        latest = Image.new("RGB", (48, 64), (10, 40 * i % 256, 90))
        out.append(AgentState(Sample(f"s{i}", f"make object {i} red and move it left", src), src, latest, i % 3))
    return out


def test_mira_batched_generation_equals_one_at_a_time(tiny: dict[str, Path]) -> None:
    agent = agents.build("mira-7b", path=str(tiny["qwen25-vl"]), max_new_tokens=12, batch_size=8, image_size=64)
    batch = agent.plan_batch(states(6))
    single = [agent.plan_batch([s])[0] for s in states(6)]
    assert [a.raw for a in batch] == [a.raw for a in single]
    assert batch == single
    assert len({a.raw for a in batch}) > 1  # the prompts really differ, so equality is not vacuous


def test_mira_answer_prefix_prefills_the_tag(tiny: dict[str, Path]) -> None:
    agent = agents.build("mira-3b", path=str(tiny["qwen25-vl"]), answer_prefix="NEXT_EDITING_INSTRUCTION:")
    for action in agent.plan_batch(states(3)):
        assert action.raw.startswith("NEXT_EDITING_INSTRUCTION:")
        assert isinstance(action, Edit) or action.error or "stop" in action.raw.lower()


def test_mira_loads_a_lora_adapter_folder_over_its_recorded_base(tiny: dict[str, Path], tmp_path: Path) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForImageTextToText

    base = AutoModelForImageTextToText.from_pretrained(tiny["qwen25-vl"])
    adapter = tmp_path / "adapter"
    # a fresh LoRA has B = 0: merged, it must reproduce the base model exactly
    get_peft_model(base, LoraConfig(r=2, target_modules=["q_proj", "v_proj"])).save_pretrained(adapter)
    assert json.loads((adapter / "adapter_config.json").read_text())["base_model_name_or_path"]
    with_adapter = agents.build("mira-7b", path=str(adapter), max_new_tokens=8, image_size=64)
    plain = agents.build("mira-7b", path=str(tiny["qwen25-vl"]), max_new_tokens=8, image_size=64)
    assert with_adapter.plan_batch(states(2)) == plain.plan_batch(states(2))
    # a trained (non-zero) adapter must change what the planner says: the adapter is really applied
    base = AutoModelForImageTextToText.from_pretrained(tiny["qwen25-vl"])
    lora = LoraConfig(r=4, lora_alpha=64, target_modules=["q_proj", "v_proj", "o_proj"], init_lora_weights=False)
    get_peft_model(base, lora).save_pretrained(tmp_path / "trained")
    trained = agents.build("mira-7b", path=str(tmp_path / "trained"), max_new_tokens=8, image_size=64)
    assert [a.raw for a in trained.plan_batch(states(2))] != [a.raw for a in plain.plan_batch(states(2))]


def test_missing_weights_give_one_clear_message() -> None:
    with pytest.raises(PluginError) as err:
        agents.build("mira-7b", path="no-such-org/no-such-model")
    msg = str(err.value)
    assert (
        "'no-such-org/no-such-model'" in msg
        and "HF_HUB_OFFLINE" in msg
        and "hf download no-such-org/no-such-model" in msg
    )
    with pytest.raises(PluginError, match="set agent.path"):
        agents.build("mira-7b")


def scripted(cls: type, chat: ScriptedChat, **options: Any) -> Any:
    return type("Scripted" + cls.__name__, (cls,), {"make_chat": lambda self: chat})(**options)


def grey_level(part: Part) -> int:
    assert isinstance(part, Image.Image)
    return int(np.asarray(part)[0, 0, 0])


def test_mira_stop_spellings_and_garbage_through_the_runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The toy world: the planner reads the latest grey level and asks for +10 until the goal, then stops."""

    def answer(prompt: Sequence[Part]) -> str:
        text = "".join(p for p in prompt if isinstance(p, str))
        goal = int(re.search(r"reach (\d+)", text).group(1))  # type: ignore[union-attr]
        level = grey_level([p for p in prompt if isinstance(p, Image.Image)][1])
        if goal == 30:
            return "I am not sure what to do."
        if level < goal:
            return "The picture is too dark.\nNEXT_EDITING_INSTRUCTION: add 10"
        return "<stop>" if goal == 10 else "NEXT_EDITING_INSTRUCTION: <STOP>"

    chat = ScriptedChat(answer)
    monkeypatch.setattr(Mira7B, "make_chat", lambda self: chat)
    result = run(RunSpec(suite="toy", agent="mira-7b", editor="toy", metrics=["grey"], max_steps=5), tmp_path / "r")
    rows = {json.loads(line)["id"]: json.loads(line) for line in (tmp_path / "r" / "samples.jsonl").open()}
    for i in range(6):
        goal = 10 * (i % 4 + 1)
        row = rows[f"toy-{i:03d}"]
        if goal == 30:
            assert row["stop_reason"] == "error" and row["n_steps"] == 0
        else:
            assert row["stop_reason"] == "agent" and row["n_steps"] == goal // 10
            assert row["scores"]["grey-hit"] == 10.0
    store = RunStore(tmp_path / "r")
    errors = [r for r in store.records() if r.trajectory.stop_reason and r.trajectory.stop_reason.value == "error"]
    assert {r.id for r in errors} == {"toy-002"}
    last = errors[0].trajectory.steps[-1].action
    assert isinstance(last, Stop) and last.error and last.raw == "I am not sure what to do."
    store.close()
    assert result.summary["stop_reasons"] == {"agent": 5, "error": 1}


class Recorder(Editor):
    """Remembers which image each request edited; the result is the input with a marker pixel per call."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, int]] = []

    def edit(self, request: EditRequest) -> Image.Image:
        self.seen.append((request.instruction, grey_level(request.image)))
        arr = np.asarray(request.image).copy()
        arr[:, :, 0] = (arr[:, :, 0].astype(int) + 50) % 256
        return Image.fromarray(arr)


def loop(agent: Any, editor: Editor, tmp_path: Path) -> None:
    from mirabench.run.loop import LiveSample, Scheduler

    src = Image.new("RGB", (16, 16), (0, 0, 0))
    sample = Sample("x", "make it brighter", src)
    store = RunStore(tmp_path / "loop")
    store.add_samples([("x", 0, "", sample.instruction)])
    Scheduler(agent, editor, store, max_steps=3, seed=0).run([LiveSample(sample, src, "h0", src, "h0")])
    store.close()


def test_refine_re_edits_the_source_and_cumulative_the_latest(tmp_path: Path) -> None:
    thinker_turns = [
        '<think>too dark</think><score>{"semantic": 3, "quality": 9}</score><answer>brighten a lot</answer>',
        '<think>better</think><score>{"semantic": 6, "quality": 9}</score><answer>brighten a lot more</answer>',
    ]
    thinker = scripted(EditThinker, ScriptedChat(list(thinker_turns)))
    refine = Recorder()
    loop(thinker, refine, tmp_path / "a")
    # round 1 sends the user's instruction unchanged; every round edits the source (level 0)
    assert refine.seen == [("make it brighter", 0), ("brighten a lot", 0), ("brighten a lot more", 0)]

    planner = scripted(Mira7B, ScriptedChat(["NEXT_EDITING_INSTRUCTION: brighten"] * 3))
    cumulative = Recorder()
    loop(planner, cumulative, tmp_path / "b")
    assert cumulative.seen == [("brighten", 0), ("brighten", 50), ("brighten", 100)]


def thinker_state(step: int, last: str = "make it red") -> AgentState:
    from mirabench.types import Step

    img = Image.new("RGB", (8, 8))
    history = (Step(0, Edit(last), "h", 0),) if step else ()
    return AgentState(Sample("t", "make it red", img), img, img, step, history)


@pytest.mark.parametrize(
    "sem, qual, answer, expected",
    [
        (8, 8, "something new", "satisfied"),
        (9, 7.9, "make it red", "kept the last prompt"),
        (7.9, 9, "   ", "empty prompt"),
        (5, 5, "make the whole car bright red", None),
    ],
)
def test_thinker_stop_rules(sem: float, qual: float, answer: str, expected: str | None) -> None:
    text = f'<think>t</think><score>{{"semantic": {sem}, "quality": {qual}}}</score><answer>{answer}</answer>'
    action = decide(text, thinker_state(1), 8.0, 8.0)
    assert action.critique == {"semantic": float(sem), "quality": float(qual)}
    if expected is None:
        assert action == Edit(answer, {"semantic": float(sem), "quality": float(qual)}, text)
    else:
        assert isinstance(action, Stop) and not action.error and expected in action.reason


def test_thinker_thresholds_are_options_and_bad_output_follows_the_rules() -> None:
    text = '<score>{"semantic": 6, "quality": 6}</score><answer>again</answer>'
    assert isinstance(decide(text, thinker_state(1), 6.0, 6.0), Stop)
    assert isinstance(decide(text, thinker_state(1), 6.5, 6.0), Edit)
    # released loop: no <answer> means the last prompt stands, which counts as satisfied
    released = decide("I think it is fine.", thinker_state(1), 8.0, 8.0)
    assert isinstance(released, Stop) and not released.error and "no <answer>" in released.reason
    bad = decide("I think it is fine.", thinker_state(1), 8.0, 8.0, rules="strict")
    assert isinstance(bad, Stop) and bad.error and bad.raw == "I think it is fine."


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "<score>not json</score><answer>make the car red</answer>",
            Edit("make the car red", {"semantic": 0.0, "quality": 0.0}),
        ),
        ("<score>not json</score><answer> make it red </answer>", "kept the last prompt"),  # stripped, then compared
        ('<score>{"semantic": 9}</score><answer>x</answer>', Edit("x", {"semantic": 9.0, "quality": 0.0})),  # 9 and 0
        ('<score>{"semantic": "9", "quality": 9}</score><answer>x</answer>', Edit("make it red")),  # "9" >= 8 raises
        ("<score>[9, 9]</score><answer>x</answer>", Edit("make it red")),  # a list has no .get: same prompt again
        ('<score>{"semantic": 8, "quality": 8}</score><answer>a</answer><answer>b</answer>', "satisfied"),
    ],
)
def test_released_loop_reads_blocks_like_the_released_code(text: str, expected: object) -> None:
    action = decide(text, thinker_state(1), 8.0, 8.0)
    if isinstance(expected, str):
        assert isinstance(action, Stop) and expected in action.reason and not action.error
    else:
        assert isinstance(action, Edit) and (action.instruction, action.critique) == (
            expected.instruction,  # type: ignore[attr-defined]
            expected.critique,  # type: ignore[attr-defined]
        )


def test_turn_limit_stops_without_asking_the_thinker() -> None:
    from mirabench.agents.editthinker import ThinkerAgent

    class NoChat:
        def generate(self, prompts: list) -> list:
            raise AssertionError("the last edit is never judged")

        def close(self) -> None:
            pass

    class Probe(ThinkerAgent):
        def make_chat(self) -> Any:
            return NoChat()

    agent = Probe(max_edit_turns=2)
    assert agent.identity()["options"]["max_edit_turns"] == 2  # recorded with the run
    (action,) = agent.plan_batch([thinker_state(2)])
    assert isinstance(action, Stop) and "max_edit_turns=2" in action.reason


def test_editthinker_and_rewrite_once_run_on_tiny_checkpoints(tiny: dict[str, Path]) -> None:
    thinker = agents.build("editthinker", path=str(tiny["qwen3-vl"]), max_new_tokens=8, image_size=64)
    first, later = thinker.plan_batch([thinker_state(0), thinker_state(1)])
    assert first == Edit("make it red")  # round 1 skips the rewrite, as the authors' scripts do
    assert isinstance(later, Stop) and "no <answer>" in later.reason  # random weights: no tags, the prompt stands
    rewrite = agents.build(
        "rewrite-once", path=str(tiny["qwen25-vl"]), max_new_tokens=8, answer_prefix="REWRITTEN_INSTRUCTION:"
    )
    a0, a1 = rewrite.plan_batch([thinker_state(0), thinker_state(1)])
    assert a0.raw.startswith("REWRITTEN_INSTRUCTION:")
    assert a1 == Stop("single rewrite done")


def test_agents_see_direct_baseline_with_every_editor_registered() -> None:
    names = set(editors.names())
    assert {"kontext", "qwen-image-edit", "qwen-image-edit-plus", "instructpix2pix", "http"} <= names
    assert {"step1x-edit", "omnigen2", "bagel"} <= names


def test_local_vlm_loads_straight_onto_its_device(tiny: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from transformers import AutoModelForImageTextToText

    seen: list[Any] = []
    original = AutoModelForImageTextToText.from_pretrained.__func__  # type: ignore[attr-defined]

    def spy(cls: Any, name: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("device_map"))
        return original(cls, name, **kwargs)

    monkeypatch.setattr(AutoModelForImageTextToText, "from_pretrained", classmethod(spy))
    agent = Mira7B(path=str(tiny["qwen25-vl"]), device="cpu")
    assert seen == ["cpu"] and next(agent.chat.model.parameters()).device.type == "cpu"  # type: ignore[attr-defined]


def test_the_fetched_released_prompt_is_read_at_run_time(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from mirabench.agents.editthinker import ThinkerLoopOptions

    assert ThinkerLoopOptions().template_file is None  # nothing fetched: our own wording
    monkeypatch.setenv("MIRABENCH_CACHE_DIR", str(tmp_path))
    fetched = tmp_path / "prompts" / "editthinker_prompt_template.txt"
    fetched.parent.mkdir()
    fetched.write_text('<image><image>\nJudge "{original_instruction}" after "{rewritten_prompt}".\n')  # stand-in bytes
    opts = ThinkerLoopOptions()
    assert opts.template_file == str(fetched) and len(opts.template_sha256) == 64
    assert ThinkerLoopOptions(template_file=None).template_file == str(fetched)
