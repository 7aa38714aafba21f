"""Paper exports: PNG / SVG / PDF parse and have the paper sizes; CSV round-trips; LaTeX tables balance."""
from __future__ import annotations

import io
import os
import re
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from app import export, figures
from tests.conftest import shown_markdown


@pytest.fixture(scope="module")
def browser():
    if not (shutil.which("chromium") or os.environ.get("BROWSER_PATH")):
        if os.environ.get("CI"):
            pytest.fail("CI must install the system Chromium (.ci/run does: apt-get install chromium)")
        pytest.skip("no system Chromium (apt-get install chromium fonts-liberation)")
    export.start_browser()


def _overlap_fig():
    m = np.random.default_rng(0).normal(size=(20, 20))
    np.fill_diagonal(m, 3.0)
    return figures.overlap_figure(m, "log p(x_i | z_j)", "nats per sentence", 0.95)


@pytest.mark.parametrize("layout,inches", [("one-column", 3.5), ("two-column", 7.0)])
def test_png_svg_pdf_are_valid_files_of_the_paper_size(browser, layout, inches):
    from PIL import Image
    fig = _overlap_fig()
    width_px = round(inches * 96)
    height_px = round(width_px * 0.7)

    png = export.figure_bytes(fig, "png", layout)
    img = Image.open(io.BytesIO(png))
    img.verify()
    assert img.format == "PNG" and img.size == (3 * width_px, 3 * height_px)

    svg = export.figure_bytes(fig, "svg", layout)
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg") and float(root.get("width")) == width_px
    text = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    assert "nats per sentence" in text and "i = j" in text        # the axis title and the legend survive
    assert "serif" in svg.decode().lower()

    pdf = export.figure_bytes(fig, "pdf", layout)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    boxes = re.findall(rb"/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    assert boxes, "no page in the PDF"
    w_pt = float(boxes[0][2]) - float(boxes[0][0])
    assert abs(w_pt - 72 * inches) < 1.0                          # 3.5 in = 252 pt, 7 in = 504 pt


def test_one_browser_serves_every_export(browser):
    from kaleido._sync_server import GlobalKaleidoServer
    server = GlobalKaleidoServer()
    fig = _overlap_fig()
    export.figure_bytes(fig, "svg")
    thread = server._thread
    for fmt in ("png", "svg", "pdf") * 3:
        assert export.figure_bytes(fig, fmt)
    assert server.is_running() and server._thread is thread and thread.is_alive()


def test_paper_style_is_white_serif_without_title():
    fig = export.paper_figure(figures.spectrum_figure([3.0, 1.0, 0.1], 2, 2), "two-column")
    assert fig.layout.paper_bgcolor == "white" and "serif" in fig.layout.font.family
    assert fig.layout.title.text is None and fig.layout.width == 672
    with pytest.raises(ValueError, match="layout"):
        export.paper_figure(fig, "three-column")
    with pytest.raises(ValueError, match="format"):
        export.figure_bytes(fig, "jpeg")


def test_figure_data_csv_round_trips_every_point():
    fig = figures.perturbation_figure([{"k": k, "bleu": 100 - 10 * k, "exact": 1 / (1 + k), "n_distinct": k + 1,
                                        "sentences": []} for k in range(4)])
    df = pd.read_csv(io.BytesIO(export.csv_bytes(export.figure_data(fig))))
    assert len(df) == 3 * 4                                         # three traces, four k each
    bleu = df[df.trace == "mean BLEU to input"]
    assert bleu.x.tolist() == [0, 1, 2, 3] and bleu.y.tolist() == [100, 90, 80, 70]


def test_latex_table_is_balanced_and_escaped():
    df = pd.DataFrame({"sentence": ["a_b & c", "100% of $5 #1"], "BLEU": ["1.0", "2.0"]})
    tex = export.latex_table(df, caption="Reconstructions & more", label="tab:rec")
    for env in ("table", "tabular"):
        assert tex.count(f"\\begin{{{env}}}") == tex.count(f"\\end{{{env}}}") == 1
    assert tex.index("\\begin{table}") < tex.index("\\begin{tabular}") < tex.index("\\end{tabular}") < tex.index("\\end{table}")
    assert "\\toprule" in tex and "\\midrule" in tex and "\\bottomrule" in tex
    body = tex[tex.index("\\midrule"): tex.index("\\bottomrule")]
    rows = [r for r in body.split("\\\\") if r.strip() and "\\midrule" != r.strip()]
    rows = [r.replace("\\midrule", "") for r in rows if r.replace("\\midrule", "").strip()]
    assert len(rows) == 2
    for r in rows:                                 # one unescaped & between two columns
        assert len(re.findall(r"(?<!\\)&", r)) == 1
    assert "a\\_b \\& c" in tex and "100\\% of \\$5 \\#1" in tex
    assert "\\caption{Reconstructions \\& more}" in tex and "\\label{tab:rec}" in tex


def test_latex_escapes_angle_brackets_and_wraps_long_sentences():
    long = "the company said it expects to report a loss for the third quarter of the year"
    df = pd.DataFrame({"": ["D", "M"], "sentence": [long, "a <unk> b"], "BLEU": [100.0, 12.5]})
    tex = export.latex_table(df)
    assert "\\textless{}unk\\textgreater{}" in tex and "<unk>" not in tex
    assert "\\begin{tabular}{lp{0.70\\linewidth}r}" in tex          # the long column wraps, numbers align right


def test_latex_breaks_the_ligatures_that_would_print_other_characters():
    """TeX prints "--" as an en dash, "---" an em dash, "``" and "''" as curly quotes, ",," as a low quote and
    "!`" "?`" as ¡ ¿: a sentence's tokens must print as typed (a `{}` between the characters stops it)."""
    text = "a -- b --- c `` d '' e ,, f !` g ?` h it 's n't"
    tex = export.latex_table(pd.DataFrame({"sentence": [text]}))
    for pair in ("--", "``", "''", ",,", "!`", "?`"):
        assert pair not in tex, pair
    assert "-{}-" in tex and "it 's n't" in tex                          # one apostrophe is left as it is


def test_png_records_its_dpi(browser):
    from PIL import Image
    img = Image.open(io.BytesIO(export.figure_bytes(_overlap_fig(), "png", "one-column")))
    assert tuple(round(v) for v in img.info["dpi"]) == (288, 288)


def test_posterior_csv_has_sigma_and_export_has_round_upright_ticks():
    per_dim = {"dimension": list(range(32)), "mu": [0.1 * i for i in range(32)], "sigma": [0.5] * 32,
               "kl": [0.01 * i for i in range(32)]}
    fig = figures.posterior_figure(per_dim)
    df = export.figure_data(fig)
    mu = df[df.trace == "μ ± σ"]
    assert mu.y_error.tolist() == [0.5] * 32 and mu.y.tolist() == per_dim["mu"]
    paper = export.paper_figure(fig, "one-column")
    assert not paper.layout.annotations                            # no subplot title to collide with an axis
    for ax in (paper.layout.xaxis, paper.layout.xaxis2):
        assert ax.dtick is None and ax.nticks == 10 and ax.tickangle == 0


def test_training_curves_label_their_log_axis_in_full_and_the_export_once_a_decade():
    history = {"steps": [{"step": s, "rec": 120.0 - s / 10, "kl": 0.5 + s / 100, "kl_weight": min(1.0, s / 200)}
                         for s in range(0, 400, 50)],
               "epochs": [{"step": 350, "val_rec": 90.0, "val_kl": 4.0}]}
    fig = figures.training_curves_figure(history)
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis.tickmode == "array"
    labels = dict(zip(fig.layout.yaxis.tickvals, fig.layout.yaxis.ticktext))
    assert (labels[2], labels[5], labels[50], labels[100], labels[0.5]) == ("2", "5", "50", "100", "0.5")
    paper = export.paper_figure(fig, "one-column")
    y = paper.layout.yaxis
    assert (y.tickmode, y.tick0, y.dtick, y.tickvals, y.ticktext) == ("linear", 0, 1, None, None)
    assert fig.layout.yaxis.tickmode == "array"                                # the app's figure is untouched


def test_the_export_keeps_the_figures_1_2_5_labels_on_a_log_axis_spanning_under_two_decades():
    # a converged model: reconstruction from 110 down to 20 nats, KL near 60; once a decade left only "100"
    history = {"steps": [{"step": s, "rec": 110.0 - s / 5, "kl": 60.0, "kl_weight": 1.0} for s in range(0, 450, 50)],
               "epochs": [{"step": 400, "val_rec": 70.0, "val_kl": 60.0}]}
    fig = figures.training_curves_figure(history)
    y = export.paper_figure(fig, "one-column").layout.yaxis
    assert y.tickmode == "array" and (y.tickvals, y.ticktext) == (fig.layout.yaxis.tickvals, fig.layout.yaxis.ticktext)
    assert dict(zip(y.tickvals, y.ticktext))[20] == "20"
    wide = go.Figure(go.Scatter(x=[0, 1, 2], y=np.array([0.5, 40.0, 120.0]))).update_yaxes(type="log")
    assert export.paper_figure(wide, "one-column").layout.yaxis.dtick == 1         # over two decades: one a decade


def test_a_legend_that_wraps_adds_height_instead_of_squeezing_the_plot_and_markers_shrink_for_print():
    history = {"steps": [{"step": s, "rec": 100.0, "kl": 1.0, "kl_weight": 1.0} for s in range(0, 400, 50)],
               "epochs": [{"step": 350, "val_rec": 90.0, "val_kl": 4.0}]}
    fig = figures.training_curves_figure(history)                     # five legend entries
    base = round(336 * 0.7)
    one, two = export.paper_figure(fig, "one-column"), export.paper_figure(fig, "two-column")
    assert export._legend_rows(one, 336) == 3 and export._legend_rows(two, 672) == 1
    assert one.layout.height == base + 2 * 18 and one.layout.margin.t == 8 + 3 * 18 + 4
    assert two.layout.height == round(672 * 0.7)
    # the plot area (height less the margins) is the same as with a one-row legend
    assert one.layout.height - one.layout.margin.t == base - (8 + 18 + 4)
    assert {t.marker.size for t in one.data if t.mode == "markers+lines"} == {6}
    assert {t.marker.size for t in fig.data if t.mode == "markers+lines"} == {9}      # the app's figure keeps its own
    assert export._legend_rows(export.paper_figure(_overlap_fig(), "one-column"), 336) == 1
    # a figure that hides its legend gets no room for one (the posterior figure: two traces, showlegend=False)
    per_dim = {"dimension": [0, 1], "mu": [0.1, -0.2], "sigma": [0.9, 1.0], "kl": [0.3, 0.1]}
    hidden = export.paper_figure(figures.posterior_figure(per_dim), "one-column")
    assert export._legend_rows(hidden, 336) == 0 and hidden.layout.margin.t == 8 and hidden.layout.height == base


def test_every_view_figure_exports_at_one_and_two_columns(browser):
    """Each kind of figure the views show renders as a PDF of the paper width at both layouts, and as an SVG
    whose axis titles are all present (nothing dropped or clipped away). The figures come from
    tests/gallery.py (`python -m tests.gallery DIR` writes them out to look at)."""
    from tests.gallery import every_figure
    for name, fig in every_figure().items():
        titles = [a.title.text for k in fig.layout if k.startswith(("xaxis", "yaxis"))
                  for a in [fig.layout[k]] if a.title.text]
        for layout, inches in export.LAYOUTS.items():
            pdf = export.figure_bytes(fig, "pdf", layout)
            box = re.findall(rb"/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)[0]
            assert abs(float(box[2]) - 72 * inches) < 1.0, (name, layout)
            svg = export.figure_bytes(fig, "svg", layout).decode()
            text = " ".join(t.text or "" for t in ET.fromstring(svg).iter() if t.tag.endswith("text"))
            for t in titles:
                assert t.split("<br>")[0] in text, (name, layout, t)


def test_side_by_side_panels_keep_one_shared_x_title_at_one_column():
    """At 3.5 in the two overlap panels' identical x titles collided (seen in the exported PDF, 2026-12-02);
    at one column only the first keeps it, at two columns both do."""
    m = [[-10.0, -50.0], [-60.0, -12.0]]
    fig = figures.overlap_compare_figure([{"name": "VAE", "matrix": m, "auroc": 0.5},
                                          {"name": "sMIM", "matrix": m, "auroc": 0.9}], "log p(x_i | z_j)")
    one, two = export.paper_figure(fig, "one-column"), export.paper_figure(fig, "two-column")
    assert (one.layout.xaxis.title.text, one.layout.xaxis2.title.text) == ("log p(x_i | z_j)", None)
    assert two.layout.xaxis.title.text == two.layout.xaxis2.title.text == "log p(x_i | z_j)"
    assert fig.layout.xaxis2.title.text == "log p(x_i | z_j)"                   # the app's figure is untouched


def test_long_panel_titles_wrap_to_their_panel_at_one_column():
    """Two checkpoint paths as panel titles ran into each other at 3.5 in (seen in the exported overlap PDF):
    they now break after a "/" or a space to fit half the width, and keep one line at two columns."""
    m = [[-10.0, -50.0], [-60.0, -12.0]]
    fig = figures.overlap_compare_figure([{"name": "checkpoints/smim128 (smim)", "matrix": m, "auroc": 0.9},
                                          {"name": "checkpoints/k19-vae-encdrop (vae)", "matrix": m, "auroc": 0.5}],
                                         "log p(x_i | z_j)")
    one = [a.text for a in export.paper_figure(fig, "one-column").layout.annotations]
    two = [a.text for a in export.paper_figure(fig, "two-column").layout.annotations]
    assert one[:2] == ["checkpoints/smim128<br>(smim)<br>AUROC 0.90", "checkpoints/<br>k19-vae-encdrop (vae)<br>AUROC 0.50"]
    assert two[:2] == [a.text for a in fig.layout.annotations][:2]


def test_an_exported_overlap_figure_keeps_its_auroc():
    """Issue 38: the AUROC sat in the title, which a paper figure drops; it is now written inside the axes."""
    from app.export import paper_figure
    out = paper_figure(_overlap_fig(), "one-column")
    assert out.layout.title.text is None
    assert [a.text for a in out.layout.annotations] == ["AUROC 0.950"]


def test_a_map_selection_gives_back_the_rows_the_figure_drew():
    """projection_figure writes each corpus point's 1-based line into customdata, and selected_rows reads a
    plotly selection back into 0-based rows (an off-by-one here would list the wrong sentences)."""
    coords = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.5]])
    for color in (None, ["a", "b", "a"]):
        fig = figures.projection_figure(coords, ["x", "y", "z"], color, overlays=[
            {"name": "typed", "xy": np.zeros((1, 2)), "text": ["typed"]},
            {"name": "ring", "ring": True, "index": [2], "xy": coords[[2]], "text": ["z"]}])
        points = [{"customdata": int(cd)} for tr in fig.data if tr.customdata is not None and tr.name != "typed"
                  for cd in tr.customdata]
        points.append({"customdata": "typed"})
        assert figures.selected_rows({"points": points}, coords) == [0, 1, 2]
        by_name = {tr.name: [int(c) for c in tr.customdata] for tr in fig.data if tr.name in ("corpus", "a")}
        assert by_name == ({"corpus": [1, 2, 3]} if color is None else {"a": [1, 3]})
    assert figures.selected_rows({"points": [{"customdata": 0}, {"customdata": 4}, {"customdata": [2]}]}, coords) == [1]


