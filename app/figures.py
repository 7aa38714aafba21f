"""Plotly figures and tables for the app and the notebooks (one place, so both show the same thing).

Functions take plain lists/dicts (as returned by vae_core), never tensors, and return plotly Figures or
pandas DataFrames. No tensor maths here.
"""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

TEMPLATE = "plotly_white"


def posterior_figure(per_dim: dict[str, list], title: str = "") -> go.Figure:
    """mu ± sigma per latent dimension (top) and KL(q(z_d|x) || N(0,1)) per dimension in nats (bottom).

    per_dim: {"dimension", "mu", "sigma", "kl"} lists, as from `vae_core.latent.Posterior.per_dimension`.
    """
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=("posterior mean μ ± σ", "KL per dimension (nats)"))
    fig.add_trace(go.Scatter(x=per_dim["dimension"], y=per_dim["mu"], mode="markers", name="μ",
                             error_y=dict(type="data", array=per_dim["sigma"], visible=True),
                             hovertemplate="z%{x}: μ=%{y:.3f}<extra></extra>"), row=1, col=1)
    fig.add_hline(y=0, line=dict(color="gray", width=1, dash="dot"), row=1, col=1)
    fig.add_trace(go.Bar(x=per_dim["dimension"], y=per_dim["kl"], name="KL",
                         hovertemplate="z%{x}: KL=%{y:.3f} nats<extra></extra>"), row=2, col=1)
    fig.update_xaxes(title_text="latent dimension", row=2, col=1, dtick=1 if len(per_dim["dimension"]) <= 40 else None)
    fig.update_layout(template=TEMPLATE, height=520, showlegend=False, title=title or None,
                      margin=dict(l=40, r=20, t=60 if title else 40, b=40))
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
