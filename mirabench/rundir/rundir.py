"""`RunDir`: the one owner of a run directory's layout, its identities, how a run finishes and how it is read.

Writers (run, score, merge, import) finish through `RunDir.finish`; readers (reports, compare, studies, status,
the Python API) go through `RunDir.read`, which validates the files against `rundir.schema`. Nothing else
parses run.json, summary.json or samples.jsonl.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from mirabench.images import atomic_write_text
from mirabench.plugins import Agent, Column, Editor, Suite
from mirabench.protocols import protocol_tags
from mirabench.rundir.manifest import read_manifest, write_manifest
from mirabench.rundir.outputs import write_outputs
from mirabench.rundir.schema import SCHEMA_VERSION, RunManifest, SampleRow, Summary
from mirabench.rundir.store import RunStore, read_thumbnails
from mirabench.spec import RunSpec

__all__ = ["Run", "RunDir", "RunDirError", "plugin_identities"]


class RunDirError(ValueError):
    """A folder is not a readable mirabench run; the message names the file and what to do."""


def plugin_identities(
    spec: RunSpec, suite: Suite, agent: type[Agent[Any]], editor: type[Editor[Any]]
) -> dict[str, Any]:
    """What determines a run's trajectories (hashed into its config hash): suite data, agent and editor, each by
    its options' identity (an API plugin's client knobs such as `max_calls` are left out: raising a cap resumes)."""
    return {
        "suite": suite.identity(),
        "suite_data_version": suite.data_version,
        "agent": {
            "name": spec.agent,
            "version": agent.version,
            "options": agent.Options(**spec.agent_options).identity(),
        },
        "editor": {
            "name": spec.editor,
            "version": editor.version,
            "options": editor.Options(**spec.editor_options).identity(),
        },
    }


@dataclass
class Run:
    """A run as read from disk: its config (run.json; None for a bare summary), summary and per-sample rows."""

    path: Path
    config: RunManifest | None
    summary: Summary
    samples: list[SampleRow] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The run's display name: `--label` when given, else "editor + agent"."""
        if self.config is not None and self.config.label:
            return self.config.label
        return f"{self.summary.editor} + {self.summary.agent}"

    @cached_property
    def by_id(self) -> dict[str, SampleRow]:
        """The per-sample rows keyed by sample id (suite order kept)."""
        return {s.id: s for s in self.samples}

    def file(self, rel: str | None) -> Path | None:
        """A row's image as a file of this run directory, or None: no image, no such file, or a link leading out
        of the run (a copied or tampered run dir must not make a report read other files)."""
        if not rel:
            return None
        path = self.path / rel
        try:
            inside = path.resolve().is_relative_to(self._root) and path.is_file()
        except (OSError, ValueError):
            return None
        return path if inside else None

    def thumbnail(self, rel: str) -> bytes | None:
        """The gallery thumbnail (JPEG) the run made of one of its images while it had it in memory, if any."""
        return self._thumbnails.get(Path(rel).stem)

    @cached_property
    def _thumbnails(self) -> dict[str, bytes]:
        return read_thumbnails(self.path / "store.sqlite")

    @cached_property
    def _root(self) -> Path:
        """The run directory with its links resolved, once (a report asks `file` for every image it shows)."""
        return self.path.resolve()

    def scores(self, column: str) -> dict[str, float | None]:
        """One score column over the run's samples, by id (None where the judgement failed or is missing)."""
        return {s.id: s.scores.get(column) for s in self.samples}

    def samples_df(self) -> pd.DataFrame:
        """One row per sample: id, category, instruction, status, stop reason, steps, images, one column per score,
        and the run's `label` and `path` (so frames of several runs concatenate)."""
        rows = []
        for s in self.samples:
            rows.append(
                {
                    "label": self.label,
                    "run": str(self.path),
                    "id": s.id,
                    "suite": s.suite,
                    "category": s.category,
                    "instruction": s.instruction,
                    "status": s.status,
                    "stop_reason": s.stop_reason,
                    "n_steps": s.n_steps,
                    "source_image": str(self.path / s.source_image) if s.source_image else None,
                    "final_image": str(self.path / s.final_image) if s.final_image else None,
                    **{key: s.scores.get(key) for key in self.summary.headline()},
                }
            )
        return pd.DataFrame(rows)

    def steps_df(self) -> pd.DataFrame:
        """One row per step of every trajectory: sample id, step index, kind, instruction or stop reason, image."""
        rows = []
        for s in self.samples:
            for step in s.steps:
                rows.append(
                    {
                        "label": self.label,
                        "id": s.id,
                        "t": step.t,
                        "kind": step.kind,
                        "instruction": step.instruction,
                        "reason": step.reason,
                        "image": str(self.path / step.image) if step.image else None,
                        "error": step.error,
                    }
                )
        return pd.DataFrame(rows, columns=["label", "id", "t", "kind", "instruction", "reason", "image", "error"])


