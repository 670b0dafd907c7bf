"""Upstream prompt files pinned by commit and sha256: downloaded by `mirabench data get-prompts`, read at run time.

Their text is never stored in this repository. A judge given `prompts_file=PATH` (or finding the file where
`get-prompts` puts it) records the file's sha256 and whether it is the pinned upstream file.
"""

from __future__ import annotations

import hashlib
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from mirabench.cache import cache_dir
from mirabench.images import atomic_write_bytes

__all__ = ["PINNED", "PinnedFile", "default_path", "download", "pinned_name"]

RAW = "https://raw.githubusercontent.com"


@dataclass(frozen=True)
class PinnedFile:
    name: str  # our short name; also the file name under the prompts folder
    repo: str
    commit: str
    path: str
    sha256: str

    def url(self, base: str = RAW) -> str:
        return f"{base.rstrip('/')}/{self.repo}/{self.commit}/{self.path}"


PINNED = (
    PinnedFile(  # VIEScore `tie` prompts as GEdit-Bench ships them (same bytes as TIGER-AI-Lab/VIEScore@2cbea4e)
        "viescore_vie_prompts.py",
        "stepfun-ai/Step1X-Edit",
        "570eba6ebda0c45c013983a483afbf2fd12bfcbc",
        "GEdit-Bench/viescore/vie_prompts.py",
        "010234af186eb0a70fcb99047cd32ad1da01bed59ca1a95a01335426417cf838",
    ),
    PinnedFile(  # ImgEdit-Bench Basic rubrics, one per edit_type
        "imgedit_prompts.json",
        "PKU-YuanGroup/ImgEdit",
        "b3eb8e74d7cd1fd0ce5341eaf9254744a8ab4c0b",
        "Benchmark/Basic/prompts.json",
        "f9468dc848776ee0a6c2e2c31e678c7224e9cb61b013747c8c52d4a05627b5a0",
    ),
    PinnedFile(  # EditThinker's released thinker prompt (what its vLLM script passes as --eval_prompt_file)
        "editthinker_prompt_template.txt",
        "appletea233/EditThinker",
        "803d1a7980de11db8f39c84cd27f954bd9745d5a",
        "inference/prompt_template.txt",
        "b9f979b53c475963765f65a01312ebe2cb273077499cacd019ed1a0d19ab52c4",
    ),
)


def default_path(name: str) -> Path:
    """Where `get-prompts` puts a pinned file (under the mirabench cache folder)."""
    return cache_dir() / "prompts" / name


def pinned_name(digest: str) -> str | None:
    """`repo@commit:path` of the pinned file with this sha256, else None (a file the user changed or chose)."""
    for f in PINNED:
        if f.sha256 == digest:
            return f"{f.repo}@{f.commit[:12]}:{f.path}"
    return None


def download(files: tuple[PinnedFile, ...] = PINNED, dest: Path | None = None, base: str = RAW) -> list[Path]:
    """Fetch every file by commit and check its sha256, then write them atomically; any mismatch writes nothing."""
    fetched = []
    for f in files:
        with urllib.request.urlopen(f.url(base), timeout=60) as resp:  # noqa: S310 (https or a test's 127.0.0.1)
            data = resp.read()
        got = hashlib.sha256(data).hexdigest()
        if got != f.sha256:
            raise ValueError(f"{f.url(base)}: sha256 {got} is not the pinned {f.sha256}; nothing written")
        fetched.append((f, data))
    out = []
    for f, data in fetched:
        target = (dest or default_path(f.name).parent) / f.name
        atomic_write_bytes(target, data)
        out.append(target)
    return out
