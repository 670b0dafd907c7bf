"""A dated table of list prices (USD per million tokens) for cost estimates before a run.

These are the providers' published standard (non-batch) prices as of `AS_OF`; they change. Override them with a
JSON file (`mirabench estimate --prices FILE`, the same shape as `PRICES`: {"model": [input, output]}) or a
plugin's own `price_in_per_m` / `price_out_per_m`, which always win. A model missing from every table has no
cost estimate (shown as unknown), never a guessed one. Dated snapshots match by their family prefix.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["AS_OF", "PRICES", "load_prices", "price_of"]

AS_OF = "2025-08-01"
PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "o4-mini": (1.10, 4.40),
    "gpt-image-1": (10.00, 40.00),  # image input tokens (text input is $5); output image tokens
    "gemini-2.5-flash-image": (0.30, 30.00),
    "gemini-2.5-flash-lite": (0.10, 0.40),
    "gemini-2.5-flash": (0.30, 2.50),
    "gemini-2.5-pro": (1.25, 10.00),  # prompts up to 200k tokens
}


def load_prices(path: Path | None) -> dict[str, tuple[float, float]]:
    """The dated table, with a user's JSON file on top."""
    table = dict(PRICES)
    if path is not None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            table.update({str(k): (float(v[0]), float(v[1])) for k, v in data.items()})
        except (OSError, ValueError, TypeError, IndexError, AttributeError) as exc:
            raise ValueError(f"--prices {path}: expected {{model: [usd_in_per_m, usd_out_per_m]}} ({exc})") from None
    return table


def price_of(model: str, table: dict[str, tuple[float, float]]) -> tuple[float, float] | None:
    """A model's price: exact id first, else the longest family prefix (gpt-4.1-2025-04-14 -> gpt-4.1)."""
    if model in table:
        return table[model]
    family = max((k for k in table if model.startswith(k)), key=len, default=None)
    return table[family] if family else None
