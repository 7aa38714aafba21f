"""Plotly figures and tables for the app and the notebooks (one place, so both show the same thing).

Functions take plain lists/dicts (as returned by vae_core), never tensors, and return plotly Figures or
pandas DataFrames. No tensor maths here.
"""
from __future__ import annotations

import html
import re

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

TEMPLATE = "plotly_white"
OVERLAY_COLOURS = ("#d62728", "#111111", "#ff7f0e", "#9467bd")     # typed points and paths: unlike the corpus


def plotly_text(text: str) -> str:
    """`text` drawn literally by plotly, which reads a subset of HTML in every string it draws (legend, hover,
    annotation, title): in Chromium '<a href="https://…">' became a live link and '<b>' bold. Every sentence,
    name or word from data (a corpus, an upload, a link's search words, a checkpoint) goes through this;
    `app.export.figure_data` reads it back (html.unescape) for the CSV."""
    return html.escape(str(text), quote=False)


def posterior_figure(per_dim: dict[str, list], title: str = "") -> go.Figure:
    """mu ± sigma per latent dimension (top) and KL(q(z_d|x) || N(0,1)) per dimension in nats (bottom).

    per_dim: {"dimension", "mu", "sigma", "kl"} lists, as from `vae_core.latent.Posterior.per_dimension`.
    Each panel is named by its y-axis title (no subplot titles: at one-column size they collide with the
    axes); the exported CSV carries sigma as the error column. Without a KL per dimension (a vMF posterior,
    whose KL does not split: "kl" all None) the figure is the top panel alone.
    """
    with_kl = not all(v is None for v in per_dim["kl"])
    fig = make_subplots(rows=2 if with_kl else 1, cols=1, shared_xaxes=True, vertical_spacing=0.06)
    fig.add_trace(go.Scatter(x=per_dim["dimension"], y=per_dim["mu"], mode="markers", name="μ ± σ",
                             error_y=dict(type="data", array=per_dim["sigma"], visible=True),
                             hovertemplate="z%{x}: μ=%{y:.3f}<extra></extra>"), row=1, col=1)
    fig.add_hline(y=0, line=dict(color="gray", width=1, dash="dot"), row=1, col=1)
    if with_kl:
        fig.add_trace(go.Bar(x=per_dim["dimension"], y=per_dim["kl"], name="KL (nats)",
                             hovertemplate="z%{x}: KL=%{y:.3f} nats<extra></extra>"), row=2, col=1)
        fig.update_yaxes(title_text="KL (nats)", rangemode="tozero", row=2, col=1)
    n = len(per_dim["dimension"])
    fig.update_xaxes(title_text="latent dimension", row=2 if with_kl else 1, col=1, dtick=1 if n <= 40 else None)
    fig.update_yaxes(title_text="posterior μ ± σ", row=1, col=1)
    fig.update_layout(template=TEMPLATE, height=520 if with_kl else 320, showlegend=False, title=title or None,
                      margin=dict(l=60, r=20, t=60 if title else 30, b=40))
    return fig


def posterior_table(per_dim: dict[str, list]) -> pd.DataFrame:
    """The same numbers as `posterior_figure`, as a table (one row a dimension)."""
    return pd.DataFrame(per_dim).rename(columns={"mu": "μ", "sigma": "σ", "kl": "KL (nats)"}).set_index("dimension")


def reconstruction_table(result: dict) -> pd.DataFrame:
    """Rows: the input as the model sees it, the decode from the posterior mean, then each posterior sample.

    result: the dict of `vae_core.latent.reconstruct` (Bowman et al. 2016, Table 7 layout).
    """
    rows = [("input (D)", " ".join(result["input"].tokens)), ("from the mean μ (M)", result["mean"])]
    rows += [(f"from a sample z ~ q(z|x) #{i + 1} (R)", s) for i, s in enumerate(result["samples"])]
    return pd.DataFrame(rows, columns=["source", "sentence"])


def homotopy_table(result: dict) -> pd.DataFrame:
    """One row per step of a homotopy: t, the decoded sentence, and whether it changed from the step before."""
    return pd.DataFrame({"t": [f"{t:.3f}" for t in result["t"]], "sentence": result["sentences"],
                         "changed": ["●" if c else "" for c in result["changed"]]})


# ------------------------------------------------------------------------------------------ explorer views
def reconstruction_rows_table(rows: list[dict]) -> pd.DataFrame:
    """Livne et al. 2020 Table 11 layout: label (D, M, R1.., P1..), decoded sentence, BLEU to the input."""
    return pd.DataFrame({"": [r["label"] for r in rows], "sentence": [r["sentence"] for r in rows],
                         "BLEU": [f"{r['bleu']:.1f}" for r in rows]})


