"""Creating a rating study: which samples, which systems, and what each rater sees in which order.

A study folder holds `study.json` (the plan below, tokens included: keep the folder private), `thumbs/` (small
WebP copies of every image, named by the run store's content hash) and, once served, `ratings.sqlite`. Images
are read from the runs' own content-addressed `images/` folders; nothing is copied.

The sample choice and every order are drawn from one seeded generator, so the same runs and seed give the same
study; only the link tokens come from `secrets` (unguessable, and never reproducible from the seed).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mirabench.images import atomic_write_text
from mirabench.registry import PluginError, editors
from mirabench.reports.gallery import THUMB_SUFFIX, make_thumbnails
from mirabench.rundir.rundir import RunDir

__all__ = ["GROUPS", "LAYOUTS", "Study", "create_study", "load_study", "run_system"]

GROUPS = ("open-source editors", "proprietary", "open-source + agent")  # MIRA Table D's row groups, in order
LAYOUTS = ("side_by_side", "one_at_a_time")
Layout = Literal["side_by_side", "one_at_a_time"]
STUDY_FILE = "study.json"
THUMBS = "thumbs"
THUMB_PX = 384  # a side-by-side column at 1280 px; the full PNG opens on click


def run_system(run_dir: Path) -> tuple[str, str, dict[str, dict[str, Any]]]:
    """A run's system name, its Table D group and its finished samples (id -> row).

    The name is the run's label (its `--label`, else "editor + agent"), the name reports and the judge-reliability
    analysis know it by. An editor that needs an API key is proprietary; any agent other than `direct` puts the
    row in the agent group.
    """
    run = RunDir(run_dir).read()
    editor, agent, name = run.summary.editor, run.summary.agent, run.label
    finished = {
        s.id: s.model_dump(exclude_unset=True)
        for s in run.samples
        if s.status == "done" and run.file(s.final_image) and run.file(s.source_image)
    }
    if agent != "direct":
        return name, GROUPS[2], finished
    try:
        proprietary = bool(editors.info(editor).needs.env)
    except PluginError:
        proprietary = False
    return name, GROUPS[1] if proprietary else GROUPS[0], finished


@dataclass(frozen=True)
class Study:
    """A loaded study plan (see `create_study` for the fields of study.json)."""

    dir: Path
    plan: dict[str, Any]

    @property
    def systems(self) -> list[str]:
        return [s["name"] for s in self.plan["systems"]]

    @property
    def groups(self) -> dict[str, str]:
        return {s["name"]: s["group"] for s in self.plan["systems"]}

    @property
    def items(self) -> list[dict[str, Any]]:
        return list(self.plan["items"])

    @property
    def raters(self) -> list[dict[str, Any]]:
        return list(self.plan["raters"])

    @property
    def layout(self) -> str:
        return str(self.plan["layout"])

    def rater_for(self, token: str) -> dict[str, Any] | None:
        """The rater whose link carries `token` (constant-time comparisons), or None."""
        found = None
        for rater in self.plan["raters"]:
            if secrets.compare_digest(rater["token"].encode(), token.encode()):
                found = rater
        return found

    def is_admin(self, token: str) -> bool:
        return secrets.compare_digest(self.plan["admin_token"].encode(), token.encode())

    def image(self, item: int, system: int | None) -> tuple[Path, Path]:
        """(full-size PNG in its run's store, thumbnail) of an item's source (system None) or a system's output."""
        it = self.plan["items"][item]
        if system is None:
            run, rel = self.plan["systems"][it["source"]["system"]]["run"], it["source"]["image"]
        else:
            run, rel = self.plan["systems"][system]["run"], it["outputs"][system]
        return Path(run) / rel, self.dir / THUMBS / f"{Path(rel).stem}{THUMB_SUFFIX}"


def load_study(study_dir: Path) -> Study:
    return Study(Path(study_dir), json.loads((Path(study_dir) / STUDY_FILE).read_text(encoding="utf-8")))


def _parse_run(arg: str | Path) -> tuple[str | None, Path]:
    """`DIR` or `NAME=DIR` (a name of one's own choosing, e.g. for imported runs; the last "=" splits)."""
    text = str(arg)
    name, sep, path = text.rpartition("=")
    if sep and name and not Path(text).exists():
        return name, Path(path)
    return None, Path(text)


def create_study(
    runs: Sequence[str | Path],
    out: Path,
    *,
    samples: int = 50,
    raters: int = 10,
    seed: int = 0,
    layout: Layout = "side_by_side",
    groups: dict[str, str] | None = None,
) -> Study:
    """Write OUT/study.json and OUT/thumbs/ for `samples` samples every run finished and `raters` rater links.

    study.json: systems (name, group, run dir), items (sample id, instruction, source and each system's output
    image, relative to its run), raters (id, token, their item order, and per item the order of the systems
    behind the slots A, B, ...), the admin token of the results page, the seed and the layout.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, not {layout!r}")
    if raters < 1 or samples < 1:
        raise ValueError("a study needs at least one sample and one rater")
    out = Path(out)
    if (out / STUDY_FILE).exists():
        raise ValueError(f"{out / STUDY_FILE} exists: a study is created once (its links are already out)")
    systems, finished = [], []
    for arg in runs:
        name, run_dir = _parse_run(arg)
        default_name, group, rows = run_system(run_dir)
        name = name or default_name
        group = (groups or {}).get(name, group)
        if group not in GROUPS:
            raise ValueError(f"group of {name!r} must be one of {GROUPS}, not {group!r}")
        systems.append({"name": name, "group": group, "run": str(run_dir.resolve())})
        finished.append(rows)
    names = [s["name"] for s in systems]
    if len(set(names)) != len(names):
        raise ValueError(f"two runs have the same system name ({names}); name them NAME=DIR")
    if len(systems) > 26:
        raise ValueError("at most 26 systems per study (slots A-Z)")
    common = sorted(set.intersection(*(set(f) for f in finished)))
    if not common:
        raise ValueError("the runs have no finished sample in common")
    rng = np.random.default_rng(seed)
    picked = sorted(int(i) for i in rng.choice(len(common), size=min(samples, len(common)), replace=False))
    items = []
    for idx in picked:
        sid = common[idx]
        first = finished[0][sid]
        items.append(
            {
                "sample_id": sid,
                "instruction": first["instruction"],
                "source": {"system": 0, "image": first["source_image"]},
                "outputs": [f[sid]["final_image"] for f in finished],
            }
        )
    plan_raters = []
    for r in range(raters):
        order = [int(i) for i in rng.permutation(len(items))]
        slots = [[int(s) for s in rng.permutation(len(systems))] for _ in items]
        plan_raters.append({"id": f"r{r + 1:02d}", "token": secrets.token_urlsafe(24), "items": order, "slots": slots})
    plan = {
        "version": 1,
        "seed": seed,
        "layout": layout,
        "systems": systems,
        "items": items,
        "raters": plan_raters,
        "admin_token": secrets.token_urlsafe(24),
    }
    study = Study(out, plan)
    jobs = {}
    for i in range(len(items)):
        for system in [None, *range(len(systems))]:
            full, thumb = study.image(i, system)
            jobs[thumb] = full
    (out / THUMBS).mkdir(parents=True, exist_ok=True)
    made = make_thumbnails(jobs, px=THUMB_PX)
    missing = [str(full) for thumb, full in jobs.items() if not thumb.exists()]
    if missing:
        raise OSError(f"could not read {len(missing)} image(s) ({made} thumbnails made), e.g. {missing[0]}")
    atomic_write_text(out / STUDY_FILE, json.dumps(plan, indent=1) + "\n")
    return study
