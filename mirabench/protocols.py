"""Each benchmark's own headline, computed the way its authors' scripts compute it, from per-sample rows.

summary.json's `metrics` are plain sample means over successful judgements (with coverage). Papers print other
numbers; this module reproduces them so `summary.json["protocol"]` and `mirabench report --protocol` match the
benchmark's scripts to the printed digit:
- `imgedit` (PKU-YuanGroup/ImgEdit `Benchmark/Basic/step2_typescore.py`): the per-sample score (already rounded
  to 2 decimals by `imgedit-judge`, as `step1_get_avgscore.py`) averaged per `edit_type` and rounded to 2
  decimals; Overall = unweighted mean of the 9 rounded category means (upstream ships no Overall script; this is
  the leaderboard's rule). Printed with 2 decimals, in the paper's column order.
- `gedit` (stepfun-ai/Step1X-Edit `GEdit-Bench/calculate_statistics.py`): per task group the mean SC, mean PQ
  and mean of the per-sample O = sqrt(SC x PQ); headline = unweighted mean over the 11 groups, for the full set
  and the `Intersection_exist` subset, per language; printed with 3 decimals. A group with no scored row makes
  the headline undefined (upstream prints nan): we give None and name the missing groups.
- `mira` (MIRA Table 1 / supp. Tables B, C): sample means of 8 columns, printed with 3 decimals.
Items whose judging failed are left out of every mean here, as upstream drops them; `n_failed` says how many.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mirabench.plugins import Column

__all__ = [
    "GEDIT_GROUPS",
    "IMGEDIT_COLUMNS",
    "MIRA_COLUMNS",
    "gedit_protocol",
    "imgedit_protocol",
    "mira_protocol",
    "protocol_for",
    "protocol_tags",
]

IMGEDIT_COLUMNS = {
    "add": "Add",
    "adjust": "Adjust",
    "extract": "Extract",
    "replace": "Replace",
    "remove": "Remove",
    "background": "Background",
    "style": "Style",
    "compose": "Hybrid",
    "action": "Action",
}
"""ImgEdit `edit_type` -> the paper's column, in the paper's order (then Overall)."""

GEDIT_GROUPS = (
    "background_change",
    "color_alter",
    "material_alter",
    "motion_change",
    "ps_human",
    "style_change",
    "subject-add",
    "subject-remove",
    "subject-replace",
    "text_change",
    "tone_transfer",
)

MIRA_COLUMNS = {
    "GPT-SC": "gpt-sc",
    "Gemini-SC": "gemini-sc",
    "Qwen3VL-SC": "qwen3vl-sc",
    "EditScore-SC": "editscore-sc",
    "ARNIQA": "arniqa",
    "TOPIQ": "topiq",
    "EditScore-PQ": "editscore-pq",
    "EditScore-OA": "editscore-oa",
}
"""MIRA Table 1's 8 columns (paper name -> mirabench column), in the paper's order."""


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _values(rows: Sequence[Mapping[str, Any]], key: str) -> list[float]:
    return [float(r["scores"][key]) for r in rows if r["scores"].get(key) is not None]


def imgedit_protocol(rows: Sequence[Mapping[str, Any]], column: str = "imgedit") -> dict[str, Any]:
    """Category means rounded to 2 decimals and their unweighted mean (ImgEdit's leaderboard Overall)."""
    categories: dict[str, float] = {}
    counts: dict[str, int] = {}
    for cat in IMGEDIT_COLUMNS:
        vals = _values([r for r in rows if r["category"] == cat], column)
        counts[cat] = len(vals)
        if vals:
            categories[cat] = round(sum(vals) / len(vals), 2)
    missing = [c for c in IMGEDIT_COLUMNS if c not in categories]
    overall = _mean(list(categories.values()))
    return {
        "name": "imgedit",
        "column": column,
        "source": "PKU-YuanGroup/ImgEdit Benchmark/Basic step1_get_avgscore.py + step2_typescore.py",
        "categories": categories,
        "overall": None if overall is None else round(overall, 6),
        "n": counts,
        "n_failed": sum(1 for r in rows if r["scores"].get(column) is None),
        "missing_categories": missing,
        "rounding": {"sample": 2, "category": 2, "overall": "unrounded mean of the rounded category means"},
        "printed_decimals": 2,
    }


def _judge_triples(columns: Sequence[Column]) -> dict[str, tuple[str, str, str]]:
    """VIEScore-style judges in a run: prefix -> (SC, PQ, O) column keys (`gpt-sc`, `gpt-pq`, `gpt-o`)."""
    keys = {c.key for c in columns}
    out: dict[str, tuple[str, str, str]] = {}
    for key in keys:
        if key.endswith("-sc"):
            prefix = key[: -len("-sc")]
            o = next((f"{prefix}-{s}" for s in ("o", "oa") if f"{prefix}-{s}" in keys), None)
            if f"{prefix}-pq" in keys and o is not None:
                out[prefix] = (key, f"{prefix}-pq", o)
    return dict(sorted(out.items()))


def _gedit_subset(rows: Sequence[Mapping[str, Any]], triple: tuple[str, str, str]) -> dict[str, Any]:
    groups: dict[str, dict[str, Any]] = {}
    for group in GEDIT_GROUPS:
        # a row counts when both SC and PQ were judged (upstream writes a CSV row only for a finished item)
        scored = [r for r in rows if r["category"] == group and all(r["scores"].get(k) is not None for k in triple)]
        if scored:
            groups[group] = {
                "SC": _mean(_values(scored, triple[0])),
                "PQ": _mean(_values(scored, triple[1])),
                "O": _mean(_values(scored, triple[2])),
                "n": len(scored),
            }
    missing = [g for g in GEDIT_GROUPS if g not in groups]
    head: dict[str, Any] = {
        k: None if missing else sum(g[k] for g in groups.values()) / len(GEDIT_GROUPS) for k in ("SC", "PQ", "O")
    }
    n_failed = sum(1 for r in rows if any(r["scores"].get(k) is None for k in triple))
    return {**head, "groups": groups, "missing_groups": missing, "n_failed": n_failed}


def gedit_protocol(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[Column],
    tags: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Per judge, language and subset (fullset, intersection): group means and their unweighted mean.

    `tags` maps sample id -> {"language", "intersection"} (from the suite's data); without it the language comes
    from the id prefix (`en-`/`cn-`) and the intersection subset is reported as unknown (None).
    """
    tags = tags or {}

    def language(row: Mapping[str, Any]) -> str:
        return str(tags.get(row["id"], {}).get("language") or str(row["id"]).split("-", 1)[0])

    def inter(row: Mapping[str, Any]) -> bool | None:
        value = tags.get(row["id"], {}).get("intersection")
        return None if value is None else bool(value)

    judges: dict[str, Any] = {}
    overall: dict[str, Any] = {}
    for prefix, triple in _judge_triples(columns).items():
        per_lang: dict[str, Any] = {}
        for lang in sorted({language(r) for r in rows}):
            mine = [r for r in rows if language(r) == lang]
            known = all(inter(r) is not None for r in mine)
            per_lang[lang] = {
                "fullset": _gedit_subset(mine, triple),
                "intersection": _gedit_subset([r for r in mine if inter(r)], triple) if known else None,
            }
            overall.setdefault(prefix, {})[lang] = {
                subset: None if got is None else {k: got[k] for k in ("SC", "PQ", "O")}
                for subset, got in per_lang[lang].items()
            }
        judges[prefix] = {"columns": list(triple), "languages": per_lang}
    return {
        "name": "gedit",
        "source": "stepfun-ai/Step1X-Edit GEdit-Bench/calculate_statistics.py",
        "judges": judges,
        "overall": overall,
        "rounding": {"stored": "unrounded", "printed": 3},
        "printed_decimals": 3,
    }


def mira_protocol(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column]) -> dict[str, Any]:
    """MIRA Table 1: the sample mean of each of its 8 columns the run has (others None)."""
    keys = {c.key for c in columns}
    overall: dict[str, float | None] = {}
    counts: dict[str, int] = {}
    for paper, key in MIRA_COLUMNS.items():
        vals = _values(rows, key) if key in keys else []
        overall[paper] = _mean(vals)
        counts[paper] = len(vals)
    return {
        "name": "mira",
        "source": "MIRA Table 1 (sample means, 3 decimals)",
        "overall": overall,
        "n": counts,
        "columns": MIRA_COLUMNS,
        "rounding": {"stored": "unrounded", "printed": 3},
        "printed_decimals": 3,
    }


def protocol_tags(suite: str, options: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Per-sample fields a suite's protocol groups by (GEdit: language, intersection subset), read from its data.

    Data that cannot be read now (moved, another machine) gives no tags: the protocol then says the subset is
    unknown instead of guessing it."""
    if suite not in PROTOCOL_OF_SUITE:
        return {}
    from mirabench.registry import PluginError, suites

    try:
        read = getattr(suites.build(suite, **options), "protocol_tags", None)
        return dict(read()) if read is not None else {}
    except (OSError, ValueError, ImportError, LookupError, PluginError):
        return {}


PROTOCOL_OF_SUITE = {"imgedit": "imgedit", "gedit": "gedit", "mira500": "mira"}


def protocol_for(
    suite: str,
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[Column],
    tags: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any] | None:
    """The suite's own headline (None for suites without a published protocol or without its judge)."""
    name = PROTOCOL_OF_SUITE.get(suite)
    keys = {c.key for c in columns}
    if name == "imgedit" and "imgedit" in keys:
        return imgedit_protocol(rows)
    if name == "gedit" and _judge_triples(columns):
        return gedit_protocol(rows, columns, tags)
    if name == "mira":
        return mira_protocol(rows, columns)
    return None
