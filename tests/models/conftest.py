"""Tiny random-weight checkpoints for the model tests, built once per session and loaded like real ones."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from mirabench.prompts import Part
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


class ScriptedChat:
    """A chat backend that answers from a script: a callable of the prompt, or a list of texts in turn."""

    def __init__(self, answer: object) -> None:
        self.answer = answer
        self.prompts: list[Sequence[Part]] = []
        self.calls = 0

    def generate(self, prompts: Sequence[Sequence[Part]]) -> list[str]:
        self.calls += 1
        out = []
        for p in prompts:
            self.prompts.append(p)
            if callable(self.answer):
                out.append(str(self.answer(p)))
            else:
                assert isinstance(self.answer, list)
                out.append(self.answer.pop(0))
        return out

    def close(self) -> None:
        pass
