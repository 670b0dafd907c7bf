"""HTTP to the rating app from tests (the app itself is served in-process by `mirabench.studies.rating.app.serving`:
uvicorn in a thread on 127.0.0.1, an ephemeral port, ready on an event)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from mirabench.studies.rating.app import serving

__all__ = ["http", "serving"]


def http(url: str, body: Any = None, content_type: str = "application/json") -> tuple[int, str, dict[str, str]]:
    """(status, text, headers) of a GET (body None) or a POST; HTTP errors are answers, not exceptions."""
    data = None if body is None else (json.dumps(body) if content_type == "application/json" else body).encode()
    req = urllib.request.Request(url, data=data, method="GET" if body is None else "POST")
    if body is not None:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            return res.status, res.read().decode(errors="replace"), dict(res.headers)
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace"), dict(err.headers)