def perturbation_figure(results: list[dict]) -> go.Figure:
    """BLEU to the input and the number of distinct decodes against k, for z ~ N(mu, (k sigma)^2)."""
    ks = [r["k"] for r in results]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Scatter(x=ks, y=[r["bleu"] for r in results], mode="lines+markers", name="mean BLEU to input"))
    fig.add_trace(go.Scatter(x=ks, y=[100 * r["exact"] for r in results], mode="lines+markers",
                             name="% identical to input", line=dict(dash="dot")))
    fig.add_trace(go.Bar(x=ks, y=[r["n_distinct"] for r in results], name="distinct decodes", opacity=0.3),
                  secondary_y=True)
    fig.update_xaxes(title_text="k (perturbation scale, in posterior σ)")
    fig.update_yaxes(title_text="BLEU / %", range=[0, 101], secondary_y=False)
    fig.update_yaxes(title_text="distinct decodes", secondary_y=True, rangemode="tozero", tickformat="d",
                     dtick=max(1, -(-max((r["n_distinct"] for r in results), default=1) // 5)))   # whole counts
    fig.update_layout(template=TEMPLATE, height=420, legend=dict(orientation="h", y=1.12))
    return fig


def perturbation_summary_table(results: list[dict]) -> pd.DataFrame:
    """One row per k: distinct decodes, mean BLEU to the input, share identical to it, the first sample."""
    return pd.DataFrame([{"k": f"{r['k']:g}", "distinct": r["n_distinct"], "mean BLEU": f"{r['bleu']:.1f}",
                          "identical to input": f"{100 * r['exact']:.0f}%", "first sample": r["sentences"][0]}
                         for r in results])


def perturbation_table(results: list[dict]) -> pd.DataFrame:
    rows = []
    for r in results:
        for i, s in enumerate(r["sentences"]):
            rows.append({"k": f"{r['k']:g}", "sample": i + 1, "sentence": s})
    return pd.DataFrame(rows)


# Above this many points the map's points carry no hover text (their line number instead): at 1M points the
# text was 25 of the figure's 41 MB of JSON. The selection table shows the sentences.
HOVER_MAX = 200_000
# Above this many points the map is drawn as an image of every point (its count, or its mean colour, per cell of
# DENSITY_GRID) under a random sample of DRAWN_SAMPLE points: a WebGL scatter of 1M points took 0.7-1.4 s a pan or
# zoom in a software-rendered browser, the image and sample about 0.1 s (`bench/map_render.py`, README). A box
# or lasso still selects among every point (`selected_rows`).
DENSITY_ABOVE = 200_000
DRAWN_SAMPLE = 50_000
DENSITY_GRID = (800, 500)             # cells across, cells up


def _density_image(coords, color) -> go.Heatmap:
    """Every point of a dense map binned on DENSITY_GRID: log(1 + count) per cell, or with a continuous
    `color` the mean of its points' values (on the figure's shared colour axis). Empty cells are transparent."""
    import numpy as np
    nx, ny = DENSITY_GRID
    lo, hi = coords.min(0), coords.max(0)
    size = np.where(hi > lo, (hi - lo) / (nx, ny), 1.0)
    col = np.minimum(((coords[:, 0] - lo[0]) / size[0]).astype(np.int64), nx - 1)
    row = np.minimum(((coords[:, 1] - lo[1]) / size[1]).astype(np.int64), ny - 1)
    cell = row * nx + col
    count = np.bincount(cell, minlength=nx * ny).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        if color is None:
            z, extra = np.log1p(count), dict(colorscale=[[0, "#e3e8ef"], [1, "#3b4a5e"]], showscale=False)
        else:
            z = np.bincount(cell, weights=np.asarray(color, dtype=np.float64), minlength=nx * ny) / count
            extra = dict(coloraxis="coloraxis")
    z[count == 0] = np.nan
    centres = [lo[k] + size[k] * (np.arange(n) + 0.5) for k, n in ((0, nx), (1, ny))]
    return go.Heatmap(z=z.reshape(ny, nx).astype(np.float32), x=centres[0], y=centres[1], hoverinfo="skip",
                      name="every point", zsmooth=False, opacity=0.45, **extra)


def projection_figure(coords, hover: list[str] | None, color=None, color_label: str = "",
                      overlays: list[dict] | None = None,
                      title: str = "", labels: list[dict] | None = None) -> go.Figure:
    """Scatter of a 2-D projection; hover shows the sentence. `color`: numbers (continuous) or labels
    (categorical). `overlays`: [{"name", "xy" (M, 2), "text" [M], "path": bool, "ring": bool}] drawn on top
    (typed sentences as stars, homotopy paths as lines with markers, rings around corpus points, "index" their
    0-based corpus rows: search matches, a selection). `labels`: [{"x", "y", "text"}] written on the map
    (cluster labels). Every text (sentences, names, labels, `title`) is drawn as text (`plotly_text`): it may
    come from a link, an upload or a corpus. A corpus point's customdata is its 1-based line, what a selection event returns.
    Above DENSITY_ABOVE points, every point is drawn as an image (`_density_image`) and a random sample of
    DRAWN_SAMPLE (fixed seed) as points on it; read a selection back with `selected_rows`."""
    import numpy as np
    coords = np.asarray(coords)
    fig = go.Figure()
    categorical = color is not None and len(color) and isinstance(color[0], str)
    dense = len(coords) > DENSITY_ABOVE
    drawn = (np.sort(np.random.default_rng(0).choice(len(coords), DRAWN_SAMPLE, replace=False)) if dense
             else np.arange(len(coords)))
    with_text = hover is not None and len(drawn) <= HOVER_MAX
    if dense:
        fig.add_trace(_density_image(coords, None if categorical else color))
        if color is not None and not categorical:
            fig.update_layout(coloraxis=dict(colorscale="Viridis", colorbar=dict(title=color_label)))

    def corpus_trace(idx, name: str, marker: dict) -> go.Scattergl:
        # typed arrays (base64 in the JSON), not lists: 49k-1M points travel to the browser. customdata is the
        # 1-based corpus line (what a selection returns, and the hover shows above HOVER_MAX)
        return go.Scattergl(x=coords[idx, 0].astype(np.float32), y=coords[idx, 1].astype(np.float32),
                            mode="markers", name=name, text=[plotly_text(hover[i]) for i in idx] if with_text else None,
                            customdata=(idx + 1).astype(np.int32), marker=marker,
                            hovertemplate="%{text}<extra></extra>" if with_text else "line %{customdata}<extra></extra>")
    # a dense map's sample is opaque over a faint image, so that zoomed past the image's cells its points stand
    # out (an outline did it too, but made the exported PDF draw 50,000 vector circles: 31 MB and a minute)
    size, opacity = (4, 0.9) if dense else (5, 0.5 if overlays else 0.7)
    if categorical:
        labels_of = np.asarray(color, dtype=object)
        for lab in sorted(set(color)):
            fig.add_trace(corpus_trace(drawn[labels_of[drawn] == lab], plotly_text(lab),
                                       dict(size=size, opacity=0.9 if dense else 0.7)))
    else:
        marker = dict(size=size, opacity=opacity, color="#9aa7b8")
        if color is not None:
            values = np.asarray(color, dtype=np.float32)[drawn]
            marker.update(dict(color=values, coloraxis="coloraxis") if dense else
                          dict(color=values, colorscale="Viridis", showscale=True, colorbar=dict(title=color_label)))
        fig.add_trace(corpus_trace(drawn, f"a sample of {len(drawn):,}" if dense else "corpus", marker))
    for i, ov in enumerate(overlays or []):
        xy = np.asarray(ov["xy"])
        colour = OVERLAY_COLOURS[i % len(OVERLAY_COLOURS)]
        ov = {**ov, "name": plotly_text(ov["name"]), "text": [plotly_text(t) for t in ov["text"]]}
        # every overlay is WebGL too: plotly draws its WebGL canvas over the SVG layer, so an SVG path or star
        # would lie hidden under the corpus points
        if ov.get("path"):       # a path: a line through its points, its start and end marked and labelled
            fig.add_trace(go.Scattergl(x=xy[:, 0], y=xy[:, 1], mode="lines+markers", name=ov["name"], text=ov["text"],
                                       hovertemplate="%{text}<extra></extra>", line=dict(width=2.5, color=colour),
                                       marker=dict(size=8, color=colour, line=dict(width=1, color="white"))))
            fig.add_trace(go.Scattergl(x=xy[[0, -1], 0], y=xy[[0, -1], 1], mode="markers+text", showlegend=False,
                                       text=["start", "end"], textposition="top center", hoverinfo="skip",
                                       textfont=dict(color=colour, size=13),
                                       marker=dict(size=15, color=colour, symbol=["circle", "square"],
                                                   line=dict(width=1.5, color="black"))))
        elif ov.get("ring"):     # corpus points to find again: open circles around them
            index = ov.get("index")
            fig.add_trace(go.Scattergl(x=xy[:, 0], y=xy[:, 1], mode="markers", name=ov["name"], text=ov["text"],
                                       customdata=None if index is None else [i + 1 for i in index],
                                       hovertemplate="%{text}<extra></extra>",
                                       marker=dict(size=10, color=colour, symbol="circle-open",   # an open
                                                   line=dict(width=2, color=colour))))             # symbol's stroke
        else:                    # typed sentences: large stars, numbered
            fig.add_trace(go.Scattergl(x=xy[:, 0], y=xy[:, 1], mode="markers+text", name=ov["name"],
                                       text=[str(j + 1) for j in range(len(xy))], textposition="top center",
                                       customdata=ov["text"], hovertemplate="%{customdata}<extra></extra>",
                                       textfont=dict(color=colour, size=13),
                                       marker=dict(size=16, color=colour, symbol="star",
                                                   line=dict(width=1.5, color="black"))))
    for lab in labels or []:
        fig.add_annotation(x=lab["x"], y=lab["y"], text=plotly_text(lab["text"]), showarrow=False,
                           font=dict(size=12, color="black"), bgcolor="rgba(255,255,255,0.75)")
    fig.update_layout(template=TEMPLATE, height=620, title=plotly_text(title) or None, dragmode="lasso",
                      xaxis=dict(showticklabels=False, title=""), yaxis=dict(showticklabels=False, title=""),
                      legend=dict(orientation="h", y=-0.05))
    # A few far outliers (UMAP puts some there) shrank the bulk of a map to a blot: open on the middle 99% of
    # the points; double-click (autoscale) shows them all.
    if len(coords) >= 100:
        lo, hi = np.percentile(coords, [0.5, 99.5], axis=0)
        span, full = hi - lo, coords.max(0) - coords.min(0)
        if np.all(span > 0) and np.any(full > 2 * span):
            fig.update_xaxes(range=[lo[0] - 0.08 * span[0], hi[0] + 0.08 * span[0]])
            fig.update_yaxes(range=[lo[1] - 0.08 * span[1], hi[1] + 0.08 * span[1]])
    return fig


def cluster_labels_on_map(clusters: dict) -> list[dict]:
    """`projection_figure`'s labels for `vae_core.clusters.labelled_clusters`: each cluster's words at its centre."""
    return [{"x": x, "y": y, "text": ", ".join(clusters["words"][c])}
            for c, (x, y) in clusters["centres"].items() if clusters["words"][c]]


def cluster_colour_labels(clusters: dict) -> list[str]:
    """One categorical colour label per point: "3: stocks, market, fell", or "unclustered"."""
    words = clusters["words"]
    return [f"{c}: {', '.join(words[c])}" if c >= 0 else "unclustered" for c in clusters["labels"].tolist()]


def _dicts(value) -> list[dict]:
    """The dicts of a list in a selection state (which the browser sends, so may be forged); [] otherwise."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def selected_rows(selection, coords) -> list[int]:
    """The 0-based corpus rows, sorted, of a selection on `projection_figure`: Streamlit's selection state
    ({"points": [...], "box": [{"x": [x0, x1], "y": [y0, y1]}], "lasso": [{"x": [...], "y": [...]}]}).
    A drawn corpus point carries its 1-based line as customdata; typed stars (text) and paths (none) are not
    rows. A map of more than DENSITY_ABOVE points draws only a sample as points, so there the boxes and lassos
    are tested against every point of `coords` (N, 2) instead (`vae_core.projection.points_in_polygon`).
    The browser sends the state, so anything malformed in it (a forged shape or point) selects nothing."""
    import numpy as np
    from vae_core.projection import points_in_polygon
    get = selection.get if isinstance(selection, dict) else (lambda key: None)
    n = len(coords)
    boxes, lassos = _dicts(get("box")), _dicts(get("lasso"))
    if n > DENSITY_ABOVE and (boxes or lassos):
        coords = np.asarray(coords)
        inside = np.zeros(n, dtype=bool)
        for box in boxes:
            xs, ys = box.get("x"), box.get("y")
            if not (isinstance(xs, list) and isinstance(ys, list) and len(xs) == len(ys) == 2
                    and all(isinstance(v, (int, float)) for v in xs + ys)):
                continue
            (x0, x1), (y0, y1) = sorted(xs), sorted(ys)
            inside |= (coords[:, 0] >= x0) & (coords[:, 0] <= x1) & (coords[:, 1] >= y0) & (coords[:, 1] <= y1)
        for lasso in lassos:
            try:
                inside |= points_in_polygon(coords, lasso.get("x"), lasso.get("y"))
            except ValueError:
                continue
        return np.flatnonzero(inside).tolist()
    rows = set()
    for p in _dicts(get("points")):
        cd = p.get("customdata")
        cd = cd[0] if isinstance(cd, list) and cd else cd
        if isinstance(cd, (int, float)) and not isinstance(cd, bool) and 1 <= cd <= n:
            rows.add(int(cd) - 1)
    return sorted(rows)


def selection_table(sentences: list[str], lengths, kls, picked: list[int], rows: list[dict] | None = None,
                    labels: list[str] | None = None) -> pd.DataFrame:
    """The sentences selected on a projection: corpus line, sentence, its label (split, cluster) where given,
    length in tokens, KL(q(z|x) || p(z)) in nats, and where `rows` (`vae_core.latent.reconstruct_many`, one
    for each of the first len(rows) picked sentences) are given, the reconstruction and the NLL bound in nats
    (empty for the picked sentences past them)."""
    out = []
    for j, i in enumerate(picked):
        row = {"line": i + 1, "sentence": sentences[i]}
        if labels is not None:
            row["label"] = labels[i]
        row |= {"length": int(lengths[i]), "KL": round(float(kls[i]), 2)}
        if rows is not None:
            done = j < len(rows)
            row |= {"reconstruction (greedy from μ)": rows[j]["reconstruction"] if done else None,
                    "NLL": round(rows[j]["nll"], 2) if done else None}
        out.append(row)
    return pd.DataFrame(out)


def neighbour_table(sentences: list[str], idx, dist, metric: str, logp=None) -> pd.DataFrame:
    """Nearest corpus sentences (`vae_core.neighbours`): rank, corpus line, sentence, distance, and log p(x|z)
    in nats where the model re-ranked them."""
    data = {"rank": list(range(1, len(idx) + 1)), "line": [int(i) + 1 for i in idx],
            "sentence": [sentences[int(i)] for i in idx]}
    if dist is not None:
        data[f"{metric} distance"] = [round(float(d), 4) for d in dist]
    if logp is not None:
        data["log p(x|z), nats"] = [round(float(v), 2) for v in logp]
    return pd.DataFrame(data)


def overlap_figure(matrix, title: str, xlabel: str, auroc: float, bins: int = 60) -> go.Figure:
    """Histograms (probability density) of the diagonal (i = j) and off-diagonal (i != j) entries of an
    N x N matrix, as in Livne et al. 2020, Fig. 3, with the AUROC separating them in the title."""
    import numpy as np
    m = np.asarray(matrix, dtype=np.float64)
    diag = np.diag(m)
    off = m[~np.eye(len(m), dtype=bool)]
    spread = np.ptp(np.concatenate([diag, off])) if m.size else 0.0
    if spread > 1e4:
        # sentenceMIM's tiny posterior variances put log q(z_i|x_j), i != j, at -1e5 nats while i = j sits near
        # +100: on a linear axis the i = j bars vanish into one pixel. A signed log scale keeps both visible.
        diag, off = np.sign(diag) * np.log10(1 + np.abs(diag)), np.sign(off) * np.log10(1 + np.abs(off))
        xlabel = f"sign · log10(1 + |{xlabel}|)"
    fig = go.Figure()
    fig.add_trace(go.Histogram(x=off, name="i ≠ j", histnorm="probability density", nbinsx=bins, opacity=0.6))
    fig.add_trace(go.Histogram(x=diag, name="i = j", histnorm="probability density", nbinsx=bins, opacity=0.6))
    # the AUROC inside the axes, not in the title: an exported figure drops its title (app.export)
    fig.add_annotation(text=f"AUROC {auroc:.3f}", xref="x domain", yref="y domain", x=0.02, y=0.98, showarrow=False,
                       xanchor="left", yanchor="top", font=dict(size=12))
    fig.update_layout(template=TEMPLATE, barmode="overlay", height=400, xaxis_title=xlabel, yaxis_title="density",
                      title=title, legend=dict(orientation="h", y=1.1))
    return fig


def overlap_compare_figure(panels: list[dict], xlabel: str) -> go.Figure:
    """Overlap histograms of several models side by side (Livne et al. 2020, Fig. 3), each panel with its own
    axes (sentenceMIM's log q(z_i|x_i) spike would flatten a VAE panel on a shared density axis).

    panels: [{"name": model name, "matrix": (N, N) values, "auroc": float}], one column each.
    """
    # wide gaps: at one column the second panel's density ticks ran into the first panel
    fig = make_subplots(rows=1, cols=len(panels), horizontal_spacing=0.16,
                        subplot_titles=[f"{plotly_text(p['name'])}<br>AUROC {p['auroc']:.2f}" for p in panels])
    for c, p in enumerate(panels, start=1):
        single = overlap_figure(p["matrix"], p["name"], xlabel, p["auroc"])
        for tr in single.data:
            tr.update(legendgroup=tr.name, showlegend=c == 1,
                      marker=dict(color="#4C78A8" if tr.name == "i ≠ j" else "#F58518"))
            fig.add_trace(tr, row=1, col=c)
        fig.update_xaxes(title_text=single.layout.xaxis.title.text, row=1, col=c)
    fig.update_yaxes(title_text="density", row=1, col=1)
    fig.update_layout(template=TEMPLATE, barmode="overlay", height=430, margin=dict(t=50, b=100),
                      legend=dict(orientation="h", y=-0.3, x=0.5, xanchor="center"))
    return fig


def spectrum_figure(singular_values: list[float], active_units: int | None = None, effective: int | None = None,
                    title: str = "Jacobian singular values") -> go.Figure:
    """log10 singular values of a Jacobian against their rank (Krishnan et al. 2018's spectrum plot)."""
    import math
    fig = go.Figure(go.Scatter(x=list(range(1, len(singular_values) + 1)),
                               y=[math.log10(max(s, 1e-30)) for s in singular_values], mode="lines+markers"))
    if effective:
        fig.add_vline(x=effective + 0.5, line=dict(dash="dot", color="gray"),
                      annotation_text=f"{effective} above threshold", annotation_position="top right")
    sub = f" · active units {active_units}" if active_units is not None else ""
    fig.update_layout(template=TEMPLATE, height=380, title=title + sub, xaxis_title="rank",
                      yaxis_title="log₁₀ singular value")
    return fig


def neighbours_table(expected: list[tuple[str, float]], contextual: list[tuple[str, float]] | None = None) -> pd.DataFrame:
    data = {"expected J: word": [w for w, _ in expected], "cosine": [f"{c:.3f}" for _, c in expected]}
    if contextual is not None:
        n = len(expected)
        ctx = contextual + [("", float("nan"))] * (n - len(contextual))
        data["contextual J: word"] = [w for w, _ in ctx[:n]]
        data["cosine "] = [f"{c:.3f}" if c == c else "" for _, c in ctx[:n]]
    return pd.DataFrame(data)


def prior_samples_table(samples: list[dict]) -> pd.DataFrame:
    return pd.DataFrame({"sentence": [s["sentence"] for s in samples],
                         "log p(z)": ["" if s["log_prior"] is None else f"{s['log_prior']:.1f}" for s in samples]})


def training_curves_figure(history: dict) -> go.Figure:
    """Reconstruction and KL (nats per sentence) against step, with the KL weight (Bowman et al. 2016, Fig. 2),
    plus validation NLL / KL per epoch."""
    steps = history.get("steps", [])
    epochs = history.get("epochs", [])
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    if steps:
        x = [s["step"] for s in steps]
        fig.add_trace(go.Scatter(x=x, y=[s["rec"] for s in steps], name="train rec."))
        fig.add_trace(go.Scatter(x=x, y=[s["kl"] for s in steps], name="train KL"))
        fig.add_trace(go.Scatter(x=x, y=[s["kl_weight"] for s in steps], name="KL weight β",
                                 line=dict(dash="dot", color="gray")), secondary_y=True)
    if epochs:
        x = [e["step"] for e in epochs]
        fig.add_trace(go.Scatter(x=x, y=[e.get("val_rec") for e in epochs], mode="markers+lines",
                                 name="valid rec.", marker=dict(symbol="diamond", size=9)))
        fig.add_trace(go.Scatter(x=x, y=[e.get("val_kl") for e in epochs], mode="markers+lines", name="valid KL",
                                 marker=dict(symbol="diamond", size=9)))
    fig.update_xaxes(title_text="step")
    # 1 2 5 10 20 50 ... written out in full (plotly's dtick="D2" prints the 2 and 5 as small bare digits)
    nice = [m * 10 ** e for e in range(-2, 4) for m in (1, 2, 5)]
    fig.update_yaxes(title_text="nats per sentence", type="log", tickmode="array", tickvals=nice,
                     ticktext=[f"{v:g}" for v in nice], secondary_y=False)
    fig.update_yaxes(title_text="KL weight β", range=[0, 1.1], tickvals=[0, 0.25, 0.5, 0.75, 1.0],
                     showgrid=False, secondary_y=True)
    fig.update_layout(template=TEMPLATE, height=460, legend=dict(orientation="h", y=1.15))
    return fig


# ------------------------------------------------------------------------------------------ downstream uses
# Where Streamlit's Markdown would replace text even through backslash escapes: the typographic pairs
# "-- -> <- >= <= ~=" (shown as — → ← ≥ ≤ ≈) and a colon that opens ":+1:", ":material/home:" or ":streamlit:".
_REPLACED_PAIR = re.compile(r"(?<=-)(?=[->])|(?<=<)(?=[-=])|(?<=[>~])(?==)|(?<=:)")


def escape_markdown(text: str) -> str:
    """`text` shown literally by Streamlit's Markdown: every Markdown character backslash-escapes (`___` would
    become a rule, `_a_` italics, `<unk>` a tag), and an invisible WORD JOINER (U+2060) goes inside each pair
    that Streamlit would replace even when escaped, so "--" stays "--" and ":material/home:" is no icon (seen in
    Chromium). Not for code spans, which show backslashes as they are. Linear in len(text)."""
    return re.sub(r"([\\`*_{}\[\]()#+!|<>~$:-])", r"\\\1", _REPLACED_PAIR.sub("\u2060", text))


def markdown_cells(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of `df` for `st.table`, which reads every cell as Markdown (in Chromium a cell "[a](https://…)"
    became a live link, "--" an em dash): text cells and index labels through `escape_markdown`. Exports use
    the original."""
    def esc(v):
        return escape_markdown(v) if isinstance(v, str) else v
    out = df.map(esc)
    out.index = out.index.map(esc)
    return out


def highlight_fill(sentence: str, unknown: list[int]) -> str:
    """Markdown of a filled sentence with the imputed words in bold (every word shown literally)."""
    words = [escape_markdown(w) for w in sentence.split()]
    return " ".join(f"**{w}**" if i in unknown else w for i, w in enumerate(words))


def imputation_table(result: dict) -> pd.DataFrame:
    """One row per ICM step of `vae_core.downstream.impute`: the fill, log p(x|z) in nats, whether it changed."""
    return pd.DataFrame({"step": [h["step"] for h in result["steps"]],
                         "sentence": [h["sentence"] for h in result["steps"]],
                         "imputed words": [" / ".join(h["filled"]) for h in result["steps"]],
                         "log p(x|z) (nats)": [f"{h['log_p']:.2f}" for h in result["steps"]],
                         "changed": ["●" if h["changed"] else "" for h in result["steps"]]})


def ranking_table(ranked: list[dict]) -> pd.DataFrame:
    """`vae_core.downstream.rank_candidates` as a table: rank, candidate, score, unknown words."""
    return pd.DataFrame({"rank": [r["rank"] for r in ranked], "candidate": [r["candidate"] for r in ranked],
                         "score ‖(z_unk − z_k)/σ_unk‖": [f"{r['score']:.3f}" for r in ranked],
                         "unknown words": [r["unknown_words"] for r in ranked]})


def arithmetic_table(result: dict) -> pd.DataFrame:
    """`vae_core.downstream.apply_direction` as a table: strength s, decoded sentence, whether it changed."""
    sents = result["sentences"]
    return pd.DataFrame({"s": [f"{s:.2f}" for s in result["strengths"]], "sentence": sents,
                         "changed": [""] + ["●" if a != b else "" for a, b in zip(sents, sents[1:])]})


# ------------------------------------------------------------------------------------------ traversal, collapse
def traversal_table(result: dict, kl: list[float] | None = None) -> pd.DataFrame:
    """`vae_core.latent.traverse` as a grid: one row per dimension (with its mean KL in nats when given),
    one column per offset in aggregate-posterior standard deviations."""
    cols = [f"{o:+.1f}σ" for o in result["offsets"]]
    index = [f"z{d}" + (f" (KL {kl[d]:.2f})" if kl is not None else "") for d in result["dims"]]
    return pd.DataFrame(result["sentences"], index=pd.Index(index, name="dimension"), columns=cols)


def traversal_sweep_table(result: dict, row: int = 0) -> pd.DataFrame:
    """One dimension's sweep of `vae_core.latent.traverse`: offset, z_d, the decoded sentence, and how many
    words changed from the unswept code's decode (a sentence's reconstruction)."""
    return pd.DataFrame({"offset": [f"{o:+.1f}σ" for o in result["offsets"]],
                         f"z{result['dims'][row]}": [f"{float(v):.2f}" for v in result["values"][row]],
                         "sentence": result["sentences"][row], "words changed": result["changes"][row]})


def traversal_figure(result: dict) -> go.Figure:
    """Heatmap of how far each decode of a traversal moves from the unswept code's decode (word edit distance),
    dimensions by offsets; hover shows the sentence."""
    fig = go.Figure(go.Heatmap(z=result["changes"], x=[f"{o:+.3g}" for o in result["offsets"]],
                               y=[f"z{d}" for d in result["dims"]],
                               text=[[plotly_text(s) for s in row] for row in result["sentences"]],
                               hovertemplate="%{y} at %{x}: %{text}<extra>%{z} words changed</extra>",
                               colorscale="Blues", colorbar=dict(title="words<br>changed")))
    fig.update_layout(template=TEMPLATE, height=110 + 36 * len(result["dims"]), margin=dict(t=20, b=60),
                      xaxis_title="offset of z_d, in σ of the aggregate posterior", yaxis_title="latent dimension",
                      yaxis=dict(autorange="reversed", type="category"), xaxis=dict(type="category"))
    return fig


def kl_history_figure(history: dict) -> go.Figure | None:
    """KL per latent dimension on the validation split at each epoch (heatmap, nats), and the active units
    (line, right axis): which dimensions carry information, and since when. None when the history has no
    per-dimension KL (checkpoints trained before it was recorded)."""
    epochs = [e for e in history.get("epochs", []) if "val_kl_per_dim" in e]
    if not epochs:
        return None
    x = [e["epoch"] + (0.5 if e.get("partial") else 0) for e in epochs]
    z = list(map(list, zip(*[e["val_kl_per_dim"] for e in epochs])))          # (n, epochs)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.06)
    fig.add_trace(go.Heatmap(z=z, x=x, y=list(range(len(z))), colorscale="Viridis", name="KL",
                             colorbar=dict(title="KL (nats)", len=0.7, y=0.65),
                             hovertemplate="epoch %{x}, z%{y}: KL %{z:.3f} nats<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=[e.get("val_active_units") for e in epochs], mode="lines+markers",
                             name="active units"), row=2, col=1)
    fig.update_yaxes(title_text="latent dimension", row=1, col=1)
    fig.update_yaxes(title_text="active units", rangemode="tozero", row=2, col=1)
    fig.update_xaxes(title_text="epoch", row=2, col=1)
    fig.update_layout(template=TEMPLATE, height=520, showlegend=False)
    return fig


def active_units_history_figure(history: dict) -> go.Figure:
    """Validation KL (nats per sentence) and active units at each epoch, for any checkpoint's history."""
    epochs = history.get("epochs", [])
    x = [e["epoch"] for e in epochs]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Scatter(x=x, y=[e.get("val_kl") for e in epochs], mode="lines+markers", name="valid KL"))
    fig.add_trace(go.Scatter(x=x, y=[e.get("val_active_units") for e in epochs], mode="lines+markers",
                             name="active units", line=dict(dash="dot")), secondary_y=True)
    fig.update_xaxes(title_text="epoch")
    au = max([e.get("val_active_units") or 0 for e in epochs] or [1])
    fig.update_yaxes(title_text="KL (nats per sentence)", rangemode="tozero", secondary_y=False)
    fig.update_yaxes(title_text="active units", rangemode="tozero", secondary_y=True, showgrid=False,
                     tickformat="d", dtick=_nice_step(au), range=[0, au * 1.05 + 0.5])
    fig.update_layout(template=TEMPLATE, height=360, legend=dict(orientation="h", y=1.15))
    return fig


def _nice_step(top: float, ticks: int = 4) -> float:
    """A round tick step (1, 2 or 5 times a power of ten) giving about `ticks` ticks up to `top`."""
    import math
    raw = max(top, 1e-9) / ticks
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)


def decoder_use_figure(uses: dict) -> go.Figure:
    """-log p(x|z) (nats per sentence) with z from the sentence's own posterior, another sentence's and the
    prior (`vae_core.diagnostics.decoder_uses_z`)."""
    names = ["own code<br>q(z|x_i)", "another's code<br>q(z|x_j)", "prior<br>p(z)"]
    vals = [uses["own"], uses["other"], uses["prior"]]
    fig = go.Figure(go.Bar(x=names, y=vals, text=[f"{v:.1f}" for v in vals], textposition="outside",
                           marker_color=["#4C78A8", "#F58518", "#9D755D"]))
    fig.update_layout(template=TEMPLATE, height=360, yaxis_title="−log p(x | z), nats per sentence",
                      yaxis=dict(rangemode="tozero"), title=f"{uses['n']} sentences")
    return fig


def kl_per_dimension_figure(kl: list[float], threshold: float | None = None) -> go.Figure:
    """Mean KL(q(z_d|x) || N(0,1)) over a corpus, per dimension (nats), sorted as given."""
    fig = go.Figure(go.Bar(x=list(range(len(kl))), y=kl, hovertemplate="z%{x}: %{y:.3f} nats<extra></extra>"))
    if threshold is not None:
        fig.add_hline(y=threshold, line=dict(dash="dot", color="gray"))
    fig.update_layout(template=TEMPLATE, height=320, xaxis_title="latent dimension", yaxis_title="mean KL (nats)")
    return fig


def unit_histogram_figure(values, dim: int, bins: int = 60) -> go.Figure:
    """Histogram (counts) of one latent unit's posterior mean E_q[z_d|x] over a corpus (`vae_core.units`)."""
    fig = go.Figure(go.Histogram(x=list(map(float, values)), nbinsx=bins, name=f"z{dim}",
                                 hovertemplate="%{x}: %{y} sentences<extra></extra>"))
    fig.update_layout(template=TEMPLATE, height=300, xaxis_title=f"E_q[z{dim}|x]", yaxis_title="sentences",
                      bargap=0.02, margin=dict(l=60, r=20, t=30, b=40))
    return fig


def unit_extremes_table(rows: list[tuple[int, str, float]], dim: int) -> pd.DataFrame:
    """`vae_core.units.unit_summary`'s "top" or "bottom" rows: corpus line, sentence and its E_q[z_d|x]."""
    return pd.DataFrame({"line": [i + 1 for i, _, _ in rows], "sentence": [s for _, s, _ in rows],
                         f"z{dim}": [round(v, 3) for _, _, v in rows]})


def unit_words_table(words: list[tuple[str, float]], dim: int) -> pd.DataFrame:
    """`vae_core.units.aligned_words`: each word and the cosine of its Jacobian row with e_d."""
    return pd.DataFrame({"word": [w for w, _ in words], f"cos(J_w, e{dim})": [round(c, 3) for _, c in words]})


def sample_quality_table(q: dict) -> pd.DataFrame:
    """`vae_core.diagnostics.sample_quality` as a one-row table."""
    return pd.DataFrame([{"samples": q["n"], "Self-BLEU-4": f"{q['self_bleu']:.1f}", "Self-BLEU-3": f"{q['self_bleu_3']:.1f}",
                          "distinct-1": f"{q['distinct_1']:.3f}",
                          "distinct-2": f"{q['distinct_2']:.3f}", "unique": f"{100 * q['unique']:.0f}%",
                          "copies of training sentences": "–" if q["copied"] is None else f"{100 * q['copied']:.1f}%"}])


def evaluation_table(res: dict) -> pd.DataFrame:
    """The headline numbers of an evaluation JSON (`vae_core.evaluate.evaluation_record`), with their units."""
    rows = [("NLL (negative ELBO)", "nll", "nats/sentence"), ("reconstruction −E[log p(x|z)]", "rec", "nats/sentence"),
            ("KL", "kl", "nats/sentence"), ("IW-NLL", "iw_nll", "nats/sentence"), ("PPL", "ppl", "<eos> counted"),
            ("IW-PPL", "iw_ppl", "<eos> counted"), ("MELBO", "melbo", "nats/sentence, no <eos>"),
            ("BLEU-1", "bleu1", "Livne et al.'s code's convention"), ("BLEU-1, words only", "bleu1_clean", "0-1"), ("active units", "active_units", "of the latent dimensions"),
            ("mutual information (per batch)", "mutual_info_batch", "nats, He et al.'s code"),
            ("mutual information (whole corpus)", "mutual_info", "nats")]
    return pd.DataFrame([{"quantity": name, "value": "–" if res.get(k) is None else
                          (f"{res[k]:.3f}" if isinstance(res[k], float) else str(res[k])), "unit": unit}
                         for name, k, unit in rows])


# ------------------------------------------------------------------------------------------ methods
def rate_distortion_points(results: dict, zoo: dict, evaluated: list[dict] | None = None,
                           kinds: tuple[str, ...] = ("lm", "vae", "vae-avg", "mi-vae")) -> list[dict]:
    """The points of the rate-distortion plane (Alemi et al. 2018): one a model, rate = KL and distortion =
    reconstruction -E_q[log p(x|z)] in nats per sentence on PTB test, with the active units and the mutual
    information (He et al.'s per-batch figure).

    results: docs/results.json (each run's main evaluation, its paper's figures); zoo: checkpoints/zoo.json
    (a run with a committed checkpoint is marked so, to be opened); evaluated: evaluation JSONs made in the
    app (`vae_core.evaluate.evaluation_record`). A paper point comes with a run whose paper gives both NLL
    and KL (distortion = NLL - KL). Only models of `kinds` (sentenceMIM's KL runs to hundreds of nats; the
    bag-of-words model's likelihood is of another kind). Each point: name, source ("ours" / "paper" /
    "evaluated here"), kind, rate, distortion, nll, active_units, mutual_info, checkpoint (or None), label.
    """
    points = []
    for name, r in results.items():
        kind, e = r.get("model", {}).get("model"), r["evals"][0]
        if kind not in kinds:
            continue
        ckpt = f"checkpoints/{name}" if name in zoo else None
        points.append({"name": name, "source": "ours", "kind": kind, "rate": e["kl"], "distortion": e["rec"],
                       "nll": e["nll"], "active_units": e.get("active_units"),
                       "mutual_info": e.get("mutual_info_batch"), "checkpoint": ckpt, "label": name})
        p = r.get("paper", {})
        if "nll" in p and ("kl" in p or kind == "lm"):
            kl = p.get("kl", 0.0)
            points.append({"name": name, "source": "paper", "kind": kind, "rate": kl, "distortion": p["nll"] - kl,
                           "nll": p["nll"], "active_units": None, "mutual_info": None, "checkpoint": None,
                           "label": f"{name}: {p.get('source', 'paper')}"})
    for e in evaluated or []:
        if e.get("model") in kinds and e.get("kl") is not None:
            points.append({"name": e["checkpoint"], "source": "evaluated here", "kind": e["model"], "rate": e["kl"],
                           "distortion": e["rec"], "nll": e["nll"], "active_units": e.get("active_units"),
                           "mutual_info": e.get("mutual_info_batch"), "checkpoint": e["checkpoint"],
                           "label": f"{e['checkpoint']} on {e.get('split')} ({e.get('n_sentences')} sentences)"})
    return points


def rate_distortion_figure(points: list[dict], colour: str = "active_units") -> go.Figure:
    """KL (rate) against reconstruction (distortion), nats per sentence, with dotted lines of equal -ELBO
    (rate + distortion = NLL bound, every 5 nats), our models coloured by `colour` ("active_units" or
    "mutual_info"), each paper's figure as an open marker joined to ours (Alemi et al. 2018, Fig. 1). Points
    that can be opened (committed checkpoints, models evaluated in the app) carry their name on the figure,
    the others in their hover text, so the figure stays legible at one column."""
    ours = [p for p in points if p["source"] != "paper"]
    papers = [p for p in points if p["source"] == "paper"]
    fig = go.Figure()
    if points:
        lo = min(p["nll"] for p in points)
        hi = max(p["nll"] for p in points)
        r_max = max(p["rate"] for p in points) * 1.05 + 0.5
        levels = range(int(lo // 5) * 5, int(hi // 5) * 5 + 10, 5)
        for i, level in enumerate(levels):       # one legend entry for all; each line's level on hover
            fig.add_trace(go.Scatter(x=[0, r_max], y=[level, level - r_max], mode="lines", showlegend=i == 0,
                                     line=dict(color="#bbbbbb", width=1, dash="dot"), legendgroup="elbo",
                                     name="equal −ELBO, 5 nats apart",
                                     hovertemplate=f"−ELBO {level} nats<extra></extra>"))
    by_name = {p["name"]: p for p in ours if p["source"] == "ours"}
    for p in papers:
        if p["name"] in by_name:
            q = by_name[p["name"]]
            fig.add_trace(go.Scatter(x=[p["rate"], q["rate"]], y=[p["distortion"], q["distortion"]], mode="lines",
                                     showlegend=False, line=dict(color="#999999", width=1), hoverinfo="skip"))
    if papers:
        fig.add_trace(go.Scatter(x=[p["rate"] for p in papers], y=[p["distortion"] for p in papers], mode="markers",
                                 name="paper", text=[plotly_text(p["label"]) for p in papers],
                                 marker=dict(symbol="circle-open", size=10, color="#555555"),
                                 hovertemplate="%{text}<br>KL %{x:.2f}, reconstruction %{y:.2f}<extra></extra>"))
    if ours:
        values = [p[colour] if p[colour] is not None else float("nan") for p in ours]
        fig.add_trace(go.Scatter(
            x=[p["rate"] for p in ours], y=[p["distortion"] for p in ours], mode="markers+text", name="ours",
            text=[plotly_text(p["name"]) if p["checkpoint"] else "" for p in ours], textposition="top right",
            textfont=dict(size=9),     # customdata: the hover's label (drawn), then data a selection returns
            customdata=[[plotly_text(p["label"]), p["nll"], p[colour], p["checkpoint"] or "", p["name"]] for p in ours],
            marker=dict(size=11, color=values, colorscale="Viridis", showscale=True,
                        symbol=["diamond" if p["source"] == "evaluated here" else "circle" for p in ours],
                        colorbar=dict(title="AU" if colour == "active_units" else "MI (nats)")),
            hovertemplate="%{customdata[0]}<br>KL %{x:.2f}, reconstruction %{y:.2f}, -ELBO %{customdata[1]:.2f}"
                          "<br>" + ("AU" if colour == "active_units" else "MI") + " %{customdata[2]}<extra></extra>"))
    fig.update_layout(template=TEMPLATE, height=560, xaxis_title="rate: KL(q(z|x) || p(z)), nats per sentence",
                      yaxis_title="distortion: −E_q log p(x|z), nats per sentence",
                      legend=dict(orientation="h", y=1.02, x=1, xanchor="right"),
                      margin=dict(l=70, r=20, t=40, b=60))    # plotly's default t=100 left a band above the plane
    fig.update_xaxes(rangemode="tozero")
    return fig


def selected_checkpoints(selection, openable) -> list[str]:
    """The checkpoints of the points selected on `rate_distortion_figure` (a plotly selection event's
    `selection`: its points' customdata[3]), each once in the order selected, only names in `openable` (what
    `app.common.find_checkpoints` lists). The event comes from the client, so any other shape of it, or of a
    point, counts as no checkpoint; papers' rows (customdata[3] None) are skipped. Linear in the points."""
    points = selection.get("points") if isinstance(selection, dict) else None
    allowed, chosen = set(openable), {}
    for p in points if isinstance(points, list) else []:
        data = p.get("customdata") if isinstance(p, dict) else None
        name = data[3] if isinstance(data, list) and len(data) > 3 else None
        if isinstance(name, str) and name in allowed:
            chosen[name] = None
    return list(chosen)


def rate_distortion_table(points: list[dict]) -> pd.DataFrame:
    """The plane's points as a table (ours and the papers'), one row a point."""
    return pd.DataFrame([{"model": p["name"], "source": p["source"], "kind": p["kind"], "KL (rate)": round(p["rate"], 2),
                          "reconstruction (distortion)": round(p["distortion"], 2), "−ELBO": round(p["nll"], 2),
                          "AU": p["active_units"], "MI": None if p["mutual_info"] is None else round(p["mutual_info"], 2),
                          "checkpoint": p["checkpoint"] or ""} for p in points])
