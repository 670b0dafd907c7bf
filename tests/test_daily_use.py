"""Daily use from the shell (issue 18): messages keep their text, long runs talk, options are discoverable."""

from __future__ import annotations

from pathlib import Path

from test_cli import TOY, mirabench


def test_brackets_in_errors_and_help_print_as_written(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("suite: toy\nmetrics: [grey, \nagent: counter\n")
    res = mirabench("run", "--config", "bad.yaml", cwd=tmp_path)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "metrics: [grey," in res.stderr and "expected ',' or ']'" in res.stderr
    assert "^" in res.stderr  # the caret under the offending column
    res = mirabench(
        "run",
        "--suite",
        "jsonl",
        "--set",
        "suite.path=myset/[weird].jsonl",
        "--agent",
        "counter",
        "--editor",
        "toy",
        "--metrics",
        "grey",
        cwd=tmp_path,
    )
    assert res.returncode == 2 and "myset/[weird].jsonl" in res.stderr
    res = mirabench("run", "--help", cwd=tmp_path)
    assert "(extra [ray])" in " ".join(res.stdout.split())
    res = mirabench("run", *TOY[1:], "--agent", "counter", "--out", "[x]run", "--set", "suite.n=2", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "[x]run" in res.stderr  # "run directory: .../[x]run"
