"""A 200-sample cut of benchmarks/soak.py: judge faults injected at ~10%, every sample accounted for, and the
failures in samples.jsonl / summary.json exactly the ones injected (the 429s all absorbed by retries)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SOAK = Path(__file__).resolve().parents[2] / "benchmarks" / "soak.py"


def load_soak():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("soak", SOAK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_soak_200_accounts_for_every_sample_and_fault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    soak = load_soak()
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):  # soak() sets both; monkeypatch restores them afterwards
        monkeypatch.setenv(name, "")
    with soak.soak_server(rate_429=0.05, share=0.1) as base:
        res = soak.soak(200, base + "/v1", 0.1, tmp_path / "run")
        stats = soak.server_stats(base)
    assert res["rows"] == res["unique_ids"] == 200
    assert res["mismatched"] == []
    assert res["expected"]["parse_error"] > 0 and res["expected"]["api_error"] > 0  # faults really injected
    assert res["found"] == res["expected"] == res["summary_status_counts"]
    assert stats["statuses"].get("429", 0) > 0  # ...and the random 429s all recovered (no extra api_error)
    assert stats["statuses"]["400"] == res["expected"]["api_error"]  # 400 is not retried: one call each
