"""Scoring of final (and budget-cut) images, on a background thread so it overlaps with editing.

The thread is fed through a bounded queue (backpressure): memory stays flat however many samples a run has,
because the scheduler waits when judges lag instead of piling finished images up.

Scores are keyed by (sample, image hash, column): an image is judged once, whichever budget or re-score asks
for it. A metric that raises never becomes a number: its items get `Score(None, status=error)`.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image

from mirabench.plugins import Metric, ScoreItem
from mirabench.rundir.store import RunStore
from mirabench.types import Sample, Score, ScoreStatus

__all__ = ["PENDING_BATCHES", "ScoreJob", "Scorer", "score_now"]

PENDING_BATCHES = 2
"""Default bound of the scorer's queue, in batches: enough to keep the worker busy while a wave hands over more."""


@dataclass(frozen=True)
class ScoreJob:
    sample: Sample
    source: Image.Image
    image: Image.Image
    image_hash: str


def score_now(metrics: Sequence[Metric], jobs: Sequence[ScoreJob], store: RunStore) -> int:
    """Score jobs with every metric and commit the rows; returns the number of judgements made."""
    rows = []
    items = [ScoreItem(j.sample, j.source, j.image, store.images.original(j.image_hash, j.sample.id)) for j in jobs]
    for metric in metrics:
        results = _score_metric(metric, items)
        for job, result in zip(jobs, results, strict=True):
            for column in metric.columns:
                score = result.get(column.key) or Score.failed(
                    ScoreStatus.ERROR, f"metric {metric.name!r} returned no value for column {column.key!r}"
                )
                rows.append((job.sample.id, job.image_hash, metric.name, column.key, score))
    if rows:
        store.put_scores(rows)
    return len(jobs) * len(metrics)


def _score_metric(metric: Metric, items: list[ScoreItem]) -> list[dict[str, Score]]:
    try:
        results = list(metric.score_batch(items))
    except Exception:
        results = []  # isolate the item that fails, one by one
    if len(results) == len(items):
        return results
    out = []
    for item in items:
        try:
            out.append(metric.score_batch([item])[0])
        except Exception as exc:
            failed = Score.failed(ScoreStatus.ERROR, f"metric {metric.name!r} failed: {type(exc).__name__}: {exc}")
            out.append({c.key: failed for c in metric.columns})
    return out


class Scorer:
    """A single background worker fed by the scheduler; `join()` waits for everything submitted.

    Its queue is bounded (`max_pending` jobs; 0 = unbounded): when judges are slower than editing, `submit` blocks
    and the scheduler waits, instead of finished images piling up in memory. A worker that died (a store error)
    wakes any blocked `submit`, which then raises the worker's own error rather than waiting forever.
    Metrics run on this thread, so local GPU metrics overlap the editor's waves; give them their own device with
    their `device` option (`--set metrics.arniqa.device=cuda:1`) to keep them off the editor's GPU.
    """

    def __init__(
        self, metrics: Sequence[Metric], store: RunStore, batch_size: int = 32, max_pending: int | None = None
    ) -> None:
        self.metrics = list(metrics)
        self.store = store
        self.batch_size = batch_size
        self.max_pending = PENDING_BATCHES * batch_size if max_pending is None else max_pending
        self.judgements = 0
        self._pending: deque[ScoreJob] = deque()
        self._closed = False
        self._busy = False
        self._error: BaseException | None = None
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._work, name="scorer", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        """Jobs queued and not yet taken by the worker (at most `max_pending` when bounded)."""
        with self._cond:
            return len(self._pending)

    def submit(self, jobs: Sequence[ScoreJob]) -> None:
        """Queue jobs, blocking while the queue is full; raises the worker's error if it has died."""
        for job in jobs:
            with self._cond:
                while self._error is None and 0 < self.max_pending <= len(self._pending):
                    self._cond.wait()
                if self._error is not None:  # the worker's own error (e.g. disk full), so callers can handle its kind
                    raise self._error
                self._pending.append(job)
                self._cond.notify_all()

    def drain(self) -> None:
        """Wait until everything submitted is scored, the worker staying alive: scoring between waves, so a local
        metric on the editor's GPU never runs while the editor does."""
        with self._cond:
            while self._error is None and (self._pending or self._busy):
                self._cond.wait()
            if self._error is not None:
                raise self._error

    def join(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join()
        if self._error is not None:  # the worker's own error (e.g. disk full), so callers can handle its kind
            raise self._error

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if not self._pending:  # closed and drained
                    return
                batch = [self._pending.popleft() for _ in range(min(self.batch_size, len(self._pending)))]
                self._busy = True
                self._cond.notify_all()  # room again: wake a blocked submit
            try:
                self.judgements += score_now(self.metrics, batch, self.store)
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()  # a drain() may be waiting
            except BaseException as exc:  # store failure: surface it in submit()/join(), keep no half state
                with self._cond:
                    self._error = exc
                    self._pending.clear()  # nothing more will be scored: free the images
                    self._cond.notify_all()
                return
