"""Judge throughput: gpt-sc (SC + PQ per sample) against the fake OpenAI server with latency and random 429s.

Runs the real metric path (JPEG encoding, JudgeClient with adaptive concurrency and retries, parsing) on N
samples and compares its wall time with the ideal `calls x latency / concurrency` and with a sequential
one-call-at-a-time loop (measured on a subset and scaled, since the full loop would take minutes).
Target: at least 90% of ideal at concurrency 32, zero samples lost.

The client's one-time start-up (importing openai, building its HTTP client) is timed apart, as the sequential
loop's warm-up is; a second ideal counts every request the server answered, since the fake server holds a 429
for the same latency as an answer, so each retried call costs a full slot-time that `calls x latency` omits.

    python benchmarks/judge_throughput.py [--samples 500] [--latency 0.2] [--rate-429 0.05] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import deque
from pathlib import Path

import numpy as np
from PIL import Image

from mirabench.judge import ChatRequest, JudgeClient, JudgeConfig
from mirabench.plugins import ScoreItem
from mirabench.registry import metrics
from mirabench.types import Sample, ScoreStatus

FAKE = Path(__file__).resolve().parent.parent / "tests" / "fakes" / "api_server.py"


def photos(n: int, size: int) -> list[Image.Image]:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (size // 8, size // 8, 3), dtype=np.uint8)
    img = Image.fromarray(base).resize((size, size), Image.Resampling.BICUBIC)
    return [Image.fromarray(np.roll(np.asarray(img), i, axis=1)) for i in range(n)]


def zero_cost_wall(calls: int, latency: float, rate_429: float, concurrency: int, seed: int) -> float:
    """Wall time of a client that costs nothing, simulated: `concurrency` slots, every attempt takes `latency`, a
    random `rate_429` of attempts are refused and retried after the client's jitter (Retry-After 0 + up to 0.1 s).
    What the server's 429s and the last partial round cost whatever the client does: the real target's ceiling."""
    rng = random.Random(seed)
    fresh, retries = deque(range(calls)), []
    slots = [0.0] * concurrency
    end = 0.0
    while fresh or retries:
        free = heapq.heappop(slots)
        if retries and (not fresh or retries[0] <= free):
            start = max(free, heapq.heappop(retries))
        else:
            fresh.popleft()
            start = free
        done = start + latency
        if rng.random() < rate_429:
            heapq.heappush(retries, done + rng.uniform(0, 0.1))
        end = max(end, done)
        heapq.heappush(slots, done)
    return end


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=500)
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--rate-429", type=float, default=0.05)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--size", type=int, default=512, help="image side (JPEG-encoded per call, as VIEScore does)")
    ap.add_argument("--sequential-calls", type=int, default=20)
    args = ap.parse_args()

    os.environ["MIRABENCH_CACHE_DIR"] = tempfile.mkdtemp(prefix="mirabench-bench-")
    imgs = photos(args.samples + 1, args.size)
    items = [ScoreItem(Sample(f"s{i}", f"edit number {i}", imgs[0]), imgs[0], imgs[i + 1]) for i in range(args.samples)]
    # The server runs in its own process, as a remote API would: it must not share the client's GIL.
    cmd = [sys.executable, str(FAKE), "--latency", str(args.latency), "--rate-429", str(args.rate_429)]
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        base = f"http://127.0.0.1:{server.stdout.readline().strip()}"
        os.environ.update({"OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": base + "/v1"})
        metric = metrics.build("gpt-sc", max_concurrency=args.concurrency, cache=False, max_attempts=10)
        start = time.perf_counter()
        metric.client.start()  # once per process: import openai, build its client (not a per-call cost)
        startup = time.perf_counter() - start
        start = time.perf_counter()
        results = metric.score_batch(items)
        wall = time.perf_counter() - start
        usage = metric.run_info()["usage"]
        metric.close()
        calls = 2 * args.samples
        with urllib.request.urlopen(base + "/_stats") as resp:
            stats = json.loads(resp.read())
        served, rate_limited = stats["requests"], stats["statuses"].get("429", 0)

        # The client alone: the same calls with requests built (JPEG-encoded) beforehand.
        metric = metrics.build("gpt-sc", max_concurrency=args.concurrency, cache=False, max_attempts=10)
        prebuilt = [r for it in items for r in metric.requests(it)]
        metric.client.start()
        start = time.perf_counter()
        client_results = metric.client.chat_many(prebuilt)
        client_wall = time.perf_counter() - start
        client_lost = sum(1 for r in client_results if not r.ok)
        metric.close()

        seq = JudgeClient(JudgeConfig(model="gpt-4.1-2025-04-14", max_concurrency=1, use_cache=False))
        reqs = prebuilt[: args.sequential_calls]  # the metric's own SC / PQ requests (JPEG), as sent above
        seq.chat(ChatRequest.build(["warm-up: connection and client set-up are not per-call costs"]))
        t0 = time.perf_counter()
        for r in reqs:
            seq.chat(r)
        seq_per_call = (time.perf_counter() - t0) / args.sequential_calls
        seq.close()
    finally:
        server.terminate()
        server.wait()

    ok = sum(1 for r in results for s in r.values() if s.status is ScoreStatus.OK)
    lost = args.samples - sum(1 for r in results if all(s.status is ScoreStatus.OK for s in r.values()))
    ideal = calls * args.latency / args.concurrency
    sequential = seq_per_call * calls
    print(
        f"samples {args.samples} x (SC + PQ) = {calls} calls, latency {args.latency * 1000:.0f} ms, "
        f"{args.rate_429:.0%} random 429s, concurrency {args.concurrency}, images {args.size}px JPEG"
    )
    print(f"server answered {served} requests ({rate_limited} of them 429), client retries {usage['retries']}")
    print(f"wall time            {wall:8.2f} s   (+ {startup:.2f} s one-time client start-up, not counted)")
    print(f"ideal                {ideal:8.2f} s   -> {ideal / wall:6.1%} of ideal")
    served_ideal = served * args.latency / args.concurrency
    print(
        f"ideal, all {served} served requests (a 429 also takes the latency) {served_ideal:.2f} s "
        f"-> {served_ideal / wall:6.1%}; with start-up {ideal / (wall + startup):6.1%} of ideal"
    )
    ceiling = statistics.mean(
        zero_cost_wall(calls, args.latency, args.rate_429, args.concurrency, seed) for seed in range(200)
    )
    print(f"zero-cost client     {ceiling:8.2f} s   -> {ideal / ceiling:6.1%} of ideal (simulated: the ceiling)")
    print(
        f"client alone         {client_wall:8.2f} s   -> {ideal / client_wall:6.1%} of ideal "
        f"(the same calls, requests encoded beforehand; {client_lost} failed)"
    )
    print(
        f"sequential (scaled)  {sequential:8.2f} s   -> {sequential / wall:6.1f}x faster "
        f"({seq_per_call * 1000:.0f} ms/call measured on {args.sequential_calls} calls)"
    )
    print(f"scores ok {ok}/{3 * args.samples}, samples lost {lost}, lowest concurrency {usage['min_concurrency']}")


if __name__ == "__main__":
    main()
