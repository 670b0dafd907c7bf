"""`mirabench run` and `mirabench score`: resolve plugins, resume or start a run directory, edit, score, write.

The run directory is the unit of work. Running the same config into the same directory resumes it: finished
samples are skipped, trajectories in progress continue from their last committed step, and missing scores are
computed. A different config is refused (unless `force_new`, which moves the old directory aside).
"""

from __future__ import annotations

import errno
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from mirabench.cache import Cache, cache_key
from mirabench.images import ImageLoadError, image_hash, keep_freed_memory, source_image
from mirabench.judge.journal import JournalError, use_journal
from mirabench.plugins import Metric, Suite
from mirabench.registry import PluginError, agents, editors, metrics, suites
from mirabench.reports.gallery import GALLERY_SAMPLES, thumbnail_jpeg
from mirabench.run.loop import Finished, LiveSample, LoopStats, Scheduler
from mirabench.run.scoring import ScoreJob, Scorer, score_now
from mirabench.rundir.manifest import environment, read_manifest, write_manifest
from mirabench.rundir.outputs import final_image
from mirabench.rundir.rundir import RunDir, RunDirError, plugin_identities
from mirabench.rundir.shards import (
    LOCK_NAME,
    Shard,
    absorb_earlier,
    clear_rank_info,
    rank_infos,
    run_lock,
    shard_db,
    write_rank_info,
)
from mirabench.rundir.store import RETRYABLE, CallLog, RunStore, SampleRecord
from mirabench.rundir.writer import LOCK_FILE, OWNERS, WriterBusy, sweep_temps, writer_lock
from mirabench.spec import RunSpec, SpecError
from mirabench.types import Sample, StopReason

__all__ = [
    "RunError",
    "RunResult",
    "default_run_dir",
    "load_samples",
    "merge_run",
    "read_run",
    "resolve",
    "run",
    "score_run",
    "score_spec",
]


class Progress(Protocol):
    """Told how far a stage got: `done` of `total` (samples or score items), and how many ended in an error."""

    def __call__(self, stage: str, done: int, total: int, failed: int | None = None) -> None: ...


class RunError(RuntimeError):
    """A run cannot start or continue; the message says why and what to do."""


@dataclass
class RunResult:
    run_dir: Path
    summary: dict[str, Any]
    stats: LoopStats = field(default_factory=LoopStats)
    resumed: bool = False
    judgements: int = 0
    merged: bool = False
    replaced: dict[str, int] = field(default_factory=dict)  # metric -> scores dropped: its config changed
    redone: list[str] = field(default_factory=list)  # samples run again: their source image file changed


def resolve(spec: RunSpec) -> RunSpec:
    """Check every plugin name, availability and option before any work; all problems in one message."""
    problems: list[str] = []
    resolved = spec.model_copy(deep=True)
    for registry, name, attr in (
        (suites, spec.suite, "suite_options"),
        (agents, spec.agent, "agent_options"),
        (editors, spec.editor, "editor_options"),
    ):
        try:
            setattr(resolved, attr, registry.validate_options(name, getattr(spec, attr)))
        except PluginError as exc:
            problems.append(str(exc))
    shared = dict(spec.metric_options.get("*", {}))
    per_metric: dict[str, dict[str, Any]] = {}
    unknown = set(spec.metric_options) - {"*"} - set(spec.metrics)
    if unknown:
        problems.append(f"options given for metrics not selected: {', '.join(sorted(unknown))}")
    used_shared: set[str] = set()
    for name in spec.metrics:
        try:
            cls = metrics.get(name)
        except PluginError as exc:
            problems.append(str(exc))
            continue
        opts = {k: v for k, v in shared.items() if k in cls.Options.model_fields}
        used_shared |= set(opts)
        opts.update(spec.metric_options.get(name, {}))
        try:
            per_metric[name] = metrics.validate_options(name, opts)
        except PluginError as exc:
            problems.append(str(exc))
    if shared and not problems and set(shared) - used_shared:
        problems.append(f"metric option(s) {', '.join(sorted(set(shared) - used_shared))} match no selected metric")
    if len(set(spec.metrics)) != len(spec.metrics):
        problems.append("a metric is listed twice in --metrics")
    if problems:
        raise RunError("\n".join(problems))
    resolved.metric_options = per_metric
    return resolved


