"""`mira500`: the MIRA paper's 500-sample complex-instruction benchmark (MagicBrush + CompBench subsets).

The paper's file is not public; `mirabench data build-mira500` rebuilds one from local copies of MagicBrush and
CompBench (see mirabench/data/mira500.py). The format is the `jsonl` suite's, with these fields per line:

    {"id": "mb-000042-p", "image": "images/mb-000042.png",
     "instruction": "add a red kite to the sky, and turn the grass brown",
     "atomic": ["add a red kite to the sky", "turn the grass brown"],
     "category": "2-edits", "source": "magicbrush", "session": "000042", "order": "permuted",
     "turn_order": [1, 0]}

* `image` is relative to the file's folder and must stay inside it;
* `instruction` is the complex instruction C the agent and the judges see;
* `atomic` are the sub-instructions in the order C states them (agents must not read them);
* `source` is `magicbrush` or `compbench`, `session` the upstream session key;
* `order` is `in-order` (the upstream turn order) or `permuted`; `turn_order[i]` is the upstream turn index of
  `atomic[i]`.

Location: `--set suite.path=FILE`, else `$MIRABENCH_DATA/mira500/mira500.jsonl`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from mirabench.data.files import file_digest, locate
from mirabench.plugins import Options, Suite
from mirabench.registry import Needs, suites
from mirabench.suites.jsonl import read_manifest
from mirabench.types import Sample

FORMAT_VERSION = "mira500-1"
DOWNLOAD = (
    "huggingface-cli download osunlp/MagicBrush --repo-type dataset --local-dir DATA/magicbrush && "
    "huggingface-cli download BohanJia/CompBench --repo-type dataset --local-dir DATA/compbench && "
    "mirabench data build-mira500 --magicbrush DATA/magicbrush --compbench DATA/compbench --out DATA/mira500"
)


class Mira500Options(Options):
    path: Path | None = None
    root: Path | None = None


@suites.register(
    "mira500",
    description="MIRA 500-sample complex-instruction benchmark (JSONL, built locally)",
    needs=Needs(data="mira500"),
)
class Mira500Suite(Suite[Mira500Options]):
    """Complex multi-edit instructions over MagicBrush and CompBench images, read from the mira500 JSONL."""

    version = "1"
    Options = Mira500Options

    def manifest(self) -> Path:
        given = self.options.path
        path = locate(given, "mira500", "mira500 (MIRA 500-sample benchmark)", DOWNLOAD, option="path")
        return path / "mira500.jsonl" if path.is_dir() else path

    @property
    def data_version(self) -> str:  # type: ignore[override]
        return f"{FORMAT_VERSION}:{file_digest(self.manifest())}"

    def samples(self) -> Iterator[Sample]:
        path = self.manifest()
        if not path.is_file():
            raise FileNotFoundError(f"mira500 manifest not found: {path} (build it with: {DOWNLOAD})")
        yield from read_manifest(path, self.options.root, self.name)
