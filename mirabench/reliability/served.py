"""What served a judge's score, as the provider reported it (recorded per Score in `detail["served"]`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["fingerprint"]


def fingerprint(detail: Mapping[str, Any]) -> str | None:
    """What served a score, as one string: the provider's model (or model version) and system fingerprint.
    Response ids are left out (unique per call); a judge without provider metadata gives its `judge` name."""
    served = detail.get("served") or {}
    parts = [served.get("model") or served.get("model_version"), served.get("system_fingerprint")]
    text = " / ".join(str(p) for p in parts if p)
    return text or (str(detail["judge"]) if detail.get("judge") else None)
