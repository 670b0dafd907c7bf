"""Hostile manifest rows fail alone, on the first run and on every resume, each with a message naming its line:
an image path that is a directory, 100,000 nested brackets (json's RecursionError), a NUL byte in a path. A
row's own fields are data: a `row_error` key neither fails the row nor sets its message."""

from __future__ import annotations

import json
from pathlib import Path

from toyworld import grey

from mirabench.run.runner import run
from mirabench.spec import RunSpec


def hostile_manifest(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    (data / "adir").mkdir(parents=True)
    grey(0).save(data / "ok.png")
    lines = [
        json.dumps({"id": "good", "image": "ok.png", "instruction": "reach 20", "target": 20}),
        json.dumps({"id": "dir", "image": "adir", "instruction": "reach 20", "target": 20}),
        "[" * 100_000 + "]" * 100_000,
        json.dumps({"id": "nul", "image": "ok.png\0.png", "instruction": "reach 20", "target": 20}),
        json.dumps(
            {"id": "planted", "image": "ok.png", "instruction": "reach 10", "target": 10, "row_error": "I say I failed"}
        ),
    ]
    path = data / "set.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_each_hostile_row_fails_alone_naming_its_line(tmp_path: Path) -> None:
    spec = RunSpec(suite="jsonl", agent="counter", editor="toy", metrics=["grey"], max_steps=3)
    spec.suite_options = {"path": str(hostile_manifest(tmp_path))}
    out = tmp_path / "r"
    for attempt in range(2):  # the first run and a resume: neither aborts
        result = run(spec, out, use_cache=False)
        errors = {f["id"]: f["error"] for f in result.summary["failed_samples"]}
        assert set(errors) == {"dir", "line-3", "nul"}, attempt
        assert "not a file" in errors["dir"] and "adir" in errors["dir"]
        assert errors["line-3"].endswith("line 3: invalid JSON (nested too deeply)")
        assert "line 4 (id 'nul')" in errors["nul"] and "NUL byte" in errors["nul"]
        assert all("\n" not in e and "Traceback" not in e for e in errors.values())
        rows = {r["id"]: r for r in map(json.loads, (out / "samples.jsonl").read_text().splitlines())}
        assert rows["good"]["status"] == "done" and rows["planted"]["status"] == "done"
        assert rows["planted"]["scores"]["grey-hit"] == 10.0  # its `row_error` field was only data
        assert result.summary["n_done"] == 2 and result.summary["n_failed"] == 3
