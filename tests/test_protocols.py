"""Benchmark headlines as the benchmarks' own scripts compute them, checked against hand-computed numbers."""

from __future__ import annotations

import math
from typing import Any

import pytest

from mirabench.plugins import Column
from mirabench.protocols import GEDIT_GROUPS, gedit_protocol, imgedit_protocol, mira_protocol, protocol_for


def row(sid: str, category: str, **scores: float | None) -> dict[str, Any]:
    return {"id": sid, "category": category, "scores": scores}


IMGEDIT = {  # per-sample scores as imgedit-judge stores them (already rounded to 2 decimals)
    "add": [3.67, 4.0, 3.0, None],  # 3.5566.. -> 3.56; the failed sample is left out, as upstream drops it
    "adjust": [2.0],
    "extract": [1.33, 1.67],  # 1.5
    "replace": [3.33, 3.33, 3.0],  # 3.22
    "remove": [2.33],
    "background": [4.0, 3.67],  # 7.67 / 2 = 3.835 is 3.83499.. in binary: Python's round (upstream's) gives 3.83
    "style": [5.0, 4.5],  # 4.75
    "compose": [2.67],
    "action": [3.0, 2.0, 2.33],  # 2.4433.. -> 2.44
}


def test_imgedit_category_means_round_to_2_and_overall_is_their_unweighted_mean() -> None:
    rows = [row(f"{c}{i}", c, imgedit=v) for c, vals in IMGEDIT.items() for i, v in enumerate(vals)]
    p = imgedit_protocol(rows)
    assert p["categories"] == {
        "add": 3.56,
        "adjust": 2.0,
        "extract": 1.5,
        "replace": 3.22,
        "remove": 2.33,
        "background": 3.83,
        "style": 4.75,
        "compose": 2.67,
        "action": 2.44,
    }
    # (3.56 + 2.00 + 1.50 + 3.22 + 2.33 + 3.83 + 4.75 + 2.67 + 2.44) / 9 = 26.30 / 9 = 2.92222..
    assert p["overall"] == pytest.approx(26.30 / 9, abs=1e-6) and f"{p['overall']:.2f}" == "2.92"
    # the sample mean of the same answers (summary.json's `metrics`) is another number: 54.83 / 18 = 3.046
    ok = [r["scores"]["imgedit"] for r in rows if r["scores"]["imgedit"] is not None]
    assert len(ok) == 18 and f"{sum(ok) / len(ok):.2f}" == "3.05"
    assert p["n"]["add"] == 3 and p["n_failed"] == 1 and p["missing_categories"] == []
    partial = imgedit_protocol([r for r in rows if r["category"] != "action"])
    assert partial["missing_categories"] == ["action"]


def gedit_rows() -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    rows, tags = [], {}
    bg = [(8.0, 9.0, True), (6.0, 4.0, True), (4.0, 1.0, False), (None, 5.0, True)]
    for i, (sc, pq, inter) in enumerate(bg):
        o = None if sc is None else math.sqrt(sc * pq)
        rows.append(row(f"en-bg{i}", "background_change", **{"gpt-sc": sc, "gpt-pq": pq, "gpt-o": o}))
        tags[f"en-bg{i}"] = {"language": "en", "intersection": inter}
    for g in GEDIT_GROUPS[1:]:
        rows.append(row(f"en-{g}", g, **{"gpt-sc": 2.0, "gpt-pq": 8.0, "gpt-o": 4.0}))
        tags[f"en-{g}"] = {"language": "en", "intersection": True}
    rows.append(row("cn-1", "color_alter", **{"gpt-sc": 5.0, "gpt-pq": 5.0, "gpt-o": 5.0}))
    tags["cn-1"] = {"language": "cn", "intersection": True}
    return rows, tags


GPT_COLUMNS = [Column("gpt-sc", 0, 10), Column("gpt-pq", 0, 10), Column("gpt-o", 0, 10)]


