"""The paper's whole study on shapes, planned mirabench's way vs the naive protocol: editor calls, judge calls, wall.

The study: the main grid (two editors, each alone and with the heuristic agent, Max=5), the step-budget and
termination tables (editor + agent at Max=3..7, Tables B and C) and the single-step table (the editor alone and with
the agent, one edit, Table A). Editors are `shapes-slow` / `shapes-slow-b` (a fixed sleep per request, a GPU
stand-in); the judge is the real `gpt-sc` path against the fake OpenAI server in its own process (fixed latency).

* mirabench: `run_grid`, `step_budget` derived from one Max=7 run (each budget's final image judged once and shared),
  `single_step`, all through one global cache (edits and judge answers), so cells that repeat an earlier cell's work
  (the single-step editor alone is the grid's baseline cell; the budget run's first five edits are the grid's) cost
  nothing again;
* naive: each table its own runs, no cache: the grid, one run per budget for Table B, one run per budget again for
  Table C (average steps: no judge needed, so these five runs have no metric), the two single-step runs. The
  script also prints the cheaper reading where Tables B and C share the five budget runs (C's runs left out).

Editor calls are requests that reached the editors, judge calls requests the fake server answered. The script
checks that both ways print the same Tables B and C and the same main table. It also counts the plan's distinct
requests (the naive way's, by content: editor, input pixels, instruction and seed; judge request bodies): a plan that
makes every distinct request once and nothing else reaches that floor, and no cache or sharing can go below it.

    python benchmarks/study_cost.py [--samples 30] [--editor-ms 20] [--judge-ms 200]
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
from typing import Any

import pandas as pd
from slowworld import SlowShapesEditor

from mirabench.registry import metrics
from mirabench.studies.budget import step_budget
from mirabench.studies.grid import GridSpec, run_grid
from mirabench.studies.single_step import single_step

FAKE = Path(__file__).resolve().parent.parent / "tests" / "fakes" / "api_server.py"
BUDGETS = [3, 4, 5, 6, 7]
C_RUNS = {"editor": 0}
"""Editor calls of the naive way's own Table C runs (the reading where B and C share runs leaves them out)."""


def served(base: str) -> tuple[int, int]:
    """(requests answered, distinct request bodies) so far."""
    with urllib.request.urlopen(base + "/_stats") as resp:
        stats = json.loads(resp.read())
    return int(stats["requests"]), int(stats["distinct"])


