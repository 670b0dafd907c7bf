"""`judges repeat` with an API judge (gpt-sc on the fake OpenAI server): every repeat is a new call (the cache that
served the run is bypassed), and what served each repeat is kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes import FakeAPIServer
from typer.testing import CliRunner

from mirabench.cli.root import app
from mirabench.run.runner import run
from mirabench.spec import RunSpec


def test_repeats_of_an_api_judge_are_new_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeAPIServer.running(fingerprint="fp_run") as server:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-never-written-anywhere")
        monkeypatch.setenv("OPENAI_BASE_URL", server.openai_url)
        spec = RunSpec(
            suite="shapes",
            agent="direct",
            editor="shapes",
            metrics=["gpt-sc"],
            max_steps=1,
            seed=0,
            suite_options={"n": 6},
            metric_options={"gpt-sc": {"prompts": "stand-in", "max_attempts": 2, "timeout_s": 5}},
        )
        run_dir = run(spec, tmp_path / "run").run_dir
        assert server.count() == 12  # SC and PQ per sample
        run(spec, tmp_path / "again")  # a second run of the same images is served from the cache
        assert server.count() == 12
        server.fingerprint = "fp_later"
        res = CliRunner().invoke(app, ["judges", "repeat", str(run_dir), "--metric", "gpt-sc", "--n", "4", "--k", "3"])
        assert res.exit_code == 0, res.output
        assert server.count() == 12 + 4 * 2 * 3
    record = json.loads((run_dir / "judges" / "repeats-gpt-sc.json").read_text())
    assert {r["scores"]["gpt-sc"]["served"] for r in record["rows"]} == {"gpt-4.1-2025-04-14 / fp_later"}
    entry = json.loads((run_dir / "summary.json").read_text())["judge_reliability"]["gpt-sc"]
    assert entry["repeat"]["std"]["value"] == 0.0  # the fake answers alike every time: no repeat noise
    assert entry["repeat"]["std"]["n"] == 4 and entry["fingerprints"]["served"] == {"gpt-4.1-2025-04-14 / fp_run": 6}
