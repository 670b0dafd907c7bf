"""`run.json`: what a reader needs to trust and reproduce a run, with every secret redacted."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from mirabench.images import atomic_write_text
from mirabench.secrets import scrub_all

__all__ = ["environment", "read_manifest", "redact", "write_manifest"]

_SECRET_KEY = re.compile(r"(api[_-]?key|(^|[_-])token$|secret|password|authorization)", re.IGNORECASE)
_PACKAGES = (
    "mirabench",
    "numpy",
    "pillow",
    "pandas",
    "torch",
    "transformers",
    "diffusers",
    "accelerate",
    "peft",
    "pyiqa",
    "trl",
    "openai",
    "google-genai",
)


def redact(value: Any) -> Any:
    """Replace values of secret-looking keys, at any depth."""
    if isinstance(value, dict):
        return {k: ("***" if _SECRET_KEY.search(str(k)) and v else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _git_sha() -> str | None:
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def environment() -> dict[str, Any]:
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {
        "packages": versions,
        "git_sha": _git_sha(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
    }


def read_manifest(run_dir: Path) -> dict[str, Any] | None:
    path = run_dir / "run.json"
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not readable JSON ({exc}); it is not a usable mirabench run") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a mirabench run manifest")
    return data


def write_manifest(run_dir: Path, manifest: dict[str, Any]) -> None:
    """run.json, with secret-looking keys' values replaced and every string scrubbed (keys echoed by providers,
    URL userinfo in a base_url)."""
    manifest = scrub_all(redact(manifest))
    manifest["updated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    atomic_write_text(run_dir / "run.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")
