"""The Python API: run an evaluation and load results as DataFrames, the same way the CLI does.

    import mirabench
    run = mirabench.evaluate(suite="shapes", agent="heuristic", editor="shapes", metrics=["shapes"],
                             out="runs/h", suite_options={"n": 20})
    run.summary.metrics["shapes-sc"].mean
    df = mirabench.samples_df(["runs/h", "runs/d"])   # one row per sample per run, a `label` column

`evaluate` builds the same RunSpec as `mirabench run` and goes through the same runner, so a run started from
Python resumes from the CLI and the other way round.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from mirabench.run.runner import run as run_spec
from mirabench.rundir.rundir import Run, RunDir
from mirabench.spec import build_spec

__all__ = ["evaluate", "load_run", "samples_df"]


def evaluate(
    *,
    suite: str,
    agent: str = "direct",
    editor: str,
    metrics: Sequence[str] = (),
    out: str | Path | None = None,
    max_steps: int = 5,
    limit: int | None = None,
    seed: int = 0,
    budget_curve: bool | list[int] = False,
    suite_options: dict[str, Any] | None = None,
    agent_options: dict[str, Any] | None = None,
    editor_options: dict[str, Any] | None = None,
    metric_options: dict[str, dict[str, Any]] | None = None,
    force_new: bool = False,
    use_cache: bool = True,
) -> Run:
    """Run (or resume) one configuration into `out` and return it as read back from disk."""
    spec = build_spec(
        {
            "suite": suite,
            "agent": agent,
            "editor": editor,
            "metrics": list(metrics),
            "max_steps": max_steps,
            "limit": limit,
            "seed": seed,
            "budget_curve": budget_curve,
            "suite_options": suite_options or {},
            "agent_options": agent_options or {},
            "editor_options": editor_options or {},
            "metric_options": metric_options or {},
        }
    )
    result = run_spec(spec, Path(out) if out is not None else None, force_new=force_new, use_cache=use_cache)
    return load_run(result.run_dir)


def load_run(path: str | Path) -> Run:
    """A finished run directory as typed records (`.config`, `.summary`, `.samples`, `.samples_df()`)."""
    return RunDir(path).read()


def samples_df(runs: Iterable[str | Path | Run]) -> pd.DataFrame:
    """Per-sample rows of several runs in one frame, labelled by run (`label`, `run` columns)."""
    frames = [(r if isinstance(r, Run) else load_run(r)).samples_df() for r in runs]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
