"""The chat body is built with data URLs spliced in as bytes: it must be byte-identical to json.dumps."""

from __future__ import annotations

import base64
import json
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mirabench.judge.backends import json_body


def reference(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def data_url(n: int) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(random.Random(n).randbytes(n)).decode()


def test_a_chat_body_with_images_is_byte_identical() -> None:
    body = {
        "model": "gpt-4.1",
        "messages": [
            {"role": "system", "content": 'judge "carefully" \\ é \n'},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "before"},
                    {"type": "image_url", "image_url": {"url": data_url(60_000), "detail": "high"}},
                    {"type": "image_url", "image_url": {"url": data_url(90_000)}},
                ],
            },
        ],
        "temperature": 0.0,
        "seed": 7,
    }
    assert json_body(body) == reference(body)


# NaN and infinities are not JSON: both sides refuse them (allow_nan=False), so they are not drawn.
long_text = st.text(min_size=1025, max_size=1400).map(lambda s: "data:" + s)  # may need escaping: kept as JSON
finite = st.floats(allow_nan=False, allow_infinity=False)
leaf = st.one_of(st.none(), st.booleans(), st.integers(), finite, st.text(), long_text)
tree = st.recursive(leaf, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(), kids, max_size=4))


@settings(max_examples=60, deadline=None)
@given(tree, st.lists(st.integers(1025, 3000), max_size=3))
def test_any_body_is_byte_identical(value: Any, sizes: list[int]) -> None:
    body = {"value": value, "images": [data_url(n) for n in sizes]}
    assert json_body(body) == reference(body)
