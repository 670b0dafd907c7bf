"""`mirabench data build-mira500`: a 500-sample complex-instruction benchmark from local MagicBrush and CompBench.

The MIRA paper built its benchmark from MagicBrush and CompBench subsets but did not publish it. This rebuilds one
the way the paper describes: each multi-turn editing session becomes one sample whose complex instruction
aggregates the session's turns, in the upstream order (`in-order`) or shuffled (`permuted`); sessions are sampled
with a seed, so the same inputs and options always give the same file (format: mirabench/suites/mira500.py).

Inputs, in their published formats:
* MagicBrush: the Hub dataset `osunlp/MagicBrush` (parquet or `save_to_disk` Arrow; rows `img_id`, `turn_index`,
  `source_img`, `instruction`; a session is the rows of one `img_id`), or the test zip (`edit_sessions.json` +
  `images/<img_id>/<file>`).
* CompBench: the Hub dataset `BohanJia/CompBench`; its `multi_turn` split has two rows per session,
  `image_path` = `turn<k>_<add|remove>/<name>`; the session's image is turn 1's `input_image`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mirabench.data.files import MissingData, inside
from mirabench.data.hf import dataset_files, image_bytes, image_suffix, iter_rows
from mirabench.images import atomic_write_bytes, atomic_write_text

__all__ = [
    "BuildReport",
    "Session",
    "build_mira500",
    "compbench_sessions",
    "complex_instruction",
    "magicbrush_sessions",
]

MAGICBRUSH_DOWNLOAD = "huggingface-cli download osunlp/MagicBrush --repo-type dataset --local-dir DATA/magicbrush"
COMPBENCH_DOWNLOAD = "huggingface-cli download BohanJia/CompBench --repo-type dataset --local-dir DATA/compbench"
_COMPBENCH_TURN = re.compile(r"^turn(\d+)_(add|remove)/(.+)$")


@dataclass(frozen=True)
class Session:
    """One upstream multi-turn session: its turns in upstream order and the encoded source image."""

    source: str
    key: str
    turns: tuple[str, ...]
    image: bytes = field(repr=False)


@dataclass
class BuildReport:
    path: Path
    n: int
    pool: dict[str, int]
    counts: dict[str, Any]
    sha256: str


def magicbrush_sessions(root: Path) -> list[Session]:
    """Sessions of a local MagicBrush copy (Hub parquet/Arrow, or the test zip's `edit_sessions.json`)."""
    if not root.exists():
        raise MissingData(f"MagicBrush not found at {root}. Download it with:\n  {MAGICBRUSH_DOWNLOAD}")
    if (root / "edit_sessions.json").is_file():
        return _magicbrush_zip(root)
    files = dataset_files(root)
    if not files:
        raise MissingData(
            f"no MagicBrush parquet/Arrow files or edit_sessions.json under {root}: {MAGICBRUSH_DOWNLOAD}"
        )
    turns: dict[str, dict[int, str]] = {}
    images: dict[str, bytes] = {}
    for row in iter_rows(files, ("img_id", "turn_index", "source_img", "instruction")):
        key, t, text = str(row.get("img_id")), row.get("turn_index"), row.get("instruction")
        if not isinstance(t, int) or not isinstance(text, str):
            continue
        turns.setdefault(key, {})[t] = text
        data = image_bytes(row.get("source_img"))
        if t == 1 and data:
            images[key] = data
    return [
        Session("magicbrush", key, tuple(by_t[t] for t in sorted(by_t)), images[key])
        for key, by_t in sorted(turns.items())
        if key in images and sorted(by_t) == list(range(1, len(by_t) + 1))
    ]


def _magicbrush_zip(root: Path) -> list[Session]:
    table = json.loads((root / "edit_sessions.json").read_text(encoding="utf-8"))
    out = []
    for key, turns in sorted(table.items()):
        if not isinstance(turns, list) or not turns:
            continue
        first = inside(root / "images" / key, str(turns[0].get("input", "")))
        if first is None or not first.is_file():
            continue
        out.append(
            Session("magicbrush", str(key), tuple(str(t.get("instruction", "")) for t in turns), first.read_bytes())
        )
    return out


def compbench_sessions(root: Path) -> list[Session]:
    """Two-turn add/remove sessions of CompBench's `multi_turn` split."""
    if not root.exists():
        raise MissingData(f"CompBench not found at {root}. Download it with:\n  {COMPBENCH_DOWNLOAD}")
    files = dataset_files(root)
    if not files:
        raise MissingData(f"no CompBench parquet/Arrow files under {root}: {COMPBENCH_DOWNLOAD}")
    turns: dict[str, dict[int, str]] = {}
    images: dict[str, bytes] = {}
    for row in iter_rows(files, ("task", "image_path", "input_image", "instruction")):
        m = _COMPBENCH_TURN.match(str(row.get("image_path", "")))
        if not m or not isinstance(row.get("instruction"), str):
            continue
        t, key = int(m.group(1)), f"{m.group(2)}-{m.group(3)}"
        turns.setdefault(key, {})[t] = row["instruction"]
        data = image_bytes(row.get("input_image"))
        if t == 1 and data:
            images[key] = data
    return [
        Session("compbench", key, tuple(by_t[t] for t in sorted(by_t)), images[key])
        for key, by_t in sorted(turns.items())
        if key in images and sorted(by_t) == list(range(1, len(by_t) + 1))
    ]


def complex_instruction(clauses: list[str], ordered: bool) -> str:
    """One instruction from atomic ones: `A, then B, then C.` (in order) or `A, B, and C.` (order not implied)."""
    parts = [_clause(c, i) for i, c in enumerate(clauses)]
    if ordered or len(parts) < 2:
        text = ", then ".join(parts)
    else:
        text = ", ".join(parts[:-1]) + (", and " if len(parts) > 2 else " and ") + parts[-1]
    return text + "."


def _clause(text: str, i: int) -> str:
    text = text.strip().rstrip(".!;, ").strip()
    if i == 0:
        return text[:1].upper() + text[1:]
    return text[:1].lower() + text[1:] if text[:1].isupper() and not text[1:2].isupper() else text


def _sample_sessions(pool: list[Session], n: int, share: float | None, rng: np.random.Generator) -> Iterator[Session]:
    by_source = {s: [x for x in pool if x.source == s] for s in ("magicbrush", "compbench")}
    if share is None:
        idx = rng.permutation(len(pool))[: min(n, len(pool))]
        yield from (pool[i] for i in sorted(idx))
        return
    want = {"compbench": round(n * share), "magicbrush": n - round(n * share)}
    for source, items in by_source.items():
        idx = rng.permutation(len(items))[: min(want[source], len(items))]
        yield from (items[i] for i in sorted(idx))


def build_mira500(
    out: Path,
    *,
    magicbrush: Path | None = None,
    compbench: Path | None = None,
    n: int = 500,
    seed: int = 0,
    permuted: float = 0.5,
    min_turns: int = 2,
    compbench_share: float | None = None,
) -> BuildReport:
    """Sample `n` sessions (seeded), write `out/mira500.jsonl`, `out/images/` and `out/mira500.build.json`."""
    if magicbrush is None and compbench is None:
        raise MissingData(
            "build-mira500 needs --magicbrush and/or --compbench folders. Download them with:\n"
            f"  {MAGICBRUSH_DOWNLOAD}\n  {COMPBENCH_DOWNLOAD}"
        )
    pool: list[Session] = []
    if magicbrush is not None:
        pool += magicbrush_sessions(Path(magicbrush))
    if compbench is not None:
        pool += compbench_sessions(Path(compbench))
    pool = [s for s in pool if len(s.turns) >= min_turns and all(t.strip() for t in s.turns)]
    pool.sort(key=lambda s: (s.source, s.key))
    rng = np.random.default_rng(seed)
    rows = []
    for session in _sample_sessions(pool, n, compbench_share, rng):
        order = list(range(len(session.turns)))
        is_permuted = len(order) > 1 and bool(rng.random() < permuted)
        if is_permuted:
            while order == sorted(order):
                order = [int(i) for i in rng.permutation(len(order))]
        clauses = [session.turns[i] for i in order]
        sid = f"{'mb' if session.source == 'magicbrush' else 'cb'}-{_safe(session.key)}"
        rel = f"images/{sid}{image_suffix(session.image)}"
        atomic_write_bytes(out / rel, session.image)
        rows.append(
            {
                "id": sid,
                "image": rel,
                "instruction": complex_instruction(clauses, ordered=not is_permuted),
                "atomic": [c.strip() for c in clauses],
                "category": f"{len(clauses)}-edits",
                "source": session.source,
                "session": session.key,
                "order": "permuted" if is_permuted else "in-order",
                "turn_order": order,
            }
        )
    text = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
    atomic_write_text(out / "mira500.jsonl", text)
    digest = hashlib.sha256(text.encode()).hexdigest()
    counts = {
        "source": dict(sorted(Counter(r["source"] for r in rows).items())),
        "order": dict(sorted(Counter(r["order"] for r in rows).items())),
        "category": dict(sorted(Counter(r["category"] for r in rows).items())),
    }
    pool_counts = dict(sorted(Counter(s.source for s in pool).items()))
    build = {
        "format": "mira500-1",
        "n_requested": n,
        "n": len(rows),
        "seed": seed,
        "permuted": permuted,
        "min_turns": min_turns,
        "compbench_share": compbench_share,
        "inputs": {
            "magicbrush": str(magicbrush) if magicbrush else None,
            "compbench": str(compbench) if compbench else None,
        },
        "pool": pool_counts,
        "counts": counts,
        "sha256": digest,
    }
    atomic_write_text(out / "mira500.build.json", json.dumps(build, indent=2, sort_keys=True) + "\n")
    return BuildReport(out / "mira500.jsonl", len(rows), pool_counts, counts, digest)


def _safe(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", key)
