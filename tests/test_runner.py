"""The closed loop, the scheduler and the run directory, on the toy world (exact, millisecond-fast)."""

from __future__ import annotations

import base64
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from toyworld import CALLS, GreyMetric, ToyEditor, grey, reset_calls

from mirabench.plugins import ScoreItem
from mirabench.reports.leaderboard import write_report
from mirabench.run.runner import RunError, run, score_run
from mirabench.rundir.store import RunStore, read_thumbnails
from mirabench.spec import RunSpec
from mirabench.types import EditRequest, Score, Trajectory


def toy_spec(**kw: object) -> RunSpec:
    base: dict[str, object] = dict(suite="toy", agent="counter", editor="toy", metrics=["grey"], max_steps=5)
    base.update(kw)
    return RunSpec(**base)  # type: ignore[arg-type]


def rows(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]


def test_cumulative_loop_reaches_each_goal_and_stops_for_the_agent(tmp_path: Path) -> None:
    result = run(toy_spec(), tmp_path / "r")
    got = {r["id"]: r for r in rows(result.run_dir)}
    # sample i needs i % 4 + 1 edits of +10, then the agent says stop
    for i in range(6):
        r = got[f"toy-{i:03d}"]
        assert r["n_steps"] == i % 4 + 1
        assert r["stop_reason"] == "agent"
        assert r["scores"]["grey-hit"] == 10.0
        assert [s["kind"] for s in r["steps"]] == ["edit"] * (i % 4 + 1) + ["stop"]
    assert result.summary["metrics"]["grey-hit"]["mean"] == 10.0
    assert result.summary["stop_reasons"] == {"agent": 6}


def test_scheduler_calls_each_backend_once_per_wave(tmp_path: Path) -> None:
    run(toy_spec(suite_options={"n": 8}), tmp_path / "r", use_cache=False)
    # longest trajectory: 4 edits + 1 stop = 5 waves; every live sample is planned in the same call
    assert CALLS["plan_batch"] == 5
    assert CALLS["plan_items"] == sum(i % 4 + 2 for i in range(8))
    assert CALLS["edit_batch"] == 4
    assert CALLS["edit_items"] == sum(i % 4 + 1 for i in range(8))


def test_budget_stops_before_asking_the_agent(tmp_path: Path) -> None:
    result = run(toy_spec(max_steps=2), tmp_path / "r")
    got = {r["id"]: r for r in rows(result.run_dir)}
    assert got["toy-003"]["n_steps"] == 2 and got["toy-003"]["stop_reason"] == "budget"
    assert got["toy-003"]["scores"]["grey-hit"] == 0.0
    assert got["toy-000"]["stop_reason"] == "agent"
    # samples needing exactly 2 edits stop for the budget too: the agent is not asked a third time
    assert result.summary["stop_reasons"] == {"agent": 2, "budget": 4}


def test_refine_policy_re_edits_the_source(tmp_path: Path) -> None:
    result = run(toy_spec(agent="refiner", agent_options={"rounds": 2}, max_steps=5), tmp_path / "r")
    r = rows(result.run_dir)[0]
    # round 1: source + 10; round 2: source + 20 (not 10 + 20): the refined instruction re-edits I0
    assert r["n_steps"] == 2
    assert r["scores"]["grey-level"] == pytest.approx(20 / 25.5)


def test_agent_and_editor_failures_stop_only_their_sample(tmp_path: Path) -> None:
    spec = toy_spec(
        agent_options={"fail_on_sample": "toy-001", "garbage_on_sample": "toy-002"},
        editor_options={"fail_on": "toy-003"},
    )
    result = run(spec, tmp_path / "r")
    got = {r["id"]: r for r in rows(result.run_dir)}
    assert got["toy-001"]["stop_reason"] == "error" and "boom in the agent" in got["toy-001"]["error"]
    assert got["toy-002"]["stop_reason"] == "error" and "str" in got["toy-002"]["error"]
    assert got["toy-003"]["stop_reason"] == "error" and "editor exploded" in got["toy-003"]["error"]
    for ok in ("toy-000", "toy-004", "toy-005"):
        assert got[ok]["stop_reason"] == "agent" and got[ok]["scores"]["grey-hit"] == 10.0
    assert result.summary["n_failed"] == 3
    assert {f["id"] for f in result.summary["failed_samples"]} == {"toy-001", "toy-002", "toy-003"}