def default_run_dir(spec: RunSpec) -> Path:
    return Path("runs") / f"{spec.suite}-{spec.agent}-{spec.editor}-{spec.config_hash()[:8]}"


def load_samples(suite: Suite, limit: int | None) -> list[Sample]:
    out: list[Sample] = []
    seen: dict[str, int] = {}
    for i, sample in enumerate(suite.samples()):
        if limit is not None and len(out) >= limit:
            break
        if sample.id in seen:
            raise RunError(
                f"suite {suite.name!r} has duplicate sample id {sample.id!r} (rows {seen[sample.id]} and {i})"
            )
        seen[sample.id] = i
        out.append(sample)
    return out


_LOCKS = (LOCK_NAME, LOCK_FILE, OWNERS)


def _open_run_dir(
    run_dir: Path, spec: RunSpec, config_hash: str, identities: dict[str, Any]
) -> tuple[dict[str, Any], bool]:
    """Return the manifest to continue (and whether it is a resume), refusing foreign or mismatched dirs."""
    try:
        old = read_manifest(run_dir)
    except ValueError as exc:
        raise RunError(str(exc)) from None
    if old is None and run_dir.exists() and any(p.name not in _LOCKS for p in run_dir.iterdir()):
        raise RunError(f"{run_dir} exists, is not empty and is not a mirabench run (no run.json); choose another --out")
    if old is not None and old.get("config_hash") != config_hash:
        before = old.get("spec", {})
        diffs = [k for k in sorted(set(before) | set(spec.hashed())) if before.get(k) != spec.hashed().get(k)]
        data_was, data_now = old.get("plugins", {}).get("suite_data_version"), identities["suite_data_version"]
        if data_was != data_now:  # the suite's files changed (e.g. an edited manifest row)
            diffs.append(f"suite data ({data_was} -> {data_now})")
        what = f" (differs in: {', '.join(diffs)})" if diffs else " (plugin versions or options differ)"
        raise RunError(
            f"{run_dir} holds a run with config hash {old.get('config_hash')}, this config is {config_hash}"
            f"{what}. Use another --out, or --force-new to move the old run aside and start afresh."
        )
    return old or {}, old is not None


def _move_aside(run_dir: Path, config_hash: str) -> None:
    """--force-new: a run dir holding another config is renamed `NAME.old-TIME`, under its writer lock."""
    try:
        with writer_lock(run_dir) as lock:
            try:
                old = read_manifest(run_dir)
            except ValueError:
                old = None
            if old is None or old.get("config_hash") == config_hash:
                return
            aside = run_dir.with_name(f"{run_dir.name}.old-{time.strftime('%Y%m%d-%H%M%S')}")
            run_dir.rename(aside)
            lock.moved(aside)
    except WriterBusy as exc:
        raise RunError(str(exc)) from None


def run(
    spec: RunSpec,
    out: Path | None = None,
    *,
    shard: Shard | None = None,
    force_new: bool = False,
    use_cache: bool = True,
    max_live: int = 256,
    max_live_mb: int = 2048,
    max_pending: int | None = None,
    score_between_waves: bool = False,
    progress: Progress | None = None,
) -> RunResult:
    """Run (or resume) a spec into a run directory and return the summary.

    With a `shard` of world size > 1 this process runs only its rank's samples into its own shard store; the
    last rank to finish merges (its RunResult has `merged`), the others return an empty summary.
    Memory is bounded by `max_live` (samples in flight), `max_live_mb` (the decoded bytes of their source and
    latest images; 0 = no byte bound) and `max_pending` (finished samples waiting for the scorer; None =
    `scoring.PENDING_BATCHES` batches, 0 = unbounded), not by the suite's size. Each image is at most
    `images.MAX_DECODED_BYTES` decoded, so the images in memory stay under about
    max_live_mb + (max_pending + one scorer batch) x 2 x MAX_DECODED_BYTES, plus two waves' edited outputs (one
    being committed while the next is edited).
    Metrics score in the background while the next waves edit, or, with `score_between_waves`, after each wave
    and before the next (a local metric sharing the editor's GPU then never runs beside it)."""
    spec = resolve(spec)
    keep_freed_memory()  # every image's buffers would otherwise be given back and faulted in again (~1 ms each)
    sharded = shard if shard is not None and shard.world > 1 else None
    if sharded and force_new:
        raise RunError("--force-new cannot be combined with sharding (every rank would move the run aside)")
    suite = suites.build(spec.suite, **spec.suite_options)
    agent_cls, editor_cls = agents.get(spec.agent), editors.get(spec.editor)
    pacing = _Pacing(use_cache, max_live, max_live_mb * 2**20, max_pending, score_between_waves)
    identities = plugin_identities(spec, suite, agent_cls, editor_cls)
    config_hash = spec.config_hash(identities)
    run_dir = Path(out) if out is not None else default_run_dir(spec)
    if force_new:
        _move_aside(run_dir, config_hash)
    try:
        with writer_lock(run_dir, shared=sharded is not None):
            return _run_locked(spec, run_dir, suite, config_hash, identities, sharded, use_cache, pacing, progress)
    except WriterBusy as exc:
        raise RunError(str(exc)) from None
    except (OSError, sqlite3.OperationalError) as exc:  # the lock's owner file or run.json, before the store opens
        if not _disk_full(exc):
            raise
        raise _no_space(run_dir, exc) from None


