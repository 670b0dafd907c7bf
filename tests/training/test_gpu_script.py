"""benchmarks/gpu.py keeps working: its --tiny mode builds every model from the same code on the CPU."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu.py"


@pytest.mark.slow
def test_gpu_script_runs_tiny_on_the_cpu(tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "MIRABENCH_CACHE_DIR": str(tmp_path), "OMP_NUM_THREADS": "1"}
    args = [sys.executable, str(SCRIPT), "--tiny", "--repeat", "1", "--new-tokens", "4"]
    out = subprocess.run(args, capture_output=True, text=True, env=env, timeout=240, check=True).stdout
    rows = re.findall(
        r"^(agent \(transformers\)|kontext|qwen-image-edit)\s+(.+?)\s+([0-9.]+) s/(step|edit)$", out, re.M
    )
    settings = {(what, setting.strip()) for what, setting, _, _ in rows}
    for editor in ("kontext", "qwen-image-edit"):
        for option in ("plain (fp32, CPU)", "first-block cache", "torch.compile"):
            assert (editor, option) in settings, out
    assert all(float(seconds) > 0 for _, _, seconds, _ in rows)
    shares = re.findall(r"agent ([0-9.]+)%, editor ([0-9.]+)%, mirabench ([0-9.]+)%", out)
    assert len(shares) == 2 and all(abs(sum(map(float, s)) - 100) < 0.2 for s in shares), out