def test_a_map_too_large_to_draw_point_by_point_draws_every_point_as_a_density_and_selects_among_all():
    """Above DENSITY_ABOVE points the map is an image of all points (counts, or the mean colour per cell) under
    a drawn sample; a box or lasso selects among every point, not just the sample drawn."""
    from vae_core.projection import points_in_polygon
    rng = np.random.default_rng(1)
    n = figures.DENSITY_ABOVE + 1000
    coords = rng.normal(size=(n, 2))
    fig = figures.projection_figure(coords, None, None)
    heat = [tr for tr in fig.data if tr.type == "heatmap"]
    drawn = [tr for tr in fig.data if tr.type == "scattergl"]
    assert len(heat) == 1 and len(drawn) == 1 and len(drawn[0].x) == figures.DRAWN_SAMPLE
    counts = np.expm1(np.nan_to_num(np.asarray(heat[0].z, dtype=float)))
    assert abs(counts.sum() - n) < 1e-3 * n                 # every point is in the image
    lines = np.asarray(drawn[0].customdata, dtype=int)
    assert np.allclose(coords[lines - 1, 0], drawn[0].x, atol=1e-6)   # the sample's lines are its own rows
    value = coords[:, 0] + 10.0                             # a continuous colour: each cell its points' mean
    fig = figures.projection_figure(coords, None, value.tolist(), "x")
    heat = [tr for tr in fig.data if tr.type == "heatmap"][0]
    z, xc, yc = np.asarray(heat.z, dtype=float), np.asarray(heat.x), np.asarray(heat.y)
    r, c = np.unravel_index(np.argmax(counts), counts.shape)   # the densest cell (the same grid: same points)
    dx, dy = xc[1] - xc[0], yc[1] - yc[0]
    cell = ((coords[:, 0] >= xc[c] - dx / 2) & (coords[:, 0] < xc[c] + dx / 2)
            & (coords[:, 1] >= yc[r] - dy / 2) & (coords[:, 1] < yc[r] + dy / 2))
    assert cell.sum() > 5 and abs(z[r, c] - value[cell].mean()) < 1e-3
    lasso = {"x": [-1.0, 1.0, 0.0], "y": [-1.0, -1.0, 1.0]}
    box = {"x": [1.5, 2.5], "y": [-0.5, 0.5]}
    rows = figures.selected_rows({"points": [], "box": [box], "lasso": [lasso]}, coords)
    want = (points_in_polygon(coords, lasso["x"], lasso["y"])
            | ((coords[:, 0] >= 1.5) & (coords[:, 0] <= 2.5) & (np.abs(coords[:, 1]) <= 0.5)))
    assert rows == np.flatnonzero(want).tolist() and len(rows) > 1000


