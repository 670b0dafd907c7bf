"""`mirabench run --agent mira-7b --editor kontext` end to end on tiny stand-ins, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from mirabench.cli.root import app


def test_full_run_with_tiny_mira_and_tiny_kontext(tiny: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = [
        "run", "--suite", "shapes", "--agent", "mira-7b", "--editor", "kontext", "--metrics", "shapes",
        "--max-steps", "2", "--out", str(out),
        "--set", "suite.n=3", "--set", "suite.size=64",
        "--set", f"agent.path={tiny['qwen25-vl']}", "--set", "agent.image_size=64", "--set", "agent.max_new_tokens=6",
        "--set", 'agent.answer_prefix="NEXT_EDITING_INSTRUCTION: "',
        "--set", f"editor.path={tiny['kontext']}", "--set", "editor.steps=1", "--set", "editor.size_mode=input",
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["spec"]["agent_options"]["path"] == str(tiny["qwen25-vl"])
    assert manifest["plugins"]["editor"]["options"]["steps"] == 1
    rows = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == 3
    edits = [s for r in rows for s in r["steps"] if s["kind"] == "edit"]
    assert manifest["calls"]["editor"] == len(edits) > 0  # the planner's commands reached the editor
    for r in rows:
        assert r["stop_reason"] in {"agent", "budget", "error"}
        assert r["n_steps"] <= 2
    for step in edits:
        image = Image.open(out / step["image"])
        assert image.size == (64, 64)  # Kontext's output comes back at the episode resolution

    again = CliRunner().invoke(app, args)  # resume: nothing left to do, nothing recomputed
    assert again.exit_code == 0, again.output
    assert json.loads((out / "run.json").read_text())["calls"]["editor"] == 0


@pytest.mark.parametrize("editor", ["instructpix2pix", "qwen-image-edit", "qwen-image-edit-plus"])
def test_direct_baseline_runs_with_every_diffusers_editor(editor: str, tiny: dict[str, Path], tmp_path: Path) -> None:
    from mirabench.run.runner import run
    from mirabench.spec import RunSpec
    from mirabench.testing.diffusion import small_qwen_image_area

    extra = {"size_mode": "input", "max_sequence_length": 32} if editor.startswith("qwen") else {}
    spec = RunSpec(
        suite="shapes",
        agent="direct",
        editor=editor,
        metrics=["shapes"],
        suite_options={"n": 2, "size": 64},
        editor_options={"path": str(tiny[editor]), "steps": 1, "batch_size": 2, **extra},
    )
    with small_qwen_image_area():
        result = run(spec, tmp_path / "r")
    assert result.summary["stop_reasons"] == {"agent": 2}  # one edit each, then direct stops
    assert result.stats.editor_calls == 2 and result.stats.agent_calls == 4
