"""How far to trust a judge, on a shapes study with two stand-in judges of known noise (offline, CPU, ~3 minutes).

Three systems (the editor alone, and the heuristic agent with 2 and 5 steps) on N shapes tasks, judged by the
exact `shapes` metric and by `fake-judge` (truth + N(0, 0.5)) and `fake-judge-2` (truth + N(0, 1.5)). Then every
`mirabench judges` analysis: repeats (50 samples x 3), agreement, a calibration set and two drift checks (no change;
a +0.3 bias with fresh noise), and simulated human ratings (3 raters, truth + N(0, 1), rounded to 0-10).

    python examples/judge_reliability_study.py OUT_DIR [N]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from mirabench.cli.root import app
from mirabench.run.runner import run
from mirabench.spec import RunSpec

JUDGES = ["shapes", "fake-judge", "fake-judge-2"]
SYSTEMS = {"direct": ("direct", 1), "heuristic-2": ("heuristic", 2), "heuristic-5": ("heuristic", 5)}


def cli(*args: str) -> str:
    res = CliRunner().invoke(app, list(args))
    if res.exit_code not in (0, 1):
        raise RuntimeError(res.output)
    return res.output


def main(out: Path, n: int) -> None:
    dirs = {}
    for name, (agent, steps) in SYSTEMS.items():
        spec = RunSpec(
            suite="shapes",
            agent=agent,
            editor="shapes",
            metrics=JUDGES,
            max_steps=steps,
            seed=0,
            suite_options={"n": n},
            editor_options={"error_rate": 0.2},
        )
        dirs[name] = run(spec, out / name).run_dir
        for metric in JUDGES[1:]:
            cli("judges", "repeat", str(dirs[name]), "--metric", metric, "--n", "50", "--k", "3")
    agree = json.loads(cli("judges", "agree", *map(str, dirs.values()), "--json"))
    calib = out / "calib"
    cli("judges", "calibrate", str(dirs["heuristic-5"]), "--n", "100", "--out", str(calib))
    cli("judges", "drift", str(calib), "--record-in", str(dirs["heuristic-5"]))
    same = json.loads((calib / "drift.json").read_text())
    shifted = ["--set", "metrics.fake-judge.bias=0.3", "--set", "metrics.fake-judge.seed=1"]
    cli("judges", "drift", str(calib), *shifted, "--set", "metrics.fake-judge-2.seed=1")
    moved = json.loads((calib / "drift.json").read_text())
    rng = np.random.default_rng(0)
    lines = ["rater,sample_id,system,criterion,score"]
    for run_dir in dirs.values():
        for row in map(json.loads, (run_dir / "samples.jsonl").read_text().splitlines()):
            for rater in range(3):
                score = np.clip(np.round(row["scores"]["shapes-sc"] + rng.normal(0, 1.0)), 0, 10)
                lines.append(f"r{rater},{row['id']},{run_dir.name},sc,{score:g}")
    (out / "ratings.csv").write_text("\n".join(lines) + "\n")
    cli("judges", "human", str(out / "ratings.csv"), *map(str, dirs.values()))
    human = json.loads((dirs["direct"] / "judges" / "human.json").read_text())

    def est(e: dict) -> str:
        if not isinstance(e, dict) or e.get("value") is None:
            return "–"
        return f"{e['value']:.3f} [{e['ci95'][0]:.3f}, {e['ci95'][1]:.3f}]" if e.get("ci95") else f"{e['value']:.3f}"

    section = json.loads((dirs["heuristic-5"] / "summary.json").read_text())["judge_reliability"]
    print(f"shapes study: {len(SYSTEMS)} systems x {n} samples\n")
    print(
        "| column | repeat sd (50x3, heuristic-5) | ICC(2,1) | resolvable gap (n) | vs shapes-sc: sample Spearman "
        "(all systems) | system Kendall | pairwise acc. | human: sample Spearman | human: system Kendall | "
        "human: pairwise acc. | drift none / +0.3 |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    pairs = {(p["column"], p["other"]): p for p in agree}
    for col in ("shapes-sc", "fake-sc", "fake2-sc"):
        e = section[col]
        rep = e["repeat"]
        gap = e["resolvable_gap"]
        p = pairs.get(("shapes-sc", col))
        h = human["columns"][col]
        d0, d1 = same["columns"][col], moved["columns"][col]
        flag = ", DRIFTED" if d1["drifted"] else ""
        gap_text = f"{gap['value']:.3f} ({gap['n']})" if isinstance(gap, dict) else gap
        print(
            f"| {col} | {est(rep['std']) if isinstance(rep, dict) else rep} | "
            f"{est(rep['icc21']) if isinstance(rep, dict) else '–'} | "
            f"{gap_text} | "
            f"{est(p['sample']['spearman']) if p else '(reference)'} | {est(p['system']['kendall']) if p else '–'} | "
            f"{est(p['pairwise_accuracy']) if p else '–'} | {est(h['sample']['spearman'])} | "
            f"{est(h['system']['kendall'])} | {est(h['pairwise_accuracy'])} | "
            f"{d0['shift']:+.3f} (p={d0['p']:.2g}) / {d1['shift']:+.3f} (p={d1['p']:.2g}{flag}) |"
        )
    sc = human["criteria"]["sc"]
    print(f"\nraters' alpha (sc): {est(sc['alpha'])}; a rater vs the others: {est(sc['rater_pairwise_accuracy'])}")
    for name, run_dir in dirs.items():
        means = json.loads((run_dir / "summary.json").read_text())["metrics"]
        print(f"{name}: " + ", ".join(f"{c} {means[c]['mean']:.3f}" for c in ("shapes-sc", "fake-sc", "fake2-sc")))


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 200)