def test_gedit_headline_is_the_unweighted_mean_of_the_11_groups_per_subset_and_language() -> None:
    rows, tags = gedit_rows()
    p = gedit_protocol(rows, GPT_COLUMNS, tags)
    en = p["judges"]["gpt"]["languages"]["en"]
    full, inter = en["fullset"], en["intersection"]
    # background_change: SC (8+6+4)/3 = 6, PQ (9+4+1)/3 = 4.667, O = (sqrt 72 + sqrt 24 + 2)/3 = 5.1281
    assert full["groups"]["background_change"]["SC"] == pytest.approx(6.0)
    assert full["groups"]["background_change"]["O"] == pytest.approx((math.sqrt(72) + math.sqrt(24) + 2) / 3)
    # headline: (6 + 10 x 2) / 11 = 2.364 (the sample mean would be (18 + 20) / 13 = 2.923)
    assert f"{full['SC']:.3f}" == "2.364" and f"{full['PQ']:.3f}" == "7.697" and f"{full['O']:.3f}" == "4.103"
    assert full["n_failed"] == 1 and full["groups"]["background_change"]["n"] == 3
    # intersection: background rows 0 and 1 only -> SC 7, PQ 6.5, O (sqrt 72 + sqrt 24)/2
    assert f"{inter['SC']:.3f}" == "2.455" and f"{inter['PQ']:.3f}" == "7.864" and f"{inter['O']:.3f}" == "4.245"
    cn = p["judges"]["gpt"]["languages"]["cn"]["fullset"]
    assert cn["SC"] is None and len(cn["missing_groups"]) == 10  # upstream prints nan for an empty group
    assert p["overall"]["gpt"]["en"]["fullset"] == {"SC": full["SC"], "PQ": full["PQ"], "O": full["O"]}


def test_gedit_without_tags_reads_the_language_from_the_id_and_says_the_subset_is_unknown() -> None:
    rows, _ = gedit_rows()
    p = gedit_protocol(rows, GPT_COLUMNS)
    assert set(p["judges"]["gpt"]["languages"]) == {"cn", "en"}
    assert p["judges"]["gpt"]["languages"]["en"]["intersection"] is None
    assert f"{p['judges']['gpt']['languages']['en']['fullset']['SC']:.3f}" == "2.364"


def test_mira_table_1_columns_and_suite_dispatch() -> None:
    cols = [Column(k, 0, 10) for k in ("gpt-sc", "editscore-sc", "editscore-pq", "editscore-oa", "arniqa")]
    rows = [
        row("a", "x", **{"gpt-sc": 6.0, "editscore-sc": 4.0, "editscore-pq": 9.0, "editscore-oa": 6.0, "arniqa": 0.5}),
        row(
            "b", "x", **{"gpt-sc": 7.0, "editscore-sc": None, "editscore-pq": 7.0, "editscore-oa": None, "arniqa": 0.6}
        ),
    ]
    p = mira_protocol(rows, cols)
    assert list(p["overall"]) == [
        "GPT-SC",
        "Gemini-SC",
        "Qwen3VL-SC",
        "EditScore-SC",
        "ARNIQA",
        "TOPIQ",
        "EditScore-PQ",
        "EditScore-OA",
    ]
    assert p["overall"]["GPT-SC"] == 6.5 and p["overall"]["EditScore-SC"] == 4.0 and p["overall"]["TOPIQ"] is None
    assert p["overall"]["ARNIQA"] == pytest.approx(0.55) and p["n"]["EditScore-SC"] == 1
    assert protocol_for("mira500", rows, cols)["name"] == "mira"  # type: ignore[index]
    assert protocol_for("imgedit", rows, cols) is None  # no imgedit-judge column: no ImgEdit headline
    assert protocol_for("shapes", rows, cols) is None


def test_single_step_overall_uses_the_imgedit_rounded_category_means() -> None:
    from mirabench.studies.single_step import _by_category, overall

    rows = [row(f"{c}{i}", c, imgedit=v) for c, vals in IMGEDIT.items() for i, v in enumerate(vals)]
    unrounded = {
        c: sum(v for v in vals if v is not None) / len([v for v in vals if v is not None])
        for c, vals in IMGEDIT.items()
    }
    summary = {"protocol": imgedit_protocol(rows), "categories": {c: {"imgedit": m} for c, m in unrounded.items()}}
    cats = _by_category(summary, "imgedit")
    assert cats["background"] == 3.83 and overall(cats, {}, "unweighted") == pytest.approx(26.30 / 9)
    # averaging the unrounded means gives 2.92278.. instead of 2.92222..
    assert overall(_by_category({"categories": summary["categories"]}, "imgedit"), {}, "unweighted") == pytest.approx(
        sum(unrounded.values()) / 9
    )


def test_table_b_rows_use_the_papers_8_columns_when_the_run_has_them() -> None:
    from mirabench.studies.budget import _row_b

    values = {"mean_steps": 2.5, "gpt-sc": 6.0, "gpt-pq": 5.0, "gpt-o": 5.4, "arniqa": 0.6}
    assert _row_b(3, values, list(values)[1:]) == {"max_steps": 3, "mean_steps": 2.5, "GPT-SC": 6.0, "ARNIQA": 0.6}
    assert _row_b(3, {"shapes-sc": 1.0}, ["shapes-sc"]) == {"max_steps": 3, "mean_steps": None, "shapes-sc": 1.0}
