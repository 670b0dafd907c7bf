"""Agent plugins, one module each (imported by discovery). `mirabench.agents.register("name")` adds your own.

The names below are the agent registry's own methods (see mirabench.registry.Registry).
"""

from mirabench.registry import agents as registry

register = registry.register
add_lazy = registry.add_lazy
build = registry.build
get = registry.get
info = registry.info
names = registry.names

__all__ = ["add_lazy", "build", "get", "info", "names", "register", "registry"]
