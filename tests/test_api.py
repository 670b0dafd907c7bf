"""The public Python API and the run-directory contract: evaluate, load_run, samples_df, the README plugin."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import mirabench
from mirabench.rundir.rundir import RunDir, RunDirError
from mirabench.rundir.schema import SCHEMA_VERSION

ROOT = Path(__file__).resolve().parents[1]
SHAPES = {"suite": "shapes", "editor": "shapes", "metrics": ["shapes"], "suite_options": {"n": 6}}


def test_evaluate_returns_the_run_as_written_and_resumes(tmp_path: Path) -> None:
    run = mirabench.evaluate(agent="heuristic", out=tmp_path / "h", **SHAPES)
    on_disk = json.loads((tmp_path / "h" / "summary.json").read_text())
    assert run.summary.n_samples == on_disk["n_samples"] == 6
    assert run.summary.metrics["shapes-sc"].mean == on_disk["metrics"]["shapes-sc"]["mean"]
    assert run.config is not None and run.config.agent == "heuristic" and run.config.schema_version == SCHEMA_VERSION
    again = mirabench.evaluate(agent="heuristic", out=tmp_path / "h", **SHAPES)
    assert again.summary == run.summary and again.config is not None and again.config.attempts == 2


def test_samples_df_labels_each_run_and_has_a_column_per_score(tmp_path: Path) -> None:
    for agent in ("direct", "heuristic"):
        mirabench.evaluate(agent=agent, out=tmp_path / agent, **SHAPES)
    df = mirabench.samples_df([tmp_path / "direct", tmp_path / "heuristic"])
    assert len(df) == 12
    assert set(df["label"]) == {"shapes + direct", "shapes + heuristic"}
    rows = [json.loads(x) for x in (tmp_path / "heuristic" / "samples.jsonl").read_text().splitlines()]
    mine = df[df["label"] == "shapes + heuristic"].set_index("id")
    for row in rows:
        assert mine.loc[row["id"], "shapes-sc"] == row["scores"]["shapes-sc"]
    steps = mirabench.load_run(tmp_path / "heuristic").steps_df()
    assert len(steps) == sum(len(r["steps"]) for r in rows)


def test_runs_written_before_the_schema_version_still_load() -> None:
    run = RunDir(ROOT / "results" / "baselines" / "shapes-demo" / "heuristic").read()
    assert run.summary.schema_version == 0 and run.summary.n_samples == 100
    assert run.summary.headline()[0] == run.summary.columns[0]
    assert len(run.samples) == 100 and run.samples[0].steps


def test_a_broken_file_is_one_line_naming_it(tmp_path: Path) -> None:
    run = mirabench.evaluate(agent="direct", out=tmp_path / "d", **SHAPES)
    path = run.path / "samples.jsonl"
    path.write_text(path.read_text() + '{"id": "x", "n_steps": "many"}\n')
    with pytest.raises(RunDirError, match=r"samples.jsonl line 7: n_steps"):
        RunDir(run.path).read()
    with pytest.raises(RunDirError, match="no summary.json"):
        RunDir(tmp_path).read()


def test_readme_plugin_example_runs_through_the_cli(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"### Writing a plugin.*?```python\n(.*?)```", readme, re.S)
    assert block, "README lost its plugin example"
    plugin = tmp_path / "my_agent.py"
    plugin.write_text(block.group(1))
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "mirabench", "run", "--plugin", str(plugin), "--agent", "my-agent"]
    cmd += ["--suite", "shapes", "--editor", "shapes", "--metrics", "shapes", "--set", "suite.n=3", "--out", str(out)]
    env = {k: v for k, v in os.environ.items() if k != "MIRABENCH_PLUGINS"}
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    run = mirabench.load_run(out)
    assert run.config is not None and run.config.agent == "my-agent"
    assert all(s.steps[0].instruction == "make the sky pink" for s in run.samples)
    listed = subprocess.run(
        [sys.executable, "-m", "mirabench", "list", "agents", "--json"],
        capture_output=True,
        text=True,
        env={**env, "MIRABENCH_PLUGINS": str(plugin)},
        timeout=120,
    )
    assert "my-agent" in {p["name"] for p in json.loads(listed.stdout)}


def test_plugin_faces_are_the_registries() -> None:
    from mirabench.registry import agents

    assert mirabench.agents.register == agents.register
    assert "heuristic" in mirabench.agents.names()


def test_the_two_systems_example_runs(tmp_path: Path) -> None:
    res = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "two_systems.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    assert "shapes + heuristic" in res.stdout and "shapes + direct" in res.stdout
    direct = mirabench.load_run(tmp_path / "direct").summary.metrics["shapes-sc"].mean
    assert f"{direct:.3f}" in res.stdout


def test_client_knobs_leave_the_config_hash_so_raising_a_cap_resumes(monkeypatch: pytest.MonkeyPatch) -> None:
    from mirabench.registry import agents, editors, suites
    from mirabench.rundir.rundir import plugin_identities
    from mirabench.spec import RunSpec

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    suite = suites.build("shapes", n=2)

    def config_hash(**agent_options: object) -> str:
        spec = RunSpec(suite="shapes", agent="gpt-planner", editor="shapes", agent_options=agent_options)
        return spec.config_hash(plugin_identities(spec, suite, agents.get("gpt-planner"), editors.get("shapes")))

    assert config_hash(max_calls=10) == config_hash(max_calls=500) == config_hash()
    assert config_hash(model="gpt-4.1-2025-04-14") != config_hash(model="gpt-4o-2024-08-06")


def test_run_dry_run_prints_the_estimate_and_writes_nothing(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from mirabench.cli import app

    args = ["run", "--suite", "shapes", "--agent", "direct", "--editor", "shapes", "--metrics", "shapes"]
    res = CliRunner().invoke(app, [*args, "--set", "suite.n=4", "--out", str(tmp_path / "r"), "--dry-run"])
    assert res.exit_code == 0, res.output
    editor_row = next(line for line in res.output.splitlines() if "editor" in line and "shapes" in line)
    assert " 4 " in editor_row  # direct: exactly one edit per sample
    assert not (tmp_path / "r").exists()
