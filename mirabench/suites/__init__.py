"""Suite plugins, one module each (imported by discovery). `mirabench.suites.register("name")` adds your own;
every other name here is the suite registry's own (`build`, `get`, `names`, `info`, `add_lazy`)."""

from typing import Any

from mirabench.registry import suites as registry


def __getattr__(name: str) -> Any:
    return getattr(registry, name)
