"""`mirabench report --protocol`: each benchmark's own table from summary.json's protocol headline."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from mirabench.cli.root import app
from mirabench.plugins import Column
from mirabench.protocols import GEDIT_GROUPS, gedit_protocol, imgedit_protocol, mira_protocol


def run_dir(root: Path, name: str, summary: dict[str, Any]) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder


def row(sid: str, category: str, **scores: float | None) -> dict[str, Any]:
    return {"id": sid, "category": category, "scores": scores}


def report(*args: str) -> str:
    res = CliRunner().invoke(app, ["report", *args])
    assert res.exit_code == 0, res.output
    return res.output


def test_imgedit_table_in_the_papers_order_with_table_a_changes(tmp_path: Path) -> None:
    base = imgedit_protocol(
        [row("1", "add", imgedit=2.0), row("2", "add", imgedit=2.4), row("3", "remove", imgedit=3.0)]
    )
    new = imgedit_protocol([row("1", "add", imgedit=2.75), row("3", "remove", imgedit=2.45)])
    a = run_dir(tmp_path, "alone", {"suite": "imgedit", "protocol": base})
    b = run_dir(tmp_path, "agent", {"suite": "imgedit", "protocol": new})
    out = report(str(a), str(b), "--protocol", "imgedit")
    header = "| method | Add | Adjust | Extract | Replace | Remove | Background | Style | Hybrid | Action | Overall |"
    assert header in out
    # add 2.20 -> 2.75 is +25.00%, remove 3.00 -> 2.45 is -18.33%, Overall (2.2+3)/2 = 2.60 -> (2.75+2.45)/2 = 2.60
    assert "| alone | 2.20 | – | – | – | 3.00 | – | – | – | – | 2.60 |" in out
    assert "| agent | 2.75 (+25.00%) | – | – | – | 2.45 (-18.33%) | – | – | – | – | 2.60 (+0.00%) |" in out
    assert "Reported (MIRA supp. Table A" in out and "| InstructPix2Pix |" in out


def test_gedit_table_full_and_intersection_en_and_cn(tmp_path: Path) -> None:
    rows, tags = [], {}
    for lang, sc in (("en", 6.0), ("cn", 4.0)):
        for g in GEDIT_GROUPS:
            rows.append(row(f"{lang}-{g}", g, **{"gpt-sc": sc, "gpt-pq": 9.0, "gpt-o": math.sqrt(sc * 9.0)}))
            tags[f"{lang}-{g}"] = {"language": lang, "intersection": g != "ps_human"}
    cols = [Column("gpt-sc", 0, 10), Column("gpt-pq", 0, 10), Column("gpt-o", 0, 10)]
    folder = run_dir(tmp_path, "step1x", {"suite": "gedit", "protocol": gedit_protocol(rows, cols, tags)})
    out = report(str(folder), "--protocol", "gedit")
    assert "| method | judge | subset | EN SC | EN PQ | EN O | CN SC | CN PQ | CN O |" in out
    # every group has SC 6 (EN) / 4 (CN), PQ 9: O = sqrt(54) = 7.348 and sqrt(36) = 6.000
    assert "| step1x | gpt | fullset | 6.000 | 9.000 | 7.348 | 4.000 | 9.000 | 6.000 |" in out
    # the intersection lacks ps_human: a group without items makes the headline undefined, as upstream's nan
    assert "| step1x | gpt | intersection | – | – | – | – | – | – |" in out


def test_mira_table_1_and_tables_b_c_have_the_papers_8_columns(tmp_path: Path) -> None:
    keys = ["gpt-sc", "gemini-sc", "qwen3vl-sc", "editscore-sc", "arniqa", "topiq", "editscore-pq", "editscore-oa"]
    cols = [Column(k, 0, 10) for k in keys] + [Column("gpt-pq", 0, 10)]
    values = dict(zip(keys, (6.25, 7.0, 6.5, 5.0, 0.61, 0.52, 6.0, 5.5), strict=True))
    curve = {"3": {"mean_steps": 2.9765, **values}, "10": {"mean_steps": 4.1, **values}}
    summary = {"suite": "mira500", "protocol": mira_protocol([row("a", "x", **values, **{"gpt-pq": 1.0})], cols)}
    folder = run_dir(tmp_path, "flux+mira", {**summary, "budget_curve": curve})
    out = report(str(folder), "--protocol", "mira")
    table1 = (
        "| method | GPT-SC | Gemini-SC | Qwen3VL-SC | EditScore-SC | ARNIQA | TOPIQ | EditScore-PQ | EditScore-OA |"
    )
    assert table1 in out and "| flux+mira | 6.250 | 7.000 | 6.500 | 5.000 | 0.610 | 0.520 | 6.000 | 5.500 |" in out
    assert "GPT-PQ" not in out and "gpt-pq" not in out  # 8 columns, not every column the run has
    assert "| max_steps | GPT-SC | Gemini-SC" in out and "| 3 | 6.250 |" in out
    assert out.index("| 3 | 6.250 |") < out.index("| 10 | 6.250 |")  # budgets in numeric order
    assert "| max_steps | mean_steps |" in out and "| 3 | 2.977 |" in out


def test_a_run_without_that_protocol_is_a_clear_error(tmp_path: Path) -> None:
    folder = run_dir(tmp_path, "shapes", {"suite": "shapes"})
    res = CliRunner().invoke(app, ["report", str(folder), "--protocol", "imgedit"])
    assert res.exit_code != 0 and "no imgedit protocol headline" in str(res.exception)
