"""Scoring of final (and budget-cut) images, on a background thread so it overlaps with editing.

Scores are keyed by (sample, image hash, column): an image is judged once, whichever budget or re-score asks
for it. A metric that raises never becomes a number: its items get `Score(None, status=error)`.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image

from mirabench.plugins import Metric, ScoreItem
from mirabench.store import RunStore
from mirabench.types import Sample, Score, ScoreStatus

__all__ = ["ScoreJob", "Scorer", "score_now"]


@dataclass(frozen=True)
class ScoreJob:
    sample: Sample
    source: Image.Image
    image: Image.Image
    image_hash: str


def score_now(metrics: Sequence[Metric], jobs: Sequence[ScoreJob], store: RunStore) -> int:
    """Score jobs with every metric and commit the rows; returns the number of judgements made."""
    rows = []
    items = [ScoreItem(j.sample, j.source, j.image) for j in jobs]
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
    """A single background worker fed by the scheduler; `join()` waits for everything submitted."""

    def __init__(self, metrics: Sequence[Metric], store: RunStore, batch_size: int = 32) -> None:
        self.metrics = list(metrics)
        self.store = store
        self.batch_size = batch_size
        self.judgements = 0
        self._queue: queue.Queue[ScoreJob | None] = queue.Queue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="scorer", daemon=True)
        self._thread.start()

    def submit(self, jobs: Sequence[ScoreJob]) -> None:
        if self._error is not None:  # the worker's own error (e.g. disk full), so callers can handle its kind
            raise self._error
        for job in jobs:
            self._queue.put(job)

    def join(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:  # the worker's own error (e.g. disk full), so callers can handle its kind
            raise self._error

    def _work(self) -> None:
        done = False
        while not done:
            batch: list[ScoreJob] = []
            item = self._queue.get()
            while item is not None:
                batch.append(item)
                if len(batch) >= self.batch_size:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if item is None:
                done = True
            if batch:
                try:
                    self.judgements += score_now(self.metrics, batch, self.store)
                except BaseException as exc:  # store failure: surface it in join(), keep no half state
                    self._error = exc
                    return
