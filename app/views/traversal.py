"""Latent traversal: sweep one coordinate z_d over the aggregate posterior's ±3σ, the others held at a
sentence's posterior mean or at 0, and decode each point; a grid over the most active dimensions."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # repo root, so the page also runs on its own

import streamlit as st

from app import figures
from app.common import (DEFAULT_SENTENCE, aggregate_stats, analysis_page, corpus_section, note_posterior_family,
                        open_unit_page, show_figure, show_notices, show_problem, show_table, side_by_side,
                        suggest_fluent_model)
from app.state import persist
from vae_core.data import TextError
from vae_core.latent import traverse, units_by_activity

models = analysis_page("Latent traversal")
note_posterior_family(models, "traversal")
ck = models[0]
st.caption("Each row sweeps one latent coordinate z_d by −3σ to +3σ of the aggregate posterior q(z) (its standard "
           "deviation over the corpus below) around the sentence's own μ_d, the other coordinates held at its μ, "
           "and decodes every point greedily: the +0σ row is the sentence's reconstruction, and \"words changed\" "
           "counts from it. With the other coordinates at 0 the sweep is around the corpus average. Dimensions "
           "are ordered by their mean KL on the corpus: the most active first.")
suggest_fluent_model("traversal", models)
corpus = corpus_section("trav", ck, "Corpus for the aggregate posterior", default_limit=1000, allow_labels=False)
c1, c2 = st.columns([3, 1])
persist("trav_base", "a sentence's μ", ["a sentence's μ", "0"])
base = c2.radio("Other coordinates at", ["a sentence's μ", "0"], key="trav_base")
persist("sentence", DEFAULT_SENTENCE)
text = c1.text_input("Sentence", key="sentence", disabled=base == "0")
c1, c2, c3 = st.columns(3)
persist("trav_rows", 6, bounds=(1, 16))
rows = c1.slider("Dimensions in the grid (most active first)", 1, 16, key="trav_rows")
persist("trav_steps", 7, bounds=(3, 13))
steps = c2.slider("Points per sweep", 3, 13, step=2, key="trav_steps")
persist("trav_span", 3.0, bounds=(0.5, 5.0))
span = c3.slider("Span (± aggregate-posterior σ)", 0.5, 5.0, step=0.5, key="trav_span")

for m, box, key in side_by_side(models):
    with box:
        stats = aggregate_stats(m, corpus)
        order = units_by_activity(stats)
        options = [f"z{d}" for d in order]
        persist(f"{key}trav_dim", options[0], options)
        first = st.selectbox("Dimension to sweep first", options, key=f"{key}trav_dim",
                             help="Default: the most active dimension by mean KL on the corpus (a vMF "
                                  "model: by the aggregate posterior's standard deviation)")
        d0 = int(first[1:])
        dims = [d0] + [d for d in order if d != d0][: rows - 1]
        try:
            with st.spinner(f"Decoding {len(dims) * steps} codes…"):
                res = traverse(m.model, m.vocab, stats, dims, None if base == "0" else text, steps, span)
        except TextError as e:
            show_problem("Nothing to traverse from", e)
            continue
        if res["input"] is not None:
            show_notices([res["input"]])
        st.markdown(f"**Sweep of z{d0}**" + (f" (mean KL {float(stats['kl'][d0]):.2f} nats)" if stats["kl"] is not None
                                             else f" (aggregate σ {float(stats['std'][d0]):.3f})"))
        show_table(figures.traversal_sweep_table(res, 0), f"Traversal of z{d0}", f"{key}trav_sweep", hide_index=True)
        open_unit_page(m, d0, f"{key}trav_unit")
        st.markdown(f"**The {len(dims)} dimensions:** how many words change along each sweep (hover for the sentence)")
        show_figure(figures.traversal_figure(res), "Latent traversal", f"{key}trav_fig")
        with st.expander("Every decode of the grid"):
            show_table(figures.traversal_table(res, stats["kl"]), "Latent traversal grid", f"{key}trav_table",
                       dataframe=True, width="stretch")
