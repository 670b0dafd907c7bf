"""Test credentials shared by metric tests (not in conftest: its module name collides across folders)."""

OPENAI_KEY = "sk-test-never-written-anywhere"
