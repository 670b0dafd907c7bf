"""`mirabench import` / `data export`: outside images in the upstream layout <-> run directories."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from toyworld import grey
from typer.testing import CliRunner

from mirabench.cli.root import app
from mirabench.images import image_hash, load_image
from mirabench.run.importer import export_upstream, import_images
from mirabench.run.runner import RunError, score_run


def toy_images(folder: Path) -> Path:
    """Toy sample i must reach grey 10*(i%4+1); even samples hit it, odd ones miss; toy-005 is missing."""
    folder.mkdir(parents=True)
    for i in range(5):
        target = 10 * (i % 4 + 1)
        grey(target if i % 2 == 0 else target + 5).save(folder / f"toy-{i:03d}.png")
    grey(3).save(folder / "toy-999.png")
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_import_then_score_like_a_run_of_ours(tmp_path: Path) -> None:
    images = toy_images(tmp_path / "outside")
    result = import_images("toy", images, tmp_path / "run", suite_options={"n": 6}, label="other-model")
    assert result.imported == 5
    assert result.missing == ["toy-005.png"]
    assert result.extra == ["notes.txt", "toy-999.png"]
    assert set(result.failed) == {"toy-005"} and "no edited image" in result.failed["toy-005"]
    manifest = json.loads((tmp_path / "run" / "run.json").read_text())
    assert manifest["import"]["missing"] == ["toy-005.png"]
    assert manifest["spec"]["editor_options"]["label"] == "other-model"
    from mirabench.rundir.store import RunStore

    store = RunStore(tmp_path / "run")
    kept = store.images.original(image_hash(load_image(images / "toy-000.png")), "toy-000")
    store.close()
    assert (
        kept is not None and kept.read_bytes() == (images / "toy-000.png").read_bytes()
    )  # judges that send file bytes send these

    scored = score_run(tmp_path / "run", ["grey"])
    hit = scored.summary["metrics"]["grey-hit"]
    assert hit["mean"] == pytest.approx(6.0)  # 3 of the 5 imported images reach their target
    assert hit["n_ok"] == 5 and hit["n_failed"] == 1
    assert scored.summary["mean_steps"] == pytest.approx(5 / 6)
    rows = [json.loads(line) for line in (tmp_path / "run" / "samples.jsonl").read_text().splitlines()]
    assert [r["stop_reason"] for r in rows] == ["agent"] * 5 + ["error"]
    assert (tmp_path / "run" / "report.html").is_file()


def test_export_writes_the_upstream_layout_back(tmp_path: Path) -> None:
    images = toy_images(tmp_path / "outside")
    import_images("toy", images, tmp_path / "run", suite_options={"n": 6})
    written, without = export_upstream(tmp_path / "run", tmp_path / "exported")
    assert written == 5 and without == ["toy-005"]
    for i in range(5):
        a = np.asarray(load_image(tmp_path / "exported" / f"toy-{i:03d}.png"))
        b = np.asarray(load_image(images / f"toy-{i:03d}.png"))
        assert np.array_equal(a, b)


def test_import_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    images = toy_images(tmp_path / "outside")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "x").write_text("keep me")
    with pytest.raises(RunError, match="not empty"):
        import_images("toy", images, tmp_path / "run", suite_options={"n": 6})


def test_imgedit_key_png_layout_through_the_cli(imgedit_root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "imgedit-out"
    outside.mkdir()
    for key in ("22", "23", "456", "1001"):  # 1145 missing; 1146 is a bad row (its image leaves the root)
        Image.new("RGB", (8, 8), (1, 2, 3)).save(outside / f"{key}.png")
    Image.new("RGB", (8, 8)).save(outside / "9999.png")
    out = tmp_path / "run"
    res = CliRunner().invoke(
        app,
        [
            "import",
            "--suite",
            "imgedit",
            "--images",
            str(outside),
            "--out",
            str(out),
            "--set",
            f"suite.root={imgedit_root}",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "imported 4 images" in res.output
    assert "2 missing" in res.output and "1145.png" in res.output and "1146.png" in res.output
    assert "1 extra" in res.output and "9999.png" in res.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_done"] == 4 and summary["n_failed"] == 2
    res = CliRunner().invoke(app, ["data", "export", str(out), "--out", str(tmp_path / "again")])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "again").iterdir()) == ["1001.png", "22.png", "23.png", "456.png"]


def test_gedit_fullset_layout_ignores_source_copies(gedit_root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "gedit-out"
    for key, task in (("a1", "subject-add"), ("b2", "color_alter"), ("c3", "subject-add")):
        folder = outside / "fullset" / task / "en"
        folder.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (16, 16), (9, 9, 9)).save(folder / f"{key}.png")
        Image.new("RGB", (16, 16), (0, 0, 0)).save(folder / f"{key}_SRCIMG.png")
    result = import_images("gedit", outside, tmp_path / "run", suite_options={"root": str(gedit_root)})
    assert result.imported == 3 and result.missing == [] and result.extra == []
    written, _ = export_upstream(tmp_path / "run", tmp_path / "back", with_sources=True)
    assert written == 3
    assert (tmp_path / "back" / "fullset" / "color_alter" / "en" / "b2.png").is_file()
    assert (tmp_path / "back" / "fullset" / "color_alter" / "en" / "b2_SRCIMG.png").is_file()


@pytest.fixture
def fake_judge(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    from fakes import FakeAPIServer

    with FakeAPIServer.running() as server:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-protocol")
        monkeypatch.setenv("OPENAI_BASE_URL", server.openai_url)
        yield server


def test_imported_imgedit_run_gets_the_protocol_headline_and_sends_file_bytes(
    imgedit_root: Path, tmp_path: Path, fake_judge: Any
) -> None:
    outside = tmp_path / "imgedit-out"
    outside.mkdir()
    for i, key in enumerate(("22", "23", "456", "1001")):
        Image.new("RGBA", (8, 8), (i, 2, 3, 100)).save(outside / f"{key}.png")
    import_images("imgedit", outside, tmp_path / "run", suite_options={"root": str(imgedit_root)})
    rubric = tmp_path / "prompts.json"
    rubric.write_text(json.dumps({c: f"{c} rubric: <edit_prompt>" for c in ("add", "remove", "compose", "action")}))
    fake_judge.answer = lambda text, body: "A: 5\nB: 5\nC: 4" if text.startswith("remove") else "A: 4\nB: 3\nC: 3 "
    scored = score_run(tmp_path / "run", ["imgedit-judge"], {"imgedit-judge": {"prompts_json": str(rubric)}})
    protocol = scored.summary["protocol"]
    assert protocol["categories"] == {"add": 3.33, "remove": 4.67, "action": 3.33}  # 10/3, 14/3 rounded to 2
    assert protocol["overall"] == pytest.approx((3.33 + 4.67 + 3.33) / 3, abs=1e-6)  # 3.7767, not the sample mean
    assert scored.summary["metrics"]["imgedit"]["mean"] == pytest.approx((3.33 * 3 + 4.67) / 4)
    assert protocol["missing_categories"] == ["adjust", "extract", "replace", "background", "style", "compose"]
    page = (tmp_path / "run" / "report.html").read_text()
    assert "Benchmark protocol: imgedit" in page and "| Add | Adjust | Extract | Replace | Remove |" in page
    sent = {
        base64.b64decode(r.body["messages"][0]["content"][2]["image_url"]["url"].split(",", 1)[1])
        for r in fake_judge.requests
    }
    assert sent == {(outside / f"{k}.png").read_bytes() for k in ("22", "23", "456", "1001")}  # RGBA files as is


def test_gedit_run_protocol_has_full_and_intersection_per_language(
    gedit_root: Path, tmp_path: Path, fake_judge: Any
) -> None:
    outside = tmp_path / "gedit-out"
    for key, task in (("a1", "subject-add"), ("b2", "color_alter"), ("c3", "subject-add")):
        folder = outside / "fullset" / task / "en"
        folder.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (16, 16), (9, 9, 9)).save(folder / f"{key}.png")
    import_images("gedit", outside, tmp_path / "run", suite_options={"root": str(gedit_root)})
    fake_judge.answer = lambda text, body: '{"score": [8, 6]}' if "overedit" in text.lower() else '{"score": [9, 4]}'
    scored = score_run(tmp_path / "run", ["gpt-sc"])
    en = scored.summary["protocol"]["judges"]["gpt"]["languages"]["en"]
    assert en["fullset"]["groups"]["subject-add"] == {"SC": 6.0, "PQ": 4.0, "O": pytest.approx(24**0.5), "n": 2}
    assert en["fullset"]["SC"] is None and len(en["fullset"]["missing_groups"]) == 9  # 2 of 11 groups present
    assert (
        list(en["intersection"]["groups"]) == ["subject-add"] and en["intersection"]["groups"]["subject-add"]["n"] == 1
    )
    from mirabench.judge.viescore import load_prompts
    from mirabench.reports.protocol import protocol_report

    label = load_prompts("viescore").label  # no get-prompts file here: the wheel's fork (or our stand-in)
    assert scored.summary["metrics"]["gpt-sc"]["prompt_text"] == label
    assert f"gpt: prompt text = {label}" in protocol_report([tmp_path / "run"], "gedit")
