"""Projection of posterior means: UMAP, PCA or t-SNE of a corpus, with typed sentences and homotopy paths
on top; select points with the box or lasso to list their sentences."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # repo root, so the page also runs on its own

import streamlit as st

from app import export, figures
from app.common import (analysis_page, corpus_picker, projection_for, show_figure, show_notices, show_problem,
                        show_table, side_by_side, typed_lines)
from vae_core.data import TextError
from vae_core.latent import encode_sentences, homotopy
from app.state import persist
from vae_core.projection import place

models = analysis_page("Projection", sequence=False)
ck = models[0]
st.caption("Each point is a sentence's posterior mean μ, projected to 2-D. Projections are cached on disk per "
           "(checkpoint, corpus, method, parameters). Hover for the sentence; drag a box or lasso to list a selection.")

corpus = corpus_picker("proj", ck)
if not corpus:
    st.stop()
if len(corpus["sentences"]) < 3:
    st.warning(f"A projection needs at least 3 sentences; {corpus['name']} gives {len(corpus['sentences'])}.")
    st.stop()
c1, c2, c3 = st.columns(3)
persist("proj_method", "umap", ["umap", "pca", "tsne"])
method = c1.selectbox("Method", ["umap", "pca", "tsne"], key="proj_method")
params = {}
if method == "umap":
    persist("proj_nn", 15, bounds=(2, 100))
    persist("proj_md", 0.1, bounds=(0.0, 0.99))
    params = {"n_neighbors": c2.slider("n_neighbors", 2, 100, key="proj_nn"),
              "min_dist": c3.slider("min_dist", 0.0, 0.99, key="proj_md")}
elif method == "tsne":
    persist("proj_perp", 30.0, bounds=(5.0, 100.0))
    params = {"perplexity": c2.slider("perplexity", 5.0, 100.0, key="proj_perp")}
# The fits cannot stop half-way, so each method takes at most as many sentences as it fits in seconds on a
# 2-core CPU (random 128-d points, warm: UMAP 20,000 in 9 s, t-SNE 3,000 in 11 s and 5,000 in 24 s; README).
FIT_MAX = {"umap": 20_000, "tsne": 3_000, "pca": 50_000}
if len(corpus["sentences"]) > FIT_MAX[method]:
    st.info(f"{method.upper()} is fitted on the first {FIT_MAX[method]:,} of the {len(corpus['sentences']):,} "
            "sentences (a fit cannot be stopped half-way, so its size is capped); PCA takes up to 50,000.")
    corpus = {**corpus, "sentences": corpus["sentences"][:FIT_MAX[method]],
              "labels": corpus["labels"][:FIT_MAX[method]] if corpus["labels"] else None}
color_options = ["length", "KL"] + (["label"] if corpus["labels"] else []) + ["none"]
persist("proj_color", "length", color_options)
color_by = st.radio("Colour by", color_options, horizontal=True, key="proj_color")

if method == "umap" and len(corpus["sentences"]) > 1000:
    st.caption("UMAP's first fit in a server process also compiles numba code (10–30 s).")
persist("proj_typed", "")
typed = st.text_area("Sentences to place on the map (one a line)", key="proj_typed", height=80)
lines = typed_lines(typed, "Sentences to place")
with st.expander("Overlay a homotopy path"):
    persist("proj_h1", "")
    h1 = st.text_input("From", key="proj_h1")
    persist("proj_h2", "")
    h2 = st.text_input("To", key="proj_h2")

for m, box, key in side_by_side(models):
    with box:
        proj = projection_for(m, corpus, method, params)
        color = {"length": proj["length"].tolist(), "KL": proj["kl"].tolist(), "label": corpus["labels"],
                 "none": None}[color_by]
        overlays = []
        if lines:
            try:
                post = encode_sentences(m.model, m.vocab, lines)
                show_notices(post.inputs)
                overlays.append({"name": "typed", "xy": place(post.mu.numpy(), proj["mu"], proj["coords"]),
                                 "text": [" ".join(e.tokens) for e in post.inputs]})
            except TextError as e:
                show_problem("Cannot place a typed sentence", e)
        if h1.strip() and h2.strip() and m.model_config.is_sequence:
            try:
                h = homotopy(m.model, m.vocab, h1, h2, steps=9)
                overlays.append({"name": "homotopy", "path": True,
                                 "xy": place(h["z"].numpy(), proj["mu"], proj["coords"]),
                                 "text": [f"t={t:.2f}: {s}" for t, s in zip(h["t"], h["sentences"])]})
            except TextError as e:
                show_problem("Cannot draw the homotopy", e)

        n = len(corpus["sentences"])
        fig = figures.projection_figure(proj["coords"], corpus["sentences"], color, color_by, overlays,
                                        title=f"{method.upper()} of {n} posterior means ({corpus['name']})")
        event = show_figure(fig, "Projection", f"{key}projection_plot", on_select="rerun",
                            selection_mode=("box", "lasso"))
        st.caption(("read from the disk cache" if proj["cached"] else "computed in this session and cached on disk")
                   + f" · {n} sentences")

        with st.popover("Export the corpus codes", icon=":material/download:"):
            st.caption(f"μ and σ of q(z|x) for the {n} sentences, with the sentences (files made on click)")
            sents, mu, logvar = corpus["sentences"], proj["mu"], proj["logvar"]
            c1, c2 = st.columns(2)
            c1.download_button("CSV", lambda: export.csv_bytes(export.corpus_codes_table(sents, mu, logvar)),
                               file_name="corpus-codes.csv", mime="text/csv", key=f"{key}codes_csv", on_click="ignore")
            c2.download_button("NumPy .npz", lambda: export.corpus_codes_npz(sents, mu, logvar),
                               file_name="corpus-codes.npz", mime="application/octet-stream", key=f"{key}codes_npz",
                               on_click="ignore")
            st.caption("TensorBoard Embedding Projector (projector.tensorflow.org: Load → vectors, then metadata)")
            c1, c2 = st.columns(2)
            c1.download_button("vectors.tsv", lambda: export.projector_tsv(sents, mu)[0], file_name="vectors.tsv",
                               mime="text/tab-separated-values", key=f"{key}codes_vec", on_click="ignore")
            c2.download_button("metadata.tsv", lambda: export.projector_tsv(sents, mu)[1], file_name="metadata.tsv",
                               mime="text/tab-separated-values", key=f"{key}codes_meta", on_click="ignore")

        points = event.selection.points if event and event.selection else []
        picked = sorted({int(cd[0] if isinstance(cd, list) else cd) for cd in (p.get("customdata") for p in points)
                         if isinstance(cd, (int, list)) and cd != []})
        if picked:
            st.subheader(f"{len(picked)} selected sentences")
            show_table(figures.selection_table(corpus["sentences"], proj["length"], proj["kl"], picked),
                       "Selected sentences", f"{key}selection", dataframe=True, hide_index=True, width="stretch")
