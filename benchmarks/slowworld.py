"""Benchmark-only plugins: the shapes editor and metric plus a fixed latency per request.

The latency stands in for a GPU editor or an API judge, so a benchmark's wall-time ratios reflect calls rather
than the harness. Imported by the scripts beside it (and by their worker processes) to register the plugins.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from PIL import Image
from pydantic import Field

from mirabench.editors.shapes import ShapesEditor, ShapesEditorOptions
from mirabench.images import image_hash
from mirabench.metrics.shapes import ShapesMetric
from mirabench.plugins import Options, ScoreItem
from mirabench.registry import editors, metrics
from mirabench.types import EditRequest, Score


class SlowEditorOptions(ShapesEditorOptions):
    latency_ms: float = Field(0.0, ge=0.0, description="sleep per edit request (one image at a time)")


@editors.register("shapes-slow", description="benchmark only: the shapes editor plus a fixed latency per request")
class SlowShapesEditor(ShapesEditor):
    Options = SlowEditorOptions
    options: SlowEditorOptions

    requests = 0  # edit requests that reached any slow editor in this process (benchmarks count calls with it)
    distinct: set[tuple[str, str, str, int]] = set()  # ... and the distinct ones: editor, input pixels, text, seed

    def edit_batch(self, requests: Sequence[EditRequest]) -> list[Image.Image]:
        SlowShapesEditor.requests += len(requests)
        SlowShapesEditor.distinct.update((self.name, image_hash(r.image), r.instruction, r.seed) for r in requests)
        time.sleep(self.options.latency_ms / 1000 * len(requests))
        return super().edit_batch(requests)


@editors.register("shapes-slow-b", description="benchmark only: shapes-slow under a second name (a second system)")
class SlowShapesEditorB(SlowShapesEditor):
    pass


class GpuEditorOptions(ShapesEditorOptions):
    batch_ms: float = Field(200.0, ge=0.0, description="time per micro-batch, whatever its size (a GPU's forward)")
    batch: int = Field(8, ge=1, description="requests per micro-batch")


@editors.register("shapes-gpu", description="benchmark only: the shapes editor as a GPU: fixed time per micro-batch")
class GpuShapesEditor(ShapesEditor):
    """Busy `batch_ms` per micro-batch of up to `batch` requests; `busy_s` adds up the time inside `edit_batch`
    (all instances, so a benchmark reads it however the run built the editor)."""

    Options = GpuEditorOptions
    options: GpuEditorOptions
    busy_s = 0.0
    first: float | None = None  # perf_counter at the first call's start and the last call's end
    last: float | None = None

    def edit_batch(self, requests: Sequence[EditRequest]) -> list[Image.Image]:
        t0 = time.perf_counter()
        if GpuShapesEditor.first is None:
            GpuShapesEditor.first = t0
        out: list[Image.Image] = []
        for start in range(0, len(requests), self.options.batch):
            chunk = requests[start : start + self.options.batch]
            end = time.perf_counter() + self.options.batch_ms / 1000
            out.extend(super().edit_batch(chunk))
            time.sleep(max(0.0, end - time.perf_counter()))
        GpuShapesEditor.last = time.perf_counter()
        GpuShapesEditor.busy_s += GpuShapesEditor.last - t0
        return out


class SlowMetricOptions(Options):
    latency_ms: float = Field(0.0, ge=0.0, description="sleep per judged item")


@metrics.register("shapes-slow", description="benchmark only: the shapes metric plus a fixed latency per item")
class SlowShapesMetric(ShapesMetric):
    Options = SlowMetricOptions
    options: SlowMetricOptions

    def score_batch(self, items: Sequence[ScoreItem]) -> list[dict[str, Score]]:
        time.sleep(self.options.latency_ms / 1000 * len(items))
        return super().score_batch(items)
