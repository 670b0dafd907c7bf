"""`imgedit`: ImgEdit-Bench Basic, single-step edits in 9 categories (737 items), from its published layout.

Layout (Hugging Face `sysuyy/ImgEdit`, `Benchmark.tar` -> `Benchmark/singleturn/`), plus the prompt file from
GitHub (`Benchmark/Basic/basic_edit.json`, revision b3eb8e7 or later, which rewrote 129 prompts):

    ROOT/basic_edit.json        {"<key>": {"id": "animal/000342021.jpg", "prompt": "...", "edit_type": "add"}, ...}
    ROOT/animal/ ROOT/architecture/ ... ROOT/daily object/ ...   (source images; `id` is relative to ROOT)

If `basic_edit.json` is absent the tarball's `singleturn.json` (possibly an older revision) is read instead; pass
`--set suite.edit_json=FILE` to choose. The data version is the sha256 of the prompt file, so numbers from
different prompt revisions never share a config hash. Upstream scripts expect edited images as `<key>.png`
(`upstream_output`), which `mirabench import` reads and `mirabench data export` writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from pydantic import field_validator

from mirabench.data.files import failed_sample, file_digest, inside, locate
from mirabench.plugins import Options, Suite
from mirabench.registry import Needs, suites
from mirabench.types import Sample

CATEGORIES = ("add", "adjust", "extract", "replace", "remove", "background", "style", "compose", "action")
"""ImgEdit `edit_type` values; the paper's column for `compose` is "Hybrid"."""

COLUMN_NAMES = {c: ("Hybrid" if c == "compose" else c.capitalize()) for c in CATEGORIES}
DOWNLOAD = (
    "huggingface-cli download sysuyy/ImgEdit Benchmark.tar --repo-type dataset --local-dir DATA && "
    "tar -xf DATA/Benchmark.tar -C DATA && mkdir -p DATA/imgedit && cp -r DATA/Benchmark/singleturn/. DATA/imgedit/ && "
    "curl -L -o DATA/imgedit/basic_edit.json "
    "https://raw.githubusercontent.com/PKU-YuanGroup/ImgEdit/b3eb8e7/Benchmark/Basic/basic_edit.json"
)


class ImgEditOptions(Options):
    root: Path | None = None
    edit_json: Path | None = None
    categories: tuple[str, ...] = CATEGORIES

    @field_validator("categories", mode="before")
    @classmethod
    def _known(cls, value: object) -> object:
        items = [v.strip() for v in value.split(",")] if isinstance(value, str) else value
        unknown = [c for c in items if c not in CATEGORIES] if isinstance(items, (list, tuple)) else []
        if unknown:
            raise ValueError(f"unknown ImgEdit categories {unknown}; choose from {', '.join(CATEGORIES)}")
        return items


@suites.register(
    "imgedit", description="ImgEdit-Bench Basic single-step (737 items, 9 categories)", needs=Needs(data="imgedit")
)
class ImgEditSuite(Suite[ImgEditOptions]):
    """One sample per prompt-file key; category = `edit_type`; source image read lazily from ROOT/id."""

    version = "1"
    Options = ImgEditOptions

    def root(self) -> Path:
        return locate(self.options.root, "imgedit", "ImgEdit-Bench Basic", DOWNLOAD)

    def prompt_file(self) -> Path:
        if self.options.edit_json is not None:
            path = Path(self.options.edit_json)
            if not path.is_file():
                raise FileNotFoundError(f"ImgEdit prompt file not found: {path}")
            return path
        root = self.root()
        for name in ("basic_edit.json", "singleturn.json"):
            if (root / name).is_file():
                return root / name
        raise FileNotFoundError(
            f"ImgEdit prompt file (basic_edit.json or singleturn.json) not found in {root}: {DOWNLOAD}"
        )

    @property
    def data_version(self) -> str:  # type: ignore[override]
        return f"imgedit-basic:{file_digest(self.prompt_file())}"

    def samples(self) -> Iterator[Sample]:
        root = self.root().resolve()
        path = self.prompt_file()
        try:
            table = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path} is not a valid ImgEdit prompt file: {exc}") from None
        if not isinstance(table, dict):
            raise ValueError(f"{path}: expected an object mapping keys to {{id, prompt, edit_type}}")
        wanted = set(self.options.categories)
        for key in sorted(table, key=_key_order):
            row = table[key]
            edit_type = str(row.get("edit_type", "")) if isinstance(row, dict) else ""
            if edit_type and edit_type not in wanted:
                continue
            yield self._sample(str(key), row, root, edit_type)

    def _sample(self, key: str, row: object, root: Path, edit_type: str) -> Sample:
        if not isinstance(row, dict) or not all(isinstance(row.get(k), str) for k in ("id", "prompt", "edit_type")):
            return failed_sample(key, self.name, f"ImgEdit key {key!r}: expected {{id, prompt, edit_type}} strings")
        image = inside(root, row["id"])
        if image is None:
            return failed_sample(key, self.name, f"ImgEdit key {key!r}: image {row['id']!r} leaves the data root")
        return Sample(
            id=key,
            instruction=row["prompt"],
            image=image,
            suite=self.name,
            category=edit_type,
            extra={"key": key, "edit_type": edit_type, "image_id": row["id"]},
        )

    def upstream_output(self, sample: Sample) -> PurePosixPath:
        """Where ImgEdit's scripts expect this sample's edited image: `<key>.png`."""
        return PurePosixPath(f"{sample.id}.png")


def _key_order(key: str) -> tuple[int, str]:
    return (int(key), key) if key.isdigit() else (1 << 62, key)
