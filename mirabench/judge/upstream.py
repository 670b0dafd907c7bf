"""Upstream prompt text, read at run time from installed artefacts and pinned by hash (never copied here).

Python prompt modules are parsed with `ast` and only their string constants are read: the upstream package is
never imported or executed (the `editscore` package's `__init__` pulls numpy/json_repair; its prompt file is data).
"""

from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

__all__ = ["UpstreamFile", "distribution_file", "python_strings", "sha256_text"]


class UpstreamMissing(LookupError):
    """The artefact is not installed / not at the given path."""


@dataclass(frozen=True)
class UpstreamFile:
    path: Path
    source: str  # e.g. "editscore==0.2:editscore/vie_prompts.py"


def sha256_text(*texts: str) -> str:
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


def distribution_file(dist: str, relpath: str) -> UpstreamFile:
    """A file shipped by an installed distribution (found through its RECORD, not by importing it)."""
    try:
        d = metadata.distribution(dist)
    except metadata.PackageNotFoundError:
        raise UpstreamMissing(f"{dist} is not installed") from None
    path = Path(str(d.locate_file(relpath)))
    if not path.is_file():
        raise UpstreamMissing(f"{dist}=={d.version} has no {relpath}")
    return UpstreamFile(path, f"{dist}=={d.version}:{relpath}")


def python_strings(path: Path) -> dict[str, str]:
    """Module-level `NAME = "..."` string constants of a Python file, without executing it."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    out[target.id] = node.value.value
    return out
