"""Overlap histograms (Livne et al. 2020, Fig. 3): log p(x_i|z_j) and log q(z_i|x_j) for matched (i = j)
against mismatched (i ≠ j) pairs of N sentences, with the AUROC that separates them."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # repo root, so the page also runs on its own

import streamlit as st

from app import figures
from app.common import (analysis_page, checkpoint_name, corpus_picker, model_name, note_posterior_family,
                        note_tuple_codes, progress_over, show_figure, side_by_side)
from app.state import persist
from vae_core.analysis import overlap

# axis labels with subscripts, as a paper prints them (plotly's <sub>; kaleido renders it in the export)
LOGP, LOGQ = "log p(x<sub>i</sub> | z<sub>j</sub>)", "log q(z<sub>i</sub> | x<sub>j</sub>)"
models = analysis_page("Overlap histograms")
ck = models[0]
st.caption("z_j ~ q(z|x_j) for each of N sentences; every sentence is scored under every code (N² decoder runs, "
           "in memory-bounded blocks). Overlapping histograms (AUROC ≈ 0.5) mean sentences share latent regions "
           "(typical of VAEs); separated ones (AUROC ≈ 1) mean each code belongs to its sentence (sentenceMIM).")
note_tuple_codes(models, "z_j ~ q(z|x_j)")
note_posterior_family(models, "overlap")

corpus = corpus_picker("overlap", ck, default_limit=3761, allow_labels=False)
if not corpus:
    st.stop()
c1, c2 = st.columns(2)
persist("ov_n", 40, bounds=(10, 400))
n = c1.slider("N sentences (the first N of the corpus)", 10, 400, step=10, key="ov_n",
              help="N² sentence–code pairs are scored: the cost grows with the square of N (N = 100 is 6× N = 40)")
persist("ov_seed", 0, bounds=(0, 10**6))
seed = c2.number_input("Seed", 0, 10**6, key="ov_seed")
sentences = corpus["sentences"][:n]

key = (tuple(m.meta["checkpoint_id"] for m in models), tuple(sentences), int(seed))
if st.button("Compute", type="primary", key="ov_go") and st.session_state.get("overlap_key") != key:
    results = []
    for m in models:
        bar = st.progress(0.0, text=f"{model_name(m)}: scoring {len(sentences)}² sentence–code pairs…")
        progress = progress_over(bar, lambda i, n, m=m: f"{model_name(m)}: scoring {len(sentences)}² pairs… "
                                                        f"block {i}/{n}")
        results.append(overlap(m.model, m.vocab, sentences, int(seed), progress))
        bar.empty()
    st.session_state["overlap_result"] = results
    st.session_state["overlap_key"] = key

if st.session_state.get("overlap_key") == key:      # results for exactly these inputs and models
    results = st.session_state["overlap_result"]
    for (m, box, prefix), res in zip(side_by_side(models), results):
        with box:
            m1, m2 = st.columns(2)
            m1.metric("AUROC, log p(x_i|z_j)", f"{res['auroc_loglik']:.3f}")
            m2.metric("AUROC, log q(z_i|x_j)", f"{res['auroc_logq']:.3f}")
    if len(models) == 1:
        res = results[0]
        show_figure(figures.overlap_figure(res["loglik"], f"{LOGP}", f"{LOGP}, nats per sentence",
                                           res["auroc_loglik"]), "Overlap log p(x_i | z_j)", "overlap_p")
        show_figure(figures.overlap_figure(res["logq"], f"{LOGQ}", f"{LOGQ}, nats", res["auroc_logq"]),
                    "Overlap log q(z_i | x_j)", "overlap_q")
    else:       # one figure per quantity with a panel per model, as in Livne et al. 2020, Fig. 3
        for quantity, auroc, label, unit, fkey in (("loglik", "auroc_loglik", LOGP, "nats per sentence", "overlap_p"),
                                                   ("logq", "auroc_logq", LOGQ, "nats", "overlap_q")):
            # short panel titles: a checkpoint's full name wrapped over three lines in a one-column PDF
            panels = [{"name": checkpoint_name(m).split("/")[-1], "matrix": r[quantity], "auroc": r[auroc]}
                      for m, r in zip(models, results)]
            show_figure(figures.overlap_compare_figure(panels, f"{label}, {unit}"), f"Overlap {quantity}", fkey)
else:
    st.info(f"Press Compute to score {len(sentences)}² pairs" + (" for each model." if len(models) > 1 else "."))
