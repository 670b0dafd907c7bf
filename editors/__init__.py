"""Editor plugins, one module each (imported by discovery). `mirabench.editors.register("name")` adds your own;
every other name here is the editor registry's own (`build`, `get`, `names`, `info`, `add_lazy`)."""

from typing import Any

from mirabench.registry import editors as registry


def __getattr__(name: str) -> Any:
    return getattr(registry, name)