def test_metric_failure_is_counted_never_zero(tmp_path: Path) -> None:
    result = run(toy_spec(metric_options={"grey": {"fail_ids": ["toy-000"]}}), tmp_path / "r")
    m = result.summary["metrics"]["grey-hit"]
    assert m["n_ok"] == 5 and m["n_failed"] == 1 and m["mean"] == 10.0
    assert m["status_counts"] == {"error": 1, "ok": 5}
    r0 = rows(result.run_dir)[0]
    assert r0["scores"]["grey-hit"] is None and r0["score_status"]["grey-hit"] == "error"


def test_rerun_of_a_finished_run_makes_no_calls(tmp_path: Path) -> None:
    first = run(toy_spec(), tmp_path / "r")
    reset_calls()
    again = run(toy_spec(), tmp_path / "r")
    assert again.resumed
    assert CALLS == {k: 0 for k in CALLS}
    assert (again.stats.agent_calls, again.stats.editor_calls) == (0, 0)
    assert again.summary == first.summary


def test_editor_outputs_come_from_the_global_cache(tmp_path: Path) -> None:
    run(toy_spec(), tmp_path / "a")
    reset_calls()
    second = run(toy_spec(), tmp_path / "b")
    assert CALLS["edit_items"] == 0 and second.stats.editor_cache_hits == sum(i % 4 + 1 for i in range(6))
    assert rows(tmp_path / "a") == rows(tmp_path / "b")


def test_different_config_is_refused_then_moved_aside_with_force_new(tmp_path: Path) -> None:
    run(toy_spec(), tmp_path / "r")
    with pytest.raises(RunError, match="differs in: max_steps"):
        run(toy_spec(max_steps=3), tmp_path / "r")
    result = run(toy_spec(max_steps=3), tmp_path / "r", force_new=True)
    assert not result.resumed
    assert len(list(tmp_path.glob("r.old-*"))) == 1


def test_adding_a_metric_does_not_change_the_config(tmp_path: Path) -> None:
    run(toy_spec(metrics=[]), tmp_path / "r")
    reset_calls()
    result = score_run(tmp_path / "r", ["grey"])
    assert CALLS["plan_items"] == 0 and CALLS["edit_items"] == 0 and CALLS["score_items"] == 6
    assert result.summary["metrics"]["grey-hit"]["mean"] == 10.0
    assert "grey-hit" in rows(tmp_path / "r")[0]["scores"]


def test_budget_curve_equals_independent_runs(tmp_path: Path) -> None:
    big = run(toy_spec(max_steps=4, budget_curve=True), tmp_path / "big").summary["budget_curve"]
    for k in (1, 2, 3):
        small = run(toy_spec(max_steps=k), tmp_path / f"k{k}").summary
        assert big[str(k)]["grey-hit"] == small["metrics"]["grey-hit"]["mean"]
        assert big[str(k)]["mean_steps"] == small["mean_steps"]


def test_trajectory_cut_matches_budget_semantics() -> None:
    from mirabench.types import Edit, Step, Stop, StopReason

    steps = [Step(0, Edit("a"), "h0", 1), Step(1, Edit("b"), "h1", 2), Step(2, Stop("done"), None, 3)]
    traj = Trajectory("s", steps, StopReason.AGENT)
    assert traj.cut(3) is traj
    two = traj.cut(2)  # an independent Max=2 run never asks the agent a third time
    assert two.stop_reason is StopReason.BUDGET and two.final_image == "h1" and len(two.steps) == 2
    one = traj.cut(1)
    assert one.final_image == "h0" and one.n_edits == 1


def test_store_is_consistent(tmp_path: Path) -> None:
    run(toy_spec(), tmp_path / "r")
    db = sqlite3.connect(tmp_path / "r" / "store.sqlite")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    images = {p.stem for p in (tmp_path / "r" / "images").glob("*.png")}
    referenced = {row[0] for row in db.execute("SELECT image FROM steps WHERE image IS NOT NULL")}
    assert referenced <= images
    manifest = json.loads((tmp_path / "r" / "run.json").read_text())
    assert manifest["status"] == "complete" and manifest["config_hash"]
    assert manifest["calls"]["editor"] == sum(i % 4 + 1 for i in range(6))


