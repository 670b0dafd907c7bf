"""Evaluate two systems from Python and compare them per sample (notebook-style: run the cells top to bottom).

    python examples/two_systems.py [OUT_DIR]

Runs the `shapes` editor alone (`direct`) and driven by the closed-loop `heuristic` agent on the synthetic shapes
world (CPU, seconds), loads both as one labelled DataFrame and plots the per-category semantic consistency.
Running it again resumes both runs instead of recomputing them.
"""

# %% Run two systems (the same RunSpec as `mirabench run`; resumable)
import sys
from pathlib import Path

import mirabench

out = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/two-systems")
common = {"suite": "shapes", "editor": "shapes", "metrics": ["shapes"], "suite_options": {"n": 30}}
common["editor_options"] = {"error_rate": 0.2}
runs = [mirabench.evaluate(agent=agent, out=out / agent, **common) for agent in ("direct", "heuristic")]
for run in runs:
    sc = run.summary.metrics["shapes-sc"]
    print(f"{run.label:22s} shapes-sc {sc.mean:.3f}  95% CI {sc.ci95}  mean steps {run.summary.mean_steps}")

# %% One DataFrame: a row per sample per run, a column per score, a `label` per run
df = mirabench.samples_df(runs)
table = df.pivot_table(index="category", columns="label", values="shapes-sc", aggfunc="mean")
print(table.round(3).to_string())

# %% Plot (needs matplotlib)
try:
    import matplotlib

    matplotlib.use("Agg")
    ax = table.plot.bar(ylabel="shapes-sc (0-10)", title="Semantic consistency by number of goals", rot=0)
    ax.figure.tight_layout()
    ax.figure.savefig(out / "by_category.png", dpi=120)
    print(f"plot: {out / 'by_category.png'}")
except ImportError:
    print("pip install matplotlib to plot the table")