def _run_locked(
    spec: RunSpec,
    run_dir: Path,
    suite: Suite,
    config_hash: str,
    identities: dict[str, Any],
    sharded: Shard | None,
    use_cache: bool,
    pacing: _Pacing,
    progress: Progress | None,
) -> RunResult:
    samples = load_samples(suite, spec.limit)  # once: the estimate plans over the same records
    cost = None if sharded and sharded.rank else _planned_cost(spec, run_dir, config_hash, use_cache, samples)
    manifest, resumed = _begin(run_dir, spec, config_hash, identities, sharded, cost)
    db = shard_db(run_dir, sharded) if sharded else None
    with _run_store(run_dir, db) as store:
        store.add_samples((s.id, i, s.category, s.instruction) for i, s in enumerate(samples))
        built_metrics = [metrics.build(n, **spec.metric_options.get(n, {})) for n in spec.metrics]
        replaced = store.use_metric_configs(_configs(built_metrics))
        absorb_earlier(store, sharded)
        mine = [s for i, s in enumerate(samples) if sharded is None or sharded.owns(i)]
        records = {r.id: r for r in store.records()}
        redone = _changed_sources(store, mine, records)
        if redone and sharded:
            raise RunError(
                f"the source image of {len(redone)} sample(s) changed since they ran ({', '.join(redone[:5])}); "
                "resume without sharding once to redo them, or use another --out"
            )
        if redone:
            store.restart(redone)
            records = {r.id: r for r in store.records()}
        todo = [s for s in mine if _needs_work(records[s.id])]
        if progress:  # the first line of a long run comes now, not after its first finished sample
            progress("editing", len(mine) - len(todo), len(mine), 0)
        stats = LoopStats()
        judgements, backends = 0, dict[str, dict[str, Any]]()
        if todo:
            gallery = {s.id for s in samples[:GALLERY_SAMPLES]}  # the report's: thumbnails made while in memory
            stats, judgements, backends = _edit_and_score(
                spec, store, todo, gallery, records, built_metrics, pacing, progress, len(mine) - len(todo)
            )
        judgements += _score_missing(store, mine, built_metrics, spec, progress)
        calls = {
            "agent": stats.agent_calls,
            "editor": stats.editor_calls,
            "editor_cache_hits": stats.editor_cache_hits,
            "judgements": judgements,
        }
        if sharded:
            info = {"calls": calls, "backend_info": backends, "metric_info": _metric_info(built_metrics, None)}
            _release(built_metrics)
            store.close()
            write_rank_info(run_dir, sharded, {**info, "ended": _now()})
            merged = _merge_if_last(run_dir, sharded)
            summary = merged.summary if merged else {}
            return RunResult(run_dir, summary, stats, resumed, judgements, bool(merged), replaced, redone)
        for role, backend in backends.items():  # API agents/editors: snapshots, tokens, cost (per attempt)
            if backend:
                manifest.setdefault("backend_info", {}).setdefault(role, []).append(backend)
        manifest["metric_info"] = _metric_info(built_metrics, manifest.get("metric_info"))
        _release(built_metrics)
        summary = _finish(run_dir, store, spec, config_hash, manifest, ended=_now(), calls=calls)
        return RunResult(run_dir, summary, stats, resumed, judgements, replaced=replaced, redone=redone)


