"""Overlap histograms (Livne et al. 2020, Fig. 3): log p(x_i|z_j) and log q(z_i|x_j) for matched (i = j)
against mismatched (i ≠ j) pairs of N sentences, with the AUROC that separates them."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # repo root, so the page also runs on its own

import streamlit as st

from app import figures
from app.common import corpus_picker, current_checkpoint, require_latent, show_figure
from vae_core.analysis import overlap

ck = current_checkpoint()
st.title("Overlap histograms")
require_latent(ck)
st.caption("z_j ~ q(z|x_j) for each of N sentences; every sentence is scored under every code (N² decoder runs, "
           "in memory-bounded blocks). Overlapping histograms (AUROC ≈ 0.5) mean sentences share latent regions "
           "(typical of VAEs); separated ones (AUROC ≈ 1) mean each code belongs to its sentence (sentenceMIM).")

corpus = corpus_picker("overlap", ck, default_limit=3761, allow_labels=False)
if not corpus:
    st.stop()
c1, c2 = st.columns(2)
n = c1.slider("N sentences (the first N of the corpus)", 10, 400, 100, step=10, key="n")
seed = c2.number_input("Seed", 0, 10**6, 0, key="seed")
sentences = corpus["sentences"][:n]

key = (ck.meta["checkpoint_id"], tuple(sentences), int(seed))
if st.button("Compute", type="primary", key="go") and st.session_state.get("overlap_key") != key:
    bar = st.progress(0.0, text=f"Scoring {len(sentences)}² sentence–code pairs…")

    def progress(blocks):
        blocks = list(blocks)
        for i, b in enumerate(blocks):
            yield b
            bar.progress((i + 1) / len(blocks), text=f"Scoring {len(sentences)}² pairs… block {i + 1}/{len(blocks)}")
    st.session_state["overlap_result"] = overlap(ck.model, ck.vocab, sentences, int(seed), progress)
    st.session_state["overlap_key"] = key
    bar.empty()

if st.session_state.get("overlap_key") == key:      # a result for exactly these inputs
    res = st.session_state["overlap_result"]
    m1, m2 = st.columns(2)
    m1.metric("AUROC, log p(x_i|z_j)", f"{res['auroc_loglik']:.3f}")
    m2.metric("AUROC, log q(z_i|x_j)", f"{res['auroc_logq']:.3f}")
    show_figure(figures.overlap_figure(res["loglik"], "log p(x_i | z_j)", "nats per sentence", res["auroc_loglik"]),
                "Overlap log p(x_i | z_j)", "overlap_p")
    show_figure(figures.overlap_figure(res["logq"], "log q(z_i | x_j)", "nats", res["auroc_logq"]),
                "Overlap log q(z_i | x_j)", "overlap_q")
else:
    st.info(f"Press Compute to score {len(sentences)}² pairs.")
