"""How the corpus map draws in a real browser: the app's own figure (`app.figures.projection_figure`, plotly's
WebGL scatter) with N synthetic points, rendered by headless Chromium. Prints figures; asserts nothing.

    python bench/map_render.py [--points 49199 1000000]

For each N: how the map is drawn (every point, or above `figures.DENSITY_ABOVE` an image of every point under a
drawn sample), the figure's JSON size, the time from loading the page to plotly's first `plotly_afterplot`
(the map drawn), the median time of a zoom and of a pan (a relayout, to its `plotly_afterplot`), and the time
`figures.selected_rows` takes to read back a 300-vertex lasso (in Python, over every point).
The page embeds plotly.js (offline). Run it with no training run holding a core.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from app import figures
from app.serving import CHROMIUM_ARGS

HOVER = True

PAGE = """<html><head><meta charset="utf-8"></head><body><div id="map" style="width:1200px;height:620px"></div>
<script>{plotly}</script><script>
const spec = {spec};
window.drawn = 0;
const t0 = performance.now();
Plotly.newPlot('map', spec.data, spec.layout).then(() => {{}});
document.getElementById('map').on('plotly_afterplot', () => {{ window.drawn += 1; window.lastDrawn = performance.now() - t0; }});
</script></body></html>"""


def measure(n: int, browser) -> None:
    rng = np.random.default_rng(0)
    coords = np.concatenate([rng.normal(c, 1.0, (n // 10, 2)) for c in rng.uniform(-20, 20, (10, 2))])
    hover = [f"sentence {i}" for i in range(len(coords))] if HOVER else None
    fig = figures.projection_figure(coords, hover, rng.random(len(coords)).tolist(), "length")
    spec = fig.to_json()
    from plotly.offline import get_plotlyjs
    html = Path(tempfile.mkdtemp()) / "map.html"
    html.write_text(PAGE.format(plotly=get_plotlyjs(), spec=spec))
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    t = time.perf_counter()
    page.goto(html.as_uri(), wait_until="load", timeout=600_000)
    page.wait_for_function("window.drawn >= 1", timeout=600_000)
    first = time.perf_counter() - t

    def relayout(update: dict) -> float:
        before = page.evaluate("window.drawn")
        t = time.perf_counter()
        page.evaluate(f"Plotly.relayout('map', {json.dumps(update)})")
        page.wait_for_function(f"window.drawn > {before}", timeout=120_000)
        return time.perf_counter() - t
    zooms = [relayout({"xaxis.range": [-5 - i, 5 + i], "yaxis.range": [-5 - i, 5 + i]}) for i in range(5)]
    pans = [relayout({"xaxis.range": [-10 + i, 10 + i], "yaxis.range": [-10 + i, 10 + i]}) for i in range(5)]
    angles = np.linspace(0, 2 * np.pi, 300, endpoint=False)       # a round lasso, wobbling like a hand's
    radius = 12 + 2 * np.sin(7 * angles)
    lasso = {"x": (radius * np.cos(angles)).tolist(), "y": (radius * np.sin(angles)).tolist()}
    t = time.perf_counter()
    rows = figures.selected_rows({"points": [], "lasso": [lasso]}, coords)
    lasso_s = time.perf_counter() - t
    dense = len(coords) > figures.DENSITY_ABOVE
    drawn = f"image of every point + {figures.DRAWN_SAMPLE:,} drawn" if dense else "every point drawn"
    read_back = (f"; a 300-vertex lasso read back ({len(rows):,} points) in {lasso_s * 1e3:.0f} ms" if dense
                 else "")     # below DENSITY_ABOVE plotly's own selection names the points
    print(f"{len(coords):>9,} points ({drawn}): figure JSON {len(spec) / 1e6:.1f} MB; first render {first:.1f} s "
          f"[target <= 10 s at 1M]; zoom {statistics.median(zooms) * 1e3:.0f} ms, pan "
          f"{statistics.median(pans) * 1e3:.0f} ms (median of 5){read_back}")
    page.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--points", type=int, nargs="+", default=[49_199, 1_000_000])
    p.add_argument("--no-hover", action="store_true", help="no per-point hover text (what the map sends above "
                   "figures.HOVER_MAX points)")
    args = p.parse_args()
    global HOVER
    HOVER = not args.no_hover
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for n in args.points:
            measure(n, browser)
        browser.close()


if __name__ == "__main__":
    main()
