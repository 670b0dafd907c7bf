"""A run directory can come from anywhere (a colleague's copy, an import, a download). Its rows name image files;
a report, a user-study sheet or a rating study made from it reads only files inside the run: a row naming an
absolute or `../` path is refused with one line naming the file, line and field, and an image replaced by a link
that leads out of the run is left out, never thumbnailed or embedded."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from mirabench.cli import root as cli
from mirabench.reports.leaderboard import write_report
from mirabench.run.runner import run
from mirabench.spec import RunSpec
from mirabench.studies.user_study import export_sheet

SECRET = (201, 13, 7)


@pytest.fixture
def finished(tmp_path: Path) -> Path:
    spec = RunSpec(suite="toy", agent="counter", editor="toy", metrics=["grey"], max_steps=2)
    return run(spec, tmp_path / "run", use_cache=False).run_dir


def _rows(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]


def _write_rows(run_dir: Path, rows: list[dict]) -> None:
    (run_dir / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.mark.parametrize("field", ["source_image", "final_image", "step"])
@pytest.mark.parametrize("where", ["absolute", "dotdot"])
def test_a_row_naming_a_file_outside_the_run_is_refused_in_one_line(
    finished: Path,
    tmp_path: Path,
    field: str,
    where: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    secret = tmp_path / "secret.png"
    Image.new("RGB", (8, 8), SECRET).save(secret)
    path = str(secret) if where == "absolute" else "../secret.png"
    rows = _rows(finished)
    if field == "step":
        rows[1]["steps"][0]["image"] = path
    else:
        rows[1][field] = path
    _write_rows(finished, rows)
    monkeypatch.setattr("sys.argv", ["mirabench", "report", str(finished), "--out", str(tmp_path / "site")])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    err = capsys.readouterr().err
    assert exit_.value.code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "samples.jsonl line 2" in err and "is not a path inside the run directory" in " ".join(err.split())
    assert not (tmp_path / "site" / "thumbs").exists()


def test_an_image_linked_out_of_the_run_is_left_out_of_reports_and_studies(finished: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.png"
    Image.new("RGB", (64, 64), SECRET).save(secret)
    rows = _rows(finished)
    linked = finished / rows[0]["final_image"]
    linked.unlink()
    os.symlink(secret, linked)  # same name, content from outside the run
    with sqlite3.connect(finished / "store.sqlite") as db:  # none kept by the run: each is made from its image file
        db.execute("DELETE FROM thumbnails")
    db.close()
    page = write_report([finished], tmp_path / "site" / "index.html")  # a fresh folder: every thumbnail made anew
    thumbs = list((tmp_path / "site" / "thumbs").iterdir())
    assert thumbs and all(linked.stem not in t.name for t in thumbs)
    assert linked.stem not in page.read_text()
    for t in thumbs:  # no thumbnail carries the outside file's pixels
        with Image.open(t) as im:
            assert im.convert("RGB").getpixel((0, 0)) != SECRET
    sheet = export_sheet([finished], tmp_path / "study", n=50)
    clean = [
        r for r in rows if r["status"] == "done" and rows[0]["final_image"] not in (r["final_image"], r["source_image"])
    ]
    assert 0 < sheet["items"] == len(clean) < len(rows)  # samples showing the linked file are not offered to raters
