"""Editor calls as every caller needs them: through the global cache, batched, one failure isolated.

Used by the scheduler, by training-data construction and by GRPO rewards, so an edit made anywhere is an edit
cached everywhere (same key: editor identity, input image hash, instruction, seed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image

from mirabench.cache import Cache, cache_key
from mirabench.images import image_hash
from mirabench.plugins import Editor
from mirabench.types import EditRequest

__all__ = ["EditOutcome", "edit_key", "run_edits"]


@dataclass(frozen=True)
class EditOutcome:
    """An edited image (and its hash) or the error that replaced it.

    `key` is set when the image is new and should be cached once it is stored (callers that write the image
    elsewhere first link that file into the cache instead of encoding it twice). `raw` is a new image's packed
    pixels, made for its hash and kept for its PNG encoder.
    """

    image: Image.Image | None
    digest: str | None
    error: str | None = None
    key: str | None = None
    cached: bool = False
    raw: bytes | None = None


def edit_key(editor: Editor, base_hash: str, request: EditRequest) -> str:
    return cache_key("edit", editor.identity(), base_hash, request.instruction, request.seed)


def run_edits(
    editor: Editor, requests: Sequence[EditRequest], base_hashes: Sequence[str], cache: Cache | None
) -> tuple[list[EditOutcome], int]:
    """Outcomes in request order, and how many requests actually reached the editor."""
    use_cache = cache is not None and editor.deterministic
    outcomes: list[EditOutcome | None] = [None] * len(requests)
    todo: list[tuple[int, str | None]] = []
    for i, (request, base_hash) in enumerate(zip(requests, base_hashes, strict=True)):
        key = edit_key(editor, base_hash, request) if use_cache else None
        hit = cache.get_image(key) if cache is not None and key is not None else None
        if hit is not None:
            outcomes[i] = EditOutcome(hit[1], hit[0], cached=True)
        else:
            todo.append((i, key))
    images = _isolated(editor, [requests[i] for i, _ in todo]) if todo else []
    for (i, key), out in zip(todo, images, strict=True):
        if isinstance(out, Image.Image):
            raw = out.tobytes()
            outcomes[i] = EditOutcome(out, image_hash(out, raw), key=key, raw=raw)
        else:
            outcomes[i] = EditOutcome(None, None, error=out)
    return [o if o is not None else EditOutcome(None, None, "editor produced no result") for o in outcomes], len(todo)


def _isolated(editor: Editor, requests: list[EditRequest]) -> list[Image.Image | str]:
    """One batched call; if it fails, each request alone, so one bad request costs only its own sample."""
    try:
        outs: list[Image.Image | str] = list(editor.edit_batch(requests))
        if len(outs) != len(requests):
            raise RuntimeError(f"edit_batch returned {len(outs)} images for {len(requests)} requests")
    except Exception:
        outs = [_one(editor, r) for r in requests]
    return [
        o if isinstance(o, (Image.Image, str)) else f"editor returned {type(o).__name__}, not an image" for o in outs
    ]


def _one(editor: Editor, request: EditRequest) -> Image.Image | str:
    try:
        return editor.edit_batch([request])[0]
    except Exception as exc:
        return f"editor {editor.name!r} failed: {type(exc).__name__}: {exc}"
