"""Serve the app and save a screenshot of every view into docs/screenshots/ (for the README).

    python scripts/screenshots.py [--out docs/screenshots]
    python scripts/screenshots.py --checkpoint checkpoints/vani-mi1 --prefix mi- --pages encode overlap
    python scripts/screenshots.py --compare checkpoints/bowman-vae --prefix compare- --pages encode overlap

Needs the system Chromium (apt-get install chromium fonts-liberation). Waits for each page's spinners to
finish (UMAP's first fit compiles numba code, so the projection page can take a minute).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.serving import CHROMIUM_ARGS, served_app  # noqa: E402
PAGES = {"start": "", "encode": "encode", "perturb": "perturb", "traversal": "traversal", "homotopy": "homotopy",
         "projection": "projection?proj_clusters=true&q=stocks", "overlap": "overlap", "collapse": "collapse", "jacobian": "jacobian",
         "prior": "prior", "impute-rank": "impute-rank", "arithmetic": "arithmetic", "evaluate": "evaluate",
         "model-card": "model-card", "unit": "unit", "methods": "methods"}


def wait_idle(page, timeout=240):
    """Until no spinner or running-status widget has been seen for 2 s."""
    end, quiet_since = time.monotonic() + timeout, None
    while time.monotonic() < end:
        busy = page.locator('[data-testid="stSpinner"], [data-testid="stStatusWidget"] button').count() > 0
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 2:
            return
        time.sleep(0.3)


def main():
    from playwright.sync_api import sync_playwright
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    ap.add_argument("--checkpoint", help="typed into the sidebar on every page (default: the app's default)")
    ap.add_argument("--prefix", default="", help="file-name prefix of the screenshots")
    ap.add_argument("--compare", help="the sidebar's 'Compare with' choice, as listed (e.g. checkpoints/smim128-v2)")
    ap.add_argument("--pages", nargs="*", default=list(PAGES), choices=list(PAGES))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with served_app(timeout=120) as (url, _):
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 2200})
            for name in args.pages:
                page.goto(f"{url}/{PAGES[name]}", wait_until="domcontentloaded", timeout=120_000)
                page.wait_for_timeout(1500)
                if args.checkpoint:
                    box = page.locator('[data-testid="stSidebar"] [data-testid="stTextInput"] input').first
                    box.fill(str(Path(args.checkpoint).resolve()))
                    box.press("Enter")
                    page.wait_for_timeout(1500)
                    wait_idle(page)
                if args.compare:
                    box = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(
                        has_text="Compare with")
                    box.click()
                    page.get_by_role("option", name=args.compare, exact=True).click()
                    page.wait_for_timeout(1500)
                    wait_idle(page)
                if name in ("overlap", "evaluate"):
                    page.get_by_role("button", name="Compute" if name == "overlap" else "Evaluate").click()
                    page.wait_for_timeout(1000)
                wait_idle(page, timeout=900 if name == "projection" else 240)   # 49k sentences encoded and mapped
                page.screenshot(path=str(out / f"{args.prefix}{name}.png"), full_page=True)
                print(out / f"{args.prefix}{name}.png")
            browser.close()


if __name__ == "__main__":
    main()
