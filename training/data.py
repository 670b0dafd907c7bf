"""MIRA-Editing data construction: multi-turn sessions -> ranked trajectories -> step-wise supervision.

The supplementary's pipeline (A.1), each stage a resumable file in the output folder:

1. `sessions.jsonl`   instruction aggregation: each session's atomic turns joined into one complex instruction C,
                      in-order and permuted variants;
2. `variants.jsonl`   two-level rewriting: every atomic turn paraphrased, then the whole C rewritten;
3. `candidates.jsonl` each rewritten variant executed turn by turn by an editor plugin (cached), its final image
                      scored against the original C by a metric plugin; the top-1 candidate is kept;
4. `dataset/`         the kept trajectory decomposed into start (I0, I0, C -> u1), continue (I0, I_{t-1}, C -> u_t)
                      and stop (I0, I_T, C -> stop) rows, saved as a Hugging Face `datasets` folder with images,
                      plus `stats.json` (sub-task counts, editor mix, row kinds).

A stage skips the sessions its file already holds, so a killed build resumes where it stopped.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PIL import Image

from mirabench.backends.local_vlm import ChatBackend
from mirabench.cache import Cache
from mirabench.data.mira500 import complex_instruction
from mirabench.images import ImageDir, image_hash, load_image, source_image
from mirabench.plugins import Editor, Metric, ScoreItem
from mirabench.run.editing import run_edits
from mirabench.types import EditRequest, Sample

__all__ = [
    "STOP_TARGET",
    "Candidate",
    "ChatRewriter",
    "EditSession",
    "Rewriter",
    "ShapesRewriter",
    "Variant",
    "aggregate",
    "build",
    "decompose",
    "shapes_sessions",
]

STOP_TARGET = "<stop>"
"""What a stop row teaches the agent to say (the spelling of the paper's D.1 walk-through)."""


@dataclass(frozen=True)
class EditSession:
    """One multi-turn editing session: a source image and its atomic turns in execution order."""

    id: str
    source: Path | Image.Image
    turns: tuple[str, ...]
    origin: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Variant:
    """One phrasing of a session: the complex instruction and the atomic turns an editor will execute."""

    session: str
    name: str
    instruction: str
    turns: tuple[str, ...]


@dataclass(frozen=True)
class Candidate:
    """A variant executed by the editor: its step images (hashes) and the judge's score of the final image."""

    session: str
    variant: str
    instruction: str
    turns: tuple[str, ...]
    images: tuple[str, ...]
    score: float | None
    editor: str


# -- stage 1: aggregation -------------------------------------------------------------------------------------


def aggregate(session: EditSession, rng: np.random.Generator, permuted: bool = True) -> list[Variant]:
    """The in-order variant ("A, then B.") and, for 2+ turns, a permuted one ("B, A and C."): the text order
    changes, the execution order stays the session's (the paper's order-invariance augmentation)."""
    variants = [Variant(session.id, "in-order", complex_instruction(list(session.turns), ordered=True), session.turns)]
    if permuted and len(session.turns) > 1:
        order = list(rng.permutation(len(session.turns)))
        while order == sorted(order):
            order = list(rng.permutation(len(session.turns)))
        shuffled = [session.turns[i] for i in order]
        variants.append(Variant(session.id, "permuted", complex_instruction(shuffled, ordered=False), session.turns))
    return variants


# -- stage 2: rewriting ---------------------------------------------------------------------------------------


class Rewriter(Protocol):
    """Paraphrases instructions. LLM rewriters go through a planner plugin; the shapes one is exact."""

    def atomic(self, text: str, rng: np.random.Generator) -> str: ...

    def complex(self, text: str, rng: np.random.Generator) -> str: ...


class ShapesRewriter:
    """Re-says each shapes clause with another of the grammar's phrasings (meaning preserved exactly)."""

    def atomic(self, text: str, rng: np.random.Generator) -> str:
        from mirabench.shapes import parse, say

        op = parse(text)
        return say(op, rng) if op is not None else text

    def complex(self, text: str, rng: np.random.Generator) -> str:
        from mirabench.shapes import join_clauses, split_clauses

        return join_clauses([self.atomic(c, rng) for c in split_clauses(text)], rng)


_ATOMIC_ASK = (
    "Rephrase this image-editing command so it keeps exactly the same meaning but uses different words. "
    "Answer with the new command only.\nCommand: {text}"
)
_COMPLEX_ASK = (
    "Rewrite this image-editing request with a different sentence structure and connectives, keeping every "
    "requested change and nothing else. Answer with the rewritten request only.\nRequest: {text}"
)


class ChatRewriter:
    """Two-level rewriting by a chat model (an API planner through the core judge client, cached and retried).

    A call that fails keeps the original wording, so a variant is never lost; `failures` counts them and the
    build records the count in stats.json.
    """

    def __init__(self, chat: ChatBackend) -> None:
        self.chat = chat
        self.failures = 0

    def _ask(self, prompt: str, original: str) -> str:
        reply = self.chat.generate([[prompt]])[0]
        text = reply.strip().strip('"').strip() if isinstance(reply, str) else ""
        if not text:
            self.failures += 1
            return original
        return text

    def atomic(self, text: str, rng: np.random.Generator) -> str:
        return self._ask(_ATOMIC_ASK.format(text=text), text)

    def complex(self, text: str, rng: np.random.Generator) -> str:
        return self._ask(_COMPLEX_ASK.format(text=text), text)


def rewrite(variant: Variant, rewriter: Rewriter, rng: np.random.Generator, n: int) -> list[Variant]:
    """The original plus `n` two-level rewrites: turns paraphrased, then the complex instruction re-phrased."""
    out = [variant]
    for k in range(n):
        turns = tuple(rewriter.atomic(t, rng) for t in variant.turns)
        out.append(Variant(variant.session, f"{variant.name}/rw{k}", rewriter.complex(variant.instruction, rng), turns))
    return out


# -- stage 3: candidates --------------------------------------------------------------------------------------


def execute(
    variant: Variant, source: Image.Image, editor: Editor, seed: int, images: ImageDir, cache: Cache | None
) -> tuple[list[Image.Image], list[str]]:
    """Run the variant's atomic turns one after another on the latest image (MIRA's cumulative policy)."""
    latest, latest_hash = source, image_hash(source)
    frames, hashes = [], []
    for t, turn in enumerate(variant.turns):
        request = EditRequest(latest, turn, seed + t, variant.session)
        outcome = run_edits(editor, [request], [latest_hash], cache)[0][0]
        if outcome.image is None or outcome.digest is None:
            raise RuntimeError(f"session {variant.session!r}: {outcome.error}")
        latest, latest_hash = outcome.image, outcome.digest
        images.put(latest, latest_hash)
        if cache is not None and outcome.key:
            cache.link_image(outcome.key, latest_hash, images.path(latest_hash))
        frames.append(latest)
        hashes.append(latest_hash)
    return frames, hashes


def rank(candidates: Sequence[Candidate]) -> Candidate | None:
    """Top-1 by score; unscored candidates (failed judgements) never win by default."""
    scored = [c for c in candidates if c.score is not None]
    return max(scored, key=lambda c: c.score or 0.0) if scored else None


# -- stage 4: decomposition -----------------------------------------------------------------------------------


def decompose(source_hash: str, candidate: Candidate) -> list[dict[str, Any]]:
    """Step-wise supervision rows of one kept trajectory (image fields are hashes into `images/`)."""
    rows = []
    previous = source_hash
    for t, (turn, image) in enumerate(zip(candidate.turns, candidate.images, strict=True)):
        rows.append(
            {
                "session": candidate.session,
                "kind": "start" if t == 0 else "continue",
                "step": t,
                "instruction": candidate.instruction,
                "source": source_hash,
                "latest": previous,
                "target": turn,
            }
        )
        previous = image
    rows.append(
        {
            "session": candidate.session,
            "kind": "stop",
            "step": len(candidate.turns),
            "instruction": candidate.instruction,
            "source": source_hash,
            "latest": previous,
            "target": STOP_TARGET,
        }
    )
    return rows


# -- the pipeline ---------------------------------------------------------------------------------------------


def _done(path: Path, key: str) -> set[str]:
    if not path.exists():
        return set()
    done = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            done.add(json.loads(line)[key])
        except (json.JSONDecodeError, KeyError):
            continue  # a line cut by a kill: that session is simply redone
    return done


def _append(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, sort_keys=True) + "\n")
        fh.flush()


