"""Bad-input corpus, written at test time: each bad row gets one clear message and a recorded status, the good
rows (including awkward but valid images) run normally, nothing else fails.

Image decoding itself is unit-tested in tests/test_images.py and missing / corrupt / `../` / invalid-JSON rows in
tests/test_runner.py; this module runs the rest of the corpus through whole runs and the CLI.

Duplicate ids are refused before any work (exit 2, one line naming the id and both rows): ids key the store,
resume and every cross-run comparison, so running either row silently would make results ambiguous, and fixing
the manifest costs the researcher seconds while nothing has been spent yet.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image
from toyworld import grey

from mirabench.cli import root as cli
from mirabench.run.runner import run
from mirabench.spec import RunSpec
from mirabench.suites.jsonl import MAX_INSTRUCTION_CHARS


def write_corpus(data: Path, outside: Path) -> list[dict]:
    """The bad/ corpus as image files plus manifest rows; returns the rows."""
    data.mkdir(parents=True)
    grey(0).save(data / "ok.png")
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (9, 9, 9)).save(buf, format="PNG")
    (data / "truncated.png").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    (data / "empty.png").write_bytes(b"")
    Image.new("1", (16000, 16000)).save(data / "bomb.png")  # 16k x 16k, a few kB on disk
    Image.new("CMYK", (16, 16), (0, 0, 0, 255)).save(data / "cmyk.jpg")
    Image.fromarray(np.full((16, 16), 0, dtype=np.uint16)).save(data / "deep.png")
    Image.new("RGBA", (16, 16), (0, 0, 0, 255)).save(data / "alpha.png")
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (16, 8), (0, 0, 0)).save(data / "rotated.jpg", exif=exif, quality=100)
    grey(0).save(outside)
    row = {"instruction": "reach 20", "target": 20}
    return [
        {"id": "good", "image": "ok.png", **row},
        {"id": "truncated", "image": "truncated.png", **row},
        {"id": "empty", "image": "empty.png", **row},
        {"id": "bomb", "image": "bomb.png", **row},
        {"id": "cmyk", "image": "cmyk.jpg", **row},
        {"id": "deep", "image": "deep.png", **row},
        {"id": "alpha", "image": "alpha.png", **row},
        {"id": "rotated", "image": "rotated.jpg", **row},
        {"id": "dotdot", "image": "../outside.png", **row},
        {"id": "absolute", "image": str(outside.resolve()), **row},
        {"id": "huge", "image": "ok.png", "instruction": "reach 20 " + "x" * 100_000, "target": 20},
    ]


def manifest_file(tmp_path: Path) -> Path:
    rows = write_corpus(tmp_path / "data", tmp_path / "outside.png")
    lines = [json.dumps(r).encode() for r in rows]
    lines.append('{"id": "latin1", "image": "ok.png", "instruction": "caf\xe9 reach 20"}'.encode("latin-1"))
    path = tmp_path / "data" / "set.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_bad_corpus_rows_fail_alone_with_one_message_each(tmp_path: Path) -> None:
    spec = RunSpec(suite="jsonl", agent="counter", editor="toy", metrics=["grey"], max_steps=3)
    spec.suite_options = {"path": str(manifest_file(tmp_path))}
    result = run(spec, tmp_path / "r")
    s = result.summary
    errors = {f["id"]: f["error"] for f in s["failed_samples"]}
    expected = {
        "truncated": "cannot decode image",
        "empty": "empty (0 bytes)",
        "bomb": "too large",
        "dotdot": "leaves the data root",
        "absolute": "leaves the data root",
        "huge": f"over {MAX_INSTRUCTION_CHARS}",
        "line-12": "line 12: not UTF-8 text",
    }
    assert set(errors) == set(expected)
    for sid, message in expected.items():
        assert message in errors[sid] and "\n" not in errors[sid] and "Traceback" not in errors[sid]
    rows = {r["id"]: r for r in map(json.loads, (result.run_dir / "samples.jsonl").read_text().splitlines())}
    assert len(rows) == 12 and all(rows[sid]["status"] == "failed" for sid in expected)
    # awkward but valid images are decoded to upright RGB and run like the plain one
    for sid in ("good", "cmyk", "deep", "alpha", "rotated"):
        assert rows[sid]["status"] == "done" and rows[sid]["scores"]["grey-hit"] == 10.0, sid
    assert s["n_done"] == 5 and s["n_failed"] == 7
    assert json.loads((result.run_dir / "run.json").read_text())["status"] == "complete"


def cli_run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["mirabench", "run", *args])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    return int(exit_.value.code or 0), " ".join(capsys.readouterr().err.split())  # undo rich's line wrapping


def test_duplicate_ids_are_refused_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "d").mkdir()
    grey(0).save(tmp_path / "d" / "ok.png")
    rows = [{"id": i, "image": "ok.png", "instruction": "reach 10"} for i in ("a", "b", "a")]
    (tmp_path / "d" / "set.jsonl").write_text("\n".join(map(json.dumps, rows)))
    code, err = cli_run(
        monkeypatch,
        capsys,
        *("--suite", "jsonl", "--agent", "counter", "--editor", "toy", "--metrics", "grey"),
        *("--set", f"suite.path={tmp_path / 'd' / 'set.jsonl'}", "--out", str(tmp_path / "r")),
    )
    assert code == 2 and "Traceback" not in err
    assert "duplicate sample id 'a' (rows 0 and 2)" in err
    assert not (tmp_path / "r" / "store.sqlite").exists()


TOY = {"suite": "toy", "agent": "counter", "editor": "toy", "metrics": "grey"}


@pytest.mark.parametrize(
    "config, message",
    [
        ({**TOY, "max_stpes": 3}, "max_stpes"),
        ({**TOY, "max_steps": "many"}, "max_steps"),
        ({**TOY, "suite_options": {"nn": 3}}, "suite.nn: no such option"),
        ({**TOY, "suite_options": {"n": "six"}}, "suite.n: Input should be a valid integer"),
        (["not", "a", "mapping"], "must be a mapping"),
    ],
)
def test_bad_yaml_configs_get_one_clear_message(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    config: object,
    message: str,
) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    code, err = cli_run(monkeypatch, capsys, "--config", str(path), "--out", str(tmp_path / "r"))
    assert code == 2 and err.startswith("error:") and message in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_a_byte_order_mark_and_an_endless_line_do_not_cost_their_neighbours(tmp_path: Path) -> None:
    """Windows editors start a file with a BOM (row 1 must still run); a row with no newline for megabytes is
    one failed sample, read past in chunks, and the row after it runs."""
    from mirabench.suites.jsonl import MAX_LINE_BYTES

    (tmp_path / "d").mkdir()
    grey(0).save(tmp_path / "d" / "ok.png")
    row = {"image": "ok.png", "instruction": "reach 20", "target": 20}
    endless = json.dumps({"id": "endless", **row, "pad": "x" * (2 * MAX_LINE_BYTES)})
    text = "\ufeff" + "\r\n".join([json.dumps({"id": "first", **row}), endless, json.dumps({"id": "after", **row})])
    (tmp_path / "d" / "set.jsonl").write_text(text, encoding="utf-8")
    spec = RunSpec(suite="jsonl", agent="counter", editor="toy", metrics=["grey"], max_steps=3)
    spec.suite_options = {"path": str(tmp_path / "d" / "set.jsonl")}
    s = run(spec, tmp_path / "r").summary
    assert s["n_done"] == 2 and s["n_failed"] == 1
    assert s["failed_samples"] == [
        {"id": "line-2", "error": f"sample 'line-2': line 2: over {MAX_LINE_BYTES} bytes (not a manifest row)"}
    ]
