"""Perturb a posterior at k·σ: decode z ~ N(μ, (kσ)²) for k from 0 to 20 and see when the sentence changes."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # repo root, so the page also runs on its own

import streamlit as st

from app import figures
from app.common import (DEFAULT_SENTENCE, analysis_page, note_posterior_family, note_tuple_codes, show_figure,
                        show_notices, show_problem, show_table, side_by_side, suggest_fluent_model)
from app.state import persist
from vae_core.analysis import perturb
from vae_core.data import TextError, encode_text

models = analysis_page("Perturb at k·σ")
st.caption("For each k, N codes z ~ N(μ, (kσ)²) are decoded greedily. A model whose posterior regions do not "
           "overlap keeps the sentence for small k (Livne et al. 2020 use k = 10 in Table 11).")
note_tuple_codes(models, "z ~ N(μ, (kσ)²)")
note_posterior_family(models, "perturb")
suggest_fluent_model("perturb", models)

persist("sentence", DEFAULT_SENTENCE)
text = st.text_input("Sentence", key="sentence")
c1, c2, c3 = st.columns(3)
persist("pert_kmax", 20, bounds=(1, 20))
k_max = c1.slider("Largest k", 1, 20, key="pert_kmax")
persist("pert_n", 8, bounds=(1, 20))
n = c2.slider("Samples per k", 1, 20, key="pert_n")
persist("pert_seed", 0, bounds=(0, 10**6))
seed = c3.number_input("Seed", 0, 10**6, key="pert_seed")
ks = sorted({0, 0.5, 1, 2, 3, 5, 7, 10, 15, 20, k_max})
ks = [k for k in ks if k <= k_max]

for m, box, key in side_by_side(models):
    with box:
        try:
            enc = encode_text(text, m.vocab)
            with st.spinner(f"Decoding {len(ks) * n} perturbed codes…"):
                results = perturb(m.model, m.vocab, text, ks, n, int(seed))
        except TextError as e:
            show_problem("Nothing to encode", e)
            st.stop()

        show_notices([enc])
        show_figure(figures.perturbation_figure(results), "Perturbation", f"{key}perturb_plot")
        st.subheader("Decoded sentences")
        show_table(figures.perturbation_summary_table(results), "Perturbation summary", f"{key}perturb_summary",
                   hide_index=True)
        with st.expander("Every sample"):
            show_table(figures.perturbation_table(results), "Perturbed samples", f"{key}perturb_samples",
                       dataframe=True, hide_index=True, width="stretch")
