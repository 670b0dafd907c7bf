"""Suite plugins, one module each (imported by discovery). `mirabench.suites.register("name")` adds your own.

The names below are the suite registry's own methods (see mirabench.registry.Registry).
"""

from mirabench.registry import suites as registry

register = registry.register
add_lazy = registry.add_lazy
build = registry.build
get = registry.get
info = registry.info
names = registry.names

__all__ = ["add_lazy", "build", "get", "info", "names", "register", "registry"]
