"""Metric plugins, one module each (imported by discovery). `mirabench.metrics.register("name")` adds your own;
every other name here is the metric registry's own (`build`, `get`, `names`, `info`, `add_lazy`)."""

from typing import Any

from mirabench.registry import metrics as registry


def __getattr__(name: str) -> Any:
    return getattr(registry, name)
