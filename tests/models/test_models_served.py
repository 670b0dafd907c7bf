"""`agent.backend=openai`: mira-3b/7b, editthinker and rewrite-once served by vLLM/SGLang (a fake OpenAI server on
127.0.0.1 here) with the same prompt, the same pixels and the same parsing as in process; pixel budgets recorded."""

from __future__ import annotations

import base64
import io
import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fakes import FakeAPIServer
from PIL import Image

from mirabench.backends.local_vlm import chat_messages, resize_for_planner
from mirabench.registry import agents
from mirabench.types import AgentState, Edit, Sample, Step, Stop


def state(i: int, step: int = 0) -> AgentState:
    rng = np.random.default_rng(i)
    src = Image.fromarray(rng.integers(0, 255, (300, 700, 3), dtype=np.uint8))
    latest = Image.fromarray(rng.integers(0, 255, (300, 700, 3), dtype=np.uint8))
    history = (Step(0, Edit("make it red"), "h", 0),) if step else ()
    return AgentState(Sample(f"s{i}", f"make object {i} red and move it left", src), src, latest, step, history)


def sent_parts(body: dict[str, Any]) -> list[Any]:
    """The user turn as sent: texts, and images decoded from their data URLs."""
    (message,) = [m for m in body["messages"] if m["role"] == "user"]
    out: list[Any] = []
    for item in message["content"]:
        if item["type"] == "text":
            out.append(item["text"])
        else:
            data = item["image_url"]["url"].split(",", 1)[1]
            out.append(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))
    return out


def test_mira_served_sends_the_in_process_prompt_and_parses_alike() -> None:
    answers = {"s0": "NEXT_EDITING_INSTRUCTION: paint object 0 red", "s1": "NEXT_EDITING_INSTRUCTION: <stop>"}

    def answer(text: str, body: dict[str, Any]) -> str:
        return next((a for k, a in answers.items() if f"object {k[1]} " in text), "no idea")

    with FakeAPIServer.running(answer) as server:
        agent = agents.build("mira-7b", backend="openai", base_url=server.openai_url, path="/ckpt/mira-7b")
        states = [state(0), state(1), state(2)]
        actions = agent.plan_batch(states)
        assert actions[0] == Edit("paint object 0 red", raw=answers["s0"])
        assert isinstance(actions[1], Stop) and not actions[1].error
        assert isinstance(actions[2], Stop) and actions[2].error and actions[2].raw == "no idea"
        assert len(server.requests) == 3 and {r.model for r in server.requests} == {"/ckpt/mira-7b"}
        body = next(r.body for r in server.requests if "object 0 " in r.text)
        assert body["temperature"] == 0.0 and body["max_tokens"] == agent.options.max_new_tokens
        prompt = agent.prompt(states[0])
        sent = sent_parts(body)
        # the same user turn the local processor renders, part for part, and the same pixels it would see
        assert [("image" if isinstance(p, Image.Image) else p) for p in sent] == [
            ("image" if c["type"] == "image" else c["text"]) for c in chat_messages(prompt)[0]["content"]
        ]
        local = [resize_for_planner(p, 512, "longest") for p in prompt if isinstance(p, Image.Image)]
        remote = [p for p in sent if isinstance(p, Image.Image)]
        assert [im.size for im in remote] == [(512, 219), (512, 219)]
        assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(local, remote, strict=True))
        agent.close()


def test_a_wave_goes_out_concurrently_for_the_server_to_batch() -> None:
    arrived = threading.Barrier(4, timeout=20)

    def answer(text: str, body: dict[str, Any]) -> str:
        try:
            arrived.wait()  # passes only when all four requests are in flight together
        except threading.BrokenBarrierError:
            pass
        return "NEXT_EDITING_INSTRUCTION: <stop>"

    with FakeAPIServer.running(answer) as server:
        agent = agents.build("mira-3b", backend="openai", base_url=server.openai_url, served_model="mira")
        actions = agent.plan_batch([state(i) for i in range(4)])
        assert all(isinstance(a, Stop) and not a.error for a in actions)
        assert server.peak_in_flight == 4 and not arrived.broken
        agent.close()


def test_editthinker_and_rewrite_once_served() -> None:
    def answer(text: str, body: dict[str, Any]) -> str:
        if "REWRITTEN_INSTRUCTION" in text:
            return "REWRITTEN_INSTRUCTION: paint the car red"
        score = {"semantic": 5, "quality": 9}
        answer = "<answer>paint only the car red</answer>"
        return f"<think>the car is blue</think><score>{json.dumps(score)}</score>{answer}"

    with FakeAPIServer.running(answer) as server:
        thinker = agents.build("editthinker", backend="openai", base_url=server.openai_url, served_model="et")
        (action,) = thinker.plan_batch([state(0, step=1)])
        assert action == Edit("paint only the car red", {"semantic": 5.0, "quality": 9.0}, action.raw)
        assert server.requests[-1].model == "et" and server.requests[-1].n_images == 2
        rewriter = agents.build("rewrite-once", backend="openai", base_url=server.openai_url, served_model="q")
        (action,) = rewriter.plan_batch([state(0)])
        assert isinstance(action, Edit) and action.instruction == "paint the car red"


def test_served_backend_refuses_what_it_cannot_do() -> None:
    with pytest.raises(ValueError, match="base_url"):
        agents.build("mira-7b", backend="openai")
    with pytest.raises(ValueError, match="answer_prefix"):
        agents.build("mira-7b", backend="openai", base_url="http://127.0.0.1:9/v1", answer_prefix="X:")


def test_pixel_budgets_default_to_mira_512px_reach_the_processor_and_run_json(
    tiny: dict[str, Path], tmp_path: Path
) -> None:
    from mirabench.run.runner import run
    from mirabench.spec import RunSpec

    agent = agents.build("mira-7b", path=str(tiny["qwen25-vl"]))
    assert (agent.options.min_pixels, agent.options.max_pixels) == (3136, 512 * 512)
    size = agent.chat.processor.image_processor.size  # type: ignore[attr-defined]
    assert (size["shortest_edge"], size["longest_edge"]) == (3136, 512 * 512)  # Qwen's names for the budgets
    small = agents.build("mira-7b", path=str(tiny["qwen25-vl"]), max_pixels=28 * 28 * 4)
    assert small.chat.processor.image_processor.size["longest_edge"] == 3136  # type: ignore[attr-defined]

    spec = RunSpec(
        suite="shapes",
        agent="mira-7b",
        editor="shapes",
        metrics=["shapes"],
        limit=1,
        max_steps=1,
        agent_options={"path": str(tiny["qwen25-vl"]), "image_size": 64, "max_new_tokens": 8, "max_pixels": 50176},
    )
    run(spec, tmp_path / "run")
    recorded = json.loads((tmp_path / "run" / "run.json").read_text())
    assert '"max_pixels": 50176' in json.dumps(recorded) and '"min_pixels": 3136' in json.dumps(recorded)
