"""Reusable offline fakes: `FakeAPIServer` (OpenAI + Gemini on 127.0.0.1 with fault injection)."""

from fakes.api_server import REFUSAL, FakeAPIServer, Received, Scripted, default_answer

__all__ = ["REFUSAL", "FakeAPIServer", "Received", "Scripted", "default_answer"]
