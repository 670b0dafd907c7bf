"""RunSpec: everything that determines a run's results, from YAML and CLI flags, validated and hashed.

The config hash covers what determines the trajectories (suite and its options, agent, editor, their versions
and options, budget, seed, sample selection) and nothing else: metrics are not in it, because adding a metric to
a run re-scores its saved images and never re-edits them; output folder, cache use and progress are not either.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = ["DEFAULT_METRICS", "RunSpec", "SpecError", "apply_sets", "load_spec"]

DEFAULT_METRICS = ("gpt-sc", "gemini-sc", "qwen3vl-sc", "editscore", "arniqa", "topiq")
"""The MIRA paper's metric set (supplementary Table B columns)."""


class SpecError(ValueError):
    """A bad config file, flag or --set value; the message names the field."""


class RunSpec(BaseModel):
    """The resolved configuration of one run (agent x editor x suite x metrics)."""

    model_config = ConfigDict(extra="forbid")

    suite: str = "mira500"
    agent: str = "direct"
    editor: str = "kontext"
    metrics: list[str] = Field(default_factory=lambda: list(DEFAULT_METRICS))
    max_steps: int = Field(5, ge=1, le=100)
    limit: int | None = Field(None, ge=1)
    seed: int = 0
    budget_curve: bool | list[int] = False
    suite_options: dict[str, Any] = Field(default_factory=dict)
    agent_options: dict[str, Any] = Field(default_factory=dict)
    editor_options: dict[str, Any] = Field(default_factory=dict)
    metric_options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    label: str | None = None  # display name in reports (run.json `label`); never part of the config hash

    @field_validator("metrics", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [m.strip() for m in value.split(",") if m.strip()]
        return value

    def curve_budgets(self) -> list[int]:
        """The budgets whose cut trajectories are scored: all of 1..max_steps (True), the listed ones, or none."""
        if self.budget_curve is True:
            return list(range(1, self.max_steps + 1))
        if not self.budget_curve:
            return []
        return sorted({k for k in self.budget_curve if 1 <= k <= self.max_steps} | {self.max_steps})

    def config_hash(self, identities: dict[str, Any] | None = None) -> str:
        """Hash of the trajectory-determining fields plus the plugins' identities (name, version, options)."""
        spec = self.hashed()
        if identities:  # agent and editor options enter through their identity (client knobs left out)
            spec.update(agent_options=identities["agent"]["options"], editor_options=identities["editor"]["options"])
        payload = {"spec": spec, "plugins": identities or {}}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]

    def hashed(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"metrics", "metric_options", "budget_curve", "label"})


MAX_YAML_NODES = 100_000
"""A config expands to at most this many YAML nodes with its aliases followed: far above any real run config
(a few hundred), far below an alias bomb (a 1 KB file that expands to billions)."""


def safe_yaml(text: str, what: str) -> Any:
    """`yaml.safe_load`, refusing documents whose aliases expand beyond MAX_YAML_NODES (or refer to themselves)
    before anything is built from them."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        size = _expanded_size(node, {})
        if size > MAX_YAML_NODES:
            raise SpecError(
                f"{what} expands to more than {MAX_YAML_NODES:,} YAML nodes through its aliases (&anchor / *alias); "
                "refused as an alias bomb"
            )
        return loader.construct_document(node)
    except RecursionError:
        raise SpecError(f"{what} is nested too deeply") from None
    finally:
        loader.dispose()


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """Nodes in the document with every alias expanded (memoised by node, so counting itself stays cheap)."""
    key = id(node)
    if key in sizes:
        if sizes[key] < 0:
            raise SpecError("a YAML alias refers to the node that contains it")
        return sizes[key]
    sizes[key] = -1
    total = 1
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            total += _expanded_size(k, sizes) + _expanded_size(v, sizes)
            if total > MAX_YAML_NODES:
                break
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            total += _expanded_size(item, sizes)
            if total > MAX_YAML_NODES:
                break
    sizes[key] = total
    return total


def load_spec(path: Path) -> dict[str, Any]:
    """Read a run YAML; unknown keys and wrong types are reported by RunSpec with their field names."""
    try:
        data = safe_yaml(path.read_text(encoding="utf-8"), f"config {path}")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read config {path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"config {path} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SpecError(f"config {path} must be a mapping of fields, got {type(data).__name__}")
    return data


_SECTIONS = {"suite": "suite_options", "agent": "agent_options", "editor": "editor_options"}


def apply_sets(base: dict[str, Any], sets: list[str]) -> dict[str, Any]:
    """Apply `--set key=value` overrides. Values are parsed as YAML scalars (0.2, true, [a, b], text).

    `suite.K`, `agent.K`, `editor.K` set plugin options; `metrics.NAME.K` sets one metric's option and
    `metric.K` sets K on every selected metric; a bare key sets a RunSpec field (e.g. `max_steps=3`).
    """
    out = json.loads(json.dumps(base))
    for item in sets:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise SpecError(f"--set expects key=value, got {item!r}")
        try:
            value = safe_yaml(raw, f"--set {key}") if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        head, _, rest = key.partition(".")
        if head in _SECTIONS and rest:
            out.setdefault(_SECTIONS[head], {})[rest] = value
        elif head == "metrics" and rest.count(".") >= 1:
            name, _, opt = rest.partition(".")
            out.setdefault("metric_options", {}).setdefault(name, {})[opt] = value
        elif head == "metric" and rest:
            out.setdefault("metric_options", {}).setdefault("*", {})[rest] = value
        elif not rest:
            out[key] = value
        else:
            raise SpecError(
                f"--set {key}: unknown section {head!r} (use suite., agent., editor., metric., metrics.NAME.)"
            )
    return out


def build_spec(data: dict[str, Any]) -> RunSpec:
    try:
        return RunSpec(**data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            problems.append(f"{loc}: {err['msg']} (got {err.get('input')!r})")
        raise SpecError("invalid run configuration: " + "; ".join(problems)) from None