def test_the_maps_overlays_are_drawn_over_its_points():
    """Plotly draws a figure's WebGL canvas over its SVG layer: an SVG homotopy path or typed star lay hidden
    under the corpus points in the browser (seen in the explorer walk). Every overlay is a WebGL trace after the
    corpus, so it draws on top."""
    coords = np.random.default_rng(0).normal(size=(500, 2))
    fig = figures.projection_figure(coords, None, None, overlays=[
        {"name": "typed", "xy": np.zeros((1, 2)), "text": ["a"]},
        {"name": "homotopy", "path": True, "xy": coords[:5], "text": list("abcde")},
        {"name": "ring", "ring": True, "index": [0], "xy": coords[:1], "text": ["a"]}])
    assert [tr.type for tr in fig.data] == ["scattergl"] * len(fig.data) and fig.data[0].name == "corpus"


def test_a_forged_selection_on_a_dense_map_selects_nothing_and_costs_nothing():
    """The selection state comes from the browser: shapes whose vertices are not numbers, are not finite, or are
    far too many select nothing instead of raising or running for minutes."""
    coords = np.random.default_rng(2).normal(size=(figures.DENSITY_ABOVE + 10, 2))
    many = np.linspace(0, 2 * np.pi, 200_000)
    for shapes in ({"lasso": [{"x": ["a", "b", "c"], "y": [0, 1, 0]}]},
                   {"lasso": [{"x": [0, 1, float("nan")], "y": [0, 1, 0]}]},
                   {"lasso": [{"x": np.cos(many).tolist(), "y": np.sin(many).tolist()}]},
                   {"box": [{"x": ["0", 1], "y": [0, 1]}, {"x": [0], "y": [0, 1]}]},
                   {"lasso": [{"x": 5, "y": 3}], "box": [{"x": 5, "y": [0, 1]}]},       # scalars, not lists
                   {"lasso": ["x", 7, None], "box": "abc"},                              # shapes that are no dicts
                   {"lasso": {"x": [0, 1, 0], "y": [0, 0, 1]}}):                         # a dict, not a list
        assert figures.selected_rows({"points": [], **shapes}, coords) == []
    small = coords[:100]                                                      # read from the drawn points
    assert figures.selected_rows({"points": ["x", 3, None, {"customdata": [5]}]}, small) == [4]
    assert figures.selected_rows("forged", small) == [] and figures.selected_rows(None, coords) == []


