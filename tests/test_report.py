"""Report rendering: tables in every format, escaping of user strings."""

from __future__ import annotations

import json
from pathlib import Path

from toyworld import grey

from mirabench.reports.leaderboard import load_run, render
from mirabench.run.runner import run
from mirabench.spec import RunSpec


def test_user_strings_are_escaped_in_html(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    grey(0).save(data / "ok.png")
    evil = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    rows = [
        {"id": evil, "image": "missing.png", "instruction": evil},
        {"id": "fine", "image": "ok.png", "instruction": "reach 10", "target": 10},
    ]
    (data / "m.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    spec = RunSpec(
        suite="jsonl", agent="counter", editor="toy", metrics=["grey"], suite_options={"path": str(data / "m.jsonl")}
    )
    result = run(spec, tmp_path / "r")
    html = (result.run_dir / "report.html").read_text()
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("<script>") == 1  # only the page's own sorting script


def test_two_runs_in_one_leaderboard_with_budget_curve(tmp_path: Path) -> None:
    dirs = []
    for agent in ("counter", "refiner"):
        spec = RunSpec(suite="toy", agent=agent, editor="toy", metrics=["grey"], max_steps=3, budget_curve=True)
        dirs.append(run(spec, tmp_path / agent).run_dir)
    runs = [load_run(d) for d in dirs]
    html = render(runs, "html")
    # one budget curve per metric column (grey-hit, grey-level), one line per run in each
    assert html.count("<polyline") == 2 * 2 and "toy + counter" in html and "toy + refiner" in html
    table = json.loads(render(runs, "json"))
    assert [r["system"] for r in table["rows"]] == ["toy + counter", "toy + refiner"]
    assert {c["key"] for c in table["columns"]} == {"grey-hit", "grey-level"}
