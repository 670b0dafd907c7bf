"""Plugins the roadmap promises but this version does not ship yet.

They are listed by `mirabench list` and refused with a clear message (what it is, which issue tracks it, what it
will need) instead of an unknown-name error or a traceback. An entry disappears when its real plugin registers.

Every plugin of the roadmap ships now, so the list is empty. The registry still imports this module before
discovery; a future entry is one line: `editors.add_planned("name", issue=..., description=..., needs=Needs(...))`
(from `mirabench.registry`).
"""

from __future__ import annotations