@contextmanager
def _run_store(run_dir: Path, db: Path | None = None) -> Iterator[RunStore]:
    """The run's store, also the journal of every API call made meanwhile (so spend and paid answers survive a
    kill). A full disk, or a store that refuses an API call's record, stops the command with one line."""
    store = None
    try:
        store = RunStore(run_dir, db)
        with use_journal(CallLog(store, f"{_now()} pid {os.getpid()} {secrets.token_hex(4)}")):  # one per command
            yield store
    except (OSError, sqlite3.OperationalError, JournalError) as exc:
        if _disk_full(exc):
            raise _no_space(run_dir, exc) from None
        if isinstance(exc, JournalError):
            raise RunError(f"{exc}; answers received so far are kept: fix it and run the same command again") from None
        raise
    finally:
        if store is not None:
            store.close()


def _planned_cost(
    spec: RunSpec, run_dir: Path, config_hash: str, use_cache: bool, samples: Sequence[Sample]
) -> dict[str, Any] | None:
    """run.json's `cost` with the estimate of this run, before anything runs (None: it has one, or is refused)."""
    from mirabench.run.costs import planned_cost

    try:
        before = read_manifest(run_dir) or {}
    except ValueError:
        return None  # _begin says why
    if before and before.get("config_hash") != config_hash:
        return None
    return planned_cost(spec, run_dir, before.get("cost"), use_cache=use_cache, samples=samples)


def _begin(
    run_dir: Path,
    spec: RunSpec,
    config_hash: str,
    identities: dict[str, Any],
    sharded: Shard | None,
    cost: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], bool]:
    """Open (or refuse) the run dir and mark the run as running in run.json; ranks take turns on run.json."""
    with run_lock(run_dir):
        manifest, resumed = _open_run_dir(run_dir, spec, config_hash, identities)
        if cost is not None:
            manifest["cost"] = cost
        manifest.update(
            {
                "spec": spec.hashed(),
                "metrics": spec.metrics,
                "metric_options": spec.metric_options,
                "budget_curve": spec.budget_curve,
                "config_hash": config_hash,
                "plugins": identities,
                "environment": environment(),
                "status": "running",
            }
        )
        manifest.setdefault("started", _now())
        if spec.label:
            manifest["label"] = spec.label
        if sharded:
            manifest["shards"] = {"world": sharded.world}
            clear_rank_info(run_dir, sharded)
        if not sharded or sharded.rank == 0:
            manifest["attempts"] = manifest.get("attempts", 0) + 1
        write_manifest(run_dir, manifest)
    return manifest, resumed


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _no_space(run_dir: Path, exc: BaseException) -> RunError:
    return RunError(
        f"no space left while writing {run_dir} ({exc}); committed steps and paid answers are kept: free "
        "some space and run the same command again to resume"
    )


def _disk_full(exc: BaseException) -> bool:
    if isinstance(exc, JournalError):
        return exc.disk_full
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    return "disk is full" in str(exc) or "disk I/O error" in str(exc)


def _changed_sources(store: RunStore, samples: Sequence[Sample], records: dict[str, SampleRecord]) -> list[str]:
    """Samples whose source image file changed since they ran. A file whose size and mtime are as last seen is
    taken as unchanged; otherwise its pixels are hashed and compared with the source the trajectory started from.
    Stamps are taken before any load, so a file changed later is looked at again next time."""
    stamps = store.source_stamps()
    changed, seen = [], []
    for sample in samples:
        if not isinstance(sample.image, Path):
            continue  # rendered or in-memory sources: the suite's options and data version identify them
        try:
            st = sample.image.stat()
        except (OSError, ValueError):
            continue  # missing or unnameable now: loading it reports that
        stamp = (st.st_size, st.st_mtime_ns)
        if stamps.get(sample.id) == stamp:
            continue
        seen.append((sample.id, *stamp))
        ran_from = records[sample.id].source_image
        if ran_from is None:
            continue
        try:
            now = image_hash(source_image(sample))
        except ImageLoadError:
            now = None
        if now != ran_from:
            changed.append(sample.id)
    if seen:
        store.set_source_stamps(seen)
    return changed


