"""Walk the corpus explorer as a user does, in a real browser, and save a screenshot of each step (README).

    python scripts/explorer_walk.py [--out docs/screenshots]

On the default checkpoint and the whole of PTB (49,199 sentences; the map is read from the disk cache after
its first UMAP, about a minute): open the map and search a word, lasso a region and export its table as CSV,
open one of its sentences in Encode, come back through the link, draw two of them as a homotopy on the map and
open that homotopy, then open a unit's page from the traversal. Prints what each step found; a step that does
not find what it waits for fails with Playwright's timeout. Needs the system Chromium.
"""
from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.serving import CHROMIUM_ARGS, served_app  # noqa: E402
from scripts.screenshots import wait_idle  # noqa: E402

SEARCH = "stocks"


def lasso(page, fx: float, fy: float, half_width: float, half_height: float) -> None:
    """Draw a lasso with the mouse: a rectangle around (fx, fy), its half sides fractions of the plot's size."""
    box = page.locator(".js-plotly-plot .nsewdrag").first.bounding_box()
    x, y = box["x"] + fx * box["width"], box["y"] + fy * box["height"]
    rx, ry = half_width * box["width"], half_height * box["height"]
    page.mouse.move(x - rx, y - ry)
    page.mouse.down()
    for px, py in ((x + rx, y - ry), (x + rx, y + ry), (x - rx, y + ry), (x - rx, y - ry * 0.95)):
        page.mouse.move(px, py, steps=8)
    page.mouse.up()


def main():
    from playwright.sync_api import sync_playwright
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    def shot(page, name: str) -> None:
        page.screenshot(path=str(out / f"walk-{name}.png"), full_page=True)
        print(f"  {out / f'walk-{name}.png'}")

    with served_app(timeout=120) as (url, _), sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 2300}, accept_downloads=True)
        page.goto(f"{url}/projection?q={SEARCH}", wait_until="domcontentloaded", timeout=120_000)
        page.get_by_text(f"“{SEARCH}”:").wait_for(timeout=900_000)       # 49k sentences encoded and mapped
        page.locator(".js-plotly-plot").first.wait_for(timeout=120_000)
        wait_idle(page)
        print("1. the map, searched:", page.get_by_text(f"“{SEARCH}”:").first.inner_text())
        shot(page, "1-search")

        lasso(page, 0.5, 0.45, 0.2, 0.012)                           # a band across the map
        heading = page.get_by_role("heading", name="selected sentences")
        heading.wait_for(timeout=120_000)
        wait_idle(page)
        n = int(heading.inner_text().split()[0])
        page.get_by_role("button", name="Export table").first.click()
        with page.expect_download() as download:
            page.get_by_role("button", name="CSV", exact=True).filter(visible=True).first.click()
        rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
        print(f"2. a lasso: {n} sentences; its CSV has {len(rows)} rows; the link is {len(page.url):,} characters")
        assert len(rows) == n
        page.keyboard.press("Escape")
        link = page.url
        shot(page, "2-lasso")

        page.get_by_role("button", name="Open in Encode").click()
        page.get_by_role("heading", name="Encode").first.wait_for(timeout=120_000)
        wait_idle(page)
        print("3. opened in Encode:", rows[0]["sentence"])
        shot(page, "3-encode")

        colleague = browser.new_page(viewport={"width": 1280, "height": 2300})
        colleague.goto(link, wait_until="domcontentloaded", timeout=120_000)
        colleague.get_by_role("heading", name=f"{n} selected sentences").wait_for(timeout=300_000)
        wait_idle(colleague)
        print(f"4. the link reopens the map with the same {n} sentences selected")
        shot(colleague, "4-link")

        two = colleague.locator('[data-testid="stMultiSelect"]').filter(has_text="Two of them")
        two.get_by_role("button", name="Clear all").click()    # the two it starts with
        colleague.wait_for_timeout(800)
        for row in (rows[0], rows[-1]):                     # the first and the last line of the band, far apart
            two.locator("input").fill(f"{row['line']}: ")
            colleague.wait_for_timeout(500)
            colleague.get_by_role("option", name=re.compile(rf"^{row['line']}: ")).first.click()
            colleague.wait_for_timeout(800)
        colleague.keyboard.press("Escape")
        colleague.get_by_role("button", name="Draw their homotopy here").click()
        colleague.get_by_text("homotopy", exact=True).first.wait_for(timeout=120_000)
        wait_idle(colleague)
        print(f"5. lines {rows[0]['line']} and {rows[-1]['line']} as a homotopy, drawn on the map")
        shot(colleague, "5-homotopy-on-map")
        colleague.get_by_role("button", name="Open the homotopy").click()
        colleague.get_by_role("heading", name="Homotopy").first.wait_for(timeout=120_000)
        wait_idle(colleague)
        shot(colleague, "6-homotopy")

        colleague.locator('[data-testid="stSidebar"]').get_by_role("link", name="Latent traversal").click()
        colleague.get_by_role("button", name="unit page").first.wait_for(timeout=240_000)
        wait_idle(colleague)
        colleague.get_by_role("button", name="unit page").first.click()
        colleague.get_by_role("heading", name="Latent unit").wait_for(timeout=120_000)
        wait_idle(colleague)
        print("7. a unit's page from the traversal:", colleague.url)
        shot(colleague, "7-unit")
        for pg in (page, colleague):
            assert pg.locator('[data-testid="stException"]').count() == 0
        browser.close()


if __name__ == "__main__":
    main()
