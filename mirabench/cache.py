"""The global content-addressed cache shared by every run on a machine.

Keys are sha256 digests of everything that determines an answer (backend identity and version, options,
input image hashes, instruction, seed, prompt hashes, decoding parameters, model snapshot). Only deterministic
calls are cached, and only successful answers: a failure is never remembered as a result.
Location: `$MIRABENCH_CACHE_DIR`, else `~/.cache/mirabench`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from PIL import Image

from mirabench.images import ImageDir

__all__ = ["Cache", "cache_dir", "cache_key"]


def cache_dir() -> Path:
    env = os.environ.get("MIRABENCH_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "mirabench"


def cache_key(*parts: Any) -> str:
    """A stable digest of JSON-able parts (dict key order does not matter)."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


class Cache:
    """Key -> JSON value, plus key -> image, in one SQLite file and a folder of PNGs."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or cache_dir()
        self.root.mkdir(parents=True, exist_ok=True)
        self.images = ImageDir(self.root / "images")
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            self.root / "cache.sqlite", check_same_thread=False, timeout=30, isolation_level=None
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, kind TEXT, value TEXT, created REAL)"
        )
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> Any | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM entries WHERE key=?", (key,)).fetchone()
        if row is None:
            self.misses += 1
            return None
        self.hits += 1
        return json.loads(row[0])

    def put(self, key: str, value: Any, kind: str = "json") -> None:
        if value is None or value == "" or value == {} or value == []:
            return  # never cache empty answers
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO entries VALUES (?,?,?,?)", (key, kind, json.dumps(value), time.time())
            )

    def get_image(self, key: str) -> tuple[str, Image.Image] | None:
        digest = self.get(key)
        if digest is None:
            return None
        if not self.images.has(digest):  # entry outlived its file: treat as a miss
            self.hits -= 1
            self.misses += 1
            return None
        return digest, self.images.get(digest)

    def put_image(self, key: str, image: Image.Image, digest: str) -> None:
        self.images.put(image, digest)
        self.put(key, digest, kind="image")

    def link_image(self, key: str, digest: str, existing: Path) -> None:
        """Cache an image already written elsewhere (a run dir) without encoding it again."""
        self.link_images([(key, digest, existing)])

    def link_images(self, items: Iterable[tuple[str, str, Path]]) -> None:
        """`link_image` for many (key, digest, existing file), with one SQLite commit for all (a wave's edits)."""
        rows = []
        for key, digest, existing in items:
            target = self.images.path(digest)
            if not target.exists():
                try:
                    os.link(existing, target)
                except OSError:
                    shutil.copyfile(existing, target)
            rows.append((key, "image", json.dumps(digest), time.time()))
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("INSERT OR REPLACE INTO entries VALUES (?,?,?,?)", rows)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()
