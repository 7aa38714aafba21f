"""Encode a sentence: its posterior q(z|x) per dimension and its reconstructions (Bowman et al. 2016, Table 7)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # repo root, so the page also runs on its own

import streamlit as st

from app import figures
from app.common import current_checkpoint, require_latent, show_notices
from vae_core.data import TextError
from vae_core.latent import reconstruct

DEFAULT = "the company said it expects to report a loss for the third quarter"

ck = current_checkpoint()
st.title("Encode & reconstruct")
require_latent(ck)
st.caption("Type a sentence (PTB style: lowercase, tokens separated by spaces). The encoder gives the posterior "
           "q(z|x) = N(μ, diag σ²); the decoder then decodes greedily from μ and from samples of q(z|x).")

text = st.text_input("Sentence", DEFAULT, key="sentence", max_chars=2000)
c1, c2, c3 = st.columns(3)
n_samples = c1.slider("Posterior samples", 0, 10, 3, key="n_samples")
strategy = c2.selectbox("Decoding", ["greedy", "beam", "sample"], key="strategy")
seed = c3.number_input("Seed", 0, 10**6, 0, key="seed")

try:
    with st.spinner("Encoding and decoding…"):
        result = reconstruct(ck.model, ck.vocab, text, n_samples=n_samples, strategy=strategy, seed=int(seed))
except TextError as e:
    st.warning(f"Nothing to encode: {e}.")
    st.stop()

show_notices([result["input"]])
post = result["posterior"]
m1, m2, m3 = st.columns(3)
m1.metric("KL(q(z|x) ‖ p(z))", f"{float(post.kl[0]):.2f} nats")
m2.metric("tokens (with <eos>)", len(result["input"].tokens) + 1)
m3.metric("dimensions with KL > 0.1", sum(k > 0.1 for k in post.per_dimension(0)["kl"]))

st.subheader("Reconstructions")
st.table(figures.reconstruction_table(result), hide_index=True)

st.subheader("Posterior")
per_dim = post.per_dimension(0)
st.plotly_chart(figures.posterior_figure(per_dim), width="stretch", key="posterior_plot")
with st.expander("Posterior as a table"):
    st.dataframe(figures.posterior_table(per_dim), width="stretch")
