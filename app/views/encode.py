"""Encode a sentence: the reconstruction table of Livne et al. 2020 (Table 11: D, M, R, P) with BLEU, and
the posterior q(z|x) per dimension (Bowman et al. 2016, Table 7)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # repo root, so the page also runs on its own

import streamlit as st

from app import figures
from app.common import (DEFAULT_SENTENCE, analysis_page, note_posterior_family, note_tuple_codes, show_figure,
                        show_notices, show_problem, show_table, side_by_side)
from app.state import persist
from vae_core.analysis import reconstruction_rows
from vae_core.data import TextError
from vae_core.latent import encode_sentences

models = analysis_page("Encode & reconstruct")
st.caption("The encoder gives the posterior q(z|x) = N(μ, diag σ²). Rows: **D** the input as the model sees it, "
           "**M** decoded from μ, **R** from samples z ~ q(z|x), **P** from perturbed samples z ~ N(μ, (kσ)²) "
           "(Livne et al. 2020, Table 11). BLEU is sentence BLEU against D.")
note_tuple_codes(models, "z ~ q(z|x) or N(μ, (kσ)²)")
note_posterior_family(models, "encode")

persist("sentence", DEFAULT_SENTENCE)
text = st.text_input("Sentence (typed as you like: it is tokenised as the model's corpus is)", key="sentence")
c1, c2, c3, c4 = st.columns(4)
persist("enc_samples", 3, bounds=(0, 10))
n_samples = c1.slider("Samples (R and P rows)", 0, 10, key="enc_samples")
persist("enc_k", 10.0, bounds=(0.0, 50.0))
k = c2.number_input("k for P rows", 0.0, 50.0, step=1.0, key="enc_k")
persist("enc_strategy", "greedy", ["greedy", "beam"])
strategy = c3.selectbox("Decoding", ["greedy", "beam"], key="enc_strategy")
persist("enc_seed", 0, bounds=(0, 10**6))
seed = c4.number_input("Seed", 0, 10**6, key="enc_seed")

for m, box, key in side_by_side(models):
    with box:
        try:
            with st.spinner("Encoding and decoding…"):
                rows = reconstruction_rows(m.model, m.vocab, text, n_samples=n_samples, k=k, seed=int(seed),
                                           strategy=strategy)
                post = encode_sentences(m.model, m.vocab, [text])
        except TextError as e:
            show_problem("Nothing to encode", e)
            st.stop()

        show_notices(post.inputs)
        per_dim = post.per_dimension(0)
        m1, m2, m3 = st.columns(3)
        m1.metric("KL(q(z|x) ‖ p(z)), nats", f"{float(post.kl[0]):.1f}")
        m2.metric("tokens (with <eos>)", len(post.inputs[0].tokens) + 1)
        if post.kl_per_dim is not None:                # a vMF's KL does not split over dimensions
            m3.metric("dimensions with KL > 0.1", sum(v > 0.1 for v in per_dim["kl"]))

        st.subheader("Reconstructions")
        show_table(figures.reconstruction_rows_table(rows), "Reconstructions", f"{key}rec_table", hide_index=True)

        st.subheader("Posterior")
        show_figure(figures.posterior_figure(per_dim), "Posterior per dimension", f"{key}posterior_plot")
        with st.expander("Posterior as a table"):
            show_table(figures.posterior_table(per_dim), "Posterior per dimension", f"{key}posterior_table",
                       dataframe=True, width="stretch")
