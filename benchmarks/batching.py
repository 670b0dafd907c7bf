"""Wave batching pays: one batched agent / editor / local-judge call for 8 samples versus 8 single calls.

Builds the tiny random-weight stand-ins (mirabench.testing) unless real checkpoints are named, then times
`Agent.plan_batch` on 8 states, `Editor.edit_batch` on 8 requests and the in-process qwen3vl-sc judge on 8 items
(16 greedy judgements, `batch_size` 16 vs 1) against calls of one, and prints the ratio
(single time / batched time; > 1 means batching is faster). On a GPU it also prints sample-steps per second.

    python benchmarks/batching.py [--batch 8] [--repeats 5] [--size 64] [--threads 1]
        [--agent mira-7b --agent-path DIR] [--editor kontext --editor-path DIR --editor-steps 2] [--device cuda]

With tiny models on CPU the ratio measures per-call overhead the batch amortises (tokenisation, Python, launch);
with real models on a GPU it measures throughput, which is what the scheduler's waves are for.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from mirabench.plugins import ScoreItem
from mirabench.registry import agents, editors, metrics
from mirabench.types import AgentState, EditRequest, Sample


def timed(fn: Callable[[], Any], repeats: int) -> float:
    fn()  # warm-up: lazy init, kernels, caches
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def images(n: int, size: int) -> list[Image.Image]:
    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)) for _ in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--size", type=int, default=64, help="image side in pixels")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (tiny models: 1 is fastest)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--agent", default="mira-7b")
    ap.add_argument("--agent-path", default="")
    ap.add_argument("--editor", default="kontext")
    ap.add_argument("--editor-path", default="")
    ap.add_argument("--editor-steps", type=int, default=2)
    ap.add_argument("--judge-path", default="", help="a Qwen3-VL checkpoint for the in-process qwen3vl-sc judge")
    ap.add_argument("--max-new-tokens", type=int, default=16)
    args = ap.parse_args()

    import torch

    from mirabench.testing import build_tiny

    torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="mirabench-batching-"))
    agent_path = args.agent_path or str(build_tiny("qwen25-vl", tmp / "agent"))
    editor_path = args.editor_path or str(build_tiny(args.editor, tmp / "editor"))
    n = args.batch

    agent = agents.build(
        args.agent,
        path=agent_path,
        device=args.device,
        batch_size=n,
        image_size=args.size,
        max_new_tokens=args.max_new_tokens,
    )
    pics = images(2 * n, args.size)
    states = [
        AgentState(Sample(f"s{i}", f"make object {i} blue and add a hat", pics[i]), pics[i], pics[n + i], 1)
        for i in range(n)
    ]
    a_batch = timed(lambda: agent.plan_batch(states), args.repeats)
    a_single = timed(lambda: [agent.plan_batch([s]) for s in states], args.repeats)

    extra: dict[str, Any] = {"size_mode": "input"} if args.editor in ("kontext", "qwen-image-edit") else {}
    editor = editors.build(
        args.editor, path=editor_path, device=args.device, batch_size=n, steps=args.editor_steps, **extra
    )
    requests = [EditRequest(pics[i], f"make object {i} blue", i) for i in range(n)]
    e_batch = timed(lambda: editor.edit_batch(requests), args.repeats)
    e_single = timed(lambda: [editor.edit(r) for r in requests], args.repeats)

    judge_path = args.judge_path or str(build_tiny("qwen3-vl", tmp / "judge"))
    items = [ScoreItem(states[i].sample, pics[i], pics[n + i]) for i in range(n)]  # SC + PQ: 2 requests each

    def judge_with(batch: int) -> float:
        judge = metrics.build(
            "qwen3vl-sc",
            backend="transformers",
            path=judge_path,
            device=args.device,
            batch_size=batch,
            max_tokens=args.max_new_tokens,
            cache=False,
        )
        try:
            return timed(lambda: judge.score_batch(items), args.repeats)
        finally:
            judge.close()

    j_batch, j_single = judge_with(2 * n), judge_with(1)

    device = agent.chat.device  # type: ignore[attr-defined]
    print(f"device {device}, torch threads {args.threads}, batch {n}, {args.size}px, median of {args.repeats}")
    for kind, name, batched, single in (
        ("agent", args.agent, a_batch, a_single),
        ("editor", args.editor, e_batch, e_single),
        ("judge", "qwen3vl-sc", j_batch, j_single),
    ):
        print(
            f"{kind:<6} {name:<16} batched {batched:7.3f} s  {n} single {single:7.3f} s  ratio {single / batched:5.2f}x"
        )
    wave = a_batch + e_batch
    print(
        f"one wave (plan + edit) for {n} samples: {wave:.3f} s = {n / wave:.1f} sample-steps/s batched, "
        f"{n / (a_single + e_single):.1f} sample-steps/s single; overall ratio {(a_single + e_single) / wave:.2f}x"
    )


if __name__ == "__main__":
    main()
