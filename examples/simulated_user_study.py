"""A simulated 3-rater user study through the real rating app: what `mirabench rate` produces, end to end.

Three shapes-world systems (the editor alone, the editor with collateral mistakes, the editor + heuristic agent)
are rated on 12 samples by three simulated raters who see the images through an oracle: semantic consistency and
background preservation are the shapes world's exact `shapes-sc` / `shapes-bg` scores, perceptual quality is 7
for every output (the renderer draws clean images), and each rater adds their own bias (-0.5, 0, +0.5) and
N(0, 1) noise, rounded and clipped to 0-10. The ratings go through the served app's JSON API (the same requests
the page sends); then `rate results` writes Table D. Screenshots of a rating page and the results page go to
OUT/. Run: python examples/simulated_user_study.py OUT  (about 20 s on 2 cores; needs Debian's chromium for the
screenshots).
"""

from __future__ import annotations

import json
import shutil
import sys
import urllib.request
from pathlib import Path

import numpy as np

from mirabench.run.runner import run
from mirabench.spec import RunSpec
from mirabench.studies.rating.app import serving
from mirabench.studies.rating.results import summary_markdown, write_results
from mirabench.studies.rating.study import Study, create_study

TRUTH_PQ = 7.0


def post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as res:
        return dict(json.loads(res.read()))


def main(out: Path) -> None:
    shutil.rmtree(out, ignore_errors=True)
    base = dict(suite="shapes", editor="shapes", metrics=["shapes"], suite_options={"n": 24, "size": 128})
    dirs = [
        run(RunSpec(agent="direct", max_steps=1, **base), out / "runs" / "direct").run_dir,
        run(
            RunSpec(agent="direct", max_steps=1, editor_options={"error_rate": 0.5}, **base),
            out / "runs" / "noisy",
        ).run_dir,
        run(RunSpec(agent="heuristic", **base), out / "runs" / "heuristic").run_dir,
    ]
    study = create_study(
        [str(dirs[0]), f"shapes + direct (error_rate 0.5)={dirs[1]}", str(dirs[2])], out / "study", samples=12, raters=3
    )
    truth = {}
    for system, d in zip(study.systems, dirs, strict=True):
        for line in (d / "samples.jsonl").read_text().splitlines():
            row = json.loads(line)
            s = row["scores"]
            truth[(row["id"], system)] = {"sc": s["shapes-sc"], "pq": TRUTH_PQ, "bp": s["shapes-bg"]}
    rng = np.random.default_rng(0)
    with serving(study.dir) as url:
        for rater, bias in zip(study.raters, (-0.5, 0.0, 0.5), strict=True):
            for n, item_index in enumerate(rater["items"], start=1):
                api = f"{url}/api/r/{rater['token']}/item/{n}"
                sid = study.items[item_index]["sample_id"]
                for pos, system in enumerate(rater["slots"][item_index]):
                    for c, t in truth[(sid, study.systems[system])].items():
                        score = int(np.clip(np.rint(t + bias + rng.normal(0, 1.0)), 0, 10))
                        post(api + "/rate", {"slot": "ABC"[pos], "criterion": c, "score": score})
                post(api + "/submit", {})
        paths, results = write_results(study)
        print(summary_markdown(results))
        print(f"written: {paths['summary'].parent}")
        screenshots(study, url, out)


def screenshots(study: Study, url: str, out: Path) -> None:
    """A rating page and the results page, in Debian's chromium if it is there."""
    chromium = shutil.which("chromium")
    if chromium is None:
        print("no chromium: no screenshots")
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = b.new_context(viewport={"width": 1280, "height": 800}).new_page()
        page.goto(f"{url}/r/{study.raters[0]['token']}/item/3")
        page.screenshot(path=str(out / "rating-page.png"))
        page = b.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.goto(f"{url}/admin/{study.plan['admin_token']}")
        page.screenshot(path=str(out / "results-page.png"), full_page=True)
        b.close()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "runs/simulated-user-study"))
