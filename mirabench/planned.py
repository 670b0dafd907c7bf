"""Plugins the roadmap promises but this version does not ship yet.

They are listed by `mirabench list` and refused with a clear message (what it is, which issue tracks it, what it
will need) instead of an unknown-name error or a traceback. An entry disappears when its real plugin registers.
"""

from __future__ import annotations

from mirabench.registry import Needs, editors

OPENAI = Needs(modules=("openai",), extra="api", env=("OPENAI_API_KEY",))

MODELS = "issue #5 (agents and editors)"


editors.add_planned("gpt-image", issue=MODELS, description="OpenAI GPT-Image edits API", needs=OPENAI)
