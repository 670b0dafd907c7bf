"""ImgEdit-Bench Basic from its published layout: keys, categories, data version, bad rows, missing data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from layouts import IMGEDIT_ROWS

from mirabench.data.files import MissingData
from mirabench.images import unreadable_reason
from mirabench.registry import suites
from mirabench.run.runner import RunError, run
from mirabench.spec import RunSpec


def build(root: Path | None = None, **options: object) -> object:
    return suites.build("imgedit", **({"root": str(root)} if root else {}), **options)


def test_reads_every_key_in_numeric_order_with_its_category(imgedit_root: Path) -> None:
    samples = list(build(imgedit_root).samples())  # type: ignore[attr-defined]
    assert [s.id for s in samples] == ["22", "23", "456", "1001", "1145", "1146"]
    by_id = {s.id: s for s in samples}
    assert by_id["23"].image == (imgedit_root / "daily object" / "000002.jpg").resolve()
    assert by_id["23"].category == "add" and by_id["23"].instruction == "add a spoon"
    assert by_id["1145"].extra == {"key": "1145", "edit_type": "compose", "image_id": "compose/human/000004.jpg"}
    assert "leaves the data root" in (unreadable_reason(by_id["1146"]) or "")
    assert build(imgedit_root).upstream_output(by_id["456"]).as_posix() == "456.png"  # type: ignore[attr-defined]


def test_category_filter_and_unknown_category(imgedit_root: Path) -> None:
    samples = list(build(imgedit_root, categories="add,action").samples())  # type: ignore[attr-defined]
    assert [s.id for s in samples] == ["22", "23", "1001"]
    with pytest.raises(Exception, match="unknown ImgEdit categories"):
        build(imgedit_root, categories=["hybrid"])


def test_data_version_is_the_prompt_file_hash(imgedit_root: Path) -> None:
    before = build(imgedit_root).data_version  # type: ignore[attr-defined]
    rows = dict(IMGEDIT_ROWS)
    rows["22"] = {**rows["22"], "prompt": "add a red hat to the cat"}  # a prompt revision, like upstream b3eb8e7
    (imgedit_root / "basic_edit.json").write_text(json.dumps(rows), encoding="utf-8")
    after = build(imgedit_root).data_version  # type: ignore[attr-defined]
    assert before.startswith("imgedit-basic:") and before != after


def test_older_singleturn_json_is_read_when_basic_edit_json_is_absent(imgedit_root: Path) -> None:
    (imgedit_root / "basic_edit.json").rename(imgedit_root / "singleturn.json")
    assert len(list(build(imgedit_root).samples())) == 6  # type: ignore[attr-defined]


def test_missing_data_is_one_message_with_the_download_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MIRABENCH_DATA", raising=False)
    with pytest.raises(MissingData) as err:
        build().prompt_file()  # type: ignore[attr-defined]
    text = str(err.value)
    assert "huggingface-cli download sysuyy/ImgEdit" in text and "MIRABENCH_DATA" in text
    spec = RunSpec(suite="imgedit", agent="direct", editor="shapes", metrics=[])
    with pytest.raises(MissingData, match="sysuyy/ImgEdit"):
        run(spec, tmp_path / "r")


def test_mirabench_data_env_locates_the_suite_and_a_run_fails_only_the_bad_row(
    imgedit_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIRABENCH_DATA", str(imgedit_root.parent))
    spec = RunSpec(suite="imgedit", agent="direct", editor="invert-test", metrics=[], max_steps=1)
    try:
        result = run(spec, tmp_path / "r")
    except RunError as exc:  # pragma: no cover - message aids debugging
        raise AssertionError(str(exc)) from exc
    assert result.summary["n_samples"] == 6
    assert [f["id"] for f in result.summary["failed_samples"]] == ["1146"]
    manifest = json.loads((tmp_path / "r" / "run.json").read_text())
    assert manifest["plugins"]["suite_data_version"].startswith("imgedit-basic:")
