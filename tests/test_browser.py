"""The served app in a real headless Chromium: eight concurrent sessions on different views share one
cached model, see only their own results, and keep the server's memory bounded; a screenshot of a
homotopy is saved (tests/artifacts/homotopy.png)."""
import os
import shutil
import time
from pathlib import Path

import pytest

from app.serving import CHROMIUM_ARGS, served_app
from tests.conftest import ROOT, SMIM
from vae_core.checkpoint import load_checkpoint
from vae_core.latent import homotopy, reconstruct

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "tests" / "artifacts"


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@pytest.fixture(scope="module")
def server():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("CI must install the system Chromium (.ci/run does: apt-get install chromium)")
        pytest.skip("no system Chromium (apt-get install chromium fonts-liberation)")
    with served_app() as (url, proc):
        yield url, proc


def _fill(page, label: str, text: str):
    box = page.get_by_label(label)
    box.fill(text)
    box.press("Enter")


class PeakRSS:
    """Samples a process's resident memory every 0.1 s in a thread; .peak in MB."""

    def __init__(self, pid):
        import threading
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_mb(self.pid))
            time.sleep(0.1)

    def stop(self) -> float:
        self._stop.set()
        self._t.join()
        return self.peak


def test_eight_concurrent_sessions_share_one_model_and_keep_their_own_results(server, demo_dir):
    from playwright.sync_api import sync_playwright
    url, proc = server
    demo = load_checkpoint(demo_dir)
    encode_inputs = ["the market fell sharply", "mr. smith is chairman", "the bank will pay a dividend",
                     "analysts expect the market to recover"]
    homotopy_inputs = [("the company said", "stock prices fell"), ("the dollar rose", "the yen fell"),
                       ("interest rates rose", "the bank lost money"), ("sales rose N N", "profit fell")]
    expect_encode = [reconstruct(demo.model, demo.vocab, s, n_samples=3)["mean"] for s in encode_inputs]
    expect_path = [homotopy(demo.model, demo.vocab, a, b, steps=7)["sentences"] for a, b in homotopy_inputs]
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        # a heavy session first: overlap histograms at N = 100 (10,000 decoder passes)
        heavy = browser.new_context(viewport={"width": 1280, "height": 1400}).new_page()
        heavy.goto(url + "/overlap?ov_n=100", wait_until="domcontentloaded", timeout=90_000)   # not the default 40
        heavy.get_by_role("button", name="Compute").wait_for(timeout=90_000)
        rss_one = _rss_mb(proc.pid)                     # the model is loaded once, here
        sampler = PeakRSS(proc.pid)
        heavy.get_by_role("button", name="Compute").click()
        heavy_started = time.monotonic()
        pages = []
        for i in range(8):
            pg = browser.new_context(viewport={"width": 1280, "height": 1400}).new_page()
            pg.goto(url + ("/encode" if i < 4 else "/homotopy"), wait_until="domcontentloaded", timeout=90_000)
            pages.append(pg)
        for pg in pages:                      # every session shows its first result before we type
            pg.locator("table").first.wait_for(timeout=90_000)
        for i, pg in enumerate(pages[:4]):
            _fill(pg, "Sentence", encode_inputs[i])
        for i, pg in enumerate(pages[4:]):
            a, b = homotopy_inputs[i]
            _fill(pg, "First sentence", a)
            _fill(pg, "Second sentence", b)
        for i, pg in enumerate(pages[:4]):
            pg.get_by_role("cell", name=expect_encode[i], exact=True).first.wait_for(timeout=90_000)
        for i, pg in enumerate(pages[4:]):
            # Typing the two sentences gives two reruns; the first one's path (new first sentence, old second)
            # can share sentences with the expected path, so wait for the whole path, not one cell of it.
            deadline = time.monotonic() + 90
            while True:
                table = pg.locator("table").first.inner_text()
                if all(s in table for s in expect_path[i]) or time.monotonic() > deadline:
                    break
                pg.wait_for_timeout(300)
            assert all(s in table for s in expect_path[i])
            # no leak: no other session's input is a cell here (whole cells: a generic decode such as "the company
            # said it expects ..." contains another session's input "the company said" as a substring)
            cells = {c.strip() for line in table.splitlines() for c in line.split("\t")}
            assert all(s in cells for s in expect_path[i])            # the split does give whole cells
            assert not any(other[0] in cells for j, other in enumerate(homotopy_inputs) if j != i and other[0] not in expect_path[i])
        light_done = time.monotonic() - heavy_started
        heavy.get_by_text("AUROC, log p(x_i|z_j)").wait_for(timeout=300_000)
        heavy_done = time.monotonic() - heavy_started
        for pg in pages + [heavy]:
            assert pg.locator('[data-testid="stException"]').count() == 0
        pages[4].screenshot(path=str(ARTIFACTS / "homotopy.png"), full_page=True)
        browser.close()
    rss_peak = sampler.stop()
    print(f"server RSS: {rss_one:.0f} MB with one session, peak {rss_peak:.0f} MB with 9 (one of them heavy); "
          f"8 light sessions done {light_done:.1f} s after a heavy overlap started, which took {heavy_done:.1f} s")
    # one shared float32 model (bowman-vae) is ~40 MB; the overlap scoring holds at most TOKEN_BUDGET x |V| logits
    assert rss_peak - rss_one < 1500
    assert (ARTIFACTS / "homotopy.png").stat().st_size > 10_000


