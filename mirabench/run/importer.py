"""`mirabench import` and `mirabench data export`: edited images made elsewhere in, our outputs out, in the
suite's upstream layout (ImgEdit `<key>.png`, GEdit `fullset/<task>/<lang>/<key>.png`, else `<id>.png`).

An imported run is an ordinary run directory (agent `direct`, editor `imported`), so `mirabench score` judges it
and reports show it next to our runs. Every expected file that is missing becomes a failed sample and every file
that matches no sample is listed: nothing is silently skipped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from mirabench.images import (
    ImageLoadError,
    api_image_format,
    atomic_write_bytes,
    encode_png,
    image_hash,
    load_image,
    source_image,
    unreadable_reason,
)
from mirabench.plugins import Suite
from mirabench.registry import agents, editors, suites
from mirabench.run.runner import RunError, load_samples, read_run, resolve
from mirabench.rundir.manifest import environment
from mirabench.rundir.rundir import RunDir, plugin_identities
from mirabench.rundir.store import RunStore
from mirabench.spec import build_spec
from mirabench.types import Edit, Sample, Step, Stop, StopReason

__all__ = ["ImportResult", "export_upstream", "import_images", "upstream_path"]


@dataclass
class ImportResult:
    run_dir: Path
    imported: int
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


def upstream_path(suite: Suite, sample: Sample) -> PurePosixPath:
    """Where the suite's own scripts expect the edited image of `sample` (relative to a results folder)."""
    layout = getattr(suite, "upstream_output", None)
    return layout(sample) if layout is not None else PurePosixPath(f"{sample.id}.png")


def import_images(
    suite_name: str,
    images: Path,
    out: Path,
    *,
    suite_options: dict[str, Any] | None = None,
    label: str | None = None,
    limit: int | None = None,
) -> ImportResult:
    """Build a run directory from a folder of edited images in the suite's upstream layout."""
    images = Path(images)
    if not images.is_dir():
        raise RunError(f"--images {images} is not a folder")
    if out.exists() and any(out.iterdir()):
        raise RunError(f"{out} exists and is not empty; import into a new --out folder")
    data = {
        "suite": suite_name,
        "agent": "direct",
        "editor": "imported",
        "metrics": [],
        "max_steps": 1,
        "limit": limit,
        "suite_options": suite_options or {},
        "editor_options": {"label": label or images.resolve().name, "images": str(images.resolve())},
    }
    spec = resolve(build_spec(data))
    suite = suites.build(spec.suite, **spec.suite_options)
    identities = plugin_identities(spec, suite, agents.get(spec.agent), editors.get(spec.editor))
    config_hash = spec.config_hash(identities)
    samples = load_samples(suite, spec.limit)
    expected = {upstream_path(suite, s).as_posix(): s for s in samples}
    companions = tuple(getattr(suite, "upstream_companions", ()))
    present = {p.relative_to(images).as_posix() for p in images.rglob("*") if p.is_file()}
    result = ImportResult(out, 0)
    result.missing = sorted(set(expected) - present)
    result.extra = sorted(p for p in present - set(expected) if not p.endswith(companions))

    store = RunStore(out)
    try:
        store.add_samples((s.id, i, s.category, s.instruction) for i, s in enumerate(samples))
        for rel, sample in expected.items():
            error = _import_one(store, sample, images / rel, rel in present)
            if error:
                result.failed[sample.id] = error
                store.fail_sample(sample.id, error)
            else:
                result.imported += 1
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        manifest = {
            "spec": spec.hashed(),
            "metrics": [],
            "metric_options": {},
            "budget_curve": False,
            "config_hash": config_hash,
            "plugins": identities,
            "environment": environment(),
            "started": now,
            "attempts": 1,
        }
        imported = {
            "images": str(images.resolve()),
            "imported": result.imported,
            "missing": result.missing,
            "extra": result.extra,
            "failed": result.failed,
        }
        result.summary = RunDir(out).finish(store, spec, config_hash, [], manifest, ended=now, **{"import": imported})
    finally:
        store.close()
    from mirabench.reports.leaderboard import write_report

    write_report([out], out / "report.html")
    return result


def _import_one(store: RunStore, sample: Sample, path: Path, exists: bool) -> str | None:
    """Store one sample as source -> one edit -> stop; returns an error message instead of raising."""
    unreadable = unreadable_reason(sample)
    if unreadable:
        return unreadable
    if not exists:
        return f"no edited image at {path}"
    try:
        source = source_image(sample)
        edited = load_image(path)
    except ImageLoadError as exc:
        return f"sample {sample.id!r}: {exc}"
    src_hash, out_hash = image_hash(source), image_hash(edited)
    store.put_images([(src_hash, source, None), (out_hash, edited, None)])
    raw = path.read_bytes()
    if api_image_format(raw):  # judges that send file bytes (ImgEdit) send these, not a re-encoding
        store.images.put_original(out_hash, sample.id, raw)
    steps = [
        (sample.id, Step(0, Edit(sample.instruction), out_hash, 0)),
        (sample.id, Step(1, Stop("imported"), None, 0)),
    ]
    store.record_wave(steps, sources=[(sample.id, src_hash)], finished=[(sample.id, StopReason.AGENT, None)])
    return None


def export_upstream(run_dir: Path, out: Path, *, with_sources: bool = False) -> tuple[int, list[str]]:
    """Write a run's final images in its suite's upstream layout; returns (written, ids without an image)."""
    manifest = read_run(run_dir)
    spec = resolve(build_spec({**manifest["spec"], "metrics": []}))
    suite = suites.build(spec.suite, **spec.suite_options)
    samples = {s.id: s for s in load_samples(suite, spec.limit)}
    store = RunStore(run_dir)
    written, without = 0, []
    try:
        for rec in store.records():
            final = rec.trajectory.final_image or rec.source_image
            sample = samples.get(rec.id)
            if sample is None or rec.status != "done" or final is None:
                without.append(rec.id)
                continue
            target = out / upstream_path(suite, sample)
            atomic_write_bytes(target, store.images.path(final).read_bytes())
            if with_sources and rec.source_image:
                src = target.with_name(f"{target.stem}_SRCIMG.png")
                atomic_write_bytes(src, encode_png(store.images.get(rec.source_image)))
            written += 1
    finally:
        store.close()
    return written, without
