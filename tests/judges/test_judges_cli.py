"""`mirabench judges ...` end to end on a shapes study judged by the exact `shapes` metric and two stand-in judges
of known noise (fake-judge: N(0, 0.5), fake-judge-2: N(0, 1.5)); offline, seeded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import krippendorff
import numpy as np
import pytest
from typer.testing import CliRunner

from mirabench.cli.root import app
from mirabench.reliability.human import read_ratings
from mirabench.reliability.stats import resolvable_gap
from mirabench.reports.judges import mark_deltas, report_view
from mirabench.reports.leaderboard import deltas, load_run, table_rows
from mirabench.run.runner import run
from mirabench.rundir.store import RunStore
from mirabench.spec import RunSpec
from mirabench.types import Score

N = 40
cli = CliRunner()


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    root = tmp_path_factory.mktemp("study")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MIRABENCH_CACHE_DIR", str(root / "cache"))
        dirs = {}
        for agent in ("direct", "heuristic"):
            spec = RunSpec(
                suite="shapes",
                agent=agent,
                editor="shapes",
                metrics=["shapes", "fake-judge", "fake-judge-2"],
                max_steps=4,
                seed=0,
                suite_options={"n": N},
                editor_options={"error_rate": 0.2},
            )
            dirs[agent] = run(spec, root / agent).run_dir
        yield dirs


def _ok(*args: str) -> str:
    res = cli.invoke(app, list(args))
    assert res.exit_code == 0, res.output
    return res.output


def _summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def test_every_column_says_not_measured_until_measured(study: dict[str, Path]) -> None:
    section = _summary(study["direct"])["judge_reliability"]
    assert section["fake-sc"]["repeat"] == "not measured" and section["fake-sc"]["drift"] == "not measured"
    assert section["fake-sc"]["fingerprints"] == {"served": {"fake-judge-v1 / fp_0": N}, "changed": False}
    assert section["shapes-sc"]["fingerprints"] == "not measured"  # the exact judge reports nothing served
    assert set(section["fake-sc"]["agreement"]) == {"shapes-sc", "fake2-sc"}
    assert section["shapes-goals"]["agreement"] == "not measured"


def test_repeat_recovers_noise_and_leaves_the_scores_alone(study: dict[str, Path]) -> None:
    run_dir = study["heuristic"]
    before = (run_dir / "samples.jsonl").read_text()
    out = _ok("judges", "repeat", str(run_dir), "--metric", "fake-judge-2", "--n", "30", "--k", "4")
    assert "fake2-sc" in out
    assert (run_dir / "samples.jsonl").read_text() == before  # repeats never replace the run's scores
    entry = _summary(run_dir)["judge_reliability"]["fake2-sc"]
    rep = entry["repeat"]
    assert rep["k"] == 4 and rep["std"]["n"] == 30
    assert rep["std"]["value"] == pytest.approx(1.5, rel=0.2)
    assert rep["std"]["ci95"][0] < 1.5 < rep["std"]["ci95"][1]
    gap = entry["resolvable_gap"]
    assert gap["n"] == N and gap["value"] == pytest.approx(resolvable_gap(rep["std"]["value"] ** 2, N), abs=1e-5)
    assert "Judge reliability" in (run_dir / "report.html").read_text()
    with pytest.raises(ValueError, match="at least 2"):
        from mirabench.run.rejudge import run_repeats

        run_repeats(run_dir, "fake-judge", k=1)


def test_inter_judge_agreement_falls_with_noise(study: dict[str, Path]) -> None:
    pairs = json.loads(_ok("judges", "agree", str(study["direct"]), str(study["heuristic"]), "--json"))
    rho = {(p["column"], p["other"]): p["sample"]["spearman"] for p in pairs}
    assert rho[("shapes-sc", "fake-sc")]["n"] == 2 * N
    assert rho[("shapes-sc", "fake-sc")]["value"] > rho[("shapes-sc", "fake2-sc")]["value"] + 0.03
    assert ("fake-sc", "fake2-sc") in rho and not any(c.startswith("shapes-goals") for c, _ in rho)


def test_fingerprint_change_within_and_between_runs_is_flagged(study: dict[str, Path], tmp_path: Path) -> None:
    import shutil

    from mirabench.run.rejudge import refresh

    copy = tmp_path / "changed"
    shutil.copytree(study["direct"], copy)
    row = json.loads((copy / "samples.jsonl").read_text().splitlines()[0])
    image = row["final_image"].removeprefix("images/").removesuffix(".png")
    store = RunStore(copy)
    try:  # one score served by another backend, as a provider update mid-run would leave it
        served = {"model": "fake-judge-v1", "system_fingerprint": "fp_1"}
        store.put_scores([(row["id"], image, "fake-judge", "fake-sc", Score.ok(5.0, served=served))])
    finally:
        store.close()
    fp = refresh(copy)["judge_reliability"]["fake-sc"]["fingerprints"]
    assert fp["changed"] and fp["served"] == {"fake-judge-v1 / fp_0": N - 1, "fake-judge-v1 / fp_1": 1}
    runs = [load_run(study["direct"]), load_run(copy)]
    rows, columns = table_rows(runs, [])
    view = {r["column"]: r for r in report_view(runs, ["a", "b"], columns)}
    assert "what served this column changed within b" in view["fake-sc"]["flags"]
    assert "what served this column differs between the runs" in view["fake-sc"]["flags"]
    assert view["fake2-sc"]["flags"] == []


def test_calibrate_drift_and_the_compare_gate(study: dict[str, Path], tmp_path: Path) -> None:
    calib = tmp_path / "calib"
    _ok("judges", "calibrate", str(study["direct"]), "--n", "25", "--out", str(calib))
    record = json.loads((calib / "calibration.json").read_text())
    assert len(record["samples"]) == 25 and record["metrics"]["fake-judge"]["options"]["noise"] == 0.5
    assert sum(p.stat().st_size for p in calib.rglob("*")) < 1_000_000  # small enough to commit
    rows = {json.loads(x)["id"]: json.loads(x) for x in (study["direct"] / "samples.jsonl").read_text().splitlines()}
    s = record["samples"][0]
    assert s["scores"]["fake-sc"] == rows[s["id"]]["scores"]["fake-sc"]
    assert s["served"]["fake-sc"] == "fake-judge-v1 / fp_0"

    same = cli.invoke(app, ["judges", "drift", str(calib), "--record-in", str(study["direct"])])
    assert same.exit_code == 0, same.output
    drift = _summary(study["direct"])["judge_reliability"]["fake-sc"]["drift"]
    assert drift["drifted"] is False and drift["n"] == 25
    base = ["compare", str(study["direct"]), "--baseline", str(study["direct"]), "--require-drift", str(calib)]
    assert cli.invoke(app, base).exit_code == 0

    biased = cli.invoke(
        app,
        ["judges", "drift", str(calib), "--set", "metrics.fake-judge.bias=0.8", "--set", "metrics.fake-judge.seed=3"]
        + ["--set", "metrics.fake-judge.fingerprint=fp_new"],
    )
    assert biased.exit_code == 1, biased.output
    result = json.loads((calib / "drift.json").read_text())
    assert not result["passed"]
    sc = result["columns"]["fake-sc"]
    assert sc["drifted"] and sc["ci95"][0] < 0.8 < sc["ci95"][1] and sc["served_changed"]
    assert not result["columns"]["fake2-sc"]["drifted"] and not result["columns"]["fake2-sc"]["served_changed"]
    assert not result["columns"]["shapes-sc"]["drifted"] and result["columns"]["shapes-sc"]["shift"] == 0.0
    gated = cli.invoke(app, base)
    assert gated.exit_code == 1 and "fake-sc shift +0.8" in gated.output and "no gate was run" in gated.output


def test_human_agreement(study: dict[str, Path], tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    lines = ["rater,sample_id,system,criterion,score"]
    for run_dir in study.values():
        for line in (run_dir / "samples.jsonl").read_text().splitlines():
            row = json.loads(line)
            for r in range(4):
                score = float(np.clip(np.round(row["scores"]["shapes-sc"] + rng.normal(0, 1.0)), 0, 10))
                if rng.random() < 0.2:
                    continue  # not every rater sees every item
                lines.append(f"r{r},{row['id']},{run_dir.name},sc,{score:g}")
    csv = tmp_path / "ratings.csv"
    csv.write_text("\n".join(lines) + "\n")
    out = _ok("judges", "human", str(csv), str(study["direct"]), str(study["heuristic"]))
    assert "fake2-sc" in out
    human = json.loads((study["direct"] / "judges" / "human.json").read_text())
    frame = read_ratings(csv)
    matrix = frame.pivot_table(index="rater", columns=["sample_id", "system"], values="score").to_numpy(dtype=float)
    alpha = krippendorff.alpha(reliability_data=matrix, level_of_measurement="interval")
    assert human["criteria"]["sc"]["alpha"]["value"] == pytest.approx(alpha, abs=1e-6)
    cols = human["columns"]
    rho = {c: cols[c]["sample"]["spearman"]["value"] for c in ("shapes-sc", "fake-sc", "fake2-sc")}
    assert rho["shapes-sc"] > rho["fake2-sc"] + 0.03 and rho["fake-sc"] > rho["fake2-sc"]
    assert cols["shapes-sc"]["sample"]["spearman"]["n"] == 2 * N and cols["shapes-sc"]["system"]["kendall"]["n"] == 2
    assert "bp" not in human["criteria"] and "fake-bg" not in cols  # only criteria that were rated
    ceiling = human["criteria"]["sc"]["rater_pairwise_accuracy"]
    assert 0.5 < ceiling["value"] < cols["shapes-sc"]["pairwise_accuracy"]["value"]  # one noisy rater < the truth
    summary = _summary(study["heuristic"])["judge_reliability"]
    assert summary["fake-sc"]["human"]["raters"]["alpha"]["value"] == human["criteria"]["sc"]["alpha"]["value"]


def test_bad_ratings_are_refused_with_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("rater,sample_id,system,criterion,score\na,s1,x,sc,5\na,s2,x,looks,5\n")
    with pytest.raises(ValueError, match="line 3: criterion 'looks'"):
        read_ratings(bad)
    bad.write_text("rater,sample_id,system,criterion,score\na,s1,x,sc,five\n")
    with pytest.raises(ValueError, match="line 2: score 'five'"):
        read_ratings(bad)
    bad.write_text("rater,sample_id,criterion,score\na,s1,sc,5\n")
    with pytest.raises(ValueError, match="missing column"):
        read_ratings(bad)


def test_pairwise_gaps_below_the_resolvable_gap_are_marked(study: dict[str, Path]) -> None:
    for run_dir in study.values():  # repeat noise known on both sides
        _ok("judges", "repeat", str(run_dir), "--metric", "fake-judge", "--n", "20", "--k", "3")
    runs = [load_run(study["direct"]), load_run(study["heuristic"])]
    rows, columns = table_rows(runs, [])
    pairwise = deltas(runs, columns, 0)
    mark_deltas(runs, pairwise, 0)
    cells = pairwise[0]["cells"]
    assert "resolvable" not in cells["shapes-sc"]  # the exact judge was never repeated
    reps = [_summary(d)["judge_reliability"]["fake-bg"]["repeat"]["std"]["value"] ** 2 for d in study.values()]
    ids = sorted(runs[0].by_id)
    a = [runs[0].scores("fake-bg")[i] for i in ids]
    b = [runs[1].scores("fake-bg")[i] for i in ids]
    d = np.array(b) - np.array(a)
    expected = resolvable_gap(float(np.mean(reps)), N, float(np.var(d, ddof=1)) - 2 * float(np.mean(reps)))
    cell = cells["fake-bg"]
    assert cell["resolvable"] == pytest.approx(expected)
    assert cell["within_noise"] == (abs(cell["delta"]) < cell["resolvable"])
    html = cli.invoke(
        app,
        [
            "report",
            str(study["direct"]),
            str(study["heuristic"]),
            "--format",
            "html",
            "--out",
            str(study["direct"].parent / "r.html"),
        ],
    )
    assert html.exit_code == 0
    page = (study["direct"].parent / "r.html").read_text()
    assert "judge-reliability" in page and ("within judge noise" in page or "resolvable: gap" in page)


def test_compare_notes_a_judge_served_by_another_backend(study: dict[str, Path], tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "other-backend"
    shutil.copytree(study["direct"], copy)
    summary = json.loads((copy / "summary.json").read_text())
    summary["judge_reliability"]["fake-sc"]["fingerprints"]["served"] = {"fake-judge-v2 / fp_7": N}
    (copy / "summary.json").write_text(json.dumps(summary))
    out = cli.invoke(app, ["compare", str(copy), "--baseline", str(study["direct"])]).output
    assert "fake-sc was served by fake-judge-v1 / fp_0 for the baseline and by fake-judge-v2 / fp_7" in out
    assert "fake2-sc was served" not in out
