"""The HTML report in headless Chromium, opened from disk: sorting, gallery, no console errors, inert XSS probes.

Needs Debian's `chromium` (.ci/run installs it); Playwright drives it through `executable_path`, never a
downloaded browser. Screenshots are kept as artifacts in $MIRABENCH_TEST_ARTIFACTS (or the test's tmp dir).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import XSS_IMG, XSS_SCRIPT, artifacts, chromium, needs_chromium
from synth import write_synthetic_run
from toyworld import grey

from mirabench.reports.leaderboard import write_report
from mirabench.run.demo import demo_spec
from mirabench.run.runner import run
from mirabench.spec import RunSpec

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


class Page:
    """A page opened from file:// that records console errors, page errors and dialogs."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page = browser.new_page(viewport={"width": 1300, "height": 900})
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_load_state("load")

    def texts(self, selector: str) -> list[str]:
        return [t.strip() for t in self.page.locator(selector).all_text_contents()]

    def all_images_loaded(self) -> bool:
        return bool(
            self.page.evaluate(
                "Array.from(document.querySelectorAll('#gallery-list img'))"
                ".every(i => i.complete && i.naturalWidth > 0)"
            )
        )


def test_demo_report_sorts_renders_gallery_and_plots(browser: Any, tmp_path: Path) -> None:
    dirs = [run(demo_spec(agent, n=12), tmp_path / agent).run_dir for agent in ("direct", "heuristic")]
    page_path = write_report(dirs, tmp_path / "site", title="demo in chromium")
    p = Page(browser, page_path)
    pg = p.page
    summaries = {d.name: json.loads((d / "summary.json").read_text()) for d in dirs}
    sc = {f"shapes + {k}": v["metrics"]["shapes-sc"]["mean"] for k, v in summaries.items()}

    def systems() -> list[str]:
        return [t.replace("measured", "").strip() for t in p.texts("#leaderboard-table tbody td:first-child")]

    header = pg.locator("#leaderboard-table th", has_text="shapes-sc")
    header.click()  # numeric columns sort descending first
    assert systems() == sorted(sc, key=lambda s: -sc[s])
    header.click()
    assert systems() == sorted(sc, key=lambda s: sc[s])
    pg.locator("#leaderboard-table th", has_text="system").click()
    assert systems() == sorted(sc)

    # gallery: 10 samples per page, each with both systems' trajectories and every thumbnail loaded
    pg.locator("#gallery").scroll_into_view_if_needed()
    assert pg.locator("#gallery-list article.sample").count() == 10
    assert pg.locator("#gallery-list .traj").count() == 20
    first = json.loads((dirs[1] / "samples.jsonl").read_text().splitlines()[0])
    first_traj = pg.locator("#gallery-list article.sample").first.locator(".traj").nth(1)
    assert first_traj.locator("figure").count() == 1 + first["n_steps"]  # the source and every edit
    for k, step in enumerate(s for s in first["steps"] if s["kind"] == "edit"):
        assert first_traj.locator("figcaption").nth(k + 1).text_content() == f"{k + 1}. {step['instruction']}"
    assert first_traj.locator(".chip").text_content() == f"stop: {first['stop_reason']}"
    pg.evaluate("document.querySelectorAll('#gallery-list img').forEach(i => { i.loading = 'eager'; })")  # lazy
    pg.wait_for_function(
        "Array.from(document.querySelectorAll('#gallery-list img')).every(i => i.complete)", timeout=10_000
    )
    assert p.all_images_loaded()
    pg.locator("#gallery-next").click()
    assert pg.locator("#gallery-list article.sample").count() == 2
    assert "page 2 / 2" in pg.locator("#gallery-page").text_content()
    pg.locator("#gallery-filter").fill(first["id"])
    assert p.texts("#gallery-list article.sample h3") == [first["id"]]
    pg.locator("#gallery-filter").fill("")

    assert pg.locator(".plots svg polyline").count() == 2 * len(summaries["heuristic"]["metrics"])
    assert pg.locator(".plots svg rect").count() >= 2
    shot = artifacts(tmp_path) / "report-demo.png"
    pg.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert p.errors == [] and p.dialogs == []


