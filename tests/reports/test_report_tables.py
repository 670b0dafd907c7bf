"""Paper-style tables (best bold, second underlined), reported rows, report folders and scale, without a browser."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from synth import write_synthetic_run

from mirabench.reports.leaderboard import load_run, render, table_rows, write_report
from mirabench.reports.reference import load_reference
from mirabench.reports.tables import latex_table, markdown_table, marks


def row(system: str, **means: float | None) -> dict:
    return {"system": system, "kind": "measured", "n": 10, "mean_steps": 2.0, "means": means, "source": ""}


COLS = [{"key": "sc", "higher_is_better": True}, {"key": "err", "higher_is_better": False}]


def test_best_bold_second_underlined_by_direction_with_ties() -> None:
    rows = [row("a", sc=7.0, err=0.3), row("b", sc=8.5, err=0.1), row("c", sc=8.5, err=0.2), row("d", sc=None, err=0.3)]
    m = marks(rows, COLS)
    assert m[(1, "sc")] == m[(2, "sc")] == "best" and m[(0, "sc")] == "second" and (3, "sc") not in m
    assert m[(1, "err")] == "best" and m[(2, "err")] == "second" and (0, "err") not in m
    md = markdown_table(rows, COLS)
    assert "| b | measured | 10 | 2.00 | **8.500** | **0.100** |" in md
    assert "| a | measured | 10 | 2.00 | <u>7.000</u> | 0.300 |" in md
    assert "| d | measured | 10 | 2.00 | – | 0.300 |" in md


def test_latex_escapes_and_marks() -> None:
    rows = [row("50% & a_b", sc=1.0, err=1.0), row("x", sc=2.0, err=2.0)]
    rows.append({**row("Paper #1", sc=3.0, err=0.5), "kind": "reported", "source": "mira-supp Table B"})
    tex = latex_table(rows, COLS, caption="demo")
    assert r"50\% \& a\_b & 10 & 2.00 & 1.000 & \underline{1.000} \\" in tex
    assert r"\textit{Paper \#1}$^\dagger$ & 10 & 2.00 & \textbf{3.000} & \textbf{0.500} \\" in tex
    lines = tex.splitlines()
    assert lines[lines.index(next(x for x in lines if x.startswith("x &"))) + 1] == r"\midrule"  # reported set apart
    assert r"$^\dagger$Reported: mira-supp Table B." in tex and tex.count(r"\begin{tabular}") == 1


def test_reference_files_in_the_papers_tidy_format_line_up_with_measured_metrics(tmp_path: Path) -> None:
    ref = tmp_path / "ref"
    ref.mkdir()
    (ref / "paper.csv").write_text(
        "source,table,system,max_steps,column,value,note\n"
        "p1,B,Big Model + Agent,5,SC,7.25,\n"
        "p1,B,Big Model + Agent,5,Unrelated,1.0,\n"
        "p1,C,Big Model + Agent,5,mean_steps,4.1,\n"
        "p1,D,Other,,Perceptual Quality,3.0,\n"
    )
    (ref / "wide.json").write_text(
        json.dumps({"suite": "synthetic", "source": "p2", "rows": [{"system": "W", "sc": 2}]})
    )
    (ref / "broken.csv").write_text("model,score\nx,1\n")
    rows, problems = load_reference([ref])
    assert problems == ["broken.csv left out: broken.csv row 2: every row needs a system"]
    run = write_synthetic_run(tmp_path / "run", "a", n=4, skill=5.0)
    table, cols = table_rows([load_run(run)], rows)
    reported = {r["system"]: r for r in table if r["kind"] == "reported"}
    # "SC" lines up with the measured column "sc"; the row without any matching metric ("Other") is not shown
    assert set(reported) == {"Big Model + Agent (Max=5)", "W"}
    big = reported["Big Model + Agent (Max=5)"]
    assert big["means"] == {"sc": 7.25} and big["mean_steps"] == 4.1 and big["source"] == "p1 Table B, C"
    assert reported["W"]["means"]["sc"] == 2.0 and [c["key"] for c in cols] == ["sc"]
    md = render([load_run(run)], "md", reference=rows)
    assert "| Big Model + Agent (Max=5) | reported: p1 Table B, C |  | 4.10 | **7.250** |" in md


def test_report_folder_gets_every_format_and_thumbnails(tmp_path: Path) -> None:
    runs = [write_synthetic_run(tmp_path / f"r{i}", f"agent{i}", n=12, skill=3 + i, seed=i) for i in range(2)]
    page = write_report(runs, tmp_path / "site", reference_dirs=[])
    assert page == tmp_path / "site" / "index.html"
    names = sorted(p.name for p in (tmp_path / "site").iterdir())
    assert names == ["index.html", "leaderboard.csv", "leaderboard.json", "leaderboard.md", "leaderboard.tex", "thumbs"]
    # 12 samples x 2 runs x (source + 3 steps), every one a distinct image
    assert len(list((tmp_path / "site" / "thumbs").glob("*.jpg"))) == 96
    data = json.loads((tmp_path / "site" / "leaderboard.json").read_text())
    assert [r["system"] for r in data["rows"]] == ["synth + agent0", "synth + agent1"]
    csv_head = (tmp_path / "site" / "leaderboard.csv").read_text().splitlines()[0]
    assert csv_head == "system,suite,n,failed,mean_steps,kind,source,sc,sc_ci_low,sc_ci_high,sc_coverage"


@pytest.mark.slow
def test_500_samples_by_10_systems_stays_small(tmp_path: Path) -> None:
    runs = [
        write_synthetic_run(tmp_path / f"r{i}", f"a{i}", n=500, skill=i, seed=i, steps=2, image_px=32, with_images=120)
        for i in range(10)
    ]
    start = time.perf_counter()
    page = write_report(runs, tmp_path / "site", reference_dirs=[])
    elapsed = time.perf_counter() - start
    html = page.read_text()
    # the gallery holds the first 100 samples; thumbnails only for those: 100 x 10 x 3 images
    assert len(list((tmp_path / "site" / "thumbs").glob("*.jpg"))) == 3000
    assert len(html) < 3_000_000 and "Showing 100 of 500 sample(s)" in html
    assert "data:image" not in html  # no inlined images
    assert elapsed < 120  # generous: the figure to watch is printed by benchmarks/report_scale.py
