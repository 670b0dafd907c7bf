"""Tiny random-weight checkpoints for the model tests, built once per session and loaded like real ones."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mirabench.testing import build_tiny


@pytest.fixture(autouse=True)
def hub_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Model tests never reach for the Hub: a missing model must fail fast and clearly."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread() -> Iterator[None]:
    """Tiny models gain nothing from threads, and on a shared 2-core machine threads make them 10x slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """name -> folder, built lazily (each build < 1 s)."""
    root = tmp_path_factory.mktemp("tiny-models")
    built: dict[str, Path] = {}

    class Lazy(dict[str, Path]):
        def __missing__(self, key: str) -> Path:
            built[key] = build_tiny(key, root / key)
            self[key] = built[key]
            return built[key]

    yield Lazy()
