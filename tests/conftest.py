from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import toyworld  # noqa: E402  (registers the toy plugins)


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own global cache so no test sees another's editor outputs."""
    path = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("MIRABENCH_CACHE_DIR", str(path))
    toyworld.reset_calls()
    return path
