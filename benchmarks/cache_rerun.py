"""Cache re-run: the same config into a fresh run directory with a warm global cache makes no editor or judge calls.

A shapes run with a latency-bound fake editor and the real `gpt-sc` judge path against the fake OpenAI server (its
own process, with latency), run twice into two directories sharing one cache: the first run is cold, the second
must be answered entirely from the cache (editor outputs and judge answers) and give the identical summary. The
agent (heuristic, local) runs again: agents are not cached (API agents' calls go through the judge cache).

    python benchmarks/cache_rerun.py [--samples 100] [--editor-ms 50] [--latency 0.2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from slowworld import SlowShapesEditor  # noqa: F401  (registers shapes-slow)

from mirabench.run.runner import RunResult, run
from mirabench.spec import RunSpec

FAKE = Path(__file__).resolve().parent.parent / "tests" / "fakes" / "api_server.py"


def served(base: str) -> int:
    with urllib.request.urlopen(base + "/_stats") as resp:
        return int(json.loads(resp.read())["requests"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--editor-ms", type=float, default=50.0)
    ap.add_argument("--latency", type=float, default=0.2, help="judge API latency (s)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mirabench-cache-rerun-"))
    os.environ["MIRABENCH_CACHE_DIR"] = str(tmp / "cache")
    server = subprocess.Popen(
        [sys.executable, str(FAKE), "--latency", str(args.latency)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        base = f"http://127.0.0.1:{server.stdout.readline().strip()}"
        os.environ.update({"OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": base + "/v1"})
        spec = RunSpec(
            suite="shapes",
            agent="heuristic",
            editor="shapes-slow",
            metrics=["gpt-sc"],
            suite_options={"n": args.samples, "size": 256},
            editor_options={"error_rate": 0.2, "latency_ms": args.editor_ms},
        )
        rows: list[tuple[str, RunResult, float, int]] = []
        for name in ("cold", "warm"):
            before, t0 = served(base), time.perf_counter()
            result = run(spec, tmp / name)
            rows.append((name, result, time.perf_counter() - t0, served(base) - before))
    finally:
        server.terminate()
        server.wait()
    same = (tmp / "cold" / "summary.json").read_text() == (tmp / "warm" / "summary.json").read_text()
    print(f"shapes, {args.samples} samples, editor {args.editor_ms} ms/request, gpt-sc at {args.latency * 1000:.0f} ms")
    print(f"{'run':<6} {'agent':>7} {'editor':>7} {'cached':>7} {'judge API':>10} {'wall s':>8}")
    for name, r, wall, api in rows:
        s = r.stats
        print(f"{name:<6} {s.agent_calls:>7} {s.editor_calls:>7} {s.editor_cache_hits:>7} {api:>10} {wall:>8.2f}")
    print(f"wall-time ratio cold/warm: {rows[0][2] / rows[1][2]:.1f}x; summaries identical: {same}")


if __name__ == "__main__":
    main()
