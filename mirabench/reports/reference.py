"""Reported numbers from papers (results/reference/), shown beside measured rows but never mixed up with them.

Accepted files (results/reference/README.md, section "How reports read these files"):
- CSV, long ("tidy"): one number per line, columns `system`, `value` and the metric in `column` or `metric`;
  optional `source`, `table`, `suite`, `max_steps`, `category`, `note`.
- CSV, wide: `system` plus one column per metric (same optional columns).
- JSON: a list of such records, or {"source", "suite", "rows": [{"system", "metrics": {...}, ...}]}.
A reported metric lines up with a measured column when their names agree ignoring case and punctuation
("GPT-SC" is `gpt-sc`). A reported row is shown when its `suite` is a measured run's suite, or, when it names no
suite, when at least one of its metrics lines up. A file that fits none of these is named in the report's list of
problems and left out, never guessed at.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["default_reference_dir", "load_reference", "norm", "reference_frame", "reported_table"]

META = {"suite", "system", "source", "note", "category", "metric", "column", "value", "table", "max_steps"}
MISSING = {"", "-", "–", "—", "n/a", "na", "none", "null"}


def norm(name: str) -> str:
    """The form metric names are matched in: lower case, letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def default_reference_dir() -> Path | None:
    """results/reference/ of a source checkout (absent in an installed wheel)."""
    path = Path(__file__).resolve().parents[2] / "results" / "reference"
    return path if path.is_dir() else None


def _number(value: Any, where: str) -> float | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in MISSING):
        return None
    try:
        return float(value.strip().rstrip("%")) if isinstance(value, str) else float(value)
    except ValueError:
        raise ValueError(f"{where}: {value!r} is not a number") from None


def _text(rec: dict[str, Any], key: str, defaults: dict[str, str]) -> str:
    return str(rec.get(key) or defaults.get(key) or "").strip()


def _from_records(records: Iterable[dict[str, Any]], file: Path, defaults: dict[str, str]) -> list[dict[str, Any]]:
    rows: dict[tuple[str, ...], dict[str, Any]] = {}
    for i, rec in enumerate(records, 2):
        where = f"{file.name} row {i}"
        rec = {str(k).strip(): v for k, v in rec.items() if k is not None}
        system = _text(rec, "system", {})
        if not system:
            raise ValueError(f"{where}: every row needs a system")
        fields = {k: _text(rec, k, defaults) for k in ("suite", "source", "table", "max_steps")}
        key = (fields["suite"], fields["source"], system, fields["max_steps"])
        if key not in rows:
            label = system + (f" (Max={fields['max_steps']})" if fields["max_steps"] else "")
            rows[key] = {
                "system": label,
                "suite": fields["suite"],
                "source": fields["source"],
                "tables": [],
                "note": _text(rec, "note", {}),
                "file": file.name,
                "metrics": {},
                "categories": {},
            }
        row = rows[key]
        if fields["table"] and fields["table"] not in row["tables"]:
            row["tables"].append(fields["table"])
        category = _text(rec, "category", {})
        target = row["categories"].setdefault(category, {}) if category else row["metrics"]
        metric = rec.get("metric", rec.get("column"))
        if metric is not None:
            value = _number(rec.get("value"), where)
            if value is not None:
                target[str(metric).strip()] = value
            continue
        for k, v in rec.items():
            if k not in META and k not in ("metrics", "categories"):
                value = _number(v, f"{where} column {k}")
                if value is not None:
                    target[k] = value
        for k, v in (rec.get("metrics") or {}).items():
            value = _number(v, f"{where} metric {k}")
            if value is not None:
                row["metrics"][k] = value
        for cat, vals in (rec.get("categories") or {}).items():
            for k, v in vals.items():
                value = _number(v, f"{where} category {cat}")
                if value is not None:
                    row["categories"].setdefault(str(cat), {})[k] = value
    for row in rows.values():
        if row["tables"]:
            row["source"] = f"{row['source']} Table {', '.join(row['tables'])}".strip()
    return list(rows.values())


def _load_file(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as fh:
            return _from_records(csv.DictReader(fh), path, {})
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, list):
        return _from_records(data, path, {})
    if isinstance(data, dict) and isinstance(data.get("rows"), list):
        defaults = {k: str(data[k]) for k in ("suite", "source", "table") if data.get(k)}
        return _from_records(data["rows"], path, defaults)
    raise ValueError(f"{path.name}: expected a list of rows or an object with 'rows'")


def load_reference(dirs: Iterable[Path]) -> tuple[list[dict[str, Any]], list[str]]:
    """Every reported row under `dirs` (*.csv, *.json, by file name) and one line per file that was left out."""
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    for d in dirs:
        for path in sorted(Path(d).glob("*")):
            if path.suffix not in (".csv", ".json"):
                continue
            try:
                rows.extend(_load_file(path))
            except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
                problems.append(f"{path.name} left out: {exc}")
    return rows, problems


def reference_frame(path: Path | None = None) -> pd.DataFrame:
    """All reported numbers (every CSV in the reference folder, or one file)."""
    folder = default_reference_dir()
    files = [path] if path is not None else sorted(folder.glob("*.csv")) if folder else []
    if not files:
        raise FileNotFoundError(f"no reference CSV files in {folder or 'results/reference/'}")
    frames = [
        pd.read_csv(f, dtype={"max_steps": "Int64"}, keep_default_na=False, na_values={"max_steps": [""]})
        for f in files
    ]
    return pd.concat(frames, ignore_index=True)


def reported_table(table: str, source: str = "mira-supp", path: Path | None = None) -> pd.DataFrame:
    """One paper table in wide form: a row per (system, max_steps), a column per printed column."""
    ref = reference_frame(path)
    part = ref[(ref["table"] == table) & (ref["source"] == source)]
    if part.empty:
        return pd.DataFrame()
    index = ["system", "max_steps"] if part["max_steps"].notna().any() else ["system"]
    wide = part.pivot_table(index=index, columns="column", values="value", aggfunc="first", sort=False)
    order = list(dict.fromkeys(part["column"]))
    return wide[[c for c in order if c in wide.columns]].reset_index()
