"""`mirabench estimate` against the calls a run then makes (shapes world, gpt-sc on the fake server)."""

from __future__ import annotations

from pathlib import Path

from fakes import FakeAPIServer

from mirabench.judge.prices import load_prices
from mirabench.run.estimate import Line, estimate
from mirabench.run.runner import run
from mirabench.spec import RunSpec


def spec(limit: int, agent: str = "direct") -> RunSpec:
    return RunSpec(
        suite="shapes",
        agent=agent,
        editor="shapes",
        metrics=["shapes", "gpt-sc"],
        max_steps=3,
        suite_options={"n": 12},
        limit=limit,
        metric_options={"gpt-sc": {"max_concurrency": 4}},
    )


def counts(lines: list[Line]) -> dict[str, int]:
    return {line.role: line.calls for line in lines}


def made(fake_api: FakeAPIServer, before: int, result: object) -> dict[str, int]:
    stats = result.stats  # type: ignore[attr-defined]
    n = result.summary["n_samples"]  # type: ignore[attr-defined]  # the shapes metric judges each final image
    return {
        "agent": stats.agent_calls,
        "editor": stats.editor_calls,
        "metric shapes": n,
        "metric gpt-sc": fake_api.count() - before,
    }


def test_estimate_equals_the_calls_of_a_fresh_run(fake_api: FakeAPIServer, tmp_path: Path) -> None:
    lines = estimate(spec(5), tmp_path / "r", prices=load_prices(None))
    assert counts(lines) == {"agent": 10, "editor": 5, "metric shapes": 5, "metric gpt-sc": 10}
    assert all(line.exact for line in lines)
    judge = lines[-1]
    assert judge.api and judge.model == "gpt-4.1-2025-04-14" and judge.tokens_in > 0
    assert judge.usd is not None and judge.usd > 0  # priced from the dated table (gpt-4.1 family)
    result = run(spec(5), tmp_path / "r")
    assert made(fake_api, 0, result) == counts(lines)
    again = estimate(spec(5), tmp_path / "r")  # everything is in the run dir now
    assert counts(again) == {"agent": 0, "editor": 0, "metric shapes": 0, "metric gpt-sc": 0}


def test_estimate_equals_the_calls_of_a_partly_cached_run(fake_api: FakeAPIServer, tmp_path: Path) -> None:
    run(spec(3), tmp_path / "first")  # fills the global cache: the first 3 samples' edits and judge answers
    before = fake_api.count()
    lines = estimate(spec(6), tmp_path / "second")
    # the agent is not cached (6 x 2); edits and judgements of the first 3 samples are
    assert counts(lines) == {"agent": 12, "editor": 3, "metric shapes": 6, "metric gpt-sc": 6}
    result = run(spec(6), tmp_path / "second")
    assert made(fake_api, before, result) == counts(lines)


def test_an_agent_that_decides_as_it_goes_gets_upper_bounds(fake_api: FakeAPIServer, tmp_path: Path) -> None:
    lines = estimate(spec(4, "heuristic"), tmp_path / "r")
    assert not lines[0].exact and counts(lines)["agent"] == 4 * 3 and counts(lines)["editor"] == 4 * 3
    result = run(spec(4, "heuristic"), tmp_path / "r")
    actual = made(fake_api, 0, result)
    assert (
        actual["agent"] <= 12
        and actual["editor"] <= 12
        and actual["metric gpt-sc"] == 8 == counts(lines)["metric gpt-sc"]
    )
