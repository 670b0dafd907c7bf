"""The run directory's durable state: `store.sqlite` plus content-addressed PNGs under `images/`.

Crash safety comes from ordering: step images are written (atomically) before the SQLite transaction that
references them commits, and each wave of steps commits as one transaction. The scheduler commits a wave while the
next one edits (`run.loop`), so a kill -9 loses at most two waves (the one being committed and the one being
edited), and a resume continues every trajectory from its last committed step.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from mirabench.images import ImageDir
from mirabench.judge.journal import Attempt
from mirabench.types import Edit, Score, ScoreStatus, Step, Stop, StopReason, Trajectory

log = logging.getLogger(__name__)

__all__ = ["RETRYABLE", "CallLog", "ImageDir", "RunStore", "SampleRecord", "open_readonly", "read_thumbnails"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS samples (
    id TEXT PRIMARY KEY, idx INTEGER NOT NULL, category TEXT, instruction TEXT,
    source_image TEXT, status TEXT NOT NULL, stop_reason TEXT, error TEXT
);
CREATE TABLE IF NOT EXISTS steps (
    sample_id TEXT NOT NULL, t INTEGER NOT NULL, kind TEXT NOT NULL, instruction TEXT, reason TEXT,
    raw TEXT, critique TEXT, agent_error INTEGER NOT NULL DEFAULT 0, image TEXT, seed INTEGER NOT NULL,
    agent_ms REAL, editor_ms REAL, error TEXT, PRIMARY KEY (sample_id, t)
);
CREATE TABLE IF NOT EXISTS scores (
    sample_id TEXT NOT NULL, image TEXT NOT NULL, metric TEXT NOT NULL, col TEXT NOT NULL,
    value REAL, status TEXT NOT NULL, raw TEXT, detail TEXT, PRIMARY KEY (sample_id, image, col)
);
CREATE TABLE IF NOT EXISTS metric_configs (metric TEXT PRIMARY KEY, config TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS source_stamps (sample_id TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS calls (
    n INTEGER PRIMARY KEY AUTOINCREMENT, session TEXT NOT NULL, label TEXT NOT NULL, key TEXT NOT NULL,
    outcome TEXT NOT NULL, model TEXT, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, cost_usd REAL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, label TEXT NOT NULL, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS thumbnails (image TEXT PRIMARY KEY, jpeg BLOB NOT NULL);
"""


@dataclass
class SampleRecord:
    """What the store knows about one sample: its trajectory so far and whether it is finished."""

    id: str
    idx: int
    status: str
    trajectory: Trajectory
    source_image: str | None
    category: str = ""
    instruction: str = ""

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")


