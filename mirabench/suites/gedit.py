"""`gedit`: GEdit-Bench (Step1X-Edit), English and Chinese, 11 task groups, full set or intersection subset.

Published layout: the Hugging Face dataset `stepfun-ai/GEdit-Bench` (one `train` split) as downloaded (parquet
files) or saved with `datasets.save_to_disk` (Arrow stream files). Columns read: `key`, `task_type`,
`instruction`, `instruction_language` (`en` | `cn`), `input_image` (the judged source, not `input_image_raw`),
`Intersection_exist`. Source images are embedded bytes; they are written once to the mirabench cache folder so
samples stay lazy paths. Edited images are expected upstream as `fullset/<task_type>/<lang>/<key>.png`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from pydantic import field_validator

from mirabench.cache import cache_dir
from mirabench.data.files import failed_sample, locate
from mirabench.data.hf import dataset_files, image_bytes, image_suffix, iter_rows
from mirabench.images import atomic_write_bytes
from mirabench.plugins import Options, Suite
from mirabench.protocols import GEDIT_GROUPS
from mirabench.registry import Needs, suites
from mirabench.types import Sample

TASK_TYPES = GEDIT_GROUPS
"""The 11 task groups, in the statistics script's order (one list, shared with the headline rule)."""
COLUMNS = ("key", "task_type", "instruction", "instruction_language", "input_image", "Intersection_exist")
DOWNLOAD = "huggingface-cli download stepfun-ai/GEdit-Bench --repo-type dataset --local-dir DATA/gedit"


class GEditOptions(Options):
    root: Path | None = None
    language: Literal["en", "cn", "all"] = "en"
    subset: Literal["fullset", "intersection"] = "fullset"
    task_types: tuple[str, ...] = TASK_TYPES

    @field_validator("task_types", mode="before")
    @classmethod
    def _known(cls, value: object) -> object:
        items = [v.strip() for v in value.split(",")] if isinstance(value, str) else value
        unknown = [t for t in items if t not in TASK_TYPES] if isinstance(items, (list, tuple)) else []
        if unknown:
            raise ValueError(f"unknown GEdit task types {unknown}; choose from {', '.join(TASK_TYPES)}")
        return items


@suites.register(
    "gedit",
    description="GEdit-Bench EN/CN (11 task groups; fullset or intersection)",
    needs=Needs(modules=("pyarrow",), extra="data", data="gedit"),
)
class GEditSuite(Suite[GEditOptions]):
    """One sample per (key, language) row; category = `task_type`."""

    version = "1"
    Options = GEditOptions
    upstream_companions = ("_SRCIMG.png",)  # source copies the upstream layout keeps beside each output

    def files(self) -> list[Path]:
        root = locate(self.options.root, "gedit", "GEdit-Bench", DOWNLOAD)
        found = dataset_files(root)
        if not found:
            raise FileNotFoundError(f"no GEdit-Bench parquet or Arrow files under {root}; download with: {DOWNLOAD}")
        return found

    @property
    def data_version(self) -> str:  # type: ignore[override]
        h = hashlib.sha256()
        for f in self.files():
            h.update(f"{f.name}:{f.stat().st_size};".encode())
        return f"gedit:{h.hexdigest()[:16]}"

    def samples(self) -> Iterator[Sample]:
        opts = self.options
        store = cache_dir() / "data" / "gedit"
        languages = ("en", "cn") if opts.language == "all" else (opts.language,)
        wanted = set(opts.task_types)
        for n, row in enumerate(iter_rows(self.files(), COLUMNS)):
            lang, task = str(row.get("instruction_language", "")), str(row.get("task_type", ""))
            if lang not in languages or task not in wanted:
                continue
            if opts.subset == "intersection" and not row.get("Intersection_exist"):
                continue
            yield self._sample(n, row, lang, task, store)

    def _sample(self, n: int, row: dict[str, Any], lang: str, task: str, store: Path) -> Sample:
        key = str(row.get("key") or f"row{n}")
        sid = f"{lang}-{key}"
        data = image_bytes(row.get("input_image"))
        if not isinstance(row.get("instruction"), str) or not data:
            return failed_sample(
                sid, self.name, f"GEdit row {n} (key {key!r}): missing instruction or input_image bytes"
            )
        path = store / f"{hashlib.sha256(data).hexdigest()}{image_suffix(data)}"
        if not path.exists():
            atomic_write_bytes(path, data)
        return Sample(
            id=sid,
            instruction=row["instruction"],
            image=path,
            suite=self.name,
            category=task,
            extra={
                "key": key,
                "language": lang,
                "task_type": task,
                "intersection": bool(row.get("Intersection_exist")),
                "judge_resize_to_source": True,  # test_gedit_score.py resizes the edit to the source size
            },
        )

    def protocol_tags(self) -> dict[str, dict[str, Any]]:
        """Sample id -> language and intersection flag, for the protocol headline (image columns not read)."""
        out: dict[str, dict[str, Any]] = {}
        for n, row in enumerate(iter_rows(self.files(), ("key", "instruction_language", "Intersection_exist"))):
            lang = str(row.get("instruction_language", ""))
            key = str(row.get("key") or f"row{n}")
            out[f"{lang}-{key}"] = {"language": lang, "intersection": bool(row.get("Intersection_exist"))}
        return out

    def upstream_output(self, sample: Sample) -> PurePosixPath:
        """GEdit's layout for edited images: `fullset/<task_type>/<lang>/<key>.png`."""
        return PurePosixPath("fullset", sample.category, str(sample.extra["language"]), f"{sample.extra['key']}.png")