def build(
    sessions: Iterable[EditSession],
    out: Path,
    editor: Editor,
    metric: Metric,
    *,
    rewriter: Rewriter | None = None,
    rewrites: int = 1,
    seed: int = 0,
    use_cache: bool = True,
) -> dict[str, Any]:
    """Run stages 1-4 into `out`; returns the statistics. Re-running skips what is already built."""
    out.mkdir(parents=True, exist_ok=True)
    images = ImageDir(out / "images")
    cache = Cache() if use_cache else None
    candidates_path = out / "candidates.jsonl"
    done = _done(candidates_path, "session")
    sessions = list(sessions)
    _append(
        out / "sessions.jsonl",
        [
            {"session": s.id, "origin": s.origin, "turns": list(s.turns)}
            for s in sessions
            if s.id not in _done(out / "sessions.jsonl", "session")
        ],
    )
    primary = metric.columns[0].key
    for session in sessions:
        if session.id in done:
            continue
        rng = np.random.default_rng([seed, int.from_bytes(session.id.encode()[:8].ljust(8, b"\0"), "big")])
        source = session.source if isinstance(session.source, Image.Image) else load_image(session.source)
        source = source.convert("RGB")
        source_hash = images.put(source)
        variants = [
            v
            for base in aggregate(session, rng)
            for v in (rewrite(base, rewriter, rng, rewrites) if rewriter else [base])
        ]
        _append(out / "variants.jsonl", [asdict(v) | {"turns": list(v.turns)} for v in variants])
        reference = variants[0].instruction  # candidates are judged against the original complex instruction
        judged = []
        for v in variants:
            frames, hashes = execute(v, source, editor, seed, images, cache)
            sample = Sample(session.id, reference, source, session.origin, extra=session.extra)
            result = metric.score_batch([ScoreItem(sample, source, frames[-1])])[0].get(primary)
            value = result.value if result is not None else None
            judged.append(Candidate(session.id, v.name, v.instruction, v.turns, tuple(hashes), value, editor.name))
        best = rank(judged)
        _append(
            candidates_path,
            [
                {
                    "session": session.id,
                    "source": source_hash,
                    "kept": best.variant if best else None,
                    "truth": session.extra,
                    "candidates": [asdict(c) for c in judged],
                }
            ],
        )
    if cache is not None:
        cache.close()
    stats = write_dataset(out)
    if isinstance(rewriter, ChatRewriter):
        stats["rewrite_failures"] = rewriter.failures
        (out / "stats.json").write_text(json.dumps(stats, indent=2, sort_keys=True) + "\n")
    return stats


