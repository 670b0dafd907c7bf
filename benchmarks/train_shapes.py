"""Does the training chain produce an agent that plans? data -> SFT -> GRPO on the shapes world, on the CPU.

A small Qwen2.5-VL-architecture policy is built offline (random weights, a byte-pair tokenizer learnt from the
shapes language so words are single tokens), trained by `mirabench.training` exactly as the 7B recipe is (same
prompt code, same trainers, fp32 master weights), and evaluated by `mirabench.run.runner.run` as `--agent mira-7b
--set agent.path=CKPT` on NEW shapes samples (another suite seed) with the exact `shapes` editor and metric.

Printed: one row each for `direct` (the complex instruction straight to the editor), SFT and SFT+GRPO: shapes-sc
with its bootstrap 95% CI, the parse rate (agent decisions that were an instruction or a clean stop), mean steps;
paired tests (sign-flip) of SFT and GRPO against direct and of GRPO against SFT; training times; and the curves
(SFT loss, GRPO reward) so a policy that does not learn shows where it stalls.

    nice -n 10 python benchmarks/train_shapes.py [--sessions 300] [--sft-steps 600] [--grpo-steps 30] [--eval 100]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import time
from pathlib import Path
from typing import Any

TEMPLATE = "Before: <image> Now: <image> Goal: <instruction>\nAnswer with NEXT_EDITING_INSTRUCTION:"
SHAPES = {"editor": "shapes", "metric": "shapes", "sc_column": "shapes-sc", "pq_column": "shapes-bg"}


def corpus(dataset: Path) -> list[str]:
    """Texts the policy reads and writes, for the tokenizer's merges (the prompt wording included)."""
    from datasets import load_from_disk

    rows = load_from_disk(str(dataset))
    fixed = [TEMPLATE, "You are a helpful assistant.", "NEXT_EDITING_INSTRUCTION: <stop>"]
    return [*fixed, *rows["instruction"], *rows["target"]]


def evaluate(run_dir: Path, agent: str, options: dict[str, Any], n: int, seed: int, max_steps: int) -> dict[str, Any]:
    """One run on new samples; per-sample shapes-sc, parse rate and mean steps from its samples.jsonl."""
    from mirabench.run.runner import run
    from mirabench.spec import RunSpec

    spec = RunSpec(
        suite="shapes",
        agent=agent,
        editor="shapes",
        metrics=["shapes"],
        limit=n,
        max_steps=max_steps,
        suite_options={"seed": seed, "max_goals": 3},
        agent_options=options,
    )
    started = time.perf_counter()
    shutil.rmtree(run_dir, ignore_errors=True)  # a retrained checkpoint at the same path must not resume old runs
    run(spec, run_dir)
    rows = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    edits = sum(1 for r in rows for s in r["steps"] if s["kind"] == "edit")
    stops = sum(1 for r in rows if r["stop_reason"] in ("agent", "error"))
    errors = sum(1 for r in rows if r["stop_reason"] == "error")
    return {
        "sc": {r["id"]: r["scores"].get("shapes-sc") for r in rows},
        "parse_rate": 1 - errors / max(1, edits + stops),
        "mean_steps": edits / len(rows),
        "errors": errors,
        "seconds": time.perf_counter() - started,
    }