def _needs_work(record: SampleRecord) -> bool:
    """Unfinished trajectories, and samples whose input failed to load (retried: the file may be fixed now)."""
    return not record.finished or (record.status == "failed" and record.source_image is None)


@dataclass(frozen=True)
class _Pacing:
    """How a run spends memory and devices; never part of the config hash (results do not depend on it)."""

    use_cache: bool
    max_live: int
    max_live_bytes: int
    max_pending: int | None
    score_between_waves: bool


def _edit_and_score(
    spec: RunSpec,
    store: RunStore,
    todo: list[Sample],
    gallery: set[str],
    records: dict[str, SampleRecord],
    built_metrics: list[Metric],
    pacing: _Pacing,
    progress: Progress | None,
    done_before: int = 0,
) -> tuple[LoopStats, int, dict[str, dict[str, Any]]]:
    agent = agents.build(spec.agent, **spec.agent_options)
    editor = editors.build(spec.editor, **spec.editor_options)
    cache = Cache() if pacing.use_cache else None
    scorer = Scorer(built_metrics, store, max_pending=pacing.max_pending)  # bounded: the scheduler waits for judges
    total, done, failed = done_before + len(todo), done_before, 0
    counting = threading.Lock()  # the scheduler's committing thread and the sample loader both count

    def finished(batch: list[Finished]) -> None:
        nonlocal failed
        with counting:
            failed += sum(1 for f in batch if f.trajectory.stop_reason == StopReason.ERROR)
        scorer.submit([ScoreJob(f.sample, f.source, f.final, f.final_hash) for f in batch])
        if pacing.score_between_waves:
            scorer.drain()

    def wave(live: int, n_done: int) -> None:
        nonlocal done
        with counting:
            done += n_done
            if progress:
                progress("editing", done, total, failed)

    def live_samples() -> Iterator[LiveSample]:
        nonlocal failed
        for sample in todo:
            rec = records[sample.id]
            try:
                source = source_image(sample)
            except ImageLoadError as exc:
                store.fail_sample(sample.id, f"sample {sample.id!r}: {exc}")
                with counting:
                    failed += 1
                wave(0, 1)
                continue
            src_hash = image_hash(source)
            latest, latest_hash = source, src_hash
            if rec.trajectory.final_image:
                latest_hash = rec.trajectory.final_image
                latest = store.images.get(latest_hash)
            yield LiveSample(
                sample,
                source,
                src_hash,
                latest,
                latest_hash,
                list(rec.trajectory.steps),
                new_source=rec.source_image != src_hash,
            )

    scheduler = Scheduler(
        agent,
        editor,
        store,
        max_steps=spec.max_steps,
        seed=spec.seed,
        cache=cache,
        on_finished=finished,
        max_live=pacing.max_live,
        max_live_bytes=pacing.max_live_bytes,
        on_wave=wave,
        thumbnail=thumbnail_jpeg,
        thumbnail_ids=gallery,
        overlap_commits=not pacing.score_between_waves,  # scoring between waves: nothing may run beside the editor
    )
    try:
        stats = scheduler.run(live_samples())
        scorer.join()
        backends = {"agent": agent.run_info(), "editor": editor.run_info()}
    finally:
        agent.close()
        editor.close()
        if cache is not None:
            cache.close()
    return stats, scorer.judgements, backends


def _score_missing(
    store: RunStore,
    samples: list[Sample],
    built: list[Metric],
    spec: RunSpec,
    progress: Progress | None,
    retry_failed: bool = False,
) -> int:
    """Score every (sample, image) a summary needs and the store lacks: finals, and budget cuts if asked.

    A recorded failure counts as scored (resuming never re-bills a judge silently) unless `retry_failed`, which
    asks again for judgements that ended in an API or backend error."""
    by_id = {s.id: s for s in samples}
    scores = store.scores()
    budgets: list[int | None] = [None, *(k for k in spec.curve_budgets() if k < spec.max_steps)]
    judgements = 0
    for metric in built:
        keys = [c.key for c in metric.columns]
        wanted: dict[tuple[str, str], SampleRecord] = {}
        for rec in store.records():
            if not rec.finished or rec.id not in by_id:
                continue
            for k in budgets:
                img = final_image(rec, k)
                got = scores.get((rec.id, img), {}) if img else {}
                done = all(c in got and not (retry_failed and got[c].status in RETRYABLE) for c in keys)
                if img and not done:
                    wanted[(rec.id, img)] = rec
        items = list(wanted.items())
        for start in range(0, len(items), 64):
            chunk = items[start : start + 64]
            jobs = [
                ScoreJob(by_id[sid], store.images.get(rec.source_image or img), store.images.get(img), img)
                for (sid, img), rec in chunk
            ]
            judgements += score_now([metric], jobs, store)
            if progress:
                progress(f"scoring {metric.name}", start + len(chunk), len(items))
    return judgements


