"""A changed suite is never resumed as the old one: an edited manifest row makes another config (refused, naming
the suite data), a replaced image file makes its sample run again, and an image only touched (same pixels) is
kept. Each check runs the same command twice, as a user would."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from toyworld import grey

from mirabench.run.runner import RunError, run
from mirabench.spec import RunSpec

ROWS = [
    {"id": "a", "image": "a.png", "instruction": "reach 20", "target": 20},
    {"id": "b", "image": "b.png", "instruction": "reach 20", "target": 20},
    {"id": "c", "image": "c.png", "instruction": "reach 30", "target": 30},
]


def suite(tmp_path: Path) -> tuple[RunSpec, Path]:
    data = tmp_path / "data"
    data.mkdir()
    for row in ROWS:
        grey(0).save(data / row["image"])
    (data / "set.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    spec = RunSpec(suite="jsonl", agent="counter", editor="toy", metrics=["grey"], max_steps=5)
    spec.suite_options = {"path": str(data / "set.jsonl")}
    return spec, data


def rows(run_dir: Path) -> dict[str, dict]:
    return {r["id"]: r for r in map(json.loads, (run_dir / "samples.jsonl").read_text().splitlines())}


def test_a_replaced_image_is_redone_and_a_touched_one_kept(tmp_path: Path) -> None:
    spec, data = suite(tmp_path)
    out = tmp_path / "run"
    first = run(spec, out, use_cache=False)
    before = rows(out)
    grey(10).save(data / "b.png")  # new pixels: b must start again from them (one edit to 20, not two)
    stat = (data / "a.png").stat()
    os.utime(data / "a.png", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # same pixels, newer mtime
    again = run(spec, out, use_cache=False)
    assert again.redone == ["b"]
    after = rows(out)
    assert after["b"]["source_image"] != before["b"]["source_image"]
    assert after["b"]["n_steps"] == 1 and after["b"]["scores"]["grey-hit"] == 10.0
    assert after["a"] == before["a"] and after["c"] == before["c"]
    assert again.stats.editor_calls == 1 and first.stats.editor_calls == 2 + 2 + 3
    third = run(spec, out, use_cache=False)  # stamps now match: nothing is hashed or redone
    assert third.redone == [] and third.stats.editor_calls == 0 and rows(out) == after


def test_an_edited_row_is_another_config_named_as_suite_data(tmp_path: Path) -> None:
    spec, data = suite(tmp_path)
    out = tmp_path / "run"
    run(spec, out, use_cache=False)
    edited = [{**ROWS[0], "instruction": "reach 30", "target": 30}, *ROWS[1:]]
    (data / "set.jsonl").write_text("".join(json.dumps(r) + "\n" for r in edited))
    with pytest.raises(RunError, match=r"differs in: suite data \(jsonl:[0-9a-f]{16} -> jsonl:[0-9a-f]{16}\)"):
        run(spec, out, use_cache=False)
    assert rows(out)["a"]["instruction"] == "reach 20"  # nothing was rewritten with the old answers
