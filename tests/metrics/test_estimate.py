"""`mirabench estimate` against the calls a run then makes (shapes world, gpt-sc on the fake server)."""

from __future__ import annotations

from pathlib import Path

import pytest
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


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under `folder` with its size and mtime: a dry run must change none of them."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def test_score_dry_run_asks_nothing_writes_nothing_and_prices_what_score_then_asks(
    fake_api: FakeAPIServer, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from mirabench.cli import app
    from mirabench.run.runner import read_run, score_run, score_spec

    shapes_only = spec(4).model_copy(update={"metrics": ["shapes"], "metric_options": {}})
    run(shapes_only, tmp_path / "r")
    before = snapshot(tmp_path / "r")
    res = CliRunner().invoke(app, ["score", str(tmp_path / "r"), "--metrics", "gpt-sc", "--dry-run"])
    assert res.exit_code == 0, res.output
    assert "gpt-sc" in res.output and "agent" not in res.output  # score never edits: judge rows only
    assert fake_api.count() == 0 and snapshot(tmp_path / "r") == before
    lines = estimate(score_spec(read_run(tmp_path / "r"), ["gpt-sc"]), tmp_path / "r", edit=False)
    assert counts(lines) == {"metric shapes": 0, "metric gpt-sc": 8}  # shapes is scored; 2 requests x 4 finals
    score_run(tmp_path / "r", ["gpt-sc"])
    assert fake_api.count() == 8


@pytest.mark.parametrize("study", ["main", "step-budget", "termination", "single-step"])
def test_study_dry_run_asks_nothing_and_writes_nothing(study: str, fake_api: FakeAPIServer, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from mirabench.cli import app

    out = tmp_path / "study"
    flags = ["--suite", "shapes", "--editor", "shapes", "--metrics", "shapes,gpt-sc", "--set", "suite.n=3"]
    if study == "main":
        grid = (
            "suite: shapes\nsuite_options: {n: 3}\nmetrics: [shapes, gpt-sc]\nagents: [heuristic]\neditors: [shapes]\n"
        )
        (tmp_path / "grid.yaml").write_text(grid)
        args = ["main", str(tmp_path / "grid.yaml")]
    elif study == "single-step":
        args = ["single-step", "--agent", "heuristic", "--column", "shapes-sc", *flags]
    else:
        args = [study, "--budgets", "1,2", "--agent", "direct", *flags]
    res = CliRunner().invoke(app, ["study", *args, "--out", str(out), "--dry-run"])
    assert res.exit_code == 0, res.output
    assert "gpt-sc" in res.output and "estimated spend" in res.output
    assert fake_api.count() == 0 and not out.exists()


def test_a_study_dry_run_prices_the_runs_the_study_then_makes(fake_api: FakeAPIServer, tmp_path: Path) -> None:
    """Derived budgets: one run at the largest budget, each distinct image judged once for all budgets."""
    from mirabench.run.estimate import estimate_plan
    from mirabench.studies.budget import plan_budgets, step_budget

    planned = plan_budgets(spec(4), [1, 2, 3], tmp_path / "s")
    [(name, lines)] = estimate_plan(planned, prices=load_prices(None))
    assert name == "max3" and counts(lines) == {"agent": 8, "editor": 4, "metric shapes": 4, "metric gpt-sc": 8}
    study = step_budget(spec(4), [1, 2, 3], tmp_path / "s")
    assert (study.made.agent, study.made.editor, fake_api.count()) == (8, 4, 8)
    independent = estimate_plan(plan_budgets(spec(4), [1, 2], tmp_path / "i", independent=True))
    assert [name for name, _ in independent] == ["max1", "max2"]