def study(out: Path, n: int, editor_ms: float, naive: bool) -> dict[str, Any]:
    """Run the whole study one way; returns its tables (to compare the two ways)."""
    use_cache = not naive
    judge = {"gpt-sc": {"cache": False}} if naive else {}
    editor_options = {"latency_ms": editor_ms}
    grid = GridSpec(
        suite="shapes",
        suite_options={"n": n, "size": 128},
        metrics=["gpt-sc"],
        metric_options=judge,
        max_steps=5,
        agents={"heuristic": {}},
        editors={
            "shapes-slow": {**editor_options, "error_rate": 0.1},
            "shapes-slow-b": {**editor_options, "error_rate": 0.3},
        },
    )
    main = run_grid(grid, out / "grid", use_cache=use_cache)
    system = grid.spec("shapes-slow", "heuristic")
    budget = step_budget(system, BUDGETS, out / "budget", independent=naive, use_cache=use_cache)
    table_c = budget.table_c
    if naive:  # Table C its own five runs (steps only: no judge); their editor calls are counted apart
        before = SlowShapesEditor.requests
        unjudged = system.model_copy(update={"metrics": [], "metric_options": {}})
        table_c = step_budget(unjudged, BUDGETS, out / "budget-c", independent=True, use_cache=False).table_c
        C_RUNS["editor"] = SlowShapesEditor.requests - before
    column = metrics.get("gpt-sc").columns[0].key
    table_a = single_step(
        system.model_copy(update={"max_steps": 1}), "heuristic", column, out / "single", use_cache=use_cache
    )
    return {"main": main.table, "B": budget.table_b, "C": table_c, "A": table_a.table}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=30)
    ap.add_argument("--editor-ms", type=float, default=20.0, help="per edit request")
    ap.add_argument("--judge-ms", type=float, default=200.0, help="per judge API call")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mirabench-study-cost-"))
    server = subprocess.Popen(
        [sys.executable, str(FAKE), "--latency", str(args.judge_ms / 1000)], stdout=subprocess.PIPE, text=True
    )
    rows: dict[str, tuple[int, int, float]] = {}
    tables: dict[str, dict[str, Any]] = {}
    try:
        assert server.stdout is not None
        base = f"http://127.0.0.1:{server.stdout.readline().strip()}"
        os.environ.update({"OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": base + "/v1"})
        for way in ("naive", "mirabench"):  # naive first: the server's distinct bodies after it are the plan's
            os.environ["MIRABENCH_CACHE_DIR"] = str(tmp / f"cache-{way}")  # cold: nothing from the other way
            SlowShapesEditor.requests = 0
            (judged, _), t0 = served(base), time.perf_counter()
            tables[way] = study(tmp / way, args.samples, args.editor_ms, naive=way == "naive")
            rows[way] = (SlowShapesEditor.requests, served(base)[0] - judged, time.perf_counter() - t0)
            if way == "naive":
                floor = (len(SlowShapesEditor.distinct), served(base)[1])
        beyond = (len(SlowShapesEditor.distinct), served(base)[1])  # requests mirabench made that naive did not
    finally:
        server.terminate()
        server.wait()
    load = os.getloadavg()[0]
    print(
        f"study on shapes ({args.samples} samples, 128 px): grid 2 editors x (alone, + heuristic) at Max=5; "
        f"Tables B/C at Max={BUDGETS[0]}..{BUDGETS[-1]}; Table A single-step +/- agent; editor {args.editor_ms:.0f} "
        f"ms/request, gpt-sc {args.judge_ms:.0f} ms/call; load average {load:.2f}"
    )
    (me, mj, mw), (ne, nj, nw) = rows["mirabench"], rows["naive"]
    ce = C_RUNS["editor"]
    print(f"{'way':<24} {'editor calls':>13} {'judge calls':>12} {'wall s':>8}")
    print(f"{'mirabench':<24} {me:>13} {mj:>12} {mw:>8.1f}")
    print(f"{'naive':<24} {ne:>13} {nj:>12} {nw:>8.1f}")
    print(f"{'naive, B and C shared':<24} {ne - ce:>13} {nj:>12}    (Table C's own {ce} editor calls left out)")
    fe, fj = floor
    print(f"{'distinct':<24} {fe:>13} {fj:>12}    (the plan's distinct requests: the floor of any way to run it)")
    shared = (me + mj) / (ne - ce + nj)
    print(
        f"mirabench / naive: editor calls {me / ne:.2f}x, judge calls {mj / nj:.2f}x, "
        f"all calls {(me + mj) / (ne + nj):.2f}x, wall {mw / nw:.2f}x; target <= 0.3x calls: "
        f"{'met' if (me + mj) / (ne + nj) <= 0.3 else 'NOT met'}; against naive with B and C sharing runs: all calls "
        f"{shared:.2f}x (editor {me / (ne - ce):.2f}x); the floor is {(fe + fj) / (ne - ce + nj):.2f}x of that, and "
        f"mirabench made {me + mj - fe - fj} calls over it ({beyond[0] - fe + beyond[1] - fj} not in the naive way)"
    )
    same = {name: _same(tables["mirabench"][name], tables["naive"][name]) for name in ("main", "B", "C", "A")}
    print("tables identical both ways: " + ", ".join(f"{k} {v}" for k, v in same.items()))


def _same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    return a.reset_index(drop=True).equals(b.reset_index(drop=True))


if __name__ == "__main__":
    main()
