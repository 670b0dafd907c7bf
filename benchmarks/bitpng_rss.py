"""Peak RSS of a run whose sources are 7,999 x 7,999 1-bit PNGs (7.8 kB each on disk, 64 MB as 1-bit pixels and
192 MB as RGB once decoded), with the decoded-bytes budgets on (today) and off (before: only the 64 MP pixel
guard and the sample-count bound `max_live`).

Each configuration runs in its own child process through the real runner: a `jsonl` suite of K such images, the
`direct` agent, an identity editor registered below, and the `psnr` metric (full-reference, so the scorer holds a
source and a final per job). The child prints its peak RSS (VmHWM) and how the samples ended.

    python benchmarks/bitpng_rss.py [--k 1,8]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image

import mirabench.images
from mirabench.plugins import Editor
from mirabench.registry import editors
from mirabench.types import EditRequest


@editors.register("bench-identity", description="benchmark only: returns its input image")
class IdentityEditor(Editor):
    version = "1"

    def edit_batch(self, requests: Sequence[EditRequest]) -> list[Image.Image]:
        return [r.image.copy() for r in requests]


def peak_mib() -> float:
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmHWM"].split()[0]) / 1024


def child(budgets: bool, k: int) -> dict[str, Any]:
    from mirabench.run.runner import run
    from mirabench.spec import RunSpec

    if not budgets:
        mirabench.images.MAX_DECODED_BYTES = 1 << 62
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        rows = []
        for i in range(k):
            Image.new("1", (7999, 7999), i % 2).save(data / f"{i}.png")
            rows.append({"id": f"s{i}", "image": f"{i}.png", "instruction": "keep it"})
        (data / "set.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        size = (data / "0.png").stat().st_size
        spec = RunSpec(suite="jsonl", agent="direct", editor="bench-identity", metrics=["psnr"], max_steps=1)
        spec.suite_options = {"path": str(data / "set.jsonl")}
        summary = run(spec, data / "run", use_cache=False, max_live_mb=2048 if budgets else 0).summary
    return {"png_bytes": size, "peak_mib": round(peak_mib()), "done": summary["n_done"], "failed": summary["n_failed"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--k", default="1,8")
    parser.add_argument("--child", default="")
    args = parser.parse_args()
    if args.child:
        mode, k = args.child.split(":")
        print(json.dumps(child(mode == "on", int(k))))
        return
    print(f"{'K':>3} {'budgets':>8} {'png bytes':>10} {'peak RSS MiB':>13} {'done':>5} {'failed':>7}")
    for k in map(int, args.k.split(",")):
        peaks = {}
        for mode in ("off", "on"):
            out = subprocess.run(
                [sys.executable, __file__, "--child", f"{mode}:{k}"], capture_output=True, text=True, check=True
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            peaks[mode] = r["peak_mib"]
            print(f"{k:>3} {mode:>8} {r['png_bytes']:>10} {r['peak_mib']:>13} {r['done']:>5} {r['failed']:>7}")
        print(f"    peak ratio off/on: {peaks['off'] / peaks['on']:.1f}x")


if __name__ == "__main__":
    main()
