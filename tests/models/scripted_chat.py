"""A scripted chat backend for agent tests (its own module: `conftest` names collide across test folders)."""

from __future__ import annotations

from collections.abc import Sequence

from mirabench.backends.prompts import Part


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
