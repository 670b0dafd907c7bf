"""benchmarks/run_all.py: each listed script exists, and a headline is read from a script's output (fast smoke)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def run_all() -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_all", BENCHMARKS / "run_all.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["run_all"] = module
    spec.loader.exec_module(module)
    return module


def test_every_listed_benchmark_exists_and_its_headline_pattern_compiles() -> None:
    ra = run_all()
    assert {b.script for b in ra.BENCHES} >= {"overhead.py", "overlap.py", "study_cost.py"}
    for bench in ra.BENCHES:
        assert (BENCHMARKS / bench.script).exists(), bench.script
        re.compile(bench.headline)


def test_headline_is_the_last_matching_line_and_failures_get_a_row(tmp_path: Path) -> None:
    ra = run_all()
    good = tmp_path / "good.py"
    good.write_text("print('speed 1.5x')\nprint('noise')\nprint('speed 2.5x')\n")
    bench = ra.Bench(str(good), "w", [], [], r"speed ([\d.]+x)", "fast: {0}")
    assert ra.run_one(bench, quick=True)[0] == "fast: 2.5x"
    bad = tmp_path / "bad.py"
    bad.write_text("raise SystemExit('broken on purpose')\n")
    figure = ra.run_one(ra.Bench(str(bad), "w", [], [], r"x"), quick=True)[0]
    assert figure.startswith("failed (exit 1)") and "broken on purpose" in figure
    silent = tmp_path / "silent.py"
    silent.write_text("print('nothing here')\n")
    assert ra.run_one(ra.Bench(str(silent), "w", [], [], r"speed"), quick=True)[0] == "no headline line in its output"
