"""Step-budget ablation: derived from one run at the largest budget vs one run per budget, on the shapes world.

Both ways produce the same Table B and C (tests/studies/test_step_budget.py proves it); this script prints what
each costs: agent, editor and judge calls, and wall time. A fixed latency per editor request and per judgement
(defaults 20 ms and 10 ms) stands in for a GPU editor and an API judge, so the wall-time ratio reflects calls
rather than the harness; `--editor-ms 0 --judge-ms 0` measures the harness alone. Caches are off for both.

    python benchmarks/ablation.py [--samples 100] [--budgets 3,4,5,6,7] [--editor-ms 20] [--judge-ms 10]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from slowworld import SlowShapesEditor  # noqa: F401  (registers the shapes-slow editor and metric)

from mirabench.spec import RunSpec
from mirabench.studies.budget import BudgetStudy, step_budget


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--budgets", default="3,4,5,6,7")
    parser.add_argument("--editor-ms", type=float, default=20.0)
    parser.add_argument("--judge-ms", type=float, default=10.0)
    args = parser.parse_args()
    budgets = [int(b) for b in args.budgets.split(",")]
    spec = RunSpec(
        suite="shapes",
        agent="heuristic",
        editor="shapes-slow",
        metrics=["shapes-slow"],
        suite_options={"n": args.samples, "size": 128, "min_goals": 1, "max_goals": 5},
        editor_options={"error_rate": 0.3, "latency_ms": args.editor_ms},
        metric_options={"shapes-slow": {"latency_ms": args.judge_ms}},
        seed=0,
    )
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MIRABENCH_CACHE_DIR"] = str(Path(tmp) / "cache")
        derived = step_budget(spec, budgets, Path(tmp) / "derived", use_cache=False)
        independent = step_budget(spec, budgets, Path(tmp) / "independent", independent=True, use_cache=False)
    same = derived.table_b.equals(independent.table_b) and derived.table_c.equals(independent.table_c)
    print(
        f"shapes, {args.samples} samples, budgets {budgets}, editor {args.editor_ms} ms/request, "
        f"judge {args.judge_ms} ms/item, caches off"
    )
    print(f"{'way':<12} {'agent':>7} {'editor':>7} {'judge':>7} {'wall s':>8}")
    for name, s in (("derived", derived), ("independent", independent)):
        print(f"{name:<12} {s.made.agent:>7} {s.made.editor:>7} {s.made.judge:>7} {s.wall_s:>8.2f}")
    _saved(derived, independent)
    print(f"tables identical: {same}")


def _saved(derived: BudgetStudy, independent: BudgetStudy) -> None:
    d, i = derived.made, independent.made
    print(
        f"saved by deriving: {i.editor - d.editor} editor calls ({i.editor / max(d.editor, 1):.2f}x fewer), "
        f"{i.judge - d.judge} judge calls ({i.judge / max(d.judge, 1):.2f}x fewer), "
        f"{i.agent - d.agent} agent calls; wall-time ratio independent/derived "
        f"{independent.wall_s / derived.wall_s:.2f}x"
    )


if __name__ == "__main__":
    main()