def test_choices_persist_across_views_and_links_reproduce_them(server):
    """In a real browser: a typed sentence, the compare choice and a typed checkpoint survive moving between
    views through the sidebar, the address bar carries them, and opening that address in a new session
    shows the same inputs."""
    from urllib.parse import parse_qs, urlparse
    from playwright.sync_api import sync_playwright
    url, _ = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pg = browser.new_context(viewport={"width": 1280, "height": 1400}).new_page()
        pg.goto(url + "/encode", wait_until="domcontentloaded", timeout=90_000)
        pg.locator("table").first.wait_for(timeout=90_000)
        _fill(pg, "Sentence (typed as you like: it is tokenised as the model's corpus is)", "The market fell sharply.")
        pg.get_by_role("cell", name="the market fell sharply", exact=True).first.wait_for(timeout=90_000)
        side = pg.locator('[data-testid="stSidebar"]')
        box = side.get_by_role("textbox", name="…or another checkpoint")
        box.fill(SMIM)
        box.press("Enter")
        side.get_by_text("smim128").first.wait_for(timeout=90_000)
        side.get_by_role("link", name="Homotopy").click()
        pg.get_by_role("heading", name="Homotopy").wait_for(timeout=90_000)
        pg.locator("table").first.wait_for(timeout=90_000)
        side.get_by_role("link", name="Encode & reconstruct").click()
        pg.get_by_role("heading", name="Encode & reconstruct").wait_for(timeout=90_000)
        pg.locator("table").first.wait_for(timeout=90_000)
        sentence = pg.get_by_label("Sentence (typed as you like: it is tokenised as the model's corpus is)")
        assert sentence.input_value() == "The market fell sharply."
        assert side.get_by_role("textbox", name="…or another checkpoint").input_value() == SMIM
        assert side.get_by_text("Active:").count() == 1 and side.get_by_text(SMIM).count() >= 1
        pg.wait_for_timeout(500)
        link = pg.url
        query = parse_qs(urlparse(link).query)
        assert query["s"] == ["The market fell sharply."] and query["path"] == [SMIM]
        other = browser.new_context(viewport={"width": 1280, "height": 1400}).new_page()   # a colleague's session
        other.goto(link, wait_until="domcontentloaded", timeout=90_000)
        other.locator("table").first.wait_for(timeout=90_000)
        assert other.get_by_label("Sentence (typed as you like: it is tokenised as the model's corpus is)").input_value() \
            == "The market fell sharply."
        assert other.locator('[data-testid="stSidebar"]').get_by_role("textbox", name="…or another checkpoint").input_value() \
            == SMIM
        for page in (pg, other):
            assert page.locator('[data-testid="stException"]').count() == 0
        browser.close()


