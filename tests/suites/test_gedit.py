"""GEdit-Bench from the Hub's parquet layout (and `save_to_disk` Arrow): languages, subsets, upstream paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirabench.images import load_image
from mirabench.registry import suites


def samples(root: Path, **options: object) -> list:
    return list(suites.build("gedit", root=str(root), **options).samples())  # type: ignore[attr-defined]


def test_english_fullset_by_default(gedit_root: Path) -> None:
    got = samples(gedit_root)
    assert [s.id for s in got] == ["en-a1", "en-b2", "en-c3"]
    assert [s.category for s in got] == ["subject-add", "color_alter", "subject-add"]
    assert got[1].instruction == "en instruction b2"
    assert got[0].extra == {
        "key": "a1",
        "language": "en",
        "task_type": "subject-add",
        "intersection": False,
        "judge_resize_to_source": True,
    }
    # the judged source is input_image (16 px here), not input_image_raw (32 px)
    assert load_image(Path(got[1].image)).size == (16, 16)


def test_languages_subsets_and_task_filter(gedit_root: Path) -> None:
    assert [s.id for s in samples(gedit_root, language="cn")] == ["cn-a1", "cn-b2", "cn-c3"]
    assert len(samples(gedit_root, language="all")) == 6
    assert [s.id for s in samples(gedit_root, subset="intersection", language="all")] == ["en-c3", "cn-c3"]
    assert [s.id for s in samples(gedit_root, task_types="color_alter")] == ["en-b2"]
    with pytest.raises(Exception, match="unknown GEdit task types"):
        samples(gedit_root, task_types="colour")


def test_upstream_output_layout(gedit_root: Path) -> None:
    suite = suites.build("gedit", root=str(gedit_root), language="cn")
    first = next(iter(suite.samples()))
    assert suite.upstream_output(first).as_posix() == "fullset/subject-add/cn/a1.png"  # type: ignore[attr-defined]


def test_save_to_disk_arrow_layout_reads_the_same_rows(gedit_root: Path, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    parquet = next(gedit_root.rglob("*.parquet"))
    saved = tmp_path / "gedit-arrow"
    datasets.Dataset.from_parquet(str(parquet), cache_dir=str(tmp_path / "hf")).save_to_disk(str(saved))
    assert [s.id for s in samples(saved, language="all")] == [s.id for s in samples(gedit_root, language="all")]


def test_missing_gedit_names_the_download(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="stepfun-ai/GEdit-Bench"):
        samples(tmp_path / "nowhere")


def test_protocol_tags_give_every_row_its_language_and_intersection_flag(gedit_root: Path) -> None:
    tags = suites.build("gedit", root=str(gedit_root)).protocol_tags()  # type: ignore[attr-defined]
    assert len(tags) == 6  # both languages, whatever the run's own language option
    assert tags["en-c3"] == {"language": "en", "intersection": True}
    assert tags["cn-a1"] == {"language": "cn", "intersection": False}
