"""The main study: every editor alone and with each agent, on one suite and metric set, from one YAML file.

    suite: shapes
    suite_options: {n: 50}
    metrics: [shapes]
    max_steps: 5
    agents: [heuristic]              # or {name: {options}}; `direct` (the editor alone) is added unless baseline: false
    editors: {shapes: {error_rate: 0.1}}

Each cell is an ordinary run directory (resumable, cached) under OUT/runs/<editor>+<agent>. Cells whose plugin
cannot run here (no API key, missing extra) are listed as skipped with the reason, so proprietary rows appear
exactly when their keys exist; so are cells that stop on a user error (bad options, missing weights or data),
and the rest of the grid still runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from mirabench.registry import PluginError, agents, editors
from mirabench.reports.leaderboard import write_report
from mirabench.reports.paper_tables import write_table
from mirabench.run.estimate import Planned
from mirabench.run.runner import Progress, RunError, run
from mirabench.spec import RunSpec, SpecError, load_spec

__all__ = ["GridResult", "GridSpec", "load_grid", "plan_grid", "run_grid"]

CELL_ERRORS = (PluginError, SpecError, RunError, FileNotFoundError, ValueError)  # the CLI's one-line user errors


class GridSpec(BaseModel):
    """A grid of runs sharing suite, metrics, budget and seed."""

    model_config = ConfigDict(extra="forbid")

    suite: str
    suite_options: dict[str, Any] = Field(default_factory=dict)
    metrics: list[str]
    metric_options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    max_steps: int = Field(5, ge=1)
    seed: int = 0
    limit: int | None = Field(None, ge=1)
    agents: dict[str, dict[str, Any]]
    editors: dict[str, dict[str, Any]]
    baseline: bool = True
    title: str = "main table"

    @field_validator("agents", "editors", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if isinstance(value, list):
            return {str(v): {} for v in value}
        if isinstance(value, dict):
            return {k: (v or {}) for k, v in value.items()}
        return value

    def cells(self) -> list[tuple[str, str]]:
        names = (["direct"] if self.baseline and "direct" not in self.agents else []) + list(self.agents)
        return [(e, a) for e in self.editors for a in names]

    def spec(self, editor: str, agent: str) -> RunSpec:
        return RunSpec(
            suite=self.suite,
            agent=agent,
            editor=editor,
            metrics=self.metrics,
            max_steps=1 if agent == "direct" else self.max_steps,
            limit=self.limit,
            seed=self.seed,
            suite_options=self.suite_options,
            agent_options=self.agents.get(agent, {}),
            editor_options=self.editors[editor],
            metric_options=self.metric_options,
        )


@dataclass
class GridResult:
    table: pd.DataFrame
    run_dirs: list[Path] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def load_grid(path: Path) -> GridSpec:
    try:
        return GridSpec(**load_spec(path))
    except ValueError as exc:
        raise SpecError(f"invalid study config {path}: {exc}") from None


def _unavailable(editor: str, agent: str) -> str | None:
    for registry, name in ((editors, editor), (agents, agent)):
        try:
            registry.get(name)
        except PluginError as exc:
            return str(exc)
    return None


def system_name(editor: str, agent: str) -> str:
    return editor if agent == "direct" else f"{editor} + {agent}"


def plan_grid(grid: GridSpec, out: Path) -> tuple[list[Planned], dict[str, str]]:
    """The runs of the available cells (name: the cell's system), and the cells skipped with their reason."""
    planned, skipped = [], {}
    for editor, agent in grid.cells():
        reason = _unavailable(editor, agent)
        if reason:
            skipped[system_name(editor, agent)] = reason
        else:
            planned.append(
                Planned(system_name(editor, agent), grid.spec(editor, agent), out / "runs" / f"{editor}+{agent}")
            )
    return planned, skipped


def run_grid(grid: GridSpec, out: Path, *, use_cache: bool = True, progress: Progress | None = None) -> GridResult:
    """Run every available cell, then write the main table (CSV/MD/JSON) and one report over all cells."""
    result = GridResult(pd.DataFrame())
    rows = []
    planned, result.skipped = plan_grid(grid, out)
    for cell in planned:
        editor, agent = cell.spec.editor, cell.spec.agent
        try:
            done = run(cell.spec, cell.out, use_cache=use_cache, progress=progress)
        except CELL_ERRORS as exc:  # a bad cell (its options, weights, data) is listed, the grid goes on
            result.skipped[cell.name] = str(exc)
            continue
        result.run_dirs.append(done.run_dir)
        s = done.summary
        rows.append(
            {
                "system": cell.name,
                "editor": editor,
                "agent": agent,
                "n": s["n_samples"],
                "failed": s["n_failed"],
                "mean_steps": s["mean_steps"],
                **{key: m["mean"] for key, m in s["metrics"].items()},
            }
        )
    result.table = pd.DataFrame(rows)
    notes = [f"skipped {name}: {why}" for name, why in result.skipped.items()]
    write_table(result.table, out / "main_table", f"{grid.title}: {grid.suite}", notes=notes)
    if result.run_dirs:
        write_report(result.run_dirs, out / "report.html", title=f"{grid.title}: {grid.suite}")
    return result