def cpu_seconds() -> float:
    """CPU time of this process (all threads): on a shared machine the fair measure of what training cost."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def curve(history: list[dict[str, Any]], key: str, points: int = 8) -> str:
    values = [(h["step"], h[key]) for h in history if key in h]
    if not values:
        return "-"
    every = max(1, len(values) // points)
    return "  ".join(f"{s}:{v:.3f}" for s, v in values[::every] + ([values[-1]] if len(values) % every else []))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("/tmp/mirabench-train-shapes"))
    parser.add_argument("--sessions", type=int, default=300, help="training sessions (shapes tasks, 1-3 goals)")
    parser.add_argument("--sft-steps", type=int, default=600)
    parser.add_argument("--sft-lr", type=float, default=1e-3)
    parser.add_argument("--grpo-steps", type=int, default=30)
    parser.add_argument("--grpo-lr", type=float, default=2e-4)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--eval", type=int, default=100, help="new samples (suite seed 1000) per evaluated agent")
    parser.add_argument("--max-steps", type=int, default=5)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--image-size", type=int, default=112)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--grpo-generations", type=int, default=8)
    parser.add_argument("--grpo-batch", type=int, default=16)
    parser.add_argument("--grpo-temperature", type=float, default=1.3)
    parser.add_argument("--reuse", action="store_true", help="keep data and checkpoints already in --out")
    args = parser.parse_args()

    import torch

    from mirabench.registry import editors, metrics
    from mirabench.reports.stats import bootstrap_mean_ci, paired
    from mirabench.testing.qwen_vl import tiny_qwen25_vl
    from mirabench.training.checkpoint import MANIFEST
    from mirabench.training.config import GRPOSettings, LoraSettings, SFTSettings
    from mirabench.training.data import ShapesRewriter, build, shapes_sessions
    from mirabench.training.grpo import train_grpo
    from mirabench.training.sft import train_sft

    torch.set_num_threads(args.threads)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    template = out / "template.txt"
    template.write_text(TEMPLATE)
    common = dict(
        dataset=str(out / "data" / "dataset"),
        template_file=str(template),
        image_size=args.image_size,
        bf16=False,
        use_cpu=True,
        gradient_checkpointing=False,
        seed=0,
    )

    t0 = time.perf_counter()
    stats = build(
        shapes_sessions(args.sessions, seed=1, max_goals=3),
        out / "data",
        editors.build("shapes"),
        metrics.build("shapes"),
        rewriter=ShapesRewriter(),
        rewrites=1,
    )
    t_data = time.perf_counter() - t0
    base = out / "base"
    if not (args.reuse and (base / "config.json").exists()):
        tiny_qwen25_vl(
            base,
            hidden=args.hidden,
            heads=4,
            layers=args.layers,
            init_std=0.02,
            corpus=corpus(out / "data" / "dataset"),
            vision_hidden=64,
        )

    def stage(name: str, train: Any) -> dict[str, Any]:
        """Train (or, with --reuse, take the finished checkpoint and its log); the log is kept beside it."""
        log = out / f"{name}-log.json"
        if args.reuse and log.exists() and (out / name / MANIFEST).exists():
            return {**json.loads(log.read_text()), "reused": True}
        t0, cpu0 = time.perf_counter(), cpu_seconds()
        record = {**train(), "seconds": time.perf_counter() - t0, "cpu_seconds": cpu_seconds() - cpu0}
        log.write_text(json.dumps(record, default=str))
        return record

    def sft_stage() -> dict[str, Any]:
        result = train_sft(
            SFTSettings(
                model=str(base),
                output_dir=str(out / "sft"),
                max_steps=args.sft_steps,
                learning_rate=args.sft_lr,
                lr_scheduler_type="cosine",
                warmup_ratio=0.05,
                per_device_train_batch_size=args.batch,
                logging_steps=max(1, args.sft_steps // 20),
                **common,
            )
        )
        return {"history": result.log_history}

    def grpo_stage() -> dict[str, Any]:
        result, reward = train_grpo(
            GRPOSettings(
                model=str(out / "sft"),
                output_dir=str(out / "grpo"),
                max_steps=args.grpo_steps,
                learning_rate=args.grpo_lr,
                num_generations=args.grpo_generations,
                per_device_train_batch_size=args.grpo_batch,
                max_completion_length=24,
                temperature=args.grpo_temperature,
                lora=LoraSettings(r=16, alpha=32, dropout=0.0, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]),
                logging_steps=max(1, args.grpo_steps // 20),
                **SHAPES,
                **common,
            )
        )
        return {"history": result.log_history, "edits": reward.stats.edits_executed}

    sft = stage("sft", sft_stage)
    grpo = stage("grpo", grpo_stage)

    agent_opts = {"template_file": str(template), "image_size": args.image_size, "max_new_tokens": 24}
    results = {
        "direct": evaluate(out / "eval-direct", "direct", {}, args.eval, 1000, args.max_steps),
        "SFT": evaluate(
            out / "eval-sft", "mira-7b", {**agent_opts, "path": str(out / "sft")}, args.eval, 1000, args.max_steps
        ),
        "SFT+GRPO": evaluate(
            out / "eval-grpo", "mira-7b", {**agent_opts, "path": str(out / "grpo")}, args.eval, 1000, args.max_steps
        ),
    }

    print(f"\ntrain_shapes: {args.sessions} sessions -> {stats.get('rows', '?')} rows; eval on {args.eval} NEW samples")
    print(f"policy: Qwen2.5-VL, hidden {args.hidden}, {args.layers} layers, images {args.image_size} px, CPU")
    print(f"{'agent':<10}{'shapes-sc':>10}{'95% CI':>18}{'parse':>8}{'steps':>7}")
    for name, r in results.items():
        values = [v for v in r["sc"].values() if v is not None]
        lo, hi = bootstrap_mean_ci(values) or (float("nan"), float("nan"))
        mean = sum(values) / max(1, len(values))
        print(f"{name:<10}{mean:>10.3f}{f'[{lo:.3f}, {hi:.3f}]':>18}{r['parse_rate']:>8.1%}{r['mean_steps']:>7.2f}")
    for a, b in (("direct", "SFT"), ("direct", "SFT+GRPO"), ("SFT", "SFT+GRPO")):
        p = paired(results[a]["sc"], results[b]["sc"])
        if p is not None:
            lo, hi = p.ci95 or (float("nan"), float("nan"))
            print(f"{b} - {a}: {p.delta:+.3f} [{lo:+.3f}, {hi:+.3f}], paired p = {p.p_value:.4f} (n={p.n})")
    reused = " (reused checkpoints: times of the run that trained them)" if sft.get("reused") else ""
    cpu = {
        k: f"{r['cpu_seconds'] / 60:.1f} CPU min" if "cpu_seconds" in r else "CPU time not logged"
        for k, r in (("sft", sft), ("grpo", grpo))
    }
    print(
        f"time: data {t_data:.0f} s, SFT {sft['seconds']:.0f} s wall / {cpu['sft']} ({args.sft_steps} steps), "
        f"GRPO {grpo['seconds']:.0f} s wall / {cpu['grpo']} ({args.grpo_steps} steps, {grpo['edits']} edits executed)"
        f"{reused}; {args.threads} thread(s), machine shared"
    )
    print(f"SFT loss curve: {curve(sft['history'], 'loss')}")
    for key in ("rewards/edit_reward/mean", "rewards/format_reward/mean", "frac_reward_zero_std"):
        print(f"GRPO {key}: {curve(grpo['history'], key)}")


if __name__ == "__main__":
    main()