def write_dataset(out: Path) -> dict[str, Any]:
    """Stage 4 from `candidates.jsonl`: the `datasets` folder and `stats.json` (cheap, always redone)."""
    rows: list[dict[str, Any]] = []
    turns_hist: Counter[int] = Counter()
    editors: Counter[str] = Counter()
    dropped = 0
    for line in (out / "candidates.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        kept = [c for c in record["candidates"] if c["variant"] == record["kept"]]
        if not kept:
            dropped += 1
            continue
        c = kept[0]
        cand = Candidate(
            c["session"], c["variant"], c["instruction"], tuple(c["turns"]), tuple(c["images"]), c["score"], c["editor"]
        )
        truth = json.dumps(record.get("truth") or {}, sort_keys=True)
        rows.extend(row | {"truth": truth} for row in decompose(record["source"], cand))
        turns_hist[len(cand.turns)] += 1
        editors[cand.editor] += 1
    stats = {
        "sessions_kept": sum(turns_hist.values()),
        "sessions_dropped": dropped,
        "rows": dict(Counter(r["kind"] for r in rows)),
        "subtasks_per_instruction": {str(k): v for k, v in sorted(turns_hist.items())},
        "editors": dict(editors),
    }
    _save_hf(rows, out)
    (out / "stats.json").write_text(json.dumps(stats, indent=2, sort_keys=True) + "\n")
    return stats


def _save_hf(rows: list[dict[str, Any]], out: Path) -> None:
    from datasets import Dataset, Features, Value
    from datasets import Image as HFImage
    from datasets import List as HFList

    images = ImageDir(out / "images")
    features = Features(
        {
            "session": Value("string"),
            "kind": Value("string"),
            "step": Value("int32"),
            "instruction": Value("string"),
            "target": Value("string"),
            "truth": Value("string"),
            "images": HFList(HFImage()),
        }
    )
    records = [
        {k: r[k] for k in ("session", "kind", "step", "instruction", "target", "truth")}
        | {"images": [str(images.path(r["source"])), str(images.path(r["latest"]))]}
        for r in rows
    ]
    Dataset.from_list(records, features=features).save_to_disk(str(out / "dataset"))


def shapes_sessions(n: int, seed: int = 0, max_goals: int = 4) -> Iterator[EditSession]:
    """Shapes tasks as multi-turn sessions (their atomic clauses in execution order, ground truth kept)."""
    from mirabench.suites.shapes import ShapesSuite

    suite = ShapesSuite(n=n, seed=seed, max_goals=max_goals)
    for sample in suite.samples():
        yield EditSession(sample.id, source_image(sample), sample.atomic, "shapes", sample.extra)


def magicbrush_edit_sessions(root: Path) -> list[EditSession]:
    """Sessions of a local MagicBrush copy (its published layouts, read by mirabench.data)."""
    from mirabench.data.mira500 import magicbrush_sessions
    from mirabench.images import decode_image

    return [
        EditSession(f"magicbrush-{s.key}", decode_image(s.image, s.key), s.turns, "magicbrush")
        for s in magicbrush_sessions(root)
    ]


SEED_DATA_EDIT_DOWNLOAD = (
    "huggingface-cli download AILab-CVC/SEED-Data-Edit-Part2-3 --repo-type dataset --include 'multi_turn_editing/*' "
    "--local-dir DATA/seed-data-edit  (then concatenate and untar multi_turn_editing/images/multi_turn.tar.gz.part-*)"
)
IMGEDIT_DOWNLOAD = (
    "huggingface-cli download sysuyy/ImgEdit --repo-type dataset --include 'Parquet/*' 'Multiturn/*' "
    "--local-dir DATA/imgedit  (then untar the Multiturn/*.tar.split.* archives into DATA/imgedit/Multiturn)"
)


def seed_data_edit_sessions(root: Path) -> list[EditSession]:
    """SEED-Data-Edit Part-3 multi-turn sessions: `annotations/*.jsonl` rows with `source_image` and
    `instruction_1..N`, images under `images/` (or `images/data/`, as some untarred copies have it)."""
    from mirabench.data.files import MissingData, inside

    base = root / "multi_turn_editing" if (root / "multi_turn_editing").is_dir() else root
    files = sorted((base / "annotations").glob("*.jsonl"))
    if not files:
        raise MissingData(
            f"no SEED-Data-Edit multi-turn annotations under {base}. Download with:\n  {SEED_DATA_EDIT_DOWNLOAD}"
        )
    image_roots = [base / "images", base / "images" / "data"]
    sessions = []
    for f in files:
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), start=1):
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a damaged line is one session fewer; the build's stats count what was kept
            turns = tuple(str(row[f"instruction_{i}"]) for i in range(1, 10) if row.get(f"instruction_{i}"))
            found = [p for r in image_roots if (p := inside(r, str(row.get("source_image", "")))) and p.is_file()]
            if turns and found:
                sessions.append(EditSession(f"seed-{f.stem}-{n}", found[0], turns, "seed-data-edit"))
    return sessions


