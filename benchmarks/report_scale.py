"""Report cost at leaderboard scale: 500 samples x 10 systems, one run of `write_report` and one page load.

Prints the time to build the report (cold, then warm: thumbnails already made), the page size, and the time
Chromium takes to load the page and to sort the leaderboard, next to the time to render the tables alone (the
floor). Needs Debian's chromium for the page figures (skipped otherwise).

    python benchmarks/report_scale.py [--samples 500] [--systems 10] [--steps 3] [--px 256]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "reports"))

from synth import write_synthetic_run  # noqa: E402

from mirabench.reports.leaderboard import load_run, render, write_report  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=500)
    ap.add_argument("--systems", type=int, default=10)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--px", type=int, default=256)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mirabench-report-scale-"))
    try:
        t = time.perf_counter()
        runs = [
            write_synthetic_run(
                tmp / f"r{i}", f"a{i}", args.samples, skill=i, steps=args.steps, image_px=args.px, seed=i
            )
            for i in range(args.systems)
        ]
        print(
            f"synthetic runs: {args.systems} x {args.samples} samples x {args.steps + 1} images "
            f"({args.px}px) written in {time.perf_counter() - t:.1f} s"
        )
        t = time.perf_counter()
        loaded = [load_run(r) for r in runs]
        render(loaded, "md", reference=[])
        tables = time.perf_counter() - t
        t = time.perf_counter()
        page = write_report(runs, tmp / "site", reference_dirs=[])
        cold = time.perf_counter() - t
        t = time.perf_counter()
        write_report(runs, tmp / "site", reference_dirs=[])
        warm = time.perf_counter() - t
        n_thumbs = len(list((tmp / "site" / "thumbs").glob("*.jpg")))
        size = page.stat().st_size
        print(f"load + tables only (floor): {tables:.2f} s")
        print(f"write_report cold: {cold:.2f} s ({n_thumbs} thumbnails made) = {cold / tables:.1f}x the floor")
        print(f"write_report warm: {warm:.2f} s = {warm / tables:.1f}x the floor")
        thumbs_kb = sum(p.stat().st_size for p in (tmp / "site" / "thumbs").glob("*.jpg")) / 1024
        print(f"index.html {size / 1024:.0f} KiB; thumbnails {thumbs_kb:.0f} KiB in all")
        chromium = shutil.which("chromium")
        if not chromium:
            print("chromium not installed: page load not measured")
            return
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"])
            pg = b.new_page()
            t = time.perf_counter()
            pg.goto(page.as_uri())
            pg.wait_for_load_state("load")
            load = time.perf_counter() - t
            t = time.perf_counter()
            pg.locator("#leaderboard-table th", has_text="sc").first.click()
            pg.evaluate("0")
            sort = time.perf_counter() - t
            t = time.perf_counter()
            pg.locator("#gallery-next").click()
            pg.evaluate("0")
            flip = time.perf_counter() - t
            nodes = pg.evaluate("document.getElementsByTagName('*').length")
            b.close()
        print(
            f"chromium: page load {load * 1000:.0f} ms, sort {sort * 1000:.0f} ms, gallery page {flip * 1000:.0f} ms, "
            f"{nodes} DOM elements"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
