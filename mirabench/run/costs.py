"""run.json `cost`: the estimate made before a run next to what it actually spent (the report's "estimate vs
actual" table).

The estimate is the one `mirabench estimate` prints (mirabench.run.estimate), made once for the whole plan before
the run's first attempt when the plan calls a paid API (a free plan gets none: it would decode every source image
once more before the first edit). A resume keeps it (its work is part of that plan) and only adds lines for metrics
the plan did not have; `score` adds what it plans to judge. The actual side is recomputed at every finish from
durable records, so it covers every attempt: API calls, tokens and dollars from the call journal of the run store
and of every shard store (killed attempts included), local judgements from the stored scores, agent and editor
calls from the attempts that reached their finish (a killed attempt's local calls are not known; they cost no
money), and agent/editor time from the committed steps.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from dataclasses import asdict
from pathlib import Path
from typing import Any

from mirabench.judge.options import ClientOptions
from mirabench.judge.prices import AS_OF, load_prices
from mirabench.registry import agents, editors, metrics
from mirabench.run.estimate import Line, estimate
from mirabench.rundir.schema import CostLine, CostRecord
from mirabench.rundir.shards import shard_dir
from mirabench.rundir.store import open_readonly
from mirabench.spec import RunSpec
from mirabench.types import Sample

__all__ = ["paid", "planned_cost", "spent_cost"]

log = logging.getLogger(__name__)


def _roles(spec: RunSpec, edit: bool) -> list[tuple[str, str]]:
    edits = [("agent", spec.agent), ("editor", spec.editor)] if edit else []
    return [*edits, *((f"metric {m}", m) for m in spec.metrics)]


def planned_cost(
    spec: RunSpec,
    run_dir: Path,
    before: dict[str, Any] | None,
    *,
    use_cache: bool = True,
    edit: bool = True,
    retry_failed: bool = False,
    samples: Sequence[Sample] | None = None,
) -> dict[str, Any] | None:
    """run.json's `cost` with this command's estimate in it, or None when it needs none (a resume of a planned run).
    `samples`: the suite's records when the caller has loaded them already (a run does, for itself).

    A run (`edit`) adds lines only for roles its record lacks; a score adds its planned judgements to the lines.
    An estimate that fails is logged and left out: it must never stop the run it describes."""
    record = CostRecord.model_validate(before or {})
    have = {line.role for line in record.estimate}
    if edit and record.estimate and all(role in have for role, _ in _roles(spec, edit)):
        return None
    if not paid(spec):  # pricing nothing would still decode every source before the first edit: the GPU waits
        return None
    try:
        lines = estimate(
            spec,
            run_dir,
            use_cache=use_cache,
            prices=load_prices(None),
            edit=edit,
            retry_failed=retry_failed,
            samples=samples,
        )
    except Exception as exc:  # the estimate is a report, not a precondition
        log.warning("no cost estimate recorded for %s: %s: %s", run_dir, type(exc).__name__, exc)
        return None
    by_role = {line.role: line for line in record.estimate}
    for line in lines:
        old = by_role.get(line.role)
        if old is None:
            record.estimate.append(CostLine(**asdict(line)))
        elif not edit:
            _add(old, line)
    record.prices_as_of = AS_OF
    return record.model_dump()


def paid(spec: RunSpec) -> bool:
    """Whether any role of the plan calls a paid API (an agent, editor or metric with client options)."""
    classes = [agents.get(spec.agent), editors.get(spec.editor), *(metrics.get(m) for m in spec.metrics)]
    return any(issubclass(cls.Options, ClientOptions) for cls in classes)


def _add(into: CostLine, line: Line) -> None:
    into.calls += line.calls
    into.exact = into.exact and line.exact
    into.tokens_in += line.tokens_in
    into.tokens_out += line.tokens_out
    if line.usd is not None:
        into.usd = (into.usd or 0.0) + line.usd
    if line.seconds is not None:
        into.seconds = (into.seconds or 0.0) + line.seconds


def spent_cost(
    run_dir: Path, spec: RunSpec, before: dict[str, Any] | None, attempt: int, calls: dict[str, int] | None
) -> dict[str, Any]:
    """run.json's `cost` with the actual side recomputed; `calls`: this attempt's agent/editor calls (None: score)."""
    record = CostRecord.model_validate(before or {})
    if calls is not None:  # keyed by attempt: merging a sharded attempt again replaces, never double counts
        record.attempt_calls[str(attempt)] = {"agent": calls.get("agent", 0), "editor": calls.get("editor", 0)}
    journal = _journal([run_dir / "store.sqlite", *sorted(shard_dir(run_dir).glob("rank-*.sqlite"))])
    judged, seconds = _store_counts(run_dir / "store.sqlite")
    actual = []
    for role, plugin in _roles(spec, edit=True):
        line = CostLine(role=role, plugin=plugin)
        if role in ("agent", "editor"):
            line.calls = sum(a.get(role, 0) for a in record.attempt_calls.values())
            line.seconds = seconds.get(role)
        elif getattr(metrics.get(plugin), "planned_requests", None) is not None:
            line.calls = journal.get(plugin, {}).get("answered", 0)  # API judges: the requests answered
        else:
            line.calls = judged.get(plugin, 0)  # one judgement per (sample, image)
        if plugin in journal:
            spent = journal[plugin]
            line.api, line.model, line.attempts = True, spent["model"], spent["attempts"]
            line.tokens_in, line.tokens_out, line.usd = spent["tokens_in"], spent["tokens_out"], spent["usd"]
        actual.append(line)
    record.actual = actual
    record.prices_as_of = record.prices_as_of or AS_OF
    return record.model_dump()


def _journal(paths: Sequence[Path]) -> dict[str, dict[str, Any]]:
    """Per client label (a plugin's name): attempts, answers, tokens and dollars over every store file's journal."""
    out: dict[str, dict[str, Any]] = {}
    for path in paths:
        if not path.exists():
            continue
        try:
            with closing(open_readonly(path)) as db:
                rows = db.execute(
                    "SELECT label, MAX(model), COUNT(*), SUM(outcome='ok'), SUM(input_tokens), SUM(output_tokens),"
                    " SUM(cost_usd), COUNT(cost_usd) FROM calls GROUP BY label"
                ).fetchall()
        except sqlite3.OperationalError:  # a store from before the call journal
            continue
        for label, model, n, ok, tin, tout, usd, priced in rows:
            empty = {"model": model or "", "attempts": 0, "answered": 0, "tokens_in": 0, "tokens_out": 0, "usd": None}
            t = out.setdefault(label, empty)
            t["attempts"] += n
            t["answered"] += ok or 0
            t["tokens_in"] += tin or 0
            t["tokens_out"] += tout or 0
            if priced:
                t["usd"] = round((t["usd"] or 0.0) + usd, 6)
    return out


def _store_counts(path: Path) -> tuple[dict[str, int], dict[str, float]]:
    """Judgements per metric (distinct sample and image) and agent/editor seconds of the committed steps."""
    with closing(open_readonly(path)) as db:
        judged = dict(db.execute("SELECT metric, COUNT(DISTINCT sample_id || ' ' || image) FROM scores GROUP BY 1"))
        agent_ms, editor_ms = db.execute("SELECT SUM(agent_ms), SUM(editor_ms) FROM steps").fetchone()
    seconds = {role: ms / 1000 for role, ms in (("agent", agent_ms), ("editor", editor_ms)) if ms}
    return judged, seconds