def test_a_dense_map_exports_as_a_light_pdf_and_its_csv_holds_the_image_cells(browser):
    """A dense map's PDF stays a few MB (its 50,000 drawn points, outlined, were written as vector circles:
    31 MB and a minute), and its CSV gives each non-empty cell of the image (x, y, value) beside the drawn
    points, instead of pairing the image's column and row centres as if they were points."""
    rng = np.random.default_rng(3)
    coords = rng.normal(size=(figures.DENSITY_ABOVE + 1000, 2))
    fig = figures.projection_figure(coords, None, None)
    assert len(export.figure_bytes(fig, "pdf", "two-column")) < 3e6
    df = export.figure_data(fig)
    heat = fig.data[0]
    z = np.asarray(heat.z, dtype=float)
    cells = df[df.trace == heat.name]
    assert len(cells) == np.isfinite(z).sum() and np.allclose(np.expm1(cells.value).sum(), len(coords), rtol=1e-3)
    r, c = np.argwhere(np.isfinite(z))[0]
    first = cells.iloc[0]
    assert (first.x, first.y) == pytest.approx((heat.x[c], heat.y[r])) and first.value == pytest.approx(z[r, c])
    assert (df.trace == f"a sample of {figures.DRAWN_SAMPLE:,}").sum() == figures.DRAWN_SAMPLE