def test_new_views_tokeniser_and_a_bad_path_in_a_real_browser(server):
    """Raw text is tokenised, the traversal and evaluate views compute, and a hostile checkpoint path gives a
    message in the main pane while the active checkpoint stays: all in a real browser, with no exception."""
    from playwright.sync_api import sync_playwright
    url, _ = server
    label = "Sentence (typed as you like: it is tokenised as the model's corpus is)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pg = browser.new_context(viewport={"width": 1280, "height": 1600}).new_page()
        pg.goto(url + "/encode", wait_until="domcontentloaded", timeout=90_000)
        pg.locator("table").first.wait_for(timeout=90_000)
        _fill(pg, label, "Sales rose 5.2% -- to $3 billion :material/home:")
        pg.get_by_role("cell", name="sales rose N N to $ N billion <unk>", exact=True).first.wait_for(timeout=90_000)
        # the notice shows what was typed: no "—" for "--", no icon for ":material/home:" (Streamlit's Markdown)
        notice = pg.locator('[data-testid="stAlert"]').filter(has_text="tokenised as the corpus is").inner_text()
        assert "-- -> (removed)" in notice.replace("\u2060", ""), notice
        assert ":material/home: -> material/home" in notice.replace("\u2060", ""), notice
        side = pg.locator('[data-testid="stSidebar"]')
        box = side.get_by_role("textbox", name="…or another checkpoint")
        box.fill("../" * 40 + "\u202e\u0000" + "x" * 300)
        box.press("Enter")
        pg.get_by_text("Cannot load the checkpoint typed in the sidebar").wait_for(timeout=90_000)
        pg.locator("table").first.wait_for(timeout=90_000)                  # the view still shows its results
        assert side.get_by_text("checkpoints/bowman-vae").count() >= 1
        box.fill("")
        box.press("Enter")
        side.get_by_role("link", name="Latent traversal").click()
        pg.get_by_role("heading", name="Latent traversal").wait_for(timeout=90_000)
        pg.get_by_text("Sweep of z").wait_for(timeout=120_000)
        # the sweep's table follows its heading once the decodes are done: wait for it (counting at once raced)
        pg.locator("table").first.wait_for(timeout=120_000)
        pg.goto(url + "/evaluate", wait_until="domcontentloaded", timeout=90_000)
        limit = pg.get_by_role("spinbutton", name="At most this many sentences")
        limit.wait_for(timeout=90_000)
        limit.fill("20")
        limit.press("Enter")
        pg.wait_for_timeout(1500)
        pg.get_by_role("button", name="Evaluate", exact=True).click()
        pg.get_by_role("cell", name="NLL (negative ELBO)").wait_for(timeout=180_000)
        assert pg.get_by_text("20 sentences").count() >= 1
        assert pg.locator('[data-testid="stException"]').count() == 0
        browser.close()


def test_the_corpus_map_lasso_selection_links_and_neighbours_in_a_real_browser(server, tmp_path):
    """Issue 38's walk on a small map (PCA of 400 PTB sentences, from all three splits): a search, a lasso
    drawn with the mouse lists its sentences with their reconstructions, the address carries the selection, a
    colleague opening it sees the same list, and the traversal's button opens a unit's page."""
    from urllib.parse import parse_qs, urlparse
    from playwright.sync_api import sync_playwright
    url, _ = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pg = browser.new_context(viewport={"width": 1280, "height": 2000}).new_page()
        pg.goto(url + "/projection?method=pca&proj_limit=400&q=million", wait_until="domcontentloaded",
                timeout=90_000)
        pg.get_by_text("“million”:").wait_for(timeout=120_000)
        plot = pg.locator(".js-plotly-plot").first
        plot.wait_for(timeout=90_000)
        pg.wait_for_timeout(1500)
        box = plot.locator(".nsewdrag").first.bounding_box()          # the plotting area
        cx, cy, w, h = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, box["width"], box["height"]
        pg.mouse.move(cx - 0.3 * w, cy - 0.3 * h)                      # a lasso around the middle of the map
        pg.mouse.down()
        for x, y in ((cx + 0.3 * w, cy - 0.3 * h), (cx + 0.3 * w, cy + 0.3 * h), (cx - 0.3 * w, cy + 0.3 * h),
                     (cx - 0.3 * w, cy - 0.29 * h)):
            pg.mouse.move(x, y, steps=8)
        pg.mouse.up()
        heading = pg.get_by_role("heading", name="selected sentences")
        heading.wait_for(timeout=120_000)
        n = int(heading.inner_text().split()[0])
        assert 1 < n <= 400
        pg.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=60_000)   # with the reconstructions
        pg.wait_for_timeout(1000)
        query = parse_qs(urlparse(pg.url).query)
        assert query["q"] == ["million"] and len(query["sel"][0].split(",")) == n
        other = browser.new_context(viewport={"width": 1280, "height": 2000}).new_page()   # a colleague
        other.goto(pg.url, wait_until="domcontentloaded", timeout=90_000)
        other.get_by_role("heading", name=f"{n} selected sentences").wait_for(timeout=120_000)
        side = pg.locator('[data-testid="stSidebar"]')
        side.get_by_role("link", name="Latent traversal").click()
        pg.get_by_role("button", name="unit page").first.wait_for(timeout=120_000)
        pg.get_by_role("button", name="unit page").first.click()
        pg.get_by_role("heading", name="Latent unit").wait_for(timeout=90_000)
        pg.get_by_role("heading", name="Traversal").wait_for(timeout=120_000)
        assert "unit=z" in pg.url
        for page in (pg, other):
            assert page.locator('[data-testid="stException"]').count() == 0
        pg.screenshot(path=str(tmp_path / "unit.png"))
        browser.close()


