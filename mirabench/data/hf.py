"""Rows of a Hugging Face dataset as published: parquet files (Hub download) or Arrow streams (`save_to_disk`).

Read with pyarrow column by column and batch by batch, so large image columns the caller does not ask for are
never loaded. Image cells are `{"bytes": ..., "path": ...}` dicts, as the `datasets` Image feature stores them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

__all__ = ["dataset_files", "image_bytes", "image_suffix", "iter_rows"]


def dataset_files(root: Path, split: str | None = None) -> list[Path]:
    """Parquet files under `root` (else Arrow files, skipping `datasets` cache files), optionally of one split."""
    found = sorted(root.rglob("*.parquet")) or sorted(
        p for p in root.rglob("*.arrow") if not p.name.startswith("cache-")
    )
    if split is not None:
        found = [p for p in found if p.name.startswith(f"{split}-") or split in p.relative_to(root).parts[:-1]]
    return found


def iter_rows(files: Sequence[Path], columns: Sequence[str], batch_size: int = 64) -> Iterator[dict[str, Any]]:
    """Dict rows with only `columns` (those a file lacks are absent from its rows)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for f in files:
        if f.suffix == ".parquet":
            pf = pq.ParquetFile(f)
            cols = [c for c in columns if c in pf.schema_arrow.names]
            batches: Iterator[Any] = pf.iter_batches(batch_size=batch_size, columns=cols)
        else:
            with pa.memory_map(str(f)) as source:
                table = pa.ipc.open_stream(source).read_all()
            batches = iter(table.select([c for c in columns if c in table.column_names]).to_batches(batch_size))
        for batch in batches:
            yield from batch.to_pylist()


def image_bytes(cell: object) -> bytes | None:
    """The encoded bytes of an Image-feature cell, or None."""
    if isinstance(cell, dict) and isinstance(cell.get("bytes"), bytes) and cell["bytes"]:
        return bytes(cell["bytes"])
    return None


def image_suffix(data: bytes) -> str:
    """A file suffix for encoded image bytes (PNG or JPEG; anything else still opens by content)."""
    return ".png" if data.startswith(b"\x89PNG") else ".jpg" if data.startswith(b"\xff\xd8") else ".img"
