"""Table D: a blind, randomized user-study sheet over several runs, and the aggregation of filled sheets.

`export_sheet` picks N samples every run finished (seeded), shuffles the systems' outputs per sample (seeded) and
writes what raters see into OUT/sheet/ (send that folder): `sheet.html` (a form that downloads the filled CSV) and
`sheet.csv` (the same rows for a spreadsheet), with images named by item and slot only. Which system is behind each
slot is kept in OUT/key.json, outside the folder raters get. `aggregate_sheets` joins filled sheets with the key
into Table D: the mean 0-10 rating per system and criterion, with how many ratings each mean has; blank cells are
counted as missing, out of range or non-numeric cells are errors naming the sheet and row.
"""

from __future__ import annotations

import csv
import io
import json
import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from jinja2 import Environment, select_autoescape

from mirabench.images import atomic_write_bytes, atomic_write_text
from mirabench.reports.paper_tables import write_table
from mirabench.reports.reference import reported_table
from mirabench.rundir.rundir import RunDir

__all__ = ["CRITERIA", "aggregate_sheets", "export_sheet", "sheet_ratings"]

CRITERIA = {
    "semantic_consistency": "Semantic Consistency",
    "perceptual_quality": "Perceptual Quality",
    "background_preservation": "Background Preservation",
}
FIELDS = ["item", "slot", "instruction", "source_image", "edited_image", *CRITERIA, "rater"]


@dataclass
class _Run:
    name: str
    dir: Path
    rows: dict[str, dict]


def _load(run_dir: Path) -> _Run:
    run = RunDir(run_dir).read()
    rows = {
        s.id: s.model_dump(exclude_unset=True)
        for s in run.samples
        if s.status == "done" and run.file(s.final_image) and run.file(s.source_image)
    }
    return _Run(run.label, run_dir, rows)  # the name reports and the rating app use too


def export_sheet(run_dirs: Sequence[Path], out: Path, n: int = 50, seed: int = 0) -> dict[str, int]:
    """Write OUT/sheet/{sheet.html, sheet.csv, images/} and OUT/key.json for N samples common to all runs."""
    runs = [_load(Path(d)) for d in run_dirs]
    names = [r.name for r in runs]
    if len(set(names)) != len(names):
        raise ValueError(f"two runs have the same system name ({names}); a user study needs distinct systems")
    if len(runs) > len(string.ascii_uppercase):
        raise ValueError("at most 26 systems per sheet")
    common = sorted(set.intersection(*(set(r.rows) for r in runs)))
    rng = np.random.default_rng(seed)
    picked = sorted(rng.choice(len(common), size=min(n, len(common)), replace=False)) if common else []
    items, key, sheet_rows = [], {}, []
    for number, idx in enumerate(picked, start=1):
        sid = common[idx]
        item = f"{number:03d}"
        order = [int(i) for i in rng.permutation(len(runs))]
        first = runs[0].rows[sid]
        source = f"images/{item}-source.png"
        atomic_write_bytes(out / "sheet" / source, (runs[0].dir / first["source_image"]).read_bytes())
        slots = []
        for pos, run_index in enumerate(order):
            slot = string.ascii_uppercase[pos]
            run = runs[run_index]
            edited = f"images/{item}-{slot}.png"
            atomic_write_bytes(out / "sheet" / edited, (run.dir / run.rows[sid]["final_image"]).read_bytes())
            key[f"{item}/{slot}"] = {"system": run.name, "run": str(run.dir), "sample": sid}
            slots.append({"slot": slot, "image": edited})
            sheet_rows.append(
                {
                    "item": item,
                    "slot": slot,
                    "instruction": first["instruction"],
                    "source_image": source,
                    "edited_image": edited,
                    **dict.fromkeys(CRITERIA, ""),
                    "rater": "",
                }
            )
        items.append({"item": item, "instruction": first["instruction"], "source": source, "slots": slots})
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(sheet_rows)
    atomic_write_text(out / "sheet" / "sheet.csv", buf.getvalue())
    atomic_write_text(out / "sheet" / "sheet.html", _form(items))
    atomic_write_text(out / "key.json", json.dumps({"seed": seed, "systems": names, "slots": key}, indent=2) + "\n")
    return {"items": len(items), "systems": len(runs), "common_samples": len(common)}


