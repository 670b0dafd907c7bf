"""The report's trajectory gallery: per sample and system, the source, every step's image and instruction, the stop
reason and the scores, with thumbnails made once into the report's folder.

Thumbnails are content-addressed (the run's images already are), so reports that share a folder share them and a
re-render only makes the missing ones. A one-run page (RUN/report.html) also embeds them as data: URIs (up to
INLINE_BUDGET bytes, each distinct thumbnail once), so it still shows its gallery when mailed or copied alone;
only the full-size images behind each thumbnail link into the run directory. A many-run site is a folder. The
page gets the gallery as JSON and builds it with DOM text nodes, so no user string is ever parsed as markup.
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from PIL import Image

from mirabench.images import atomic_write_bytes
from mirabench.rundir.rundir import Run

__all__ = [
    "GALLERY_SAMPLES",
    "INLINE_BUDGET",
    "THUMB_MIME",
    "THUMB_PX",
    "embed_thumbnails",
    "gallery_data",
    "make_thumbnails",
    "place_thumbnails",
    "thumbnail_path",
    "thumbnail_jpeg",
]

THUMB_PX = 160
THUMB_SUFFIX, THUMB_MIME = ".jpg", "image/jpeg"
"""JPEG: 0.05 ms to encode a 160 px thumbnail where WebP (Pillow's animation encoder) takes 0.95 ms, ~10% larger."""
INLINE_BUDGET = 8 * 2**20  # bytes of embedded thumbnails per page (~1500 at 160 px); the rest load from thumbs/
THUMB_DIR = "thumbs"
GALLERY_SAMPLES = 100
"""Default number of samples in the gallery (thumbnails are made for these only): the first ones in suite order."""


def thumbnail_path(out_dir: Path, image_rel: str) -> Path:
    """Where the report in `out_dir` keeps the thumbnail of a run's image (`images/<hash>.png`)."""
    return out_dir / THUMB_DIR / f"{Path(image_rel).stem}{THUMB_SUFFIX}"


def thumbnail_jpeg(image: Image.Image, px: int = THUMB_PX) -> bytes:
    """An image's thumbnail as JPEG bytes, at most `px` on a side. The run makes it while a step's image is still
    in memory (kept in its store), a report for any thumbnail the run has none of (from the PNG); same bytes."""
    im = image if image.mode == "RGB" else image.convert("RGB")
    factor = -(-max(im.size) // px)
    if factor > 1:
        # a box average of factor x factor pixels (no aliasing): 0.25 ms for a 512 px photo where a bicubic
        # thumbnail took 0.7 ms; the page shows thumbnails at 120 CSS px, so 128-160 px is all it needs
        im = im.reduce(factor)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=80)
    return buf.getvalue()


def _thumb(src: Path, dest: Path, px: int = THUMB_PX) -> bool:
    try:
        with Image.open(src) as im:
            im.draft("RGB", (px * 2, px * 2))  # JPEG sources decode at reduced size
            im.load()
            atomic_write_bytes(dest, thumbnail_jpeg(im, px))
        return True
    except OSError:
        return False


def make_thumbnails(
    jobs: Mapping[Path, Path],
    stored: Mapping[Path, bytes] | None = None,
    workers: int | None = None,
    px: int = THUMB_PX,
) -> int:
    """Write each missing thumbnail dest: the run's own (`stored`) when it kept one, else made from its src (in
    threads: Pillow decodes without the GIL); returns how many were written."""
    stored = stored or {}
    todo = [(s, d) for d, s in jobs.items() if not d.exists()]
    if not todo:
        return 0
    todo[0][1].parent.mkdir(parents=True, exist_ok=True)

    def one(src: Path, dest: Path) -> bool:
        kept = stored.get(dest)
        if kept is None:
            return _thumb(src, dest, px)
        atomic_write_bytes(dest, kept)
        return True

    with ThreadPoolExecutor(max_workers=workers or min(8, os.cpu_count() or 1)) as pool:
        return sum(pool.map(lambda job: one(*job), todo))


def place_thumbnails(
    data: dict[str, Any], jobs: Mapping[Path, Path], stored: Mapping[Path, bytes], out_dir: Path, embed: bool
) -> None:
    """Give the gallery in `data` its thumbnails: embedded in the page (`embed`, a one-run page) as far as
    INLINE_BUDGET allows, the rest as files in out_dir/thumbs/. The run's own thumbnails are used as they are:
    no PNG is decoded for them, and no file is written for one the page embeds."""
    if not embed:
        make_thumbnails(jobs, stored)
        return
    make_thumbnails({dest: src for dest, src in jobs.items() if dest not in stored})
    linked = embed_thumbnails(data, out_dir, stored=stored)
    make_thumbnails({dest: jobs[dest] for dest in linked if dest in jobs}, stored)


def _href(target: Path, base: Path) -> str:
    """A relative URL from the report's folder; './' first so no path can read as a scheme (javascript:)."""
    rel = os.path.relpath(target, base).replace(os.sep, "/")
    return quote(rel if rel.startswith("../") else "./" + rel)


def gallery_data(
    runs: Sequence[Run], names: Sequence[str], out_dir: Path | None, limit: int | None
) -> tuple[dict[str, Any], dict[Path, Path], dict[Path, bytes]]:
    """The gallery's JSON (first `limit` samples, in the first run's order), the thumbnails it needs (where each
    goes: its image) and the ones the runs kept (where each goes: its JPEG bytes).

    Without an output folder (a report rendered to a string) the gallery has text only.
    """
    order: list[str] = []
    seen: set[str] = set()
    for r in runs:
        for sid in r.by_id:
            if sid not in seen:
                seen.add(sid)
                order.append(sid)
    shown = order if limit is None or limit < 0 else order[:limit]
    jobs: dict[Path, Path] = {}
    stored: dict[Path, bytes] = {}

    def image(run: Run, rel: str | None) -> dict[str, str] | None:
        src = run.file(rel)
        if src is None or rel is None or out_dir is None:
            return None
        dest = thumbnail_path(out_dir, rel)
        jobs[dest] = src
        kept = run.thumbnail(rel)
        if kept is not None:
            stored[dest] = kept
        return {"thumb": _href(dest, out_dir), "full": _href(src, out_dir)}

    samples = []
    for sid in shown:
        entry: dict[str, Any] = {"id": sid, "instruction": "", "category": "", "runs": []}
        for r in runs:
            row = r.by_id.get(sid)
            if row is None:
                entry["runs"].append(None)
                continue
            entry["instruction"] = entry["instruction"] or row.instruction
            entry["category"] = entry["category"] or row.category
            steps = []
            stop_text = ""
            for s in row.steps:
                if s.kind == "edit":
                    steps.append(
                        {
                            "t": s.t,
                            "instruction": s.instruction or "",
                            "image": image(r, s.image),
                            "error": s.error or "",
                        }
                    )
                else:
                    stop_text = s.reason or s.error or ""
            entry["runs"].append(
                {
                    "source": image(r, row.source_image),
                    "steps": steps,
                    "stop_reason": row.stop_reason or row.status,
                    "stop_text": stop_text,
                    "error": row.error or "",
                    "scores": row.scores,
                    "status": row.score_status,
                }
            )
        samples.append(entry)
    data = {"systems": list(names), "samples": samples, "total": len(order), "shown": len(shown)}
    return data, jobs, stored


def _thumb_links(data: dict[str, Any]) -> Iterator[str]:
    for sample in data.get("samples", []):
        for run in sample["runs"]:
            if run is None:
                continue
            for img in [run["source"], *(st["image"] for st in run["steps"])]:
                if img:
                    yield img["thumb"]


def embed_thumbnails(
    data: dict[str, Any], out_dir: Path, budget: int = INLINE_BUDGET, stored: Mapping[Path, bytes] | None = None
) -> set[Path]:
    """Put each distinct thumbnail in `data["inline"]` as a data: URI while the total stays within `budget`;
    `data["linked"]` counts those left as links into thumbs/ (over budget, or not made), whose files it returns.
    A thumbnail's bytes come from its file in thumbs/, else from `stored` (the run's own)."""
    stored = stored or {}
    inline: dict[str, str] = {}
    linked: dict[str, Path] = {}
    used = 0
    for href in _thumb_links(data):
        if href in inline or href in linked:
            continue
        path = out_dir / unquote(href)
        jpeg = path.read_bytes() if path.is_file() else stored.get(path)
        uri = f"data:{THUMB_MIME};base64," + base64.b64encode(jpeg).decode() if jpeg else ""
        if uri and used + len(uri) <= budget:
            inline[href] = uri
            used += len(uri)
        else:
            linked[href] = path
    data["inline"], data["linked"] = inline, len(linked)
    return set(linked.values())
