"""Table D: blind randomized sheets from runs, and filled sheets aggregated back per system."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mirabench.cli.root import app
from mirabench.run.runner import run
from mirabench.spec import RunSpec
from mirabench.studies.user_study import CRITERIA, aggregate_sheets, export_sheet


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("runs")
    base = dict(suite="shapes", editor="shapes", metrics=["shapes"], suite_options={"n": 12, "size": 64})
    return [
        run(RunSpec(agent="direct", max_steps=1, **base), root / "direct").run_dir,  # type: ignore[arg-type]
        run(RunSpec(agent="heuristic", **base), root / "heuristic").run_dir,  # type: ignore[arg-type]
    ]


def read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_sheet_is_blind_randomized_and_complete(runs: list[Path], tmp_path: Path) -> None:
    counts = export_sheet(runs, tmp_path, n=8, seed=3)
    assert counts == {"items": 8, "systems": 2, "common_samples": 12}
    rows = read(tmp_path / "sheet" / "sheet.csv")
    assert len(rows) == 16 and {r["slot"] for r in rows} == {"A", "B"}
    assert all((tmp_path / "sheet" / r["edited_image"]).is_file() for r in rows)
    key = json.loads((tmp_path / "key.json").read_text())
    systems = {item: [key["slots"][f"{item}/{s}"]["system"] for s in "AB"] for item in {r["item"] for r in rows}}
    assert {tuple(v) for v in systems.values()} == {
        ("shapes + direct", "shapes + heuristic"),
        ("shapes + heuristic", "shapes + direct"),
    }
    sheet_text = "".join(p.read_text() for p in (tmp_path / "sheet").glob("sheet.*"))
    for leak in ("heuristic", "direct", str(runs[0])):
        assert leak not in sheet_text
    assert export_sheet(runs, tmp_path / "again", n=8, seed=3) == counts
    assert (tmp_path / "again" / "key.json").read_text() == (tmp_path / "key.json").read_text()


def test_filled_sheets_aggregate_into_table_d(runs: list[Path], tmp_path: Path) -> None:
    export_sheet(runs, tmp_path, n=6, seed=0)
    key = json.loads((tmp_path / "key.json").read_text())["slots"]
    given = {"shapes + direct": (4.0, 6.0, 8.0), "shapes + heuristic": (7.0, 6.5, 9.0)}
    sheets = []
    for rater, shift in (("r1", 0.0), ("r2", 1.0)):
        rows = read(tmp_path / "sheet" / "sheet.csv")
        for r in rows:
            values = given[key[f"{r['item']}/{r['slot']}"]["system"]]
            for c, v in zip(CRITERIA, values, strict=True):
                r[c] = str(v + shift)
            r["rater"] = rater
        rows[0]["perceptual_quality"] = ""  # one blank cell: counted as missing, not as a zero
        path = tmp_path / f"{rater}.csv"
        with open(path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        sheets.append(path)
    table = aggregate_sheets(sheets, tmp_path / "key.json", tmp_path / "table_d").set_index("system")
    assert table.loc["shapes + heuristic", "Semantic Consistency"] == pytest.approx(7.5)
    assert table.loc["shapes + direct", "Background Preservation"] == pytest.approx(8.5)
    # the blank cell is the same slot on both sheets, so the remaining ratings still average v + 0.5
    assert table.loc["shapes + direct", "Perceptual Quality"] == pytest.approx(6.5)
    assert table.loc["shapes + heuristic", "Perceptual Quality"] == pytest.approx(7.0)
    assert int(table["n_missing"].sum()) == 2 and int(table["n_ratings"].sum()) == 2 * 12 * 3 - 2
    assert "Reported in the paper" in (tmp_path / "table_d.md").read_text()


def test_bad_cells_are_errors_naming_the_row(runs: list[Path], tmp_path: Path) -> None:
    export_sheet(runs, tmp_path, n=2, seed=0)
    rows = read(tmp_path / "sheet" / "sheet.csv")
    rows[1]["semantic_consistency"] = "11"
    rows[2]["item"] = "999"
    path = tmp_path / "bad.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(ValueError) as err:
        aggregate_sheets([path], tmp_path / "key.json")
    assert "bad.csv row 3: semantic_consistency = '11'" in str(err.value)
    assert "bad.csv row 4: item '999'" in str(err.value)


def test_cli_round_trip(runs: list[Path], tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["study", "user-export", *map(str, runs), "--out", str(tmp_path), "--n", "3"])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(
        app,
        [
            "study",
            "user-import",
            str(tmp_path / "sheet" / "sheet.csv"),
            "--key",
            str(tmp_path / "key.json"),
            "--out",
            str(tmp_path / "d"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "| shapes + heuristic | – | – | – | 0 | 9 |" in res.output  # an unfilled sheet: all missing, no zeros