def _manifest_spec(manifest: dict[str, Any], **changes: Any) -> RunSpec:
    """The run's resolved spec as run.json records it, with metric-side changes (metrics are not hashed)."""
    data = {
        **manifest["spec"],
        "metrics": manifest.get("metrics", []),
        "metric_options": manifest.get("metric_options", {}),
        "budget_curve": manifest.get("budget_curve", False),
        **changes,
    }
    try:
        return resolve(RunSpec(**data))
    except (SpecError, ValueError) as exc:
        raise RunError(str(exc)) from None


def read_run(run_dir: Path) -> dict[str, Any]:
    try:
        manifest = RunDir(run_dir).manifest()
    except RunDirError as exc:
        raise RunError(str(exc)) from None
    if manifest is None:
        raise RunError(f"{run_dir} is not a mirabench run (no run.json)")
    return manifest


def score_spec(
    manifest: dict[str, Any],
    metric_names: Sequence[str],
    metric_sets: dict[str, dict[str, Any]] | None = None,
    budget_curve: bool | None = None,
) -> RunSpec:
    """The spec `score` scores a run with: its own metrics and options, plus the ones added."""
    changes: dict[str, Any] = {
        "metrics": list(dict.fromkeys([*manifest.get("metrics", []), *metric_names])),
        "metric_options": {**manifest.get("metric_options", {}), **(metric_sets or {})},
    }
    if budget_curve is not None:
        changes["budget_curve"] = budget_curve
    return _manifest_spec(manifest, **changes)


def score_run(
    run_dir: Path,
    metric_names: Sequence[str],
    metric_sets: dict[str, dict[str, Any]] | None = None,
    budget_curve: bool | None = None,
    progress: Progress | None = None,
    retry_failed: bool = False,
) -> RunResult:
    """Add metrics to a finished run (or retry failed judgements): scores saved images, never edits."""
    try:
        with writer_lock(run_dir):
            return _score_locked(run_dir, metric_names, metric_sets, budget_curve, progress, retry_failed)
    except WriterBusy as exc:
        raise RunError(str(exc)) from None
    except (OSError, sqlite3.OperationalError) as exc:
        if not _disk_full(exc):
            raise
        raise _no_space(run_dir, exc) from None


def _score_locked(
    run_dir: Path,
    metric_names: Sequence[str],
    metric_sets: dict[str, dict[str, Any]] | None,
    budget_curve: bool | None,
    progress: Progress | None,
    retry_failed: bool,
) -> RunResult:
    manifest = read_run(run_dir)
    spec = score_spec(manifest, metric_names, metric_sets, budget_curve)
    from mirabench.run.costs import planned_cost

    cost = planned_cost(spec, run_dir, manifest.get("cost"), edit=False, retry_failed=retry_failed)
    if cost is not None:
        manifest["cost"] = cost
    suite = suites.build(spec.suite, **spec.suite_options)
    samples = load_samples(suite, spec.limit)
    with _run_store(run_dir) as store:
        built = [metrics.build(n, **spec.metric_options.get(n, {})) for n in spec.metrics]
        replaced = store.use_metric_configs(_configs(built))
        absorb_earlier(store, None)
        judgements = _score_missing(store, samples, built, spec, progress, retry_failed)
        manifest["metric_info"] = _metric_info(built, manifest.get("metric_info"))
        _release(built)
        summary = _finish(
            run_dir,
            store,
            spec,
            manifest["config_hash"],
            manifest,
            metrics=spec.metrics,
            metric_options=spec.metric_options,
            budget_curve=spec.budget_curve,
        )
    return RunResult(run_dir, summary, judgements=judgements, replaced=replaced)


