"""API planners and thinker against the fake OpenAI/Gemini server on 127.0.0.1 (through the core judge client)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fakes import FakeAPIServer
from PIL import Image

from mirabench.backends.prompts import STOP_NOTE
from mirabench.registry import PluginError, agents
from mirabench.types import AgentState, Edit, Sample, Step, Stop


@pytest.fixture
def fake_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAPIServer]:
    with FakeAPIServer.running() as server:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-never-written-anywhere")
        monkeypatch.setenv("OPENAI_BASE_URL", server.openai_url)
        monkeypatch.setenv("GEMINI_API_KEY", "gemini-test-key")
        monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.gemini_url)
        yield server


def state(instruction: str, step: int = 0, last: str | None = None) -> AgentState:
    src = Image.new("RGB", (32, 32), (10 * step, 0, 0))
    history = (Step(0, Edit(last), "h", 0),) if last else ()
    return AgentState(Sample(f"s-{instruction[:12]}", instruction, src), src, src, step, history)


def planner_answer(text: str, body: dict[str, Any]) -> str:
    if "already done" in text:
        return "Everything is in place.\nNEXT_EDITING_INSTRUCTION: <STOP>"
    if "mumble" in text:
        return "hmm"
    return "The hat is missing.\nNEXT_EDITING_INSTRUCTION: add a red hat to the dog"


@pytest.mark.parametrize("name", ["gpt-planner", "gemini-planner"])
def test_api_planner_edits_stops_and_records_failures(fake_api: FakeAPIServer, name: str) -> None:
    fake_api.answer = planner_answer
    agent = agents.build(name, max_attempts=2, timeout_s=5)
    actions = agent.plan_batch(
        [state("give the dog a hat"), state("already done"), state("mumble"), state("FAULT:400x5 give a hat")]
    )
    assert actions[0] == Edit("add a red hat to the dog", raw=planner_answer("", {}))
    assert isinstance(actions[1], Stop) and not actions[1].error
    assert isinstance(actions[2], Stop) and actions[2].error and actions[2].raw == "hmm"
    assert isinstance(actions[3], Stop) and actions[3].error and "api_error" in actions[3].reason
    provider = "gemini" if name == "gemini-planner" else "openai"
    sent = [r for r in fake_api.requests if r.provider == provider]
    assert len(sent) == 4 and all(r.n_images == 2 for r in sent)  # original and latest edit, every call
    assert all(STOP_NOTE.strip() in r.text for r in sent)  # an untrained model is told how to stop
    # temperature-0 answers are cached: asking the same thing again sends nothing
    agent.plan_batch([state("give the dog a hat")])
    assert len([r for r in fake_api.requests if r.provider == provider]) == 4
    agent.close()


def test_gpt_thinker_runs_the_editthinker_loop(fake_api: FakeAPIServer) -> None:
    def answer(text: str, body: dict[str, Any]) -> str:
        good = "car" in text
        score = {"semantic": 9 if good else 4, "quality": 9}
        return f"<think>checked</think><score>{json.dumps(score)}</score><answer>paint only the car red</answer>"

    fake_api.answer = answer
    agent = agents.build("gpt-thinker", model="gpt-4.1-2025-04-14")
    first, low, high = agent.plan_batch(
        [state("make it red"), state("make it red", 1, "make it red"), state("make the car red", 1, "make it red")]
    )
    assert first == Edit("make it red")  # round 1 goes straight to the editor
    assert isinstance(low, Edit) and low.instruction == "paint only the car red"
    assert low.critique == {"semantic": 4.0, "quality": 9.0}
    assert isinstance(high, Stop) and not high.error and "satisfied" in high.reason
    assert len(fake_api.requests) == 2
    assert agent.policy == "refine"


def test_api_planners_need_their_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(PluginError, match="OPENAI_API_KEY"):
        agents.build("gpt-planner")
