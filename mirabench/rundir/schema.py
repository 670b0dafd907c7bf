"""The run directory's files as versioned, typed records: run.json, summary.json and one samples.jsonl row.

These models are the contract between the writers (runner, importer, merge) and every reader (reports, compare,
studies, status, the Python API). They accept unknown keys (`extra="allow"`), so a file written by a newer
mirabench still loads, and every field has a default, so files written before `schema_version` existed (version
0) load too. Bump `SCHEMA_VERSION` when a field changes meaning; add a field freely.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = [
    "COST_VERSION",
    "SCHEMA_VERSION",
    "CostLine",
    "CostRecord",
    "MetricSummary",
    "PluginIdentity",
    "RunManifest",
    "SampleRow",
    "StepRow",
    "Summary",
]

SCHEMA_VERSION = 1
COST_VERSION = 1


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow")


class PluginIdentity(_Record):
    """What determines a plugin's outputs: registry name, plugin version, validated options."""

    name: str = ""
    version: str = ""
    options: dict[str, Any] = Field(default_factory=dict)


class CostLine(_Record):
    """One role's calls, tokens, dollars and time: estimated before a run, or actually spent."""

    role: str = Field(default="", description="agent | editor | metric NAME")
    plugin: str = ""
    model: str = ""
    api: bool = False
    calls: int = 0
    exact: bool = Field(default=True, description="estimate: False where `calls` is an upper bound")
    attempts: int | None = Field(default=None, description="actual, API roles: requests sent, retries and failures too")
    tokens_in: int = 0
    tokens_out: int = 0
    usd: float | None = None
    seconds: float | None = None


class CostRecord(_Record):
    """run.json `cost`: the estimate made before the run's first attempt (a later `score` adds what it planned) next
    to what was actually spent over every attempt (API spend from the run's call journal, including killed
    attempts and every shard; local calls from the attempts that finished)."""

    schema_version: int = COST_VERSION
    prices_as_of: str = ""
    estimate: list[CostLine] = Field(default_factory=list)
    actual: list[CostLine] = Field(default_factory=list)
    attempt_calls: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="per attempt number: the agent and editor calls it made"
    )


class RunManifest(_Record):
    """run.json: what was run (spec, identities, environment) and how it went (status, attempts, calls, spend)."""

    schema_version: int = 0
    label: str | None = Field(default=None, description="a display name for reports; None: derived from the spec")
    spec: dict[str, Any] = Field(default_factory=dict, description="the resolved RunSpec fields that enter the hash")
    config_hash: str = ""
    metrics: list[str] = Field(default_factory=list)
    metric_options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    budget_curve: bool | list[int] = False
    plugins: dict[str, Any] = Field(default_factory=dict, description="suite/agent/editor identities")
    environment: dict[str, Any] = Field(default_factory=dict, description="python, platform, packages, git sha")
    status: str = Field(default="", description="running | complete | incomplete")
    started: str | None = None
    ended: str | None = None
    attempts: int = 0
    calls: dict[str, int] = Field(default_factory=dict, description="agent/editor/judge calls of the last attempt")
    metric_info: dict[str, dict[str, Any]] = Field(default_factory=dict, description="per metric: identity, usage")
    backend_info: dict[str, list[dict[str, Any]]] = Field(default_factory=dict, description="API agent/editor use")
    shards: dict[str, Any] | None = None
    cost: CostRecord | None = Field(default=None, description="estimate vs actual (runs made before it: None)")

    @property
    def suite(self) -> str:
        return str(self.spec.get("suite", ""))

    @property
    def agent(self) -> str:
        return str(self.spec.get("agent", ""))

    @property
    def editor(self) -> str:
        return str(self.spec.get("editor", ""))

    @property
    def max_steps(self) -> int | None:
        value = self.spec.get("max_steps")
        return int(value) if value is not None else None


class MetricSummary(_Record):
    """One score column over the run: mean of successful judgements only, with its coverage and failures."""

    mean: float | None = None
    ci95: list[float] | None = Field(default=None, description="percentile bootstrap 95% interval of the mean")
    n_ok: int = 0
    n_failed: int = 0
    coverage: float = 0.0
    status_counts: dict[str, int] = Field(default_factory=dict)
    range: list[float] | None = None
    higher_is_better: bool = True
    prompt_text: str | list[str] | None = Field(default=None, description="the judge prompt text(s) it used")


class Summary(_Record):
    """summary.json: the run's aggregate numbers (no timestamps, so a resumed run writes the same bytes)."""

    schema_version: int = 0
    suite: str = ""
    agent: str = ""
    editor: str = ""
    config_hash: str = ""
    max_steps: int | None = None
    metrics_run: list[str] = Field(default_factory=list)
    n_samples: int = 0
    n_done: int = 0
    n_failed: int = 0
    n_pending: int = 0
    failed_samples: list[dict[str, Any]] = Field(default_factory=list)
    stop_reasons: dict[str, int] = Field(default_factory=dict)
    mean_steps: float | None = None
    steps_histogram: dict[str, int] = Field(default_factory=dict)
    columns: list[str] = Field(default_factory=list, description="declared order; first = each metric's headline")
    metrics: dict[str, MetricSummary] = Field(default_factory=dict)
    categories: dict[str, dict[str, float | None]] = Field(default_factory=dict, description="per-category means")
    budget_curve: dict[str, dict[str, float | None]] | None = Field(
        default=None, description="Max=k -> mean_steps and column means, from trajectories cut at k"
    )
    protocol: dict[str, Any] | None = Field(
        default=None, description="the benchmark's own headline as its scripts compute it (mirabench.protocols)"
    )
    judge_reliability: dict[str, Any] = Field(
        default_factory=dict,
        description="per column: repeat noise, resolvable gap, judge agreement, what served it, drift, human agreement",
    )

    def headline(self) -> list[str]:
        """Score columns in their declared order (falls back to the metrics' keys for old files)."""
        return list(self.columns) or list(self.metrics)


def _inside_run(path: str | None) -> str | None:
    """An image path in a row names a file in the run directory (`images/HASH.png`), never one outside it: a report
    or a user study made from a copied or tampered run must not read, thumbnail or embed other files."""
    if path is None:
        return None
    parts = PurePosixPath(path.replace("\\", "/")).parts
    if not parts or path.startswith(("/", "\\")) or ":" in parts[0] or ".." in parts or "\0" in path:
        raise ValueError(f"image path {path!r} is not a path inside the run directory")
    return path


RunImage = Annotated[str | None, AfterValidator(_inside_run)]
"""A path relative to the run directory (images/HASH.png), checked to stay inside it."""


class StepRow(_Record):
    """One step of a trajectory: an edit (instruction, image) or the stop (reason)."""

    t: int = 0
    kind: str = ""
    seed: int | None = None
    instruction: str | None = None
    image: RunImage = Field(default=None, description="path relative to the run dir (images/HASH.png)")
    reason: str | None = None
    critique: str | None = None
    error: str | None = None


class SampleRow(_Record):
    """One samples.jsonl line: a sample's outcome, its final image and its scores."""

    id: str
    suite: str = ""
    category: str = ""
    instruction: str = ""
    status: str = ""
    stop_reason: str | None = None
    n_steps: int = 0
    source_image: RunImage = None
    final_image: RunImage = None
    scores: dict[str, float | None] = Field(default_factory=dict)
    score_status: dict[str, str] = Field(default_factory=dict)
    steps: list[StepRow] = Field(default_factory=list)
    error: str | None = None