def merge_run(run_dir: Path, world: int | None = None) -> RunResult:
    """Merge a sharded run's shard stores into its store and write samples.jsonl, summary.json, the report.

    Idempotent and safe while ranks still run (it then merges what is committed so far). `world` selects which
    ranks' closing records feed run.json's call counts; default: the last sharded attempt's."""
    try:
        with writer_lock(run_dir, shared=True):
            return _merge_locked(run_dir, world)
    except WriterBusy as exc:
        raise RunError(str(exc)) from None
    except (OSError, sqlite3.OperationalError) as exc:
        if not _disk_full(exc):
            raise
        raise _no_space(run_dir, exc) from None


def _merge_locked(run_dir: Path, world: int | None) -> RunResult:
    with run_lock(run_dir):
        manifest = read_run(run_dir)
        spec = _manifest_spec(manifest)
        world = world or manifest.get("shards", {}).get("world") or 1
        ranks = rank_infos(run_dir, world)
        if ranks:
            manifest["metric_info"] = {**manifest.get("metric_info", {}), **ranks[min(ranks)]["metric_info"]}
        identities = {m: i["identity"] for m, i in manifest.get("metric_info", {}).items() if m in spec.metrics}
        store = RunStore(run_dir)
        try:
            store.use_metric_configs({m: cache_key(ident) for m, ident in identities.items()})
            absorb_earlier(store, None)
            if len(ranks) == world:  # every rank has finished (a starting rank clears its record under this lock)
                sweep_temps(run_dir)
            calls: dict[str, int] = {}
            backends: dict[str, list[dict[str, Any]]] = {}
            for info in ranks.values():
                for key, n in info["calls"].items():
                    calls[key] = calls.get(key, 0) + n
                for role, backend in info["backend_info"].items():
                    if backend:
                        backends.setdefault(role, []).append(backend)
            if backends:  # this world's ranks, one entry each: set, not appended, so merging again changes nothing
                manifest["backend_info"] = backends
            manifest["shards"] = {"world": world, "ranks_finished": sorted(ranks), "ranks": ranks}
            summary = _finish(
                run_dir, store, spec, manifest["config_hash"], manifest, ended=_now(), calls=calls, report=False
            )
        finally:
            store.close()
    _write_report(run_dir)
    stats = LoopStats(
        agent_calls=calls.get("agent", 0),
        editor_calls=calls.get("editor", 0),
        editor_cache_hits=calls.get("editor_cache_hits", 0),
    )
    return RunResult(run_dir, summary, stats, judgements=calls.get("judgements", 0), merged=True)


def _merge_if_last(run_dir: Path, shard: Shard) -> RunResult | None:
    """The last rank to finish merges; an early merge (a stale closing record) is harmless: it is redone."""
    if len(rank_infos(run_dir, shard.world)) < shard.world:
        return None
    return merge_run(run_dir, shard.world)


def _finish(
    run_dir: Path,
    store: RunStore,
    spec: RunSpec,
    config_hash: str,
    manifest: dict[str, Any],
    *,
    report: bool = True,
    **updates: Any,
) -> dict[str, Any]:
    """The one finish sequence of run, score and merge: outputs and run.json (RunDir.finish), then the report.
    Columns come from the metric classes: nothing is built."""
    from mirabench.run.costs import spent_cost

    calls = updates.get("calls")
    manifest["cost"] = spent_cost(run_dir, spec, manifest.get("cost"), manifest.get("attempts", 0), calls)
    columns = [c for name in spec.metrics for c in metrics.get(name).columns]
    summary = RunDir(run_dir).finish(store, spec, config_hash, columns, manifest, **updates)
    if report:
        _write_report(run_dir)
    return summary


def _configs(built: Sequence[Metric]) -> dict[str, str]:
    """Each metric's identity digest: what its stored scores were made with."""
    return {m.name: cache_key(m.identity()) for m in built}


def _release(built: Sequence[Metric]) -> None:
    for m in built:
        m.close()


def _metric_info(built: Sequence[Metric], before: dict[str, Any] | None) -> dict[str, Any]:
    """Each metric's identity and run_info (judge snapshots, prompt hashes, usage), kept per metric name."""
    info = dict(before or {})
    for m in built:
        info[m.name] = {**info.get(m.name, {}), "identity": m.identity(), **m.run_info()}
    return info


def _write_report(run_dir: Path) -> None:
    from mirabench.reports.leaderboard import write_report

    write_report([run_dir], run_dir / "report.html")
