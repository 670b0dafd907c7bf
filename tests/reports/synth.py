"""Synthetic run directories (the run-directory contract only) for report tests and benchmarks/report_scale.py.

Each sample gets its own small PNGs, so thumbnails and the gallery are exercised as with a real run.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image


def write_synthetic_run(
    run_dir: Path,
    agent: str,
    n: int,
    skill: float,
    steps: int = 3,
    image_px: int = 64,
    seed: int = 0,
    instruction: str = "make the square {i} red",
    with_images: int | None = None,
) -> Path:
    """`with_images`: write PNGs for the first N samples only (the rest name images that are not there)."""
    rng = np.random.default_rng(seed)
    (run_dir / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    scores = []
    for i in range(n):
        names = []
        for t in range(steps + 1):
            shade = (i * 7 + t * 40 + seed * 13) % 256
            name = f"{seed:02d}{i:05d}{t:02d}".ljust(64, "0")  # hex-like stand-in for a content hash
            if with_images is None or i < with_images:
                im = Image.new("RGB", (image_px, image_px), (shade, 255 - shade, (i * 31) % 256))
                im.save(run_dir / "images" / f"{name}.png", compress_level=1)
            names.append(name)
        value = float(np.clip(skill + rng.normal(0, 1.5), 0, 10))
        scores.append(value)
        rows.append(
            {
                "id": f"s-{i:04d}",
                "suite": "synthetic",
                "category": f"{i % 4 + 1}-goals",
                "instruction": instruction.format(i=i),
                "status": "done",
                "stop_reason": "agent",
                "n_steps": steps,
                "source_image": f"images/{names[0]}.png",
                "final_image": f"images/{names[-1]}.png",
                "scores": {"sc": value},
                "score_status": {"sc": "ok"},
                "steps": [
                    {"t": t, "kind": "edit", "instruction": f"step {t} of {i}", "image": f"images/{names[t + 1]}.png"}
                    for t in range(steps)
                ]
                + [{"t": steps, "kind": "stop", "reason": "looks done"}],
            }
        )
    mean = float(np.mean(scores))
    summary = {
        "suite": "synthetic",
        "agent": agent,
        "editor": "synth",
        "config_hash": f"{seed:016x}",
        "n_samples": n,
        "n_done": n,
        "n_failed": 0,
        "failed_samples": [],
        "stop_reasons": {"agent": n},
        "mean_steps": float(steps),
        "steps_histogram": {str(steps): n},
        "columns": ["sc"],
        "metrics": {
            "sc": {
                "mean": mean,
                "ci95": [mean - 0.1, mean + 0.1],
                "n_ok": n,
                "n_failed": 0,
                "coverage": 1.0,
                "status_counts": {"ok": n},
                "range": [0, 10],
                "higher_is_better": True,
            }
        },
        "categories": {},
        "budget_curve": {str(k): {"mean_steps": float(k), "sc": mean * k / steps} for k in range(1, steps + 1)},
    }
    (run_dir / "summary.json").write_text(json.dumps(summary))
    (run_dir / "run.json").write_text(json.dumps({"plugins": {"suite_data_version": "synthetic-1"}}))
    (run_dir / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return run_dir