def test_bad_rows_are_recorded_and_the_rest_runs(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    grey(0).save(data / "ok.png")
    (data / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    outside = tmp_path / "outside.png"
    grey(0).save(outside)
    lines = [
        {"id": "good", "image": "ok.png", "instruction": "reach 20", "target": 20},
        {"id": "missing", "image": "nope.png", "instruction": "reach 20"},
        {"id": "corrupt", "image": "corrupt.png", "instruction": "reach 20"},
        {"id": "escape", "image": "../outside.png", "instruction": "reach 20"},
        {"id": "noinstr", "image": "ok.png"},
    ]
    manifest = data / "set.jsonl"
    manifest.write_text("\n".join(json.dumps(r) for r in lines) + "\n{not json\n")
    result = run(toy_spec(suite="jsonl", suite_options={"path": str(manifest)}), tmp_path / "r")
    s = result.summary
    errors = {f["id"]: f["error"] for f in s["failed_samples"]}
    assert s["n_samples"] == 6 and s["n_done"] == 1 and s["n_failed"] == 5
    assert "not found" in errors["missing"] and "nope.png" in errors["missing"]
    assert "cannot decode" in errors["corrupt"]
    assert "leaves the data root" in errors["escape"]
    assert "instruction" in errors["noinstr"]
    assert "line 6" in errors["line-6"] and "invalid JSON" in errors["line-6"]
    assert s["metrics"]["grey-hit"]["mean"] == 10.0 and s["metrics"]["grey-hit"]["n_ok"] == 1


def test_disk_full_stops_cleanly_and_resume_completes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from mirabench.images import ImageDir

    reference = run(toy_spec(), tmp_path / "ref", use_cache=False)
    real_put = ImageDir.put
    writes = {"n": 0}

    def put_until_full(self: ImageDir, image: object, digest: str | None = None, raw: bytes | None = None) -> str:
        writes["n"] += 1
        if writes["n"] > 3:  # the run writes each distinct image once: 5 here
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_put(self, image, digest, raw)  # type: ignore[arg-type]

    monkeypatch.setattr(ImageDir, "put", put_until_full)
    with pytest.raises(RunError, match="no space left .* run the same command again to resume"):
        run(toy_spec(), tmp_path / "r", use_cache=False)
    monkeypatch.setattr(ImageDir, "put", real_put)
    resumed = run(toy_spec(), tmp_path / "r", use_cache=False)
    assert rows(tmp_path / "r") == rows(reference.run_dir)
    assert resumed.summary == reference.summary
    assert sqlite3.connect(tmp_path / "r" / "store.sqlite").execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_failed_judgements_are_kept_on_resume_and_retried_on_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_score = GreyMetric.score

    def judge_down_for_one(self: GreyMetric, item: ScoreItem) -> dict[str, Score]:
        if item.sample.id == "toy-000":
            raise RuntimeError("judge down")
        return real_score(self, item)

    monkeypatch.setattr(GreyMetric, "score", judge_down_for_one)
    run(toy_spec(), tmp_path / "r")
    monkeypatch.setattr(GreyMetric, "score", real_score)  # the judge is back
    reset_calls()
    kept = score_run(tmp_path / "r", [])
    assert CALLS["score_items"] == 0 and kept.summary["metrics"]["grey-hit"]["n_failed"] == 1
    retried = score_run(tmp_path / "r", [], retry_failed=True)
    assert CALLS["score_items"] == 1 and CALLS["edit_items"] == 0  # only the failed judgement was asked again
    assert retried.summary["metrics"]["grey-hit"]["n_ok"] == 6 and retried.summary["metrics"]["grey-hit"]["mean"] == 10


def test_changed_metric_options_judge_the_saved_images_again(tmp_path: Path) -> None:
    first = run(toy_spec(metric_options={"grey": {"fail_ids": ["toy-000"]}}), tmp_path / "r")
    assert first.summary["metrics"]["grey-hit"]["n_failed"] == 1 and not first.replaced
    reset_calls()
    changed = score_run(tmp_path / "r", [], {"grey": {"fail_ids": []}})
    assert CALLS["score_items"] == 6 and CALLS["edit_items"] == 0  # every final image, under the new options
    assert changed.replaced == {"grey": 12}  # 6 images x 2 columns made under the old options
    assert changed.summary["metrics"]["grey-hit"]["n_ok"] == 6
    reset_calls()
    again = score_run(tmp_path / "r", [], {"grey": {"fail_ids": []}})
    assert CALLS["score_items"] == 0 and not again.replaced  # same options: nothing to redo
    resumed = run(toy_spec(metric_options={"grey": {"fail_ids": ["no-such-id"]}}), tmp_path / "r")
    assert CALLS["score_items"] == 6 and CALLS["plan_items"] == 0  # a resume with other options re-judges too
    assert resumed.replaced == {"grey": 12} and resumed.summary["metrics"]["grey-hit"]["n_ok"] == 6


def test_gallery_thumbnails_are_made_in_the_run_and_match_the_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mirabench.reports.gallery as gallery

    from_files: list[Path] = []
    real_thumb = gallery._thumb
    monkeypatch.setattr(gallery, "_thumb", lambda src, dest, px: from_files.append(dest) or real_thumb(src, dest, px))
    result = run(toy_spec(), tmp_path / "r", use_cache=False)
    kept = read_thumbnails(result.run_dir / "store.sqlite")
    images = sorted((result.run_dir / "images").glob("*.png"))
    assert sorted(kept) == [i.stem for i in images] and len(images) == 5  # distinct greys
    assert from_files == []  # every gallery image was thumbnailed while in memory: the report decoded none
    assert not (result.run_dir / "thumbs").exists()  # the run's page embeds them: no file per thumbnail
    page = (result.run_dir / "report.html").read_text()
    for image in images:  # byte for byte what the report makes from the stored PNG, and in the page
        assert real_thumb(image, tmp_path / "again.jpg", gallery.THUMB_PX)
        again = (tmp_path / "again.jpg").read_bytes()
        assert kept[image.stem] == again
        assert base64.b64encode(again).decode() in page

    site = write_report([result.run_dir, result.run_dir], tmp_path / "site")  # a folder: thumbnails as files
    made = sorted((site.parent / "thumbs").glob("*.jpg"))
    assert [t.stem for t in made] == sorted(kept) and from_files == []
    assert all(t.read_bytes() == kept[t.stem] for t in made)


def test_a_stored_thumbnail_that_is_not_a_jpeg_is_made_again_from_the_image(tmp_path: Path) -> None:
    result = run(toy_spec(), tmp_path / "r", use_cache=False)
    kept = read_thumbnails(result.run_dir / "store.sqlite")
    with sqlite3.connect(result.run_dir / "store.sqlite") as db:  # a tampered store
        db.execute("UPDATE thumbnails SET jpeg=?", (b"<script>alert(1)</script>",))
    db.close()
    assert read_thumbnails(result.run_dir / "store.sqlite") == {}
    site = write_report([result.run_dir, result.run_dir], tmp_path / "site")
    made = {t.stem: t.read_bytes() for t in (site.parent / "thumbs").glob("*.jpg")}
    assert made == kept  # made from the PNGs, the same bytes the run had kept


@pytest.mark.parametrize("between", [False, True])
def test_a_waves_commit_overlaps_the_next_waves_editing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, between: bool
) -> None:
    """Wave 1's commit waits for wave 2's edit to begin: only a commit running beside the editing sees it begin.
    With scoring between waves each wave is committed before the next starts (the wait gives up at once)."""
    second_edit, seen = threading.Event(), []
    real_record, real_edit = RunStore.record_wave, ToyEditor.edit_batch

    def record_wave(store: RunStore, *a: Any, **k: Any) -> None:
        if not seen:
            seen.append(second_edit.wait(timeout=0 if between else 30))
        real_record(store, *a, **k)

    def edit_batch(editor: ToyEditor, requests: list[EditRequest]) -> list[Image.Image]:
        if CALLS["edit_batch"] >= 1:
            second_edit.set()
        return real_edit(editor, requests)

    reset_calls()
    monkeypatch.setattr(RunStore, "record_wave", record_wave)
    monkeypatch.setattr(ToyEditor, "edit_batch", edit_batch)
    result = run(toy_spec(), tmp_path / "r", use_cache=False, score_between_waves=between)
    assert seen == [not between]
    assert result.summary["stop_reasons"] == {"agent": 6}  # the run is whole either way
