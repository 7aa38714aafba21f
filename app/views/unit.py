"""A latent unit's page: its KL and whether it is active, the histogram of its posterior mean over a corpus,
the sentences at either end, its traversal, and the words whose Jacobian rows point along it."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # repo root, so the page also runs on its own

import streamlit as st

from app import figures
from app.common import (aggregate_stats, analysis_page, corpus_section, expected_jacobian_for, posterior_means,
                        note_posterior_family, show_figure, show_problem, show_table, side_by_side)
from app.state import persist
from vae_core.latent import traverse
from vae_core.units import aligned_words, unit_summary

models = analysis_page("Latent unit")
note_posterior_family(models, "traversal")
ck = models[0]
st.caption("One dimension d of z over a corpus: its mean KL, whether it is active (Cov_x(E_q[z_d]) > 0.01, Burda et "
           "al. 2016), the histogram of E_q[z_d|x], the sentences where it is highest and lowest, its traversal "
           "(z_d swept over the aggregate posterior's ±3σ, the other coordinates at 0, the prior's mean) and the "
           "words whose Jacobian rows point along it.")
corpus = corpus_section("unit", ck, default_limit=3761, allow_labels=False)
n = ck.model.latent_dim
options = [f"z{d}" for d in range(n)]
persist("unit_dim", "z0", options)
c1, c2 = st.columns([1, 2])
choice = c1.selectbox("Latent unit", options, key="unit_dim")
d = int(choice[1:])
persist("unit_jac", False)
with_jac = c2.toggle("Words along it (Jacobian over 16 prior samples; tens of seconds the first time a model "
                     "is asked)", key="unit_jac")

for m, box, key in side_by_side(models):
    with box:
        if d >= m.model.latent_dim:
            show_problem("No such unit", f"{m.model.latent_dim} latent dimensions; z{d} is not one of them")
            continue
        stats = aggregate_stats(m, corpus)
        means = posterior_means(m, corpus["sentences"])
        kl = stats["kl"].numpy() if stats["kl"] is not None else None
        s = unit_summary(means, corpus["sentences"], d, kl)
        c = st.columns(3)
        c[0].metric("mean KL, nats", "–" if s["kl"] is None else f"{s['kl']:.3f}")
        c[1].metric("active", "yes" if s["active"] else "no")
        c[2].metric("Var over the corpus of E_q[z_d|x]", f"{s['variance']:.4f}")
        show_figure(figures.unit_histogram_figure(s["values"], d), f"Histogram of z{d}", f"{key}unit_hist")
        st.markdown(f"**The {len(s['top'])} sentences of highest E_q[z{d}|x]**")
        show_table(figures.unit_extremes_table(s["top"], d), f"z{d} highest", f"{key}unit_top", hide_index=True)
        st.markdown(f"**The {len(s['bottom'])} of lowest**")
        show_table(figures.unit_extremes_table(s["bottom"], d), f"z{d} lowest", f"{key}unit_bottom", hide_index=True)
        st.subheader("Traversal")
        res = traverse(m.model, m.vocab, stats, [d], None, 7, 3.0)
        show_table(figures.traversal_sweep_table(res, 0), f"Traversal of z{d}", f"{key}unit_trav", hide_index=True)
        if with_jac:
            st.subheader("Words along it")
            J = expected_jacobian_for(m, 16, 0)
            show_table(figures.unit_words_table(aligned_words(J, m.vocab, d), d), f"Words along z{d}",
                       f"{key}unit_words", hide_index=True)
