"""Watching a run directory from outside while a process writes it (kill tests poll this to pick their moment)."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def committed_steps(db_path: Path) -> int:
    """Steps committed to a store file so far; 0 before the file or its schema exists (never creates the file)."""
    if not db_path.exists():
        return 0
    try:
        with sqlite3.connect(db_path, timeout=1) as db:
            return int(db.execute("SELECT COUNT(*) FROM steps").fetchone()[0])
    except sqlite3.OperationalError:  # schema not created yet
        return 0