# Streamlit's Markdown turns "-- -> <- >= <= ~=" into typographic symbols and ":name:" into emoji, icons or
# its logo, even when every character is backslash-escaped (seen in Chromium, 2026-12-08): a notice then
# misreports what the user typed ("--" removed was shown as "—" removed).
_TYPOGRAPHIC = ("--", "->", "<-", ">=", "<=", "~=")


@pytest.mark.parametrize("text", ["a -- b -> c <-> d >= e <= f ~= g", "---->>>", ":+1: :material/home: :streamlit:",
                                  "<unk> `x` **b** _i_ [l](http://e) $x$ :red[x]", "plain words", ""])
def test_escaped_markdown_shows_the_text_itself_with_no_typography_or_shortcode(text):
    """escape_markdown's text, once Markdown has read its escapes, is `text` with only invisible word
    joiners added, and none of Streamlit's replacements can start in it."""
    from app.figures import escape_markdown
    shown = shown_markdown(escape_markdown(text))
    assert shown.replace("\u2060", "") == text
    assert not any(seq in shown for seq in _TYPOGRAPHIC)
    assert not re.search(r":[^\u2060]", shown)


# Plotly renders a subset of HTML in every text it draws: in Chromium, '<a href="https://x">click</a>' in a
# legend, a hover, an annotation or a title became a live link (2026-12-08), so a shared link's search words
# or an uploaded line could put one on the map.
_LINK = '<a href="https://evil.example/x">click</a> <b>bold</b> <unk> &amp;'