def test_xss_probes_in_user_strings_stay_inert(browser: Any, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    grey(0).save(data / "ok.png")
    rows = [
        {"id": "probe-script", "image": "ok.png", "instruction": f"reach 10 {XSS_SCRIPT}", "target": 10},
        {"id": f"probe-img{XSS_IMG}", "image": "ok.png", "instruction": f"reach 20 {XSS_IMG}", "target": 20},
        {"id": "missing", "image": "missing.png", "instruction": XSS_SCRIPT + XSS_IMG},
    ]
    (data / "m.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    spec = RunSpec(
        suite="jsonl", agent="counter", editor="toy", metrics=["grey"], suite_options={"path": str(data / "m.jsonl")}
    )
    run_dir = run(spec, tmp_path / f"run{XSS_IMG}").run_dir  # even the folder name is a probe
    page_path = write_report([run_dir], tmp_path / "site", title=f"title {XSS_SCRIPT}")
    p = Page(browser, page_path)
    pg = p.page
    pg.locator("#gallery").scroll_into_view_if_needed()
    assert pg.evaluate("typeof window.__xss") == "undefined"
    assert p.dialogs == []
    # the probes are shown as the text they are
    instructions = p.texts("#gallery-list .instr")
    assert f"reach 10 {XSS_SCRIPT}" in instructions and f"reach 20 {XSS_IMG}" in instructions
    assert f"probe-img{XSS_IMG}" in p.texts("#gallery-list h3")
    assert pg.title() == f"title {XSS_SCRIPT}"
    # no element came out of a user string: the only images are the thumbnails, none with an onerror
    assert pg.evaluate("document.querySelectorAll('[onerror]').length") == 0
    srcs = pg.evaluate("Array.from(document.querySelectorAll('img')).map(i => i.getAttribute('src'))")
    assert srcs and all(s.startswith("data:image/jpeg;base64,") for s in srcs)  # thumbnails are embedded
    assert pg.evaluate("document.querySelectorAll('script').length") == 2  # the page's own code and its JSON
    pg.screenshot(path=str(artifacts(tmp_path) / "report-xss.png"), full_page=True)
    assert p.errors == []


def test_many_systems_page_is_paginated(browser: Any, tmp_path: Path) -> None:
    runs = [
        write_synthetic_run(tmp_path / f"r{i}", f"a{i}", n=60, skill=i, seed=i, steps=2, image_px=32) for i in range(10)
    ]
    p = Page(browser, write_report(runs, tmp_path / "site", reference_dirs=[]))
    pg = p.page
    assert pg.locator("#leaderboard-table tbody tr").count() == 10
    assert pg.locator("#gallery-list article.sample").count() == 10  # 10 of 60 samples in the DOM at a time
    assert pg.locator("#gallery-list img").count() == 10 * 10 * 3
    assert pg.locator("#delta-table tbody tr").count() == 9
    best = pg.locator("#leaderboard-table tbody tr").nth(9).locator("td .best")
    assert best.count() == 1  # the highest skill is the best row, in bold
    assert p.errors == []


def test_a_run_report_copied_alone_still_shows_every_thumbnail(browser: Any, tmp_path: Path) -> None:
    """RUN/report.html embeds its thumbnails: mailed or copied without the run folder, the gallery still loads."""
    run_dir = run(demo_spec("heuristic", n=6), tmp_path / "run").run_dir
    alone = tmp_path / "elsewhere" / "report.html"
    alone.parent.mkdir()
    alone.write_bytes((run_dir / "report.html").read_bytes())
    p = Page(browser, alone)
    pg = p.page
    pg.evaluate("document.querySelectorAll('#gallery-list img').forEach(i => { i.loading = 'eager'; })")
    pg.wait_for_function(
        "Array.from(document.querySelectorAll('#gallery-list img')).every(i => i.complete)", timeout=10_000
    )
    n = pg.locator("#gallery-list img").count()
    assert n >= 6 and p.all_images_loaded()  # every source and step image on the first page
    assert all(
        s.startswith("data:image/jpeg;base64,")
        for s in pg.eval_on_selector_all("#gallery-list img", "els => els.map(e => e.getAttribute('src'))")
    )
    assert not p.errors
