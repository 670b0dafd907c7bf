"""Judge throughput under provider behaviour: mirabench's client vs a plain reference client vs a sequential loop.

Four scenarios, each against the fake OpenAI-compatible server in its own process (200 ms per answer):
1. `retry-after`: 5% of requests get a 429 with `Retry-After: 1` (what providers commonly send);
2. `quota`: a hard quota (N requests per window, a fixed window) with OpenAI's `x-ratelimit-*` headers on every
   answer; requests over it get a 429 with remaining 0, the reset and a Retry-After;
3. `5xx-bursts`: runs of consecutive arrivals get 503 (the last 10 of every 100);
4. `retry-delay`: 5% of requests get a 429 with Gemini's `RetryInfo.retryDelay: 1s` in the body, no header (as
   Gemini's OpenAI-compatible endpoint answers).
Clients, each sending the same requests (a text prompt and one 256 px JPEG, as a judge does):
(a) mirabench: `JudgeClient.chat_many` at concurrency 32, alone and with its run-store journal (every attempt and
    answer committed to SQLite as it happens, as inside `mirabench run` / `score`);
(b) reference: asyncio + `openai.AsyncOpenAI` + a semaphore of 32 + the SDK's own retries (its default 2), what
    upstream judge scripts do;
(c) sequential: one call at a time through the SDK (its retries), timed on a subset and scaled.
Targets: mirabench's wall time <= 1.1x the reference's, 0 requests lost; in `quota`, >= 90% of the allowance used
in every full window and <= 1% of requests refused.

    python benchmarks/judge_throughput.py [--calls 1000] [--quota-calls 400] [--latency 0.2] [--scenarios ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from mirabench.judge import ChatRequest, ImageEncoding, JudgeClient, JudgeConfig
from mirabench.judge.messages import openai_messages

FAKE = Path(__file__).resolve().parent.parent / "tests" / "fakes" / "api_server.py"
MODEL = "gpt-4.1-2025-04-14"
QUOTA, WINDOW = 150, 5.0  # the quota scenario: 150 requests per 5 s window (30/s; 32 x 5/s would be 160/s)
SCENARIOS: dict[str, list[str]] = {
    "retry-after": ["--rate-429", "0.05", "--retry-after", "1"],
    "quota": ["--quota", str(QUOTA), "--quota-window", str(WINDOW)],
    "5xx-bursts": ["--error-bursts", "100,10"],
    "retry-delay": ["--rate-429", "0.05", "--retry-after", "none", "--retry-delay", "1s"],
}


@dataclass
class Result:
    client: str
    wall: float
    lost: int
    served: int
    statuses: dict[str, int]
    windows: list[int]


def requests(n: int, size: int = 256) -> list[ChatRequest]:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (size // 8, size // 8, 3), dtype=np.uint8)
    img = Image.fromarray(base).resize((size, size), Image.Resampling.BICUBIC)
    enc = ImageEncoding("jpeg", 75)
    return [
        ChatRequest.build(
            [f"Rate edit number {i} from 0 to 10.", Image.fromarray(np.roll(np.asarray(img), i, 1))],
            encoding=enc,
            max_tokens=64,
        )
        for i in range(n)
    ]


class Server:
    """The fake server in its own process (it must not share the clients' GIL), fresh per client."""

    def __init__(self, latency: float, flags: list[str]) -> None:
        cmd = [sys.executable, str(FAKE), "--latency", str(latency), *flags]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.base = f"http://127.0.0.1:{self.proc.stdout.readline().strip()}"

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.base + "/_stats") as resp:
            return dict(json.loads(resp.read()))

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()


def run_mirabench(reqs: list[ChatRequest], base: str, concurrency: int, journal: bool = False) -> tuple[float, int]:
    """`journal`: every attempt and answer written to a run store as it happens, as inside `mirabench run`."""
    from mirabench.rundir.store import CallLog, RunStore

    os.environ["OPENAI_BASE_URL"] = base + "/v1"
    store = RunStore(Path(tempfile.mkdtemp(prefix="mb-bench-run-"))) if journal else None
    log = CallLog(store, "bench") if store is not None else None
    client = JudgeClient(JudgeConfig(model=MODEL, max_concurrency=concurrency, use_cache=False), journal=log)
    client.start()  # import openai and build its HTTP client outside the timing, as for the reference
    t0 = time.perf_counter()
    results = client.chat_many(reqs)
    wall = time.perf_counter() - t0
    client.close()
    if store is not None:
        store.close()
    return wall, sum(1 for r in results if not r.ok)


