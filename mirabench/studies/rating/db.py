"""The ratings of a study: one SQLite file (WAL) in the study folder, one row per (rater, sample, system, criterion).

Every rating is committed as it is given (upsert: a changed mind overwrites the score and keeps the first
timestamp), so a reload, a server restart or a kill loses nothing that the browser was told was saved. WAL lets
the server's worker threads read while one writes; each call opens its own short-lived connection.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pandas as pd

__all__ = ["CRITERIA", "RatingDB"]

CRITERIA = ("sc", "pq", "bp")  # semantic consistency, perceptual quality, background preservation
DB_FILE = "ratings.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS ratings (
    rater TEXT NOT NULL, sample_id TEXT NOT NULL, system TEXT NOT NULL, criterion TEXT NOT NULL,
    score REAL NOT NULL, created REAL NOT NULL, updated REAL NOT NULL,
    PRIMARY KEY (rater, sample_id, system, criterion)
);
CREATE TABLE IF NOT EXISTS progress (
    rater TEXT NOT NULL, sample_id TEXT NOT NULL, opened REAL NOT NULL, submitted REAL,
    PRIMARY KEY (rater, sample_id)
);
"""


class RatingDB:
    """Read and write one study's ratings.sqlite."""

    def __init__(self, study_dir: Path) -> None:
        self.path = Path(study_dir) / DB_FILE
        with self._connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as con:
            con.execute("PRAGMA synchronous=FULL")  # a committed rating survives a power cut, not only a crash
            with con:
                yield con

    def rate(self, rater: str, sample_id: str, system: str, criterion: str, score: float) -> None:
        if criterion not in CRITERIA:
            raise ValueError(f"criterion must be one of {CRITERIA}")
        if not 0 <= score <= 10:
            raise ValueError("a score is from 0 to 10")
        now = time.time()
        with self._connect() as con:
            con.execute(
                "INSERT INTO ratings VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (rater, sample_id, system, criterion) "
                "DO UPDATE SET score = excluded.score, updated = excluded.updated",
                (rater, sample_id, system, criterion, float(score), now, now),
            )

    def opened(self, rater: str, sample_id: str) -> None:
        """The first time a rater saw an item (later visits keep it): the start of their time on it."""
        with self._connect() as con:
            con.execute("INSERT OR IGNORE INTO progress VALUES (?, ?, ?, NULL)", (rater, sample_id, time.time()))

    def submit(self, rater: str, sample_id: str) -> None:
        """Mark an item done (the first submission counts for timing; revisions later do not move it)."""
        now = time.time()
        with self._connect() as con:
            con.execute("INSERT OR IGNORE INTO progress VALUES (?, ?, ?, NULL)", (rater, sample_id, now))
            con.execute(
                "UPDATE progress SET submitted = COALESCE(submitted, ?) WHERE rater = ? AND sample_id = ?",
                (now, rater, sample_id),
            )

    def scores(self, rater: str, sample_id: str) -> dict[tuple[str, str], float]:
        """One rater's scores on one item, keyed by (system, criterion)."""
        with self._connect() as con:
            rows = con.execute(
                "SELECT system, criterion, score FROM ratings WHERE rater = ? AND sample_id = ?", (rater, sample_id)
            ).fetchall()
        return {(s, c): v for s, c, v in rows}

    def submitted(self, rater: str) -> set[str]:
        with self._connect() as con:
            rows = con.execute(
                "SELECT sample_id FROM progress WHERE rater = ? AND submitted IS NOT NULL", (rater,)
            ).fetchall()
        return {r[0] for r in rows}

    def ratings(self) -> pd.DataFrame:
        """All ratings in the long format: rater, sample_id, system, criterion, score (+ timestamps)."""
        with self._connect() as con:
            return pd.read_sql_query(
                "SELECT rater, sample_id, system, criterion, score, created, updated FROM ratings "
                "ORDER BY rater, sample_id, system, criterion",
                con,
            )

    def progress(self) -> pd.DataFrame:
        """rater, sample_id, opened, submitted (seconds since the epoch; submitted NaN while open)."""
        with self._connect() as con:
            return pd.read_sql_query("SELECT * FROM progress ORDER BY rater, opened", con)
