"""The rating study without a browser: creation (seeded, blinded, secret links), the app's JSON endpoints (no
leaks, wrong tokens refused, concurrent raters), and the results (hand-computed means and alpha, sheets fed in)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest
from rating_server import http, serving
from typer.testing import CliRunner

from mirabench.cli import app
from mirabench.run.runner import run
from mirabench.spec import RunSpec
from mirabench.studies.rating.db import RatingDB
from mirabench.studies.rating.results import LONG_COLUMNS, agreement, rater_times, read_long, table_d
from mirabench.studies.rating.study import GROUPS, create_study, load_study
from mirabench.studies.user_study import CRITERIA, export_sheet


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("runs")
    base = dict(suite="shapes", editor="shapes", metrics=["shapes"], suite_options={"n": 10, "size": 64})
    return [
        run(RunSpec(agent="direct", max_steps=1, **base), root / "direct").run_dir,  # type: ignore[arg-type]
        run(RunSpec(agent="heuristic", **base), root / "heuristic").run_dir,  # type: ignore[arg-type]
    ]


def test_creation_is_seeded_blinded_and_has_secret_links(runs: list[Path], tmp_path: Path) -> None:
    a = create_study(runs, tmp_path / "a", samples=6, raters=4, seed=7)
    b = create_study(runs, tmp_path / "b", samples=6, raters=4, seed=7)
    assert a.systems == ["shapes + direct", "shapes + heuristic"]
    assert a.groups == {"shapes + direct": GROUPS[0], "shapes + heuristic": GROUPS[2]}
    assert len(a.items) == 6 and a.items == b.items
    assert [(r["items"], r["slots"]) for r in a.raters] == [(r["items"], r["slots"]) for r in b.raters]
    tokens = [r["token"] for r in a.raters + b.raters] + [a.plan["admin_token"]]
    assert len(set(tokens)) == len(tokens) and all(len(t) >= 32 for t in tokens)  # from secrets, not the seed
    for r in a.raters:
        assert sorted(r["items"]) == list(range(6))
        assert all(sorted(s) == [0, 1] for s in r["slots"])
    assert len({tuple(r["items"]) for r in a.raters}) > 1  # raters see different item orders
    assert {tuple(s) for r in a.raters for s in r["slots"]} == {(0, 1), (1, 0)}  # and both slot orders occur
    for i in range(len(a.items)):
        for system in (None, 0, 1):
            full, thumb = a.image(i, system)
            assert full.is_file() and thumb.is_file() and full.parent.name == "images"
    assert create_study(runs, tmp_path / "c", samples=6, raters=4, seed=8).items != a.items
    with pytest.raises(ValueError, match="created once"):
        create_study(runs, tmp_path / "a", samples=6, raters=4, seed=7)
    with pytest.raises(ValueError, match="same system name"):
        create_study([runs[0], runs[0]], tmp_path / "d")


def test_endpoints_leak_nothing_refuse_wrong_tokens_and_take_concurrent_raters(
    runs: list[Path], tmp_path: Path
) -> None:
    study = create_study(runs, tmp_path / "s", samples=4, raters=3, seed=0)
    r1, r2, r3 = study.raters
    with serving(study.dir) as base:
        status, page, headers = http(f"{base}/r/{r1['token']}")
        assert status == 200 and "Item 1 of 4" in page
        assert "script-src 'self'" in headers["content-security-policy"]
        assert headers["referrer-policy"] == "no-referrer"
        api = f"{base}/api/r/{r1['token']}/item/1"
        status, text, _ = http(api)
        state = json.loads(text)
        assert status == 200 and state["slots"] == ["A", "B"] and state["scores"] == {"A": {}, "B": {}}
        # later items are not open before the earlier ones are submitted
        assert http(f"{base}/api/r/{r1['token']}/item/2")[0] == 409
        assert http(api + "/submit", {})[0] == 409
        for slot in "AB":
            for c, v in zip(("sc", "pq", "bp"), (3, 6, 9), strict=True):
                assert http(api + "/rate", {"slot": slot, "criterion": c, "score": v})[0] == 200
        assert http(api + "/rate", {"slot": "C", "criterion": "sc", "score": 1})[0] == 400
        assert http(api + "/rate", {"slot": "A", "criterion": "sc", "score": 11})[0] == 400
        assert http(api + "/rate", "slot=A&criterion=sc&score=1", "application/x-www-form-urlencoded")[0] == 415
        status, text, _ = http(api + "/submit", {})
        assert status == 200 and json.loads(text)["next"] == f"/r/{r1['token']}/item/2"
        # what a rater is sent names no system, run, sample or other rater
        bodies = [http(f"{base}/r/{r1['token']}/item/{n}")[1] for n in (1, 2)] + [http(api)[1], text]
        secrets_ = [*study.systems, "heuristic", str(runs[0]), r2["token"], r2["id"], study.plan["admin_token"]]
        secrets_ += [it["sample_id"] for it in study.items]
        secrets_ += [Path(p).stem for it in study.items for p in it["outputs"]]
        for body in bodies:
            for secret in secrets_:
                assert secret not in body
        # wrong or foreign tokens are refused everywhere
        wrong = "x" * len(r1["token"])
        assert http(f"{base}/r/{wrong}")[0] == 404
        assert http(f"{base}/r/{wrong}/item/1")[0] == 404
        assert http(f"{base}/r/{wrong}/img/1/A/full")[0] == 404
        assert http(f"{base}/api/r/{wrong}/item/1/rate", {"slot": "A", "criterion": "sc", "score": 1})[0] == 404
        assert http(f"{base}/admin/{r1['token']}")[0] == 404
        assert http(f"{base}/admin/{study.plan['admin_token']}")[0] == 200
        assert http(f"{base}/r/{r1['token']}/img/1/Z/full")[0] == 404
        assert http(f"{base}/r/{r1['token']}/img/1/A/full")[0] == 200

        # two raters at once, from threads: every rating lands, each under its own rater
        def rate_all(rater: dict, score: int) -> None:
            for n in (1, 2):
                url = f"{base}/api/r/{rater['token']}/item/{n}"
                for slot in "AB":
                    for c in ("sc", "pq", "bp"):
                        assert http(url + "/rate", {"slot": slot, "criterion": c, "score": score})[0] == 200
                assert http(url + "/submit", {})[0] == 200

        threads = [threading.Thread(target=rate_all, args=(r, s)) for r, s in ((r2, 2), (r3, 8))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert json.loads(http(f"{base}/api/r/{r2['token']}/item/1")[1])["scores"]["A"] == {"sc": 2, "pq": 2, "bp": 2}
    # the server is gone; the database has every rating (restart-safe: nothing lived only in memory)
    ratings = RatingDB(study.dir).ratings()
    assert ratings.groupby("rater").size().to_dict() == {"r01": 6, "r02": 12, "r03": 12}
    assert set(ratings[ratings.rater == "r03"]["score"]) == {8.0}
    first = study.items[r1["items"][0]]
    mine = ratings[(ratings.rater == "r01") & (ratings.sample_id == first["sample_id"])]
    expected = {(s, c): v for s in study.systems for c, v in (("sc", 3), ("pq", 6), ("bp", 9))}
    assert {(s, c): v for s, c, v in mine[["system", "criterion", "score"]].itertuples(index=False)} == expected
    with serving(study.dir) as base:  # a restarted server resumes every rater where they were
        assert "Item 2 of 4" in http(f"{base}/r/{r1['token']}")[1]
        assert "Item 3 of 4" in http(f"{base}/r/{r2['token']}")[1]


# A small fixed set, by hand. Units = (sample, system); raters r1, r2, r3.
#   sc: (s1,X) 2 3 4 | (s1,Y) 6 7 8 | (s2,X) 4 4 4 | (s2,Y) 8 6 7
#       means X = 21/6 = 3.5, Y = 42/6 = 7.0
#       D_o = (6 + 6 + 0 + 6) / 12 = 1.5   (per unit: sum of squared differences over ordered pairs / (m - 1))
#       D_e = 2 (n sum v^2 - (sum v)^2) / (n (n - 1)) = 2 (12 * 375 - 63^2) / 132 = 1062 / 132
#       alpha = 1 - 1.5 * 132 / 1062 = 48/59
#   pq: (s1,X) 5 5 6 | (s1,Y) 7 9 - | (s2,X) 5 6 7 | (s2,Y) 8 8 8   (r3 skipped one)
#       means X = 34/6, Y = 40/5 = 8.0
#       D_o = (2 + 8 + 6 + 0) / 11 = 16/11;  D_e = 2 (11 * 518 - 74^2) / 110 = 444/110;  alpha = 1 - 160/444 = 71/111
#   bp: all 5 -> mean 5.0, alpha undefined (no variation at all): reported as missing, not as a number
SC = {("s1", "X"): (2, 3, 4), ("s1", "Y"): (6, 7, 8), ("s2", "X"): (4, 4, 4), ("s2", "Y"): (8, 6, 7)}
PQ = {("s1", "X"): (5, 5, 6), ("s1", "Y"): (7, 9, None), ("s2", "X"): (5, 6, 7), ("s2", "Y"): (8, 8, 8)}


def fixed_set() -> pd.DataFrame:
    rows = []
    for criterion, table in (("sc", SC), ("pq", PQ), ("bp", {k: (5, 5, 5) for k in SC})):
        for (sample, system), values in table.items():
            for rater, v in zip(("r1", "r2", "r3"), values, strict=True):
                if v is not None:
                    rows.append(
                        {"rater": rater, "sample_id": sample, "system": system, "criterion": criterion, "score": v}
                    )
    return pd.DataFrame(rows, columns=LONG_COLUMNS)


def test_results_reproduce_hand_computed_means_and_alpha(tmp_path: Path) -> None:
    ratings = fixed_set()
    path = tmp_path / "long.csv"
    ratings.to_csv(path, index=False)
    ratings = read_long(path)
    groups = {"X": GROUPS[2], "Y": GROUPS[0]}
    table = table_d(ratings, ["X", "Y"], groups).set_index("system")
    assert list(table.index) == ["Y", "X"]  # open-source editors before open-source + agent, as in the paper
    assert table.loc["X", "Semantic Consistency"] == pytest.approx(3.5)
    assert table.loc["Y", "Semantic Consistency"] == pytest.approx(7.0)
    assert table.loc["X", "Perceptual Quality"] == pytest.approx(34 / 6)
    assert table.loc["Y", "Perceptual Quality"] == pytest.approx(8.0)
    assert table.loc["X", "Background Preservation"] == pytest.approx(5.0)
    assert table.loc["Y", "n_ratings"] == 6 + 5 + 6 and table.loc["X", "n_raters"] == 3
    for system in "XY":
        for c, label in (("sc", "Semantic Consistency"), ("pq", "Perceptual Quality")):
            lo, mean, hi = table.loc[system, f"{c}_lo"], table.loc[system, label], table.loc[system, f"{c}_hi"]
            assert lo < mean < hi and hi - lo < 4
        assert table.loc[system, "bp_lo"] == table.loc[system, "bp_hi"] == 5.0  # no spread, no interval width
    alpha = agreement(ratings).set_index("criterion")["alpha"]
    assert alpha["Semantic Consistency"] == pytest.approx(48 / 59)
    assert alpha["Perceptual Quality"] == pytest.approx(71 / 111)
    assert pd.isna(alpha["Background Preservation"])
    bad = ratings.assign(criterion="semantic")
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ValueError, match="criterion outside"):
        read_long(tmp_path / "bad.csv")


def test_rater_time_is_first_open_to_first_submit() -> None:
    progress = pd.DataFrame(
        {
            "rater": ["r1", "r1", "r1", "r2"],
            "sample_id": ["a", "b", "c", "a"],
            "opened": [0.0, 100.0, 200.0, 0.0],
            "submitted": [30.0, 160.0, None, 45.0],  # r1's third item is still open: not counted
        }
    )
    times = rater_times(progress).set_index("rater")
    assert times.loc["r1", "items_done"] == 2 and times.loc["r1", "median_s"] == pytest.approx(45.0)
    assert times.loc["r1", "total_min"] == pytest.approx(1.5) and times.loc["r2", "mean_s"] == pytest.approx(45.0)


def test_cli_creates_and_reports_with_offline_sheets_feeding_the_same_results(runs: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "study"
    args = ["rate", *map(str, runs), "--samples", "3", "--raters", "2", "--out", str(out)]
    res = CliRunner().invoke(app, [*args, "--group", "shapes + heuristic=proprietary"])
    assert res.exit_code == 0, res.output
    study = load_study(out)
    assert len(study.items) == 3 and f"/r/{study.raters[0]['token']}" in res.output
    assert study.groups == {"shapes + direct": GROUPS[0], "shapes + heuristic": GROUPS[1]}
    db = RatingDB(out)
    for it in study.items:
        for system, v in zip(study.systems, (4.0, 8.0), strict=True):
            for c in ("sc", "pq", "bp"):
                db.rate("r01", it["sample_id"], system, c, v)
        db.submit("r01", it["sample_id"])
    # an offline rater fills the CSV sheet of the same runs; their ratings join the web ratings
    export_sheet(runs, tmp_path / "sheet", n=3, seed=0)
    key = json.loads((tmp_path / "sheet" / "key.json").read_text())["slots"]
    with open(tmp_path / "sheet" / "sheet" / "sheet.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        for c in CRITERIA:
            r[c] = "6" if key[f"{r['item']}/{r['slot']}"]["system"] == "shapes + direct" else "10"
        r["rater"] = "offline-1"
    with open(tmp_path / "filled.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    res = CliRunner().invoke(
        app,
        [
            "rate",
            "results",
            str(out),
            "--sheet",
            str(tmp_path / "filled.csv"),
            "--key",
            str(tmp_path / "sheet" / "key.json"),
        ],
    )
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out / "results" / "table_d.csv").set_index("system")
    assert table.loc["shapes + direct", "Semantic Consistency"] == pytest.approx(5.0)  # (4 + 6) / 2 on every sample
    assert table.loc["shapes + heuristic", "Background Preservation"] == pytest.approx(9.0)
    assert table.loc["shapes + direct", "n_raters"] == 2
    long = read_long(out / "results" / "ratings.csv")
    assert len(long) == 2 * 3 * 2 * 3 and set(long["rater"]) == {"r01", "offline-1"}
    assert "Table D" in res.output and "Reported in the paper" in (out / "results" / "table_d.md").read_text()
    html = (out / "results" / "index.html").read_text()
    assert "proprietary" in html and "open-source + agent" not in html and "<script" not in html


def test_kill9_of_the_server_loses_no_acknowledged_rating(runs: list[Path], tmp_path: Path) -> None:
    study = create_study(runs, tmp_path / "s", samples=2, raters=1, seed=0)
    token = study.raters[0]["token"]

    def start() -> tuple[subprocess.Popen, str]:
        cmd = [sys.executable, "-m", "mirabench", "rate", "serve", str(study.dir), "--port", "0"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        first = proc.stdout.readline()  # type: ignore[union-attr]  # printed once the port listens
        assert first.startswith("r01: http://127.0.0.1:"), first
        return proc, first.split(": ", 1)[1].strip().rsplit("/r/", 1)[0]

    proc, base = start()
    try:
        port = base.rsplit(":", 1)[1]
        busy = subprocess.run(
            [sys.executable, "-m", "mirabench", "rate", "serve", str(study.dir), "--port", port],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert busy.returncode != 0 and f"cannot listen on 127.0.0.1:{port}" in busy.stdout + busy.stderr
        api = f"{base}/api/r/{token}/item/1"
        given = {("A", "sc"): 3, ("A", "pq"): 4, ("A", "bp"): 5, ("B", "sc"): 6, ("B", "pq"): 7}
        for (slot, c), v in given.items():
            assert http(api + "/rate", {"slot": slot, "criterion": c, "score": v})[0] == 200
    finally:
        proc.kill()  # SIGKILL: no shutdown handler runs
        proc.wait()
    assert len(RatingDB(study.dir).ratings()) == 5
    proc, base = start()
    try:
        api = f"{base}/api/r/{token}/item/1"
        assert json.loads(http(api)[1])["scores"] == {"A": {"sc": 3, "pq": 4, "bp": 5}, "B": {"sc": 6, "pq": 7}}
        assert http(api + "/rate", {"slot": "B", "criterion": "bp", "score": 8})[0] == 200
        assert http(api + "/submit", {})[0] == 200
        assert "Item 2 of 2" in http(f"{base}/r/{token}")[1]
    finally:
        proc.terminate()
        proc.wait()