def test_a_lasso_on_a_map_too_large_to_draw_selects_among_all_its_points_in_a_real_browser(tmp_path):
    """Above figures.DENSITY_ABOVE points the map draws an image of every point under a sample. A lasso drawn
    with the mouse over it leaves plotly's selection path in data coordinates, which Streamlit passes on as
    the state's "lasso" (its PlotlyChart parses "M x,y L x,y ... Z" into x and y lists); read back by
    figures.selected_rows it names every point inside, drawn or not."""
    import re
    import numpy as np
    from plotly.offline import get_plotlyjs
    from playwright.sync_api import sync_playwright
    from app import figures
    from vae_core.projection import points_in_polygon
    if not os.path.exists(CHROMIUM):
        pytest.skip("no system Chromium")
    coords = np.random.default_rng(0).normal(size=(figures.DENSITY_ABOVE + 5_000, 2))
    fig = figures.projection_figure(coords, None, None)
    page_html = tmp_path / "map.html"
    page_html.write_text('<html><head><meta charset="utf-8"></head><body><div id="map" style="width:900px;'
                         f'height:620px"></div><script>{get_plotlyjs()}</script><script>const spec = {fig.to_json()};'
                         "Plotly.newPlot('map', spec.data, spec.layout);</script></body></html>")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pg = browser.new_page(viewport={"width": 1000, "height": 700})
        pg.goto(page_html.as_uri(), wait_until="load", timeout=120_000)
        plot = pg.locator(".nsewdrag").first
        plot.wait_for(timeout=120_000)
        box = plot.bounding_box()
        cx, cy, w, h = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, box["width"], box["height"]
        pg.mouse.move(cx - 0.1 * w, cy - 0.1 * h)
        pg.mouse.down()
        for x, y in ((cx + 0.1 * w, cy - 0.1 * h), (cx + 0.12 * w, cy + 0.1 * h), (cx - 0.1 * w, cy + 0.05 * h),
                     (cx - 0.1 * w, cy - 0.09 * h)):
            pg.mouse.move(x, y, steps=6)
        pg.mouse.up()
        pg.wait_for_function("document.getElementById('map').layout.selections?.length > 0", timeout=60_000)
        path = pg.evaluate("document.getElementById('map').layout.selections[0].path")
        browser.close()
    vertices = [tuple(map(float, v.split(","))) for v in re.sub("[MZ]", "", path).split("L")]
    lasso = {"x": [v[0] for v in vertices], "y": [v[1] for v in vertices]}
    rows = figures.selected_rows({"points": [], "lasso": [lasso]}, coords)
    inside = points_in_polygon(coords, lasso["x"], lasso["y"])
    assert rows == np.flatnonzero(inside).tolist()
    drawn = {int(c) - 1 for tr in fig.data if tr.type == "scattergl" for c in tr.customdata}
    assert len(rows) > 3 * len(drawn & set(rows)) > 0                   # far more than were drawn
