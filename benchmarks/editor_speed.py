"""What each editor speed option buys and what it costs in quality: the same edits with and without it.

For every option (torch.compile, an attention backend, CPU offload, First-Block-Cache) the editor edits the same
samples (source image + complex instruction, one edit each, same seeds) as the plain editor. Printed per option:
seconds per edit after a warm-up edit (and the warm-up itself, where compilation lands), the speed-up, the metric's
mean delta against the plain editor with its paired bootstrap 95% CI and sign-flip p, and how far the images moved
(mean absolute pixel difference to the plain editor's, 0-255). No peer reports the quality cost of speed.

    python benchmarks/editor_speed.py --tiny                       # tiny random-weight Kontext on the CPU (seconds)
    python benchmarks/editor_speed.py --editor kontext --samples 50 --metric editscore --attention flash  # on a GPU
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np


def options_to_compare(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Each speed option alone, against the plain editor."""
    out: dict[str, dict[str, Any]] = {
        "plain": {},
        "compile": {"compile": True},
        "cpu-offload": {"cpu_offload": "model"},
        f"cache {args.cache_threshold}": {"cache": "first-block", "cache_threshold": args.cache_threshold},
    }
    if args.attention:
        out[f"attention {args.attention}"] = {"attention_backend": args.attention}
    return {k: v for k, v in out.items() if k == "plain" or not args.only or k.split()[0] in args.only}


def edit_all(editor: Any, requests: list[Any]) -> tuple[list[Any], float, float]:
    """Images, the warm-up edit's seconds, and mean seconds per edit after it (one request at a time)."""
    started = time.perf_counter()
    images = [editor.edit(requests[0])]
    warmup = time.perf_counter() - started
    started = time.perf_counter()
    images += [editor.edit(r) for r in requests[1:]]
    per_edit = (time.perf_counter() - started) / max(1, len(requests) - 1)
    return images, warmup, per_edit


@contextmanager
def tiny_editor(name: str) -> Iterator[str]:
    """A tiny random-weight pipeline folder of `name`, with Qwen-Image's working area made small."""
    from mirabench.testing import build_tiny
    from mirabench.testing.diffusion import small_qwen_image_area

    with tempfile.TemporaryDirectory() as tmp:
        path = build_tiny(name, Path(tmp) / name)
        with small_qwen_image_area() if name.startswith("qwen") else nullcontext():
            yield str(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--editor", default="kontext", help="kontext, qwen-image-edit, ...")
    parser.add_argument("--path", default="", help="weights (default: the editor's published checkpoint)")
    parser.add_argument("--tiny", action="store_true", help="tiny random weights on the CPU (checks the script)")
    parser.add_argument("--suite", default="shapes")
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--metric", default="shapes", help="metric plugin scoring (source, edit) pairs")
    parser.add_argument("--column", default="", help="metric column compared (default: its first)")
    parser.add_argument("--steps", type=int, default=0, help="denoising steps (default: the editor's published)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--attention", default="", help="also try this diffusers attention backend (flash, sage)")
    parser.add_argument("--cache-threshold", type=float, default=0.12)
    parser.add_argument("--only", nargs="*", default=[], help="option names to try (plain always runs)")
    args = parser.parse_args()

    from mirabench.images import source_image
    from mirabench.plugins import ScoreItem
    from mirabench.registry import editors, metrics, suites
    from mirabench.reports.stats import paired
    from mirabench.types import EditRequest

    suite_options = {"n": args.samples, "seed": 7}
    if args.tiny:
        suite_options["size"] = 64
    samples = list(suites.build(args.suite, **suite_options).samples())[: args.samples]
    sources = [source_image(s).convert("RGB") for s in samples]
    requests = [
        EditRequest(src, s.instruction, 1000 + i, s.id) for i, (s, src) in enumerate(zip(samples, sources, strict=True))
    ]
    metric = metrics.build(args.metric)
    column = args.column or metric.columns[0].key
    base: dict[str, Any] = {"device": args.device}
    if args.steps:
        base["steps"] = args.steps
    if args.tiny:
        base.update(steps=args.steps or 4, size_mode="input", max_sequence_length=32)

    with tiny_editor(args.editor) if args.tiny else nullcontext(args.path) as path:
        if path:
            base["path"] = path
        rows: dict[str, dict[str, Any]] = {}
        for label, extra in options_to_compare(args).items():
            editor = editors.build(args.editor, **base, **extra)
            images, warmup, per_edit = edit_all(editor, requests)
            editor.close()
            items = [ScoreItem(s, src, im) for s, src, im in zip(samples, sources, images, strict=True)]
            scores = metric.score_batch(items)
            values = {
                s.id: (sc.get(column).value if sc.get(column) else None) for s, sc in zip(samples, scores, strict=True)
            }
            rows[label] = {"images": images, "warmup": warmup, "per_edit": per_edit, "scores": values}
    metric.close()

    plain = rows["plain"]
    print(f"\neditor_speed: {args.editor}{' (tiny, CPU)' if args.tiny else ''}, {len(samples)} {args.suite} samples,")
    print(f"metric {column}; s/edit after one warm-up edit; delta and pixel change against the plain editor")
    print(
        f"{'option':<18}{'warm-up s':>10}{'s/edit':>9}{'speed-up':>9}{'mean':>8}{'delta [95% CI]':>26}{'p':>8}"
        f"{'|px diff|':>10}"
    )
    for label, r in rows.items():
        values = [v for v in r["scores"].values() if v is not None]
        mean = sum(values) / max(1, len(values))
        moved = np.mean(
            [
                np.abs(np.asarray(a, float) - np.asarray(b, float)).mean()
                for a, b in zip(r["images"], plain["images"], strict=True)
            ]
        )
        cmp = paired(plain["scores"], r["scores"]) if label != "plain" else None
        delta = f"{cmp.delta:+.3f} [{cmp.ci95[0]:+.3f}, {cmp.ci95[1]:+.3f}]" if cmp and cmp.ci95 else "-"
        p = f"{cmp.p_value:.3f}" if cmp else "-"
        speed = plain["per_edit"] / r["per_edit"] if r["per_edit"] else float("nan")
        print(
            f"{label:<18}{r['warmup']:>10.2f}{r['per_edit']:>9.3f}{speed:>8.2f}x{mean:>8.3f}{delta:>26}{p:>8}"
            f"{moved:>10.2f}"
        )


if __name__ == "__main__":
    main()
