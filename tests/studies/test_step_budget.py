"""Table B / C from ONE run at the largest budget equal running every budget on its own, for fewer calls."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from mirabench.cli.root import app
from mirabench.run.runner import run
from mirabench.spec import RunSpec
from mirabench.studies.budget import step_budget

BUDGETS = [2, 3, 4, 5, 6]


def shapes_spec() -> RunSpec:
    # greedy rule-based agent, seeded fallible editor: the trajectories differ per sample and some hit each budget
    return RunSpec(
        suite="shapes",
        agent="heuristic",
        editor="shapes",
        metrics=["shapes"],
        suite_options={"n": 24, "size": 128, "min_goals": 1, "max_goals": 5},
        editor_options={"error_rate": 0.3},
        seed=7,
    )


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    root = tmp_path_factory.mktemp("budget")
    derived = step_budget(shapes_spec(), BUDGETS, root / "derived", use_cache=False)
    independent = step_budget(shapes_spec(), BUDGETS, root / "independent", independent=True, use_cache=False)
    return derived, independent


def test_derived_and_independent_tables_are_identical(both: tuple) -> None:
    derived, independent = both
    pd.testing.assert_frame_equal(derived.table_b, independent.table_b)
    pd.testing.assert_frame_equal(derived.table_c, independent.table_c)
    assert list(derived.table_b["max_steps"]) == BUDGETS
    # the study is not trivial: budgets bind for some samples, so the rows differ
    assert derived.table_c["stop_budget"].iloc[0] > 0
    assert derived.table_b["shapes-goals"].nunique() > 1
    assert (derived.table_c[["stop_agent", "stop_budget", "stop_error"]].sum(axis=1) == 24).all()


def test_derived_makes_no_more_editor_calls_than_the_largest_budget_run(both: tuple) -> None:
    derived, independent = both
    largest = json.loads((independent.run_dirs[-1] / "run.json").read_text())["calls"]
    assert derived.made.editor == largest["editor"] + largest["editor_cache_hits"]
    assert derived.made.agent == largest["agent"]
    # the counted cost model is exact for both ways, and the derived way saves calls
    assert (derived.made.agent, derived.made.editor, derived.made.judge) == (
        derived.derived_cost.agent,
        derived.derived_cost.editor,
        derived.derived_cost.judge,
    )
    assert (independent.made.agent, independent.made.editor, independent.made.judge) == (
        derived.independent_cost.agent,
        derived.independent_cost.editor,
        derived.independent_cost.judge,
    )
    assert derived.made.editor < independent.made.editor
    assert derived.made.judge < independent.made.judge


def test_table_c_at_the_largest_budget_is_that_runs_own_histogram(both: tuple) -> None:
    derived, _ = both
    summary = json.loads((derived.run_dirs[0] / "summary.json").read_text())
    last = derived.table_c.iloc[-1]
    assert last["mean_steps"] == pytest.approx(summary["mean_steps"])
    hist = {int(k): v for k, v in summary["steps_histogram"].items()}
    assert {j: int(last[f"edits_{j}"]) for j in range(max(BUDGETS) + 1) if last[f"edits_{j}"]} == hist


def test_outputs_tables_and_one_report(both: tuple) -> None:
    derived, _ = both
    for name in ("table_b", "table_c"):
        for ext in ("csv", "md", "json"):
            assert (derived.out / f"{name}.{ext}").is_file()
    md = (derived.out / "table_b.md").read_text()
    assert "Reported in the paper" in md and "5.912" in md  # the paper's Max=3 GPT-SC, in its own block
    payload = json.loads((derived.out / "table_b.json").read_text())
    assert [r["max_steps"] for r in payload["rows"]] == BUDGETS
    assert "saved: editor" in payload["notes"][0]
    assert (derived.out / "report.html").is_file()


def test_resumed_study_reuses_the_run(tmp_path: Path) -> None:
    spec = shapes_spec().model_copy(update={"suite_options": {"n": 6, "size": 96}})
    first = step_budget(spec, [1, 3], tmp_path / "s", use_cache=False)
    again = step_budget(spec, [1, 3], tmp_path / "s", use_cache=False)
    assert again.made.editor == 0 and again.made.judge == 0
    pd.testing.assert_frame_equal(first.table_b, again.table_b)
    direct = run(spec.model_copy(update={"max_steps": 3}), tmp_path / "plain", use_cache=False)
    assert again.table_b.iloc[-1]["shapes-sc"] == direct.summary["metrics"]["shapes-sc"]["mean"]


def test_cli_prints_the_calls_saved(tmp_path: Path) -> None:
    args = [
        "study",
        "step-budget",
        "--suite",
        "shapes",
        "--agent",
        "heuristic",
        "--editor",
        "shapes",
        "--metrics",
        "shapes",
        "--set",
        "suite.n=5",
        "--set",
        "suite.size=96",
        "--budgets",
        "1,2,3",
        "--out",
        str(tmp_path),
    ]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "| max_steps | mean_steps |" in res.output and "the derived way saves" in res.output
    res = CliRunner().invoke(app, ["study", "termination", *args[2:]])
    assert res.exit_code == 0, res.output
    assert "stop_agent" in res.output