class RunStore:
    """SQLite (WAL) access for one run directory. One writer per process; safe to share across threads."""

    def __init__(self, run_dir: Path, db: Path | None = None) -> None:
        """`db` names a shard's own store file (the images folder is shared by all shards of the run).
        Writers hold the run dir's writer lock (`rundir.writer`) while a store is open."""
        self.run_dir = run_dir
        self.path = db or run_dir / "store.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.images = ImageDir(run_dir / "images")
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._writer = ThreadPoolExecutor(max_workers=2, thread_name_prefix="png")

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- images -----------------------------------------------------------------------------------------------

    def put_images(
        self,
        images: Iterable[tuple[str, Image.Image, bytes | None]],
        then: Callable[[str, Image.Image], None] | None = None,
    ) -> None:
        """Encode and write PNGs (digest, image, its `tobytes()` if already made) on worker threads (the encoders
        release the GIL); returns when all are on disk. `then(digest, image)` runs in the same worker on each image
        written now, while it is still in memory."""
        todo = {item[0]: item for item in images if not self.images.has(item[0])}  # one write per digest

        def write(item: tuple[str, Image.Image, bytes | None]) -> None:
            digest, image, raw = item
            self.images.put(image, digest, raw)
            if then is not None:
                then(digest, image)

        list(self._writer.map(write, todo.values()))

    # -- samples and steps ------------------------------------------------------------------------------------

    def add_samples(self, rows: Iterable[tuple[str, int, str, str]]) -> None:
        """Register samples (id, index, category, instruction) as pending; existing rows are kept."""
        with self.transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO samples (id, idx, category, instruction, status) VALUES (?,?,?,?,'pending')",
                rows,
            )

    def record_wave(
        self,
        steps: Iterable[tuple[str, Step]],
        sources: Iterable[tuple[str, str]] = (),
        finished: Iterable[tuple[str, StopReason, str | None]] = (),
        thumbnails: Iterable[tuple[str, bytes]] = (),
    ) -> None:
        """Commit one wave: new source hashes, new steps, the samples that finished and the gallery thumbnails
        (image hash, JPEG) made of its images, atomically. Thumbnails live here rather than as files: a file
        creation costs more than the thumbnail itself on many disks, and the run's page embeds them anyway."""
        with self.transaction() as db:
            db.executemany("INSERT OR IGNORE INTO thumbnails VALUES (?,?)", thumbnails)
            db.executemany(
                "UPDATE samples SET source_image=?, status='running' WHERE id=?",
                [(h, sid) for sid, h in sources],
            )
            db.executemany(
                "INSERT INTO steps VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [_step_row(sid, s) for sid, s in steps],
            )
            db.executemany(
                "UPDATE samples SET status=?, stop_reason=?, error=? WHERE id=?",
                [("failed" if r is StopReason.ERROR else "done", r.value, err, sid) for sid, r, err in finished],
            )

    def fail_sample(self, sample_id: str, error: str) -> None:
        """A sample that could not even start (bad row, unreadable image): recorded, counted, not retried."""
        with self.transaction() as db:
            db.execute(
                "UPDATE samples SET status='failed', stop_reason='error', error=? WHERE id=?",
                (error, sample_id),
            )

    def source_stamps(self) -> dict[str, tuple[int, int]]:
        """(size, mtime_ns) of each sample's source image file as last checked: the cheap test for a changed file."""
        with self._lock:
            rows = self._db.execute("SELECT sample_id, size, mtime_ns FROM source_stamps").fetchall()
        return {sid: (size, mtime) for sid, size, mtime in rows}

    def set_source_stamps(self, rows: Iterable[tuple[str, int, int]]) -> None:
        with self.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO source_stamps VALUES (?,?,?)", rows)

    def restart(self, sample_ids: Iterable[str]) -> None:
        """Forget samples' trajectories and scores (their source image changed): they run again from scratch."""
        ids = [(sid,) for sid in sample_ids]
        with self.transaction() as db:
            db.executemany("DELETE FROM steps WHERE sample_id=?", ids)
            db.executemany("DELETE FROM scores WHERE sample_id=?", ids)
            db.executemany(
                "UPDATE samples SET status='pending', source_image=NULL, stop_reason=NULL, error=NULL WHERE id=?", ids
            )

    def sample_ids(self, where: Callable[[int], bool]) -> set[str]:
        """Ids of registered samples whose suite index passes `where` (a shard's own samples)."""
        with self._lock:
            rows = self._db.execute("SELECT id, idx FROM samples").fetchall()
        return {sid for sid, idx in rows if where(idx)}

    def records(self) -> list[SampleRecord]:
        with self._lock:
            samples = self._db.execute(
                "SELECT id, idx, status, stop_reason, error, source_image, category, instruction"
                " FROM samples ORDER BY idx"
            ).fetchall()
            step_rows = self._db.execute("SELECT * FROM steps ORDER BY sample_id, t").fetchall()
        by_sample: dict[str, list[Step]] = {}
        for row in step_rows:
            by_sample.setdefault(row[0], []).append(_row_step(row))
        out = []
        for sid, idx, status, stop_reason, error, source, category, instruction in samples:
            traj = Trajectory(sid, by_sample.get(sid, []), StopReason(stop_reason) if stop_reason else None, error)
            out.append(SampleRecord(sid, idx, status, traj, source, category or "", instruction or ""))
        return out

    # -- scores -----------------------------------------------------------------------------------------------

    def put_scores(self, rows: Iterable[tuple[str, str, str, str, Score]]) -> None:
        """Rows of (sample_id, image hash, metric, column, Score); a re-score replaces the old value."""
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO scores VALUES (?,?,?,?,?,?,?,?)",
                [
                    (
                        sid,
                        img,
                        metric,
                        col,
                        s.value,
                        s.status.value,
                        s.raw,
                        json.dumps(s.detail, sort_keys=True),
                    )
                    for sid, img, metric, col, s in rows
                ],
            )

    def use_metric_configs(self, configs: Mapping[str, str]) -> dict[str, int]:
        """Record the config (identity digest) each metric scores with from now on. A metric whose config changed
        since its scores were made (another judge model, prompt or option) loses them, so they are made again
        rather than reported under the new config. Returns {metric: scores dropped} for the changed ones."""
        with self.transaction() as db:
            old = dict(db.execute("SELECT metric, config FROM metric_configs").fetchall())
            changed = [m for m, c in configs.items() if m in old and old[m] != c]
            dropped = {m: db.execute("DELETE FROM scores WHERE metric=?", (m,)).rowcount for m in changed}
            db.executemany("INSERT OR REPLACE INTO metric_configs VALUES (?,?)", list(configs.items()))
        return dropped

    def scores(self) -> dict[tuple[str, str], dict[str, Score]]:
        """All scores by (sample_id, image hash) then column."""
        with self._lock:
            rows = self._db.execute("SELECT sample_id, image, col, value, status, raw, detail FROM scores").fetchall()
        out: dict[tuple[str, str], dict[str, Score]] = {}
        for sid, img, col, value, status, raw, detail in rows:
            out.setdefault((sid, img), {})[col] = Score(value, ScoreStatus(status), raw or "", json.loads(detail))
        return out

    # -- API calls (the judge client's journal) ---------------------------------------------------------------

    def record_call(self, session: str, attempt: Attempt, answer: dict[str, Any] | None) -> None:
        """One API attempt and the answer it brought, committed together (one transaction per attempt)."""
        a = attempt
        with self.transaction() as db:
            db.execute(
                "INSERT INTO calls (session, label, key, outcome, model, input_tokens, output_tokens, cost_usd, at)"
                " VALUES (?,?,?,?,?,?,?,?,?)",
                (session, a.label, a.key, a.outcome, a.model, a.input_tokens, a.output_tokens, a.cost_usd, time.time()),
            )
            if answer is not None and a.key:
                db.execute("INSERT OR REPLACE INTO answers VALUES (?,?,?)", (a.key, a.label, json.dumps(answer)))

    def call_answer(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM answers WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def call_totals(self, label: str) -> dict[str, Any]:
        """Attempts, tokens and cost of one client label over the run, and per process (`history`, in order)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT session, COUNT(*), SUM(outcome='ok'), SUM(input_tokens), SUM(output_tokens), SUM(cost_usd),"
                " COUNT(cost_usd), MIN(n) FROM calls WHERE label=? GROUP BY session ORDER BY MIN(n)",
                (label,),
            ).fetchall()
        history = [
            {
                "session": session,
                "attempts": n,
                "answered": ok or 0,
                "input_tokens": tin or 0,
                "output_tokens": tout or 0,
                "cost_usd": round(cost, 6) if priced else None,
            }
            for session, n, ok, tin, tout, cost, priced, _ in rows
        ]
        total: dict[str, Any] = {
            k: sum(h[k] for h in history) for k in ("attempts", "answered", "input_tokens", "output_tokens")
        }
        costs = [h["cost_usd"] for h in history if h["cost_usd"] is not None]
        total["cost_usd"] = round(sum(costs), 6) if costs else None
        total["history"] = history
        return total

    # -- shards -----------------------------------------------------------------------------------------------

    def absorb(self, other: Path, wanted: Callable[[str], bool] = lambda _: True) -> int:
        """Take over from another store file (a shard, or an earlier attempt's) what it has done further.

        Trajectories are prefix-consistent across attempts (a resume continues the last committed step), so per
        sample the record with more progress wins whole; scores are a union where a success replaces a
        retryable failure. Idempotent: absorbing the same file twice changes nothing. Returns samples taken."""
        src = open_readonly(other)
        try:
            if src.execute("SELECT COUNT(*) FROM sqlite_master WHERE name='scores'").fetchone()[0] == 0:
                return 0  # a process killed before its store had a schema: nothing was committed there
            theirs = [r for r in src.execute("SELECT * FROM samples").fetchall() if wanted(r[0])]
            their_steps: dict[str, list[tuple[Any, ...]]] = {}
            for row in src.execute("SELECT * FROM steps ORDER BY sample_id, t"):
                their_steps.setdefault(row[0], []).append(row)
            their_scores = [r for r in src.execute("SELECT * FROM scores").fetchall() if wanted(r[0])]
            their_configs = _metric_configs(src)
            their_thumbs = _thumbnails(src)
        except sqlite3.DatabaseError as exc:
            raise ValueError(
                f"{other} is not a readable mirabench store ({exc}): move it aside and run again"
            ) from None
        finally:
            src.close()
        with self.transaction() as db:
            my_configs = _metric_configs(db)
            adopt = {m: c for m, c in their_configs.items() if m not in my_configs}
            db.executemany("INSERT INTO metric_configs VALUES (?,?)", list(adopt.items()))
            their_scores = [  # scores made under another (or an unknown) config of a metric are not taken
                r for r in their_scores if my_configs.get(r[2]) in (None, their_configs.get(r[2]))
            ]
            n_steps = dict(db.execute("SELECT sample_id, COUNT(*) FROM steps GROUP BY sample_id").fetchall())
            mine = {r[0]: r for r in db.execute("SELECT * FROM samples").fetchall()}
            taken = [
                r
                for r in theirs
                if r[0] not in mine
                or _progress(r, len(their_steps.get(r[0], ()))) > _progress(mine[r[0]], n_steps.get(r[0], 0))
            ]
            db.executemany("DELETE FROM steps WHERE sample_id=?", [(r[0],) for r in taken])
            db.executemany("INSERT OR REPLACE INTO samples VALUES (?,?,?,?,?,?,?,?)", taken)
            db.executemany("INSERT OR IGNORE INTO thumbnails VALUES (?,?)", their_thumbs.items())
            db.executemany(
                "INSERT INTO steps VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [step for r in taken for step in their_steps.get(r[0], ())],
            )
            failed = ", ".join(f"'{s.value}'" for s in RETRYABLE)
            db.executemany(
                "INSERT INTO scores VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (sample_id, image, col) DO UPDATE SET"
                " metric=excluded.metric, value=excluded.value, status=excluded.status, raw=excluded.raw,"
                f" detail=excluded.detail WHERE scores.status IN ({failed}) AND excluded.status NOT IN ({failed})",
                their_scores,
            )
        return len(taken)


class CallLog:
    """The run store as one process's judge-client journal (`mirabench.judge.journal.Journal`)."""

    def __init__(self, store: RunStore, session: str) -> None:
        self.store = store
        self.session = session

    def record(self, attempt: Attempt, answer: dict[str, Any] | None = None) -> None:
        self.store.record_call(self.session, attempt, answer)

    def answer(self, key: str) -> dict[str, Any] | None:
        return self.store.call_answer(key)

    def totals(self, label: str) -> dict[str, Any]:
        return self.store.call_totals(label)


def open_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection to a store file another process may be writing (WAL readers never block it).

    A store in a folder this user cannot write (a read-only copy of a finished run) cannot get its WAL index
    file, so it is opened as immutable: nobody can be writing it there."""
    uri = path.resolve().as_uri()
    if not os.access(path.parent, os.W_OK) and not path.with_name(f"{path.name}-shm").exists():
        return sqlite3.connect(f"{uri}?immutable=1", uri=True)
    return sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=30)


def read_thumbnails(path: Path) -> dict[str, bytes]:
    """The gallery thumbnails a store holds, by image hash (none: no store, or one from before thumbnails)."""
    if not path.is_file():
        return {}
    try:
        with closing(open_readonly(path)) as db:
            return _thumbnails(db)
    except sqlite3.DatabaseError as exc:  # a report still renders: it makes the thumbnails from the images
        log.warning("thumbnails not read from %s (%s): made from the images instead", path, exc)
        return {}


def _thumbnails(db: sqlite3.Connection) -> dict[str, bytes]:
    """Only JPEG bytes are taken: a tampered store cannot put anything else into a page or a thumbs/ folder."""
    try:
        rows = db.execute("SELECT image, jpeg FROM thumbnails").fetchall()
    except sqlite3.OperationalError:  # a store from before thumbnails were kept in it
        return {}
    return {image: bytes(jpeg) for image, jpeg in rows if isinstance(jpeg, bytes) and jpeg[:3] == b"\xff\xd8\xff"}


def _metric_configs(db: sqlite3.Connection) -> dict[str, str]:
    try:
        return dict(db.execute("SELECT metric, config FROM metric_configs").fetchall())
    except sqlite3.OperationalError:  # a store from before configs were recorded: its scores are taken as they are
        return {}


RETRYABLE = (ScoreStatus.API_ERROR, ScoreStatus.ERROR)
"""Failures a later attempt may not repeat (a service that was down, a backend that crashed)."""


def _progress(sample_row: tuple[Any, ...], n_steps: int) -> tuple[bool, int, bool]:
    """How far a sample got: properly finished first, then committed steps, then whether it was tried at all.
    (A sample whose image failed to load is `failed` without a source image: retried, so not finished.)"""
    _, _, _, _, source_image, status, _, _ = sample_row
    finished = status == "done" or (status == "failed" and source_image is not None)
    return finished, n_steps, status != "pending"


def _step_row(sample_id: str, step: Step) -> tuple[Any, ...]:
    action = step.action
    critique = json.dumps(action.critique) if action.critique else None
    if isinstance(action, Edit):
        return (
            sample_id,
            step.index,
            "edit",
            action.instruction,
            None,
            action.raw,
            critique,
            0,
            step.image,
            step.seed,
            step.agent_ms,
            step.editor_ms,
            step.error,
        )
    return (
        sample_id,
        step.index,
        "stop",
        None,
        action.reason,
        action.raw,
        critique,
        int(action.error),
        None,
        step.seed,
        step.agent_ms,
        step.editor_ms,
        step.error,
    )


def _row_step(row: tuple[Any, ...]) -> Step:
    (_, t, kind, instruction, reason, raw, critique, agent_error, image, seed, agent_ms, editor_ms, error) = row
    crit = json.loads(critique) if critique else None
    action: Edit | Stop
    if kind == "edit":
        action = Edit(instruction, crit, raw or "")
    else:
        action = Stop(reason or "", crit, raw or "", bool(agent_error))
    return Step(t, action, image, seed, agent_ms or 0.0, editor_ms or 0.0, error)
