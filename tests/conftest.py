from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

sys.path.insert(0, str(Path(__file__).parent))

import toyworld  # noqa: E402  (registers the toy plugins)

# Property tests draw the same examples on every run (CI and `make test`): a failure is reproducible, never luck.
# For exploration, HYPOTHESIS_PROFILE=random draws new examples each run (and more of them).
settings.register_profile("derandomized", derandomize=True, database=None, print_blob=True)
settings.register_profile("random", derandomize=False, max_examples=500, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "derandomized"))


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own global cache so no test sees another's editor outputs."""
    path = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("MIRABENCH_CACHE_DIR", str(path))
    toyworld.reset_calls()
    return path
