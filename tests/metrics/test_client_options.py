"""One options model for every API-backed plugin: same names, same checks, old names readable, caps that work."""

from __future__ import annotations

import pytest
from fakes import FakeAPIServer
from pydantic import ValidationError

from mirabench.backends.api_chat import ApiChat, ApiChatOptions
from mirabench.judge.options import ClientOptions
from mirabench.registry import agents, editors, metrics

API_PLUGINS = [
    (agents, "gpt-planner"),
    (agents, "gemini-planner"),
    (agents, "gpt-thinker"),
    (editors, "gpt-image"),
    (editors, "nano-banana"),
    (metrics, "gpt-sc"),
    (metrics, "gemini-sc"),
    (metrics, "qwen3vl-sc"),
    (metrics, "editscore"),
    (metrics, "imgedit-judge"),
]
IDS = [name for _, name in API_PLUGINS]


@pytest.mark.parametrize(("registry", "name"), API_PLUGINS, ids=IDS)
def test_every_api_plugin_takes_the_same_client_options_with_the_same_checks(
    fake_api: FakeAPIServer, registry: object, name: str
) -> None:
    cls = registry.get(name).Options  # type: ignore[attr-defined]
    assert issubclass(cls, ClientOptions)
    base = {"model": "m"}
    for field, bad in [("max_concurrency", 0), ("timeout_s", 0), ("max_attempts", 0), ("max_calls", -1), ("rpm", 0)]:
        with pytest.raises(ValidationError, match=field):
            cls(**base, **{field: bad})
    with pytest.raises(ValidationError, match="needs price"):
        cls(**base, max_cost_usd=1.0)  # a cost cap without prices would never trip
    opts = cls(**base, max_calls=0, max_cost_usd=2.0, price_in_per_m=1.0, rpm=60, tpm=1e5)
    config = opts.judge_config("openai")
    assert (config.max_calls, config.max_cost_usd, config.prices, config.rpm) == (0, 2.0, {"m": (1.0, 0.0)}, 60)


def test_the_planners_old_use_cache_name_is_still_read() -> None:
    old = ApiChatOptions.model_validate({"model": "gpt-x", "use_cache": False})  # as run.json recorded it
    assert old.cache is False and "use_cache" not in old.model_dump() and old.model_dump()["cache"] is False
    assert ApiChatOptions(cache=False) == ApiChatOptions.model_validate({"use_cache": False})


def test_client_options_do_not_change_a_plugins_identity(fake_api: FakeAPIServer) -> None:
    plain = metrics.build("gpt-sc").identity()
    assert metrics.build("gpt-sc", max_calls=10, max_concurrency=3, rpm=100, cache=False).identity() == plain
    assert metrics.build("gpt-sc", model="gpt-4o-2024-08-06").identity() != plain  # what is asked, and of whom
    assert metrics.build("gpt-sc", max_tokens=99).identity() != plain


def test_a_planners_cost_cap_now_trips(fake_api: FakeAPIServer) -> None:
    opts = ApiChatOptions(max_concurrency=1, max_cost_usd=1e-9, price_in_per_m=1000.0, price_out_per_m=1000.0)
    chat = ApiChat("openai", opts)
    try:
        replies = chat.generate([["plan 1"], ["plan 2"], ["plan 3"]])
    finally:
        chat.close()
    assert replies[0] == '{"reasoning": "fake judge", "score": [6, 9]}'
    assert all("budget" in str(r) for r in replies[1:]) and fake_api.count() == 1
    assert chat.usage()["estimated_cost_usd"] > 1e-9
