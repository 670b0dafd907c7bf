"""Dataset files: where a benchmark's data lives, one clear message when it is missing, safe paths.

Data location, in order: the suite's own option (`--set suite.root=DIR` or `suite.path=FILE`), then
`$MIRABENCH_DATA/<suite folder>`. A missing dataset is one `MissingData` error that says what to download and the
command that does it; nothing is ever downloaded for the user.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from mirabench.images import RootedPath, Unreadable, rooted
from mirabench.types import Sample

__all__ = ["MissingData", "data_home", "failed_sample", "file_digest", "inside", "locate"]


class MissingData(FileNotFoundError):
    """A benchmark's files are not where mirabench looked; the message carries the download command."""


def data_home() -> Path | None:
    env = os.environ.get("MIRABENCH_DATA")
    return Path(env).expanduser() if env else None


def locate(given: Path | None, folder: str, what: str, download: str, option: str = "root") -> Path:
    """The suite's data path: the option if given, else `$MIRABENCH_DATA/<folder>`; missing -> MissingData."""
    home = data_home()
    path = Path(given).expanduser() if given is not None else (home / folder if home else None)
    if path is not None and path.exists():
        return path
    looked = (
        f"not found at {path}" if path is not None else "not configured (no --set suite.{option}, no MIRABENCH_DATA)"
    )
    raise MissingData(
        f"{what} data {looked}. Download it with:\n  {download}\n"
        f"then pass --set suite.{option}=PATH or set MIRABENCH_DATA so that $MIRABENCH_DATA/{folder} exists."
    )


def inside(root: Path, relative: str) -> RootedPath | None:
    """`root / relative` resolved, or None when it escapes the data root (`..`, absolute paths, links out) or
    names no file at all (a NUL byte)."""
    try:
        path = (root / relative).resolve()
    except (ValueError, OSError):
        return None
    base = root.resolve()
    return rooted(base, path) if path.is_relative_to(base) else None


def failed_sample(sid: str, suite: str, message: str, category: str = "") -> Sample:
    """A row that cannot become a sample: kept, counted as failed with its message, never silently dropped."""
    return Sample(id=sid, instruction="", image=Unreadable(message), suite=suite, category=category)


def file_digest(path: Path) -> str:
    """Short sha256 of a data file: recorded as the suite's data version, so a changed file changes the config."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