_FORM = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Image editing rating sheet</title>
<style>body{font-family:sans-serif;max-width:1200px;margin:auto}img{max-width:256px;display:block}
.item{border-top:1px solid #999;padding:8px 0}.outs{display:flex;flex-wrap:wrap;gap:16px}
input{width:4em}</style></head><body>
<h1>Image editing rating sheet</h1>
<p>For each item, read the instruction, look at the input image, then rate every output from 0 (worst) to 10
(best) on: <b>semantic consistency</b> (does it do what the instruction asks?), <b>perceptual quality</b> (does it
look natural, free of artifacts?) and <b>background preservation</b> (is everything the instruction does not
mention left unchanged?). Outputs are shown in random order.</p>
<p>Your name or id: <input id="rater" style="width:12em"></p>
{% for it in items %}<div class="item"><h3>Item {{ it.item }}</h3><p>{{ it.instruction }}</p>
<div class="outs"><div><b>input</b><img src="{{ it.source }}" alt="input"></div>
{% for s in it.slots %}<div><b>output {{ s.slot }}</b><img src="{{ s.image }}" alt="output {{ s.slot }}">
{% for c, label in criteria.items() %}<label>{{ label }} <input type="number" min="0" max="10" step="0.5"
 data-item="{{ it.item }}" data-slot="{{ s.slot }}" data-criterion="{{ c }}"></label><br>{% endfor %}</div>
{% endfor %}</div></div>{% endfor %}
<button id="save">Download filled CSV</button>
<script>
const rows = {{ rows_json }};
document.getElementById("save").addEventListener("click", function () {
  const rater = document.getElementById("rater").value;
  const q = v => '"' + String(v).replace(/"/g, '""') + '"';
  const lines = [{{ fields_json }}.join(",")];
  for (const r of rows) {
    for (const input of document.querySelectorAll('input[data-item="' + r.item + '"][data-slot="' + r.slot + '"]')) {
      r[input.dataset.criterion] = input.value;
    }
    r.rater = rater;
    lines.push({{ fields_json }}.map(f => q(r[f])).join(","));
  }
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([lines.join("\\n") + "\\n"], {type: "text/csv"}));
  a.download = "sheet-filled.csv";
  a.click();
});
</script></body></html>
"""


def _form(items: list[dict]) -> str:
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    rows = [
        {
            "item": it["item"],
            "slot": s["slot"],
            "instruction": it["instruction"],
            "source_image": it["source"],
            "edited_image": s["image"],
        }
        for it in items
        for s in it["slots"]
    ]
    # JSON inside <script>: escape "<" so an instruction can never close the script element
    rows_json = json.dumps(rows).replace("<", "\\u003c")
    return env.from_string(_FORM).render(
        items=items, criteria=CRITERIA, rows_json=_Safe(rows_json), fields_json=_Safe(json.dumps(FIELDS))
    )


class _Safe(str):
    """Already-escaped JSON for the template (jinja2 honours __html__)."""

    def __html__(self) -> str:
        return str(self)


CODES = dict(zip(CRITERIA, ("sc", "pq", "bp"), strict=True))  # the long format's criterion names


def _read_sheets(sheets: Sequence[Path], key: dict) -> tuple[pd.DataFrame, dict[str, int]]:
    """Filled sheets as long ratings (rater, sample_id, system, criterion, score) and blank cells per system.

    A row's rater is its `rater` cell, or the sheet's file name when that is blank.
    """
    slots: dict[str, dict] = key["slots"]
    rows: list[dict] = []
    missing = dict.fromkeys(key["systems"], 0)
    errors = []
    for sheet in sheets:
        with open(sheet, newline="", encoding="utf-8") as fh:
            for line, row in enumerate(csv.DictReader(fh), start=2):
                where = f"{sheet} row {line}"
                entry = slots.get(f"{row.get('item', '')}/{row.get('slot', '')}")
                if entry is None:
                    errors.append(f"{where}: item {row.get('item')!r} slot {row.get('slot')!r} is not in the key")
                    continue
                rater = (row.get("rater") or "").strip() or Path(sheet).stem
                for c in CRITERIA:
                    raw = (row.get(c) or "").strip()
                    if not raw:
                        missing[entry["system"]] += 1
                        continue
                    try:
                        value = float(raw)
                    except ValueError:
                        value = float("nan")
                    if not 0 <= value <= 10:
                        errors.append(f"{where}: {c} = {raw!r} is not a number from 0 to 10")
                        continue
                    rows.append(
                        {
                            "rater": rater,
                            "sample_id": entry["sample"],
                            "system": entry["system"],
                            "criterion": CODES[c],
                            "score": value,
                        }
                    )
    if errors:
        raise ValueError("user-study sheets have problems:\n" + "\n".join(errors[:50]))
    return pd.DataFrame(rows, columns=["rater", "sample_id", "system", "criterion", "score"]), missing


def sheet_ratings(sheets: Sequence[Path], key_path: Path) -> pd.DataFrame:
    """Filled sheets + key.json -> ratings in the long format the rating app and judge reliability read."""
    return _read_sheets(sheets, json.loads(Path(key_path).read_text(encoding="utf-8")))[0]


def aggregate_sheets(sheets: Sequence[Path], key_path: Path, out: Path | None = None) -> pd.DataFrame:
    """Filled sheets + key.json -> Table D (system x criterion means, 0-10, with counts)."""
    key = json.loads(Path(key_path).read_text(encoding="utf-8"))
    long, missing = _read_sheets(sheets, key)
    means = long.groupby(["system", "criterion"])["score"].mean()
    table = pd.DataFrame(
        [
            {
                "system": system,
                **{label: means.get((system, CODES[c])) for c, label in CRITERIA.items()},
                "n_ratings": int((long["system"] == system).sum()),
                "n_missing": missing[system],
            }
            for system in key["systems"]
        ]
    )
    if out is not None:
        write_table(
            table,
            out,
            "Table D: user study (0-10)",
            reported=reported_table("D"),
            reported_source="MIRA supp. Table D, 50 samples x 10 raters",
            decimals=1,
        )
    return table
