"""The main study: agents x editors x metrics from one YAML, unavailable cells skipped with their reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mirabench.cli.root import app
from mirabench.spec import SpecError
from mirabench.studies.grid import load_grid, run_grid

GRID = """
title: shapes main table
suite: shapes
suite_options: {n: 8, size: 96}
metrics: [shapes]
max_steps: 5
agents: [heuristic]
editors:
  shapes: {error_rate: 0.2}
  gpt-image: {}
"""


def test_grid_runs_every_available_cell_and_lists_the_rest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    (tmp_path / "grid.yaml").write_text(GRID)
    result = run_grid(load_grid(tmp_path / "grid.yaml"), tmp_path / "out")
    assert list(result.table["system"]) == ["shapes", "shapes + heuristic"]
    assert set(result.skipped) == {"gpt-image", "gpt-image + heuristic"}
    base, agent = result.table.iloc[0], result.table.iloc[1]
    assert base["mean_steps"] == 1.0  # the editor alone: one edit
    assert agent["shapes-goals"] > base["shapes-goals"]
    manifest = json.loads((tmp_path / "out" / "runs" / "shapes+direct" / "run.json").read_text())
    assert manifest["spec"]["editor_options"]["error_rate"] == 0.2
    md = (tmp_path / "out" / "main_table.md").read_text()
    assert "skipped gpt-image" in md
    assert (tmp_path / "out" / "report.html").is_file()


def test_cli_and_bad_config(tmp_path: Path) -> None:
    (tmp_path / "grid.yaml").write_text(GRID.replace("  gpt-image: {}\n", ""))
    res = CliRunner().invoke(app, ["study", "main", str(tmp_path / "grid.yaml"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "| shapes + heuristic |" in res.output
    (tmp_path / "bad.yaml").write_text(GRID + "agentz: [x]\n")
    with pytest.raises(SpecError, match="agentz"):
        load_grid(tmp_path / "bad.yaml")


def test_a_bad_cell_is_listed_as_skipped_and_the_grid_goes_on(tmp_path: Path) -> None:
    bad = GRID.replace("  gpt-image: {}\n", "").replace("agents: [heuristic]", "agents: {heuristic: {bogus: 1}}")
    (tmp_path / "grid.yaml").write_text(bad)
    res = CliRunner().invoke(app, ["study", "main", str(tmp_path / "grid.yaml"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "| shapes |" in res.output  # the editor alone ran
    assert "skipped shapes + heuristic: invalid options for agent 'heuristic': agent.bogus: no such option" in " ".join(
        res.output.split()
    )
    assert "skipped shapes + heuristic" in (tmp_path / "o" / "main_table.md").read_text()


def test_shipped_main_grid_config_is_valid() -> None:
    grid = load_grid(Path(__file__).resolve().parents[2] / "configs" / "grid.yaml")
    assert grid.suite == "mira500" and "editscore" in grid.metrics and grid.max_steps == 5
