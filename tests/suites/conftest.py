"""Tiny copies of upstream benchmark layouts, written at test time (nothing downloaded, nothing committed).

Parquet image cells are `{bytes, path}` structs, exactly as the Hugging Face `datasets` Image feature stores them.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from layouts import IMGEDIT_ROWS, MB_TURNS
from PIL import Image, ImageOps

from mirabench.plugins import Editor
from mirabench.registry import editors
from mirabench.types import EditRequest


@editors.register("invert-test", description="test editor: inverts any image whatever the instruction")
class InvertEditor(Editor):
    version = "1"

    def edit(self, request: EditRequest) -> Image.Image:
        return ImageOps.invert(request.image)


def png(level: int, size: int = 16) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), (level, level, level)).save(buf, format="PNG")
    return buf.getvalue()


def jpeg(level: int, size: int = 16) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), (level, 0, 0)).save(buf, format="JPEG")
    return buf.getvalue()


def write_parquet(path: Path, columns: dict[str, list[Any]], images: tuple[str, ...] = ()) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    image_type = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    arrays = {}
    for name, values in columns.items():
        if name in images:
            arrays[name] = pa.array([{"bytes": v, "path": None} for v in values], type=image_type)
        else:
            arrays[name] = pa.array(values)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(arrays), path)
    return path


@pytest.fixture
def imgedit_root(tmp_path: Path) -> Path:
    root = tmp_path / "imgedit"
    for i, row in enumerate(IMGEDIT_ROWS.values()):
        path = root / row["id"]
        if path.resolve().is_relative_to(root.resolve()):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(jpeg(20 * i + 10))
    (root / "basic_edit.json").write_text(json.dumps(IMGEDIT_ROWS), encoding="utf-8")
    return root


# GEdit: 3 keys x 2 languages over 2 task groups; key "c3" is in the intersection subset.
GEDIT_KEYS = [("a1", "subject-add", False), ("b2", "color_alter", False), ("c3", "subject-add", True)]


@pytest.fixture
def gedit_root(tmp_path: Path) -> Path:
    root = tmp_path / "gedit"
    cols: dict[str, list[Any]] = {
        k: []
        for k in (
            "key",
            "task_type",
            "instruction",
            "instruction_language",
            "input_image",
            "input_image_raw",
            "Intersection_exist",
        )
    }
    for i, (key, task, inter) in enumerate(GEDIT_KEYS):
        for lang in ("en", "cn"):
            cols["key"].append(key)
            cols["task_type"].append(task)
            cols["instruction"].append(f"{lang} instruction {key}")
            cols["instruction_language"].append(lang)
            cols["input_image"].append(png(40 * i + 20))
            cols["input_image_raw"].append(png(40 * i + 20, 32))
            cols["Intersection_exist"].append(inter)
    write_parquet(root / "data" / "train-00000-of-00001.parquet", cols, ("input_image", "input_image_raw"))
    return root


@pytest.fixture
def magicbrush_root(tmp_path: Path) -> Path:
    root = tmp_path / "magicbrush"
    cols: dict[str, list[Any]] = {"img_id": [], "turn_index": [], "source_img": [], "instruction": [], "target_img": []}
    for n, (key, turns) in enumerate(reversed(MB_TURNS.items())):
        for t in reversed(range(len(turns))):
            cols["img_id"].append(key)
            cols["turn_index"].append(t + 1)
            cols["source_img"].append(png(10 * n + t))
            cols["instruction"].append(turns[t])
            cols["target_img"].append(png(10 * n + t + 1))
    write_parquet(root / "data" / "train-00000-of-00001.parquet", cols, ("source_img", "target_img"))
    return root


@pytest.fixture
def magicbrush_zip(tmp_path: Path) -> Path:
    root = tmp_path / "magicbrush-test"
    sessions = {}
    for n, (key, turns) in enumerate(MB_TURNS.items()):
        folder = root / "images" / key
        folder.mkdir(parents=True)
        (folder / f"{key}-input.png").write_bytes(png(10 * n))
        sessions[key] = [
            {
                "input": f"{key}-input.png" if t == 0 else f"{key}-output{t}.png",
                "mask": f"{key}-mask{t + 1}.png",
                "output": f"{key}-output{t + 1}.png",
                "instruction": text,
            }
            for t, text in enumerate(turns)
        ]
    (root / "edit_sessions.json").write_text(json.dumps(sessions), encoding="utf-8")
    return root


# CompBench multi_turn: 2 add sessions and 1 remove session (two rows each), plus single-turn rows that are ignored.
@pytest.fixture
def compbench_root(tmp_path: Path) -> Path:
    root = tmp_path / "compbench"
    cols: dict[str, list[Any]] = {"task": [], "image_path": [], "input_image": [], "instruction": []}
    rows = [
        ("multi_turn_add", "turn1_add/s1.png", "add a lamp"),
        ("multi_turn_add", "turn2_add/s1.png", "add a cat"),
        ("multi_turn_add", "turn2_add/s2.png", "add a rug"),
        ("multi_turn_add", "turn1_add/s2.png", "add a vase"),
        ("multi_turn_remove", "turn1_remove/s1.png", "remove the bag"),
        ("multi_turn_remove", "turn2_remove/s1.png", "remove the cup"),
        ("add", "abc/0/0001.png", "add a bird"),
    ]
    for i, (task, path, text) in enumerate(rows):
        cols["task"].append(task)
        cols["image_path"].append(path)
        cols["input_image"].append(png(5 * i))
        cols["instruction"].append(text)
    write_parquet(root / "data" / "multi_turn-00000-of-00001.parquet", cols, ("input_image",))
    return root
