"""Keep credentials out of everything we store or print: servers may echo a key back (in an error body, an
answer, a model name) and users put keys in URLs (`http://user:KEY@host/v1`). Every string that came from a
provider passes through `scrub` before it is cut, stored, cached or shown; run.json passes through `scrub_all`."""

from __future__ import annotations

import os
import re
from typing import Any

__all__ = ["MESSAGE_CHARS", "scrub", "scrub_all"]

MESSAGE_CHARS = 500
"""Error messages are cut to this many characters, always after scrubbing (a cut key would survive as a prefix)."""
_SECRET_ENV = re.compile(r"(api[_-]?key|token|secret|password)", re.IGNORECASE)
_MIN_LEN = 8  # shorter values (e.g. "1", "true") are not credentials and would mask ordinary text
_USERINFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://)[^/\s@]+@")


def scrub(text: str) -> str:
    """`text` with every secret-looking environment variable's value and every URL's userinfo (user:password@)
    replaced by `***`."""
    for name, value in os.environ.items():
        if len(value) >= _MIN_LEN and _SECRET_ENV.search(name) and value in text:
            text = text.replace(value, "***")
    return _USERINFO.sub(r"\1***@", text) if "@" in text else text


def scrub_all(value: Any) -> Any:
    """`scrub` applied to every string in nested dicts, lists and tuples (keys included)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub_all(k): scrub_all(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(scrub_all(v) for v in value)
    return value
