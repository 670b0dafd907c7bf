"""Keep credentials out of messages: servers may echo a key back in an error body, which would then be written
to the store, samples.jsonl, reports and logs. Every failed API call's message passes through `scrub`."""

from __future__ import annotations

import os
import re

__all__ = ["scrub"]

_SECRET_ENV = re.compile(r"(api[_-]?key|token|secret|password)", re.IGNORECASE)
_MIN_LEN = 8  # shorter values (e.g. "1", "true") are not credentials and would mask ordinary text


def scrub(text: str) -> str:
    """`text` with the value of every secret-looking environment variable replaced by `***`."""
    for name, value in os.environ.items():
        if len(value) >= _MIN_LEN and _SECRET_ENV.search(name) and value in text:
            text = text.replace(value, "***")
    return text