def imgedit_multiturn_sessions(root: Path, include_backtracking: bool = False) -> list[EditSession]:
    """ImgEdit multi-turn sessions from `Parquet/*.parquet` (column `data`: turns of {input_images, prompt}) with
    images extracted under `Multiturn/`. Version-backtracking sessions refer to earlier rounds ("undo the previous
    change"), so they cannot be aggregated into one complex instruction and are left out unless asked for."""
    from mirabench.data.files import MissingData, inside
    from mirabench.data.hf import dataset_files, iter_rows

    files = [f for f in dataset_files(root / "Parquet") if include_backtracking or "backtrack" not in f.name]
    if not files:
        raise MissingData(
            f"no ImgEdit multi-turn parquet files under {root / 'Parquet'}. Download with:\n  {IMGEDIT_DOWNLOAD}"
        )
    sessions = []
    for n, row in enumerate(iter_rows(files, ("data",)), start=1):
        turns = row.get("data")
        if not isinstance(turns, list) or len(turns) < 2:
            continue  # single-turn rows share the parquet layout
        first = (turns[0].get("input_images") or [""])[0]
        source = inside(root / "Multiturn", str(first))
        prompts = tuple(str(t.get("prompt", "")) for t in turns)
        if source is not None and source.is_file() and all(prompts):
            sessions.append(EditSession(f"imgedit-{n}", source, prompts, "imgedit-multiturn"))
    return sessions


READERS = {
    "seed-data-edit": seed_data_edit_sessions,
    "imgedit-multiturn": imgedit_multiturn_sessions,
    "magicbrush": magicbrush_edit_sessions,
}
"""Multi-turn sources of MIRA-Editing (the paper's two, plus MagicBrush's layouts), by `--source` name."""
