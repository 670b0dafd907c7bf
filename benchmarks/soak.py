"""Soak: a long shapes run with an API judge that fails 10% of the time; every sample must be accounted for,
memory must stay flat, and the failures reported must be exactly the failures injected.

The fake judge (tests/fakes/api_server.py, in its own process) answers 429 (Retry-After: 0) to a seeded random
5% of all requests, and gives a persistent fault to 10% of the SC requests (5% of all requests), picked by a
hash of the request text so the expected set is known in advance: half get an unparseable answer
(-> `parse_error`), half an HTTP 400 (-> `api_error`, not retried). The 429s must all be absorbed by retries.

    python benchmarks/soak.py [--samples 2000] [--rate-429 0.05] [--fault-share 0.1]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent.parent / "tests"


def fault_for(text: str, share: float) -> str:
    """The persistent fault of an SC request text: `noscore` or `400` for share/2 of texts each, else none."""
    h = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") / 2**64
    return "noscore" if h < share / 2 else ("400" if h < share else "")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def rss_now_mib() -> float:
    """Current resident set (Linux /proc), to tell a one-off peak from growth."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def serve(rate_429: float, share: float) -> None:
    """The faulty judge server (run as its own process, so it shares neither GIL nor RSS with the run)."""
    sys.path.insert(0, str(TESTS))
    from fakes import FakeAPIServer

    class SoakServer(FakeAPIServer):
        def _respond(self, h: Any, provider: str, model: str, text: str, body: dict, fault: str) -> None:
            n_images = sum(
                1 for m in body.get("messages", []) for p in m.get("content") or [] if p.get("type") == "image_url"
            )
            if not fault and n_images == 2:  # an SC request (PQ sends one image and the same text every time)
                fault = fault_for(text, share)
            super()._respond(h, provider, model, text, body, fault)

    server = SoakServer(rate_429=rate_429, log_bodies=False)
    print(server.port, flush=True)
    server._httpd.serve_forever()


@contextmanager
def soak_server(rate_429: float, share: float) -> Iterator[str]:
    """Start the faulty judge server as a subprocess; yields its base URL."""
    cmd = [sys.executable, __file__, "--serve", "--rate-429", str(rate_429), "--fault-share", str(share)]
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        yield f"http://127.0.0.1:{server.stdout.readline().strip()}"
    finally:
        server.terminate()
        server.wait()


def server_stats(base: str) -> dict[str, Any]:
    return dict(json.loads(urllib.request.urlopen(base + "/_stats").read()))


def soak(n: int, openai_url: str, share: float, out: Path) -> dict[str, Any]:
    """Run n shapes samples with gpt-sc; return what was expected, what was found and the RSS trace."""
    from mirabench.judge.viescore import load_prompts
    from mirabench.registry import suites
    from mirabench.run.runner import run
    from mirabench.spec import RunSpec

    os.environ.update({"OPENAI_API_KEY": "sk-soak", "OPENAI_BASE_URL": openai_url})
    spec = RunSpec(
        suite="shapes",
        agent="heuristic",
        editor="shapes",
        metrics=["shapes", "gpt-sc"],
        max_steps=5,
        suite_options={"n": n, "size": 128},
        editor_options={"error_rate": 0.05},
        metric_options={"gpt-sc": {"cache": False, "max_concurrency": 16, "image_max_side": 128}},
    )
    prompts = load_prompts("viescore")
    suite = suites.build("shapes", n=n, size=128)
    expected = {s.id: fault_for(prompts.sc_text(s.instruction), share) for s in suite.samples()}  # images dropped
    rss: list[tuple[str, float, float]] = [("start", peak_rss_mib(), rss_now_mib())]
    marks = {n // 4, n // 2, 3 * n // 4}

    def progress(stage: str, done: int, total: int, failed: int = 0) -> None:
        if stage == "editing" and marks and done >= min(marks):
            marks.discard(min(marks))
            rss.append((f"{done}/{total} edited", peak_rss_mib(), rss_now_mib()))

    t0 = time.perf_counter()
    result = run(spec, out, use_cache=False, max_live=64, progress=progress)
    wall = time.perf_counter() - t0
    rss.append(("end", peak_rss_mib(), rss_now_mib()))
    rows = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    status = {r["id"]: r["score_status"].get("gpt-sc") for r in rows}
    # a sample whose editing failed is still judged (on its last image), so every sample must have a gpt-sc status
    want = {sid: {"noscore": "parse_error", "400": "api_error", "": "ok"}[f] for sid, f in expected.items()}
    info = json.loads((out / "run.json").read_text())["metric_info"]["gpt-sc"]
    return {
        "n": n,
        "wall_s": wall,
        "rows": len(rows),
        "unique_ids": len({r["id"] for r in rows}),
        "sample_status": dict(Counter(r["status"] for r in rows)),
        "expected": dict(Counter(want.values())),
        "found": dict(Counter(str(v) for v in status.values())),
        "mismatched": sorted(sid for sid in want if status.get(sid) != want[sid]),
        "summary_status_counts": result.summary["metrics"]["gpt-sc"]["status_counts"],
        "judge_info": {k: v for k, v in info.items() if k not in ("identity",)},
        "rss_mib": rss,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--rate-429", type=float, default=0.05)
    ap.add_argument("--fault-share", type=float, default=0.1, help="share of SC requests with a persistent fault")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.rate_429, args.fault_share)
        return
    os.environ["MIRABENCH_CACHE_DIR"] = tempfile.mkdtemp(prefix="mirabench-soak-cache-")
    with soak_server(args.rate_429, args.fault_share) as base:
        with tempfile.TemporaryDirectory(prefix="mirabench-soak-") as tmp:
            res = soak(args.samples, base + "/v1", args.fault_share, Path(tmp) / "run")
        stats = server_stats(base)
    print(f"samples: {res['n']} -> {res['rows']} rows, {res['unique_ids']} unique ids, {res['sample_status']}")
    print(f"wall: {res['wall_s']:.1f} s")
    print(f"server: {stats['requests']} requests, statuses {stats['statuses']}")
    print(f"gpt-sc expected {res['expected']}")
    print(f"gpt-sc found    {res['found']} (summary.json: {res['summary_status_counts']})")
    print(f"mismatched samples: {len(res['mismatched'])} {res['mismatched'][:10]}")
    usage = res["judge_info"].get("usage", res["judge_info"])
    print(f"judge accounting: {json.dumps(usage, default=str)[:600]}")
    for label, peak, now in res["rss_mib"]:
        print(f"at {label:>16}: peak RSS {peak:7.1f} MiB, current {now:7.1f} MiB")
    ok = res["rows"] == res["unique_ids"] == res["n"] and not res["mismatched"]
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