def run_reference(reqs: list[ChatRequest], base: str, concurrency: int) -> tuple[float, int]:
    import openai

    async def main() -> tuple[float, int]:
        client = openai.AsyncOpenAI(api_key="sk-bench", base_url=base + "/v1")  # SDK default: 2 retries
        sem = asyncio.Semaphore(concurrency)

        async def one(req: ChatRequest) -> bool:
            async with sem:
                try:
                    resp = await client.chat.completions.create(
                        model=MODEL,
                        messages=openai_messages(req),
                        max_tokens=req.max_tokens,  # type: ignore[arg-type]
                    )
                except openai.APIError:
                    return False
                return bool(resp.choices and resp.choices[0].message.content)

        t0 = time.perf_counter()
        ok = await asyncio.gather(*(one(r) for r in reqs))
        wall = time.perf_counter() - t0
        await client.close()
        return wall, sum(1 for x in ok if not x)

    return asyncio.run(main())


def run_sequential(reqs: list[ChatRequest], base: str, total: int) -> tuple[float, int]:
    import openai

    client = openai.OpenAI(api_key="sk-bench", base_url=base + "/v1")
    client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "warm-up"}], max_tokens=4)
    lost = 0
    t0 = time.perf_counter()
    for req in reqs:
        try:
            client.chat.completions.create(model=MODEL, messages=openai_messages(req), max_tokens=req.max_tokens)  # type: ignore[arg-type]
        except openai.APIError:
            lost += 1
    per_call = (time.perf_counter() - t0) / len(reqs)
    client.close()
    return per_call * total, lost


def scenario(name: str, args: argparse.Namespace) -> list[Result]:
    n = args.quota_calls if name == "quota" else args.calls
    reqs = requests(n)
    out = []
    runners = [
        ("mirabench", lambda base: run_mirabench(reqs, base, args.concurrency)),
        ("mirabench + run-store journal", lambda base: run_mirabench(reqs, base, args.concurrency, journal=True)),
        ("reference", lambda base: run_reference(reqs, base, args.concurrency)),
        (
            f"sequential (x{n // args.sequential_calls} scaled)",
            lambda base: run_sequential(reqs[: args.sequential_calls], base, n),
        ),
    ]
    for client, fn in runners:
        server = Server(args.latency, SCENARIOS[name])
        try:
            wall, lost = fn(server.base)
            stats = server.stats()
        finally:
            server.stop()
        out.append(Result(client, wall, lost, stats["requests"], stats["statuses"], stats["window_counts"]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--quota-calls", type=int, default=400)
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--sequential-calls", type=int, default=20)
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    args = ap.parse_args()
    os.environ.update({"OPENAI_API_KEY": "sk-bench", "MIRABENCH_CACHE_DIR": tempfile.mkdtemp(prefix="mb-bench-")})
    print(f"latency {args.latency * 1000:.0f} ms, concurrency {args.concurrency}, quota {QUOTA} per {WINDOW:g} s")
    print("| scenario | client | wall s | vs reference | lost | server requests | 429 | 5xx | quota use |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.scenarios.split(","):
        results = scenario(name, args)
        ref = next(r for r in results if r.client == "reference")
        for r in results:
            refused = r.statuses.get("429", 0)
            errors = sum(v for k, v in r.statuses.items() if k.startswith("5"))
            full = r.windows[:-1]  # the last window is partial: the calls ran out
            use = f"{min(full) / QUOTA:.0%} min {r.windows}, {refused / max(1, r.served):.1%} refused" if full else "-"
            served = r.served if not r.client.startswith("sequential") else f"{r.served} (subset)"
            print(
                f"| {name} | {r.client} | {r.wall:.2f} | {r.wall / ref.wall:.2f}x | {r.lost} | {served} | "
                f"{refused} | {errors} | {use if name == 'quota' else '-'} |"
            )


if __name__ == "__main__":
    main()