class RunDir:
    """A run directory on disk: `run.json`, `summary.json`, `samples.jsonl`, `store.sqlite`, `images/`."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    @property
    def run_json(self) -> Path:
        return self.path / "run.json"

    @property
    def summary_json(self) -> Path:
        return self.path / "summary.json"

    @property
    def samples_jsonl(self) -> Path:
        return self.path / "samples.jsonl"

    # -- reading -------------------------------------------------------------------------------------------------

    def manifest(self) -> dict[str, Any] | None:
        """run.json as a plain dict for read-modify-write by the writers (None: not a run yet)."""
        try:
            return read_manifest(self.path)
        except ValueError as exc:
            raise RunDirError(str(exc)) from None

    def config(self) -> RunManifest | None:
        raw = self.manifest()
        return None if raw is None else _validate(RunManifest, raw, self.run_json)

    def read(self, *, samples: bool = True) -> Run:
        """The run as typed records; a folder without summary.json is refused with one line."""
        if not self.summary_json.exists():
            raise RunDirError(f"{self.path} has no summary.json (is it a finished mirabench run?)")
        summary = _validate(Summary, _read_json(self.summary_json), self.summary_json)
        rows = self._rows() if samples and self.samples_jsonl.exists() else []
        return Run(self.path, self.config() if self.run_json.exists() else None, summary, rows)

    def _rows(self) -> list[SampleRow]:
        rows = []
        with self.samples_jsonl.open(encoding="utf-8") as f:
            for i, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    data = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise RunDirError(f"{self.samples_jsonl} line {i}: {exc}") from None
                rows.append(_validate(SampleRow, data, self.samples_jsonl, f" line {i}"))
        return rows

    # -- writing -------------------------------------------------------------------------------------------------

    def write_outputs(
        self, store: RunStore, spec: RunSpec, config_hash: str, columns: Sequence[Column]
    ) -> dict[str, Any]:
        """samples.jsonl and summary.json from the store (the summary header is built here and only here)."""
        header = {
            "schema_version": SCHEMA_VERSION,
            "suite": spec.suite,
            "agent": spec.agent,
            "editor": spec.editor,
            "config_hash": config_hash,
            "max_steps": spec.max_steps,
            "metrics_run": spec.metrics,
        }
        return write_outputs(
            store, columns, header, spec.curve_budgets(), protocol_tags(spec.suite, spec.suite_options)
        )

    def finish(
        self,
        store: RunStore,
        spec: RunSpec,
        config_hash: str,
        columns: Sequence[Column],
        manifest: dict[str, Any],
        **updates: Any,
    ) -> dict[str, Any]:
        """The end of every writer: outputs from the store, then run.json with the run's status and `updates`."""
        summary = self.write_outputs(store, spec, config_hash, columns)
        status = "complete" if summary["n_pending"] == 0 else "incomplete"
        manifest.update({"schema_version": SCHEMA_VERSION, "status": status, **updates})
        write_manifest(self.path, manifest)
        return summary

    def set_summary_field(self, key: str, value: Any) -> dict[str, Any]:
        """Replace one section of summary.json (e.g. `judge_reliability` after re-judging), keeping every other
        byte as write_outputs wrote it. Call under the run's writer lock."""
        summary = _read_json(self.summary_json)
        summary[key] = value
        _validate(Summary, summary, self.summary_json)
        atomic_write_text(self.summary_json, json.dumps(summary, indent=2, sort_keys=True) + "\n")
        return dict(summary)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunDirError(f"{path}: cannot be read ({exc})") from None


def _validate(model: Any, data: Any, path: Path, where: str = "") -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise RunDirError(f"{path}{where}: {loc}: {first['msg']}") from None
