"""The rating app in headless chromium: a rater rates with mouse and keyboard, reloads and resumes; two raters at
once (one output at a time); wrong links refused; XSS probes in instructions and system names stay text; the
rating and results pages are kept as screenshots."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from browser import XSS_IMG, XSS_SCRIPT, artifacts, chromium, needs_chromium
from PIL import Image, ImageDraw
from rating_server import serving

from mirabench.run.runner import run
from mirabench.spec import RunSpec
from mirabench.studies.rating.db import RatingDB
from mirabench.studies.rating.results import write_results
from mirabench.studies.rating.study import Study, create_study

pytestmark = needs_chromium
EVIL = f"evil {XSS_SCRIPT}"  # a hostile system name (NAME=DIR), shown only on the results page


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Three systems on five pictures whose instructions carry XSS probes."""
    root = tmp_path_factory.mktemp("rating-runs")
    rng = np.random.default_rng(0)
    rows = []
    for i in range(5):
        im = Image.new("RGB", (160, 120), tuple(int(v) for v in rng.integers(40, 140, 3)))
        draw = ImageDraw.Draw(im)
        draw.ellipse((30 + 10 * i, 20, 100 + 10 * i, 90), fill=tuple(int(v) for v in rng.integers(60, 200, 3)))
        im.save(root / f"p{i}.png")
        probe = (XSS_SCRIPT, XSS_IMG, "plain", "<b>bold?</b> & more", XSS_SCRIPT + XSS_IMG)[i]
        rows.append({"id": f"s{i}", "image": f"p{i}.png", "instruction": f"reach {20 + 10 * i} then {probe}"})
    (root / "m.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    base = dict(suite="jsonl", editor="toy", metrics=["grey"], suite_options={"path": str(root / "m.jsonl")})
    dirs = [run(RunSpec(agent=a, **base), root / a).run_dir for a in ("direct", "counter", "refiner")]  # type: ignore[arg-type]
    return [str(dirs[0]), str(dirs[1]), f"{EVIL}={dirs[2]}"]


class Page:
    """A page of the served app (in a context of its own) that records console errors, page errors and dialogs."""

    def __init__(self, browser: Any, url: str, width: int = 1280, height: int = 800) -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page = browser.new_context(viewport={"width": width, "height": height}).new_page()  # own cookies
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.response = self.page.goto(url)

    def scale(self, slot: str, criterion: str) -> Any:
        return self.page.locator(f'fieldset.scale[data-slot="{slot}"][data-criterion="{criterion}"]')

    def click(self, slot: str, criterion: str, value: int) -> None:
        self.scale(slot, criterion).locator(f'label:has(input[value="{value}"])').click()

    def focused(self) -> str:
        """'A:sc' for the scale holding the focus, else the focused element's id."""
        return str(
            self.page.evaluate(
                "(() => { const e = document.activeElement; const f = e.closest('fieldset.scale');"
                " return f ? f.dataset.slot + ':' + f.dataset.criterion : e.id; })()"
            )
        )

    def wait_saved(self, n: int) -> None:
        self.page.wait_for_function(f"() => document.querySelectorAll('fieldset.scale.saved').length === {n}")

    def checked(self) -> dict[str, int]:
        return dict(
            self.page.evaluate(
                "Object.fromEntries(Array.from(document.querySelectorAll('fieldset.scale')).flatMap(f => {"
                " const c = f.querySelector('input:checked');"
                " return c ? [[f.dataset.slot + ':' + f.dataset.criterion, Number(c.value)]] : []; }))"
            )
        )

    def clean(self) -> bool:
        inert = self.page.evaluate("typeof window.__xss === 'undefined' && !document.querySelector('[onerror]')")
        return bool(inert) and not self.errors and not self.dialogs


ORDER = [f"{s}:{c}" for s in "ABC" for c in ("sc", "pq", "bp")]  # the page's scale order (Tab order too)


def stored(study: Study, rater: dict, n: int) -> dict[str, float]:
    """A rater's stored scores on their item n, keyed by the slot they saw ('A:sc'), through the study's key."""
    item = study.items[rater["items"][n - 1]]
    slots = rater["slots"][rater["items"][n - 1]]
    scores = RatingDB(study.dir).scores(rater["id"], item["sample_id"])
    return {
        f"{'ABC'[pos]}:{c}": scores[(study.systems[system], c)]
        for pos, system in enumerate(slots)
        for c in ("sc", "pq", "bp")
        if (study.systems[system], c) in scores
    }


def test_rater_uses_mouse_and_keyboard_reloads_and_resumes(browser: Any, runs: list[str], tmp_path: Path) -> None:
    study = create_study(runs, tmp_path / "study", samples=5, raters=3, seed=1)
    rater = study.raters[0]
    shots = artifacts(tmp_path)
    with serving(study.dir) as base:
        p = Page(browser, f"{base}/r/{rater['token']}")
        pg = p.page
        assert pg.url.endswith("/item/1") and pg.locator("#progress-text").text_content() == "Item 1 of 5"
        assert pg.locator("article.output").count() == 3
        # accessible: every radio sits in a label inside a fieldset with a legend; every image has its text
        assert pg.locator("input[type=radio]").count() == 3 * 3 * 11
        assert pg.evaluate(
            "Array.from(document.querySelectorAll('input')).every(i => i.closest('label')"
            " && i.closest('fieldset').querySelector('legend').textContent.trim())"
        )
        assert pg.evaluate("Array.from(document.querySelectorAll('main img')).every(i => i.alt)")
        assert pg.evaluate(
            "Array.from(document.querySelectorAll('button')).every(b => b.textContent.trim()"
            " || b.getAttribute('aria-label'))"
        )
        assert pg.locator("#instruction").text_content() == study.items[rater["items"][0]]["instruction"]

        # item 1 with the mouse
        mouse = dict(zip(ORDER, (1, 2, 3, 4, 5, 6, 7, 8, 10), strict=True))
        for key, value in mouse.items():
            p.click(*key.split(":"), value)
        p.wait_saved(9)
        assert p.checked() == mouse
        pg.screenshot(path=str(shots / "rating-side-by-side-1280x800.png"))
        pg.get_by_role("button", name="Save and next item").click()
        pg.wait_for_url("**/item/2")
        assert stored(study, rater, 1) == mouse

        # item 2 with the keyboard: focus starts on the first scale, each digit rates and moves on, Enter submits
        assert p.focused() == "A:sc"
        keys = ["7", "3", "t", "0", "5", "9", "2", "8", "4"]
        for k in keys:
            pg.keyboard.press(k)
        assert p.focused() == "next"
        pg.keyboard.press("Enter")
        pg.wait_for_url("**/item/3")
        assert stored(study, rater, 2) == dict(zip(ORDER, (7, 3, 10, 0, 5, 9, 2, 8, 4), strict=True))

        # item 3: four ratings, then a reload resumes on the fifth scale with the four restored
        for k in ["6", "6", "6"]:
            pg.keyboard.press(k)
        assert p.focused() == "B:sc"  # the digits moved the focus on to the first unrated scale
        pg.keyboard.press("ArrowRight")  # native radios: from the unset group's first option, select 1, then 2
        pg.keyboard.press("ArrowRight")
        p.wait_saved(4)
        got = p.checked()
        assert got == {"A:sc": 6, "A:pq": 6, "A:bp": 6, "B:sc": 2}
        pg.keyboard.press("Tab")  # Tab leaves the group for the next scale
        assert p.focused() == "B:pq"
        pg.reload()
        assert pg.url.endswith("/item/3") and p.checked() == got and p.focused() == "B:pq"
        assert stored(study, rater, 3) == got
        pg.keyboard.press("Enter")  # incomplete: refused, the page says what is missing and keeps the focus
        assert "5 ratings are still missing" in pg.locator("#status").text_content()
        assert pg.url.endswith("/item/3")
        for k in ["1", "2", "3", "4", "5"]:
            pg.keyboard.press(k)
        pg.keyboard.press("Enter")
        pg.wait_for_url("**/item/4")

        # the bare link resumes at the first unfinished item, days later or after a restart alike
        pg.goto(f"{base}/r/{rater['token']}")
        assert pg.url.endswith("/item/4") and pg.locator("#progress").get_attribute("value") == "3"
        assert pg.locator("#progress-text").text_content() == "Item 4 of 5"
        pg.keyboard.press("p")  # previous item: revisiting shows the saved ratings
        pg.wait_for_url("**/item/3")
        assert len(p.checked()) == 9
        assert pg.goto(f"{base}/r/{rater['token']}/item/5").url.endswith("/item/4")  # no skipping ahead

        # thumbnails load; a click opens the full-size PNG; Esc closes and gives the focus back
        pg.wait_for_function(
            "() => Array.from(document.images).filter(i => i.src.endsWith('/thumb')).every(i => i.complete)"
        )
        assert pg.evaluate("Array.from(document.images).filter(i => i.src.endsWith('/thumb')).length") == 4
        pg.locator("#out-B button.zoom").click()
        pg.wait_for_function("() => document.getElementById('zoom-img').complete")
        assert pg.evaluate("document.getElementById('zoom-dialog').open")
        assert pg.evaluate("document.getElementById('zoom-img').naturalWidth") == 160
        pg.keyboard.press("Escape")
        assert not pg.evaluate("document.getElementById('zoom-dialog').open")
        assert pg.evaluate("document.activeElement.closest('#out-B') !== null")

        # every instruction shown was its probe as text; nothing ran
        for n in (1, 2, 3, 4):
            pg.goto(f"{base}/r/{rater['token']}/item/{n}")
            assert pg.locator("#instruction").text_content() == study.items[rater["items"][n - 1]]["instruction"]
            assert pg.evaluate("document.scripts.length") == 1 and p.clean(), (p.errors, p.dialogs)

        # a tablet: one column, nothing wider than the screen
        pg.set_viewport_size({"width": 768, "height": 1024})
        assert pg.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        pg.screenshot(path=str(shots / "rating-tablet-768.png"), full_page=True)
        assert p.clean(), (p.errors, p.dialogs)

        wrong = Page(browser, f"{base}/r/{'x' * len(rater['token'])}")
        assert wrong.response.status == 404 and wrong.page.locator("h1").text_content() == "Unknown link"
        assert wrong.page.locator("fieldset").count() == 0

    # the results page, live from the admin link, with the hostile system name as text
    write_results(study)
    with serving(study.dir) as base:
        r = Page(browser, f"{base}/admin/{study.plan['admin_token']}", height=900)
        assert r.response.status == 200
        groups = r.page.locator("tr.group th").all_text_contents()
        assert groups == ["open-source editors", "open-source + agent"]
        names = r.page.locator("#table-d tbody th[scope=row]").all_text_contents()
        assert sorted(names) == sorted(study.systems) and EVIL in names
        assert r.page.locator("#raters tbody tr").first.locator("td").first.text_content() == "3 / 5"
        r.page.screenshot(path=str(shots / "results.png"), full_page=True)
        assert r.clean()


def test_two_raters_at_once_one_output_at_a_time(browser: Any, runs: list[str], tmp_path: Path) -> None:
    study = create_study(runs, tmp_path / "study", samples=3, raters=2, seed=2, layout="one_at_a_time")
    r1, r2 = study.raters
    with serving(study.dir) as base:
        a = Page(browser, f"{base}/r/{r1['token']}")
        b = Page(browser, f"{base}/r/{r2['token']}")
        for p in (a, b):
            assert p.page.locator("article.output:visible").count() == 1
            assert p.page.locator("#slot-pos").text_content() == "Output 1 of 3"
        # interleaved: a by keyboard (three ratings move it to the next output), b by mouse
        for k in ["1", "2", "3"]:
            a.page.keyboard.press(k)
        assert a.page.locator("#slot-pos").text_content() == "Output 2 of 3"
        assert a.page.locator("article.output:visible").get_attribute("id") == "out-B"
        for c, v in (("sc", 9), ("pq", 8), ("bp", 7)):
            b.click("A", c, v)
        b.page.get_by_role("button", name="Next output").click()
        for k in ["4", "5", "6", "7", "8", "9"]:
            a.page.keyboard.press(k)
        for slot in "BC":
            for c in ("sc", "pq", "bp"):
                b.click(slot, c, 0)
            b.page.keyboard.press("]")
        a.wait_saved(9)
        b.wait_saved(9)
        a.page.screenshot(path=str(artifacts(tmp_path) / "rating-one-at-a-time-1280x800.png"))
        a.page.keyboard.press("Enter")
        b.page.get_by_role("button", name="Save and next item").click()
        a.page.wait_for_url("**/item/2")
        b.page.wait_for_url("**/item/2")
        assert stored(study, r1, 1) == dict(zip(ORDER, range(1, 10), strict=True))
        assert stored(study, r2, 1) == {"A:sc": 9, "A:pq": 8, "A:bp": 7, **{k: 0 for k in ORDER[3:]}}
        # each sees only their own ratings
        b.page.goto(f"{base}/r/{r2['token']}/item/1")
        assert b.checked() == stored(study, r2, 1)
        assert a.clean() and b.clean()
    ratings = RatingDB(study.dir).ratings()
    assert ratings.groupby("rater").size().to_dict() == {"r01": 9, "r02": 9}
