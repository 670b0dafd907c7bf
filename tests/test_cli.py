"""The command line: one clear message for user errors, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mirabench.spec import SpecError, apply_sets, build_spec

SECRET_ENV = ("OPENAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY")  # the refusals below must not depend on them


def mirabench(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    code = "import sys, toyworld; from mirabench.cli.root import main; sys.argv = ['mirabench', *sys.argv[1:]]; main()"
    env_path = str(Path(__file__).parent)
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**{k: v for k, v in os.environ.items() if k not in SECRET_ENV}, "PYTHONPATH": env_path, **(env or {})},
    )


def test_main_command_with_unbuilt_plugins_explains_instead_of_crashing(tmp_path: Path) -> None:
    res = mirabench("run", "--agent", "mira-7b", "--editor", "kontext", cwd=tmp_path)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    for name in ("gpt-sc", "gemini-sc"):  # models (#5) and editscore (#4) are real plugins now; API keys unset
        assert name in res.stderr


TOY = ("run", "--suite", "toy", "--editor", "toy", "--metrics", "grey")


def test_unknown_plugin_and_bad_set_value(tmp_path: Path) -> None:
    res = mirabench(*TOY, "--agent", "countr", cwd=tmp_path)
    assert res.returncode == 2 and "Did you mean 'counter'" in res.stderr and "Traceback" not in res.stderr
    res = mirabench(*TOY, "--agent", "counter", "--set", "suite.n=many", cwd=tmp_path)
    assert res.returncode == 2 and "suite.n" in res.stderr and "many" in res.stderr
    res = mirabench(*TOY, "--agent", "counter", "--set", "max_steps=0", cwd=tmp_path)
    assert res.returncode == 2 and "max_steps" in res.stderr


def test_run_then_report_formats(tmp_path: Path) -> None:
    res = mirabench(*TOY, "--agent", "counter", "--out", "r", "--set", "suite.n=4", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "r" / "report.html").exists()
    res = mirabench("report", "r", "--format", "csv", cwd=tmp_path)
    assert res.returncode == 0 and res.stdout.splitlines()[0].startswith("system,suite,n,failed,mean_steps")
    res = mirabench("report", "r", "--format", "json", cwd=tmp_path)
    assert json.loads(res.stdout)["rows"][0]["grey-hit"] == 10.0
    res = mirabench("report", "r", "--format", "md", cwd=tmp_path)
    assert "| toy + counter |" in res.stdout


def test_set_parsing() -> None:
    data = apply_sets(
        {},
        [
            "editor.error_rate=0.2",
            "metrics.gpt-sc.model=gpt-4.1",
            "metric.base_url=http://x",
            "max_steps=3",
            "suite.name=a=b",
        ],
    )
    assert data["editor_options"] == {"error_rate": 0.2}
    assert data["metric_options"] == {"gpt-sc": {"model": "gpt-4.1"}, "*": {"base_url": "http://x"}}
    assert data["max_steps"] == 3 and data["suite_options"] == {"name": "a=b"}
    with pytest.raises(SpecError, match="key=value"):
        apply_sets({}, ["oops"])
    with pytest.raises(SpecError, match="unknown section 'edtor'"):
        apply_sets({}, ["edtor.x=1"])
    with pytest.raises(SpecError, match="max_stepz"):
        build_spec({"max_stepz": 3})


def test_list_marks_planned_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    import mirabench.cli.plugins
    import mirabench.cli.root
    from mirabench.plugins import Editor
    from mirabench.registry import Needs, Registry

    reg: Registry[Editor] = Registry("editor", Editor, "mirabench.editors")
    reg._discovered = True  # isolated: only the roadmap entry below
    reg.add_planned("future", issue="issue #99", description="a roadmap editor", needs=Needs(extra="api"))
    monkeypatch.setattr(mirabench.cli.plugins, "registry_for", lambda kind: reg)
    res = CliRunner().invoke(mirabench.cli.root.app, ["list", "editors", "--json"])
    assert res.exit_code == 0, res.output
    [entry] = json.loads(res.output)
    assert entry["name"] == "future" and entry["planned"] == "issue #99" and entry["available"] is False