def _strings(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _strings(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _strings(v)


def test_user_text_on_the_map_and_the_plane_is_drawn_as_text_not_markup():
    """Every sentence, overlay name, label and point name reaches plotly escaped: no tag of the user's text is
    left, and unescaping gives the text back."""
    import html

    from app.figures import projection_figure, rate_distortion_figure
    coords = np.arange(20, dtype=float).reshape(10, 2)
    fig = projection_figure(coords, [_LINK] * 10, title=_LINK, overlays=[
        {"name": _LINK, "xy": coords[:2], "text": [_LINK] * 2, "ring": True, "index": [0, 1]},
        {"name": _LINK, "xy": coords[:2], "text": [_LINK] * 2, "path": True},
        {"name": _LINK, "xy": coords[:2], "text": [_LINK] * 2}], labels=[{"x": 0, "y": 0, "text": _LINK}])
    point = {"name": _LINK, "source": "evaluated here", "kind": "vae", "rate": 1.0, "distortion": 90.0, "nll": 91.0,
             "active_units": 3, "mutual_info": 1.0, "checkpoint": _LINK, "label": _LINK}
    plane = rate_distortion_figure([point, {**point, "source": "paper", "checkpoint": None}])
    for f, hover_labels in ((fig, []), (plane, [cd[0] for cd in plane.data[-1].customdata])):
        drawn = [{k: v for k, v in tr.items() if k != "customdata"} for tr in f.to_plotly_json()["data"]]
        drawn += [f.to_plotly_json()["layout"], hover_labels]      # the plane's hover label is its customdata[0]
        texts = [s for s in _strings(drawn) if "click" in s]
        assert texts and not any("<a" in s or "<b>" in s or "<unk>" in s for s in texts), texts
        assert all(_LINK in html.unescape(s) for s in texts)
    # the CSV export reads the text back as it was
    from app.export import figure_data
    table = figure_data(fig)
    assert set(table["text"].dropna()) == {_LINK, "start", "end", "1", "2"} and _LINK in set(table["trace"])


def test_a_table_shown_with_st_table_has_its_text_cells_escaped_and_its_export_keeps_them():
    """st.table reads every cell as Markdown (in Chromium a cell "[click](https://…)" was a live link and
    "--" an em dash), so the table shown has its text cells and labels escaped; numbers stay numbers."""
    from app.figures import escape_markdown, markdown_cells
    df = pd.DataFrame({"sentence": [_LINK, "x -- y"], "n": [1, 2]}, index=pd.Index(["D", "a_b_c"], name="row"))
    shown = markdown_cells(df)
    assert list(shown["sentence"]) == [escape_markdown(_LINK), escape_markdown("x -- y")]
    assert list(shown.index) == ["D", escape_markdown("a_b_c")] and shown.index.name == "row"
    assert list(shown["n"]) == [1, 2] and list(df["sentence"]) == [_LINK, "x -- y"]      # the original is kept


@pytest.mark.parametrize("selection", [None, [], "x", {"points": "abc"}, {"points": [1, None, "s"]},
                                       {"points": [{"customdata": {"3": "checkpoints/a"}}]},
                                       {"points": [{"customdata": [0, 0, 0, ["checkpoints/a"]]}]},
                                       {"points": [{"customdata": "abcdefg"}]}])
def test_a_hostile_selection_on_the_plane_opens_nothing_and_raises_nothing(selection):
    """The selection event comes from the client: any shape of it gives no checkpoint (and no exception),
    and only a listed checkpoint's name is ever offered."""
    assert figures.selected_checkpoints(selection, ["checkpoints/a"]) == []
    good = {"points": [{"customdata": [1, 2, 3, "checkpoints/a"]}, {"customdata": [1, 2, 3, "checkpoints/a"]},
                       {"customdata": [1, 2, 3, "../../etc"]}, {"customdata": [1, 2, 3, None]}]}
    assert figures.selected_checkpoints(good, ["checkpoints/a"]) == ["checkpoints/a"]
