"""`jsonl`: any benchmark written as one JSON object per line (the format mira500 and user sets share).

    {"id": "mb-0001", "image": "images/0001.png", "instruction": "make the sky pink, then remove the dog",
     "atomic": ["make the sky pink", "remove the dog"], "category": "2-edits", "source": "magicbrush"}

`image` is relative to the file's folder (the data root); rows whose image path leaves that root, and rows that
are not valid, become failed samples with a message naming the line, so the rest of the benchmark still runs.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from mirabench.data.files import failed_sample, file_digest, inside
from mirabench.plugins import Options, Suite
from mirabench.registry import suites
from mirabench.types import Sample

MAX_INSTRUCTION_CHARS = 4096
"""Longer instructions are refused as rows: no benchmark instruction is near this, a pasted file is."""
MAX_LINE_BYTES = 1 << 20
"""A manifest row longer than this is refused (a row is an id, a path, an instruction and a few fields)."""


class JsonlOptions(Options):
    path: Path
    root: Path | None = None


@suites.register("jsonl", description="Samples from a JSONL manifest (--set suite.path=FILE)")
class JsonlSuite(Suite[JsonlOptions]):
    """Reads a manifest lazily; images are decoded only when the scheduler admits the sample."""

    version = "1"
    Options = JsonlOptions

    @property
    def data_version(self) -> str:  # type: ignore[override]
        """The manifest's digest: an edited row makes another config (each image is checked on resume)."""
        path = Path(self.options.path)
        return f"jsonl:{file_digest(path)}" if path.is_file() else "jsonl:missing"

    def samples(self) -> Iterator[Sample]:
        opts = self.options
        path = Path(opts.path)
        if not path.is_file():
            raise FileNotFoundError(f"suite manifest not found: {path}")
        yield from read_manifest(path, opts.root, self.name)


def read_manifest(path: Path, root: Path | None, suite: str) -> Iterator[Sample]:
    """Every non-blank line of a JSONL manifest as a Sample (shared by `jsonl` and `mira500`).

    A UTF-8 byte-order mark (Windows editors write one) is not part of the first row. A line over MAX_LINE_BYTES
    is a failed sample and is skipped without being held in memory (a manifest with no newlines is one line)."""
    base = Path(root or path.parent).resolve()
    with open(path, "rb") as fh:
        for n, raw in enumerate(_lines(fh), start=1):
            if raw is None:
                yield failed_sample(f"line-{n}", suite, f"line {n}: over {MAX_LINE_BYTES} bytes (not a manifest row)")
            elif raw.strip():
                yield row_sample(raw.removeprefix(codecs.BOM_UTF8) if n == 1 else raw, n, base, suite)


def _lines(fh: BinaryIO) -> Iterator[bytes | None]:
    """The file's lines, each at most MAX_LINE_BYTES; a longer line is read past in chunks and given as None."""
    while raw := fh.readline(MAX_LINE_BYTES + 1):
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while (rest := fh.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                pass
            yield None
        else:
            yield raw


def row_sample(raw: bytes, line: int, root: Path, suite: str) -> Sample:
    """One manifest line to a Sample; any problem becomes a failed sample naming the line, never an exception."""
    where = f"line {line}"
    try:
        row = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return failed_sample(f"line-{line}", suite, f"{where}: not UTF-8 text")
    except json.JSONDecodeError as exc:
        return failed_sample(f"line-{line}", suite, f"{where}: invalid JSON ({exc.msg})")
    except RecursionError:
        return failed_sample(f"line-{line}", suite, f"{where}: invalid JSON (nested too deeply)")
    if not isinstance(row, dict):
        return failed_sample(f"line-{line}", suite, f"{where}: expected a JSON object")
    sid = str(row.get("id") or f"line-{line}")
    missing = [k for k in ("image", "instruction") if not isinstance(row.get(k), str) or not row.get(k)]
    if missing:
        return failed_sample(sid, suite, f"{where} (id {sid!r}): missing or non-text field(s) {', '.join(missing)}")
    if len(row["instruction"]) > MAX_INSTRUCTION_CHARS:  # a pasted file, not an instruction: never bill a judge for it
        n_chars = len(row["instruction"])
        return failed_sample(
            sid, suite, f"{where} (id {sid!r}): instruction is {n_chars} characters, over {MAX_INSTRUCTION_CHARS}"
        )
    if "\0" in row["image"]:
        return failed_sample(sid, suite, f"{where} (id {sid!r}): image path {row['image']!r} contains a NUL byte")
    image = inside(root, row["image"])
    if image is None:
        return failed_sample(
            sid, suite, f"{where} (id {sid!r}): image path {row['image']!r} leaves the data root {root}"
        )
    atomic = row.get("atomic") or []
    return Sample(
        id=sid,
        instruction=row["instruction"],
        image=image,
        suite=suite,
        category=str(row.get("category", "")),
        atomic=tuple(str(a) for a in atomic) if isinstance(atomic, list) else (),
        extra={k: v for k, v in row.items() if k not in ("id", "image", "instruction", "category", "atomic")},
    )
