"""Keep credentials out of everything we store or print: servers may echo a key back (in an error body, an
answer, a model name) and users put keys in URLs (`http://user:KEY@host/v1`). Every string that came from a
provider passes through `scrub` before it is cut, stored, cached or shown; run.json passes through `scrub_all`."""

from __future__ import annotations

import os
import re
from typing import Any

__all__ = ["MESSAGE_CHARS", "scrub", "scrub_all", "secret_values"]

MESSAGE_CHARS = 500
"""Error messages are cut to this many characters, always after scrubbing (a cut key would survive as a prefix)."""
_SECRET_ENV = re.compile(r"(api[_-]?key|token|secret|password)", re.IGNORECASE)
_MIN_LEN = 8  # shorter values (e.g. "1", "true") are not credentials and would mask ordinary text
_USERINFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://)[^/\s@]+@")


def secret_values() -> list[str]:
    """The values of the secret-looking environment variables now (read once per `scrub_all`, not per string)."""
    return [v for k, v in os.environ.items() if len(v) >= _MIN_LEN and _SECRET_ENV.search(k)]


def scrub(text: str, secrets: list[str] | None = None) -> str:
    """`text` with every secret-looking environment variable's value and every URL's userinfo (user:password@)
    replaced by `***`. `secrets`: `secret_values()` when the caller scrubs many strings at once."""
    for value in secret_values() if secrets is None else secrets:
        if value in text:
            text = text.replace(value, "***")
    return _USERINFO.sub(r"\1***@", text) if "@" in text else text


def scrub_all(value: Any, secrets: list[str] | None = None) -> Any:
    """`scrub` applied to every string in nested dicts, lists and tuples (keys included)."""
    secrets = secret_values() if secrets is None else secrets
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, dict):
        return {scrub_all(k, secrets): scrub_all(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(scrub_all(v, secrets) for v in value)
    return value
