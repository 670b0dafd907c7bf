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


def test_run_json_records_the_estimate_next_to_the_actual_spend(fake_api: FakeAPIServer, tmp_path: Path) -> None:
    from mirabench.run.runner import score_run
    from mirabench.rundir.rundir import RunDir

    run(spec(5), tmp_path / "r")
    cost = RunDir(tmp_path / "r").read().config.cost  # type: ignore[union-attr]
    assert cost is not None and cost.schema_version == 1
    planned = {line.role: line.calls for line in cost.estimate}
    spent = {line.role: line.calls for line in cost.actual}
    assert planned == spent == {"agent": 10, "editor": 5, "metric shapes": 5, "metric gpt-sc": 10}
    judge = {line.role: line for line in cost.actual}["metric gpt-sc"]
    assert judge.api and judge.attempts == 10 == fake_api.count() and judge.tokens_in > 0
    rows = cost_rows((tmp_path / "r" / "report.html").read_text())
    assert rows["agent"][3:5] == ["10", "10"] and rows["editor"][3:5] == ["5", "5"]
    assert rows["metric gpt-sc"][3:5] == ["10", "10 (10 sent)"] and rows["metric gpt-sc"][2] == "gpt-4.1-2025-04-14"
    # a later score adds what it plans (a new metric) to the estimate; the actual side counts it too
    score_run(tmp_path / "r", ["gemini-sc"])
    cost = RunDir(tmp_path / "r").read().config.cost  # type: ignore[union-attr]
    planned = {line.role: line.calls for line in cost.estimate}  # type: ignore[union-attr]
    spent = {line.role: line.calls for line in cost.actual}  # type: ignore[union-attr]
    assert planned["metric gemini-sc"] == spent["metric gemini-sc"] == fake_api.count() - 10 > 0


def cost_rows(page: str) -> dict[str, list[str]]:
    """The cells of the report's estimate-vs-actual table, by role."""
    from html.parser import HTMLParser

    class Rows(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.rows: dict[str, list[str]] = {}
            self.inside, self.cell = False, None  # type: ignore[var-annotated]
            self.row: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "table":
                self.inside = ("class", "cost-table") in attrs
            elif self.inside and tag == "tr":
                self.row = []
            elif self.inside and tag == "td":
                self.cell = ""

        def handle_data(self, data: str) -> None:
            if self.cell is not None:
                self.cell += data

        def handle_endtag(self, tag: str) -> None:
            if self.inside and tag == "td":
                self.row.append(self.cell or "")
                self.cell = None
            elif self.inside and tag == "tr" and self.row:
                self.rows[self.row[0]] = self.row
            elif tag == "table":
                self.inside = False

    parser = Rows()
    parser.feed(page)
    return parser.rows


def test_a_sharded_run_caps_each_rank_and_totals_every_ranks_journal(fake_api: FakeAPIServer, tmp_path: Path) -> None:
    """max_calls bounds each rank (documented: divide by the world to bound the run); run.json adds up all ranks."""
    from mirabench.rundir.rundir import RunDir
    from mirabench.rundir.shards import Shard

    capped = spec(8).model_copy(update={"metric_options": {"gpt-sc": {"max_concurrency": 1, "max_calls": 3}}})
    counts_per_rank = []
    for rank in (0, 1):  # each rank wants 4 samples x 2 requests
        before = fake_api.count()
        run(capped, tmp_path / "r", shard=Shard(rank, 2))
        counts_per_rank.append(fake_api.count() - before)
    assert counts_per_rank == [3, 3]
    cost = RunDir(tmp_path / "r").read().config.cost  # type: ignore[union-attr]
    judge = {line.role: line for line in cost.actual}["metric gpt-sc"]  # type: ignore[union-attr]
    assert judge.attempts == 6 == fake_api.count()
    assert {line.role: line.calls for line in cost.estimate}["metric gpt-sc"] == 16  # type: ignore[union-attr]
