"""The corpus map: every sentence of a corpus (PTB train + valid + test by default) as its posterior mean,
projected to 2-D by UMAP, PCA or t-SNE. Colour it, search it, cluster and label it, select a region and follow
the selection into the other views; typed sentences, homotopy paths and nearest neighbours on top."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # repo root, so the page also runs on its own

import streamlit as st

from app import export, figures
from app.common import (MAX_CORPUS_SENTENCES, analysis_page, corpus_nll, corpus_section, map_clusters,
                        neighbour_index, open_unit_page, posterior_means, projection_for, show_figure, show_notices,
                        show_problem, show_table, side_by_side, typed_lines)
from app.state import persist, remember, set_values
from vae_core.data import TextError
from vae_core.latent import encode_sentences, homotopy, reconstruct_many
from vae_core.neighbours import nearest_to, rerank_by_likelihood
from vae_core.projection import place

MAX_SELECTION = 500          # sentences a selection keeps (and a link carries)
MAX_RECONSTRUCTED = 100      # of those, decoded and scored (one batch, about a second)
MAX_SEARCH = 200             # characters of a search

models = analysis_page("Corpus map", sequence=False)
ck = models[0]
st.caption("Each point is a sentence's posterior mean μ, projected to 2-D. Maps are cached on disk per "
           "(checkpoint, corpus, method, parameters): the first UMAP of all of PTB (49,199 sentences) takes about a "
           "minute on 2 CPU cores, later visits a second or two. Hover for the sentence; drag a box or lasso to "
           "select, then follow the selection into Encode or a homotopy.")

corpus = corpus_section("proj", ck, default_limit=MAX_CORPUS_SENTENCES, default_split="all")
if len(corpus["sentences"]) < 3:
    st.warning(f"A projection needs at least 3 sentences; {figures.escape_markdown(corpus['name'])} gives "
               f"{len(corpus['sentences'])}.")
    st.stop()
c1, c2, c3 = st.columns(3)
persist("proj_method", "umap", ["umap", "pca", "tsne"])
method = c1.selectbox("Method", ["umap", "pca", "tsne"], key="proj_method",
                      help="UMAP and PCA take the whole corpus (up to 50,000); t-SNE at most 3,000 sentences")
params = {}
if method == "umap":
    persist("proj_nn", 15, bounds=(2, 100))
    persist("proj_md", 0.1, bounds=(0.0, 0.99))
    params = {"n_neighbors": c2.slider("n_neighbors", 2, 100, key="proj_nn"),
              "min_dist": c3.slider("min_dist", 0.0, 0.99, key="proj_md")}
elif method == "tsne":
    persist("proj_perp", 30.0, bounds=(5.0, 100.0))
    params = {"perplexity": c2.slider("perplexity", 5.0, 100.0, key="proj_perp")}
# A fit cannot stop half-way, so each method takes at most what it fits in about half a minute on a 2-core CPU
# (random 128-d points, warm: UMAP 20,000 in 9 s; t-SNE 3,000 in 11 s and 5,000 in 24 s; README).
FIT_MAX = {"umap": MAX_CORPUS_SENTENCES, "tsne": 3_000, "pca": MAX_CORPUS_SENTENCES}
if len(corpus["sentences"]) > FIT_MAX[method]:
    st.info(f"{method.upper()} is fitted on the first {FIT_MAX[method]:,} of the {len(corpus['sentences']):,} "
            "sentences (a fit cannot be stopped half-way, so its size is capped).")
    corpus = {**corpus, "sentences": corpus["sentences"][:FIT_MAX[method]],
              "labels": corpus["labels"][:FIT_MAX[method]] if corpus["labels"] else None}
sentences = corpus["sentences"]
N = len(sentences)

by_split = corpus["name"].endswith("train + valid + test")          # its labels are the splits
color_options = ["length", "KL", "NLL"] + (["label"] if corpus["labels"] else []) + ["cluster", "unit", "none"]
persist("proj_color", "label" if corpus["labels"] else "length", color_options)
c1, c2 = st.columns([3, 1])
color_by = c1.radio("Colour by", color_options, horizontal=True, key="proj_color",
                    format_func=lambda c: {"label": "split" if by_split else "label",
                                           "unit": "one latent unit's μ_d"}.get(c, c))
persist("proj_unit", "z0", [f"z{d}" for d in range(ck.model.latent_dim)])
unit = c2.selectbox("Unit", [f"z{d}" for d in range(ck.model.latent_dim)], key="proj_unit",
                    disabled=color_by != "unit")
c1, c2 = st.columns([3, 1])
persist("proj_search", "")
query = c1.text_input("Search the sentences (matches are ringed)", key="proj_search", max_chars=MAX_SEARCH)
persist("proj_clusters", False)
with_clusters = c2.toggle("Cluster labels", key="proj_clusters",
                          help="HDBSCAN on the map, each cluster labelled by its most distinctive words (class-based "
                               "TF-IDF); about 20 s for 49k points the first time")

if method == "umap" and N > 1000:
    st.caption("UMAP's first fit in a server process also compiles numba code (10–30 s).")
persist("proj_typed", "")
typed = st.text_area("Sentences to place on the map (one a line)", key="proj_typed", height=80)
lines = typed_lines(typed, "Sentences to place")
with st.expander("Overlay a homotopy path"):
    persist("proj_h1", "")
    h1 = st.text_input("From", key="proj_h1")
    persist("proj_h2", "")
    h2 = st.text_input("To", key="proj_h2")
persist("proj_sel", "")            # the selection, as corpus line numbers "3,17,42", so that a link keeps it


def parse_selection(text: str, n: int) -> list[int]:
    """Corpus indices from "3,17,42" (1-based lines, as shown), those in range, at most MAX_SELECTION."""
    out = []
    for part in str(text).split(",")[:MAX_SELECTION]:
        part = part.strip()
        if part.isdigit() and 1 <= int(part) <= n:
            out.append(int(part) - 1)
    return sorted(set(out))


for m, box, key in side_by_side(models):
    with box:
        proj = projection_for(m, corpus, method, params)
        clusters = map_clusters(proj["coords"], sentences) if (with_clusters or color_by == "cluster") else None
        if color_by == "unit" and unit and int(unit[1:]) < m.model.latent_dim:
            color = posterior_means(m, sentences)[:, int(unit[1:])].tolist()
        elif color_by == "NLL":                # computed the first time it is asked for (a decoder pass each)
            color = corpus_nll(m, sentences).tolist()
        elif color_by == "cluster":
            color = figures.cluster_colour_labels(clusters)
        else:
            color = {"length": proj["length"].tolist(), "KL": proj["kl"].tolist(), "label": corpus["labels"],
                     "none": None, "unit": None}[color_by]
        overlays = []
        q = query[:MAX_SEARCH].strip().lower()          # a link's `q` is not held to the box's max_chars
        matches = [i for i, s in enumerate(sentences) if q in s.lower()] if q else []
        if q:
            st.caption(f"“{figures.escape_markdown(q[:80])}”: {len(matches):,} of {N:,} sentences")
            if matches:
                overlays.append({"name": f"“{q[:30]}” ({len(matches):,})", "ring": True, "index": matches,
                                 "xy": proj["coords"][matches], "text": [sentences[i] for i in matches]})
        kept = parse_selection(st.session_state.get("proj_sel", ""), N)
        if kept:
            overlays.append({"name": f"selected ({len(kept)})", "ring": True, "index": kept,
                             "xy": proj["coords"][kept], "text": [sentences[i] for i in kept]})
        # typed sentences and a homotopy path come last, so that they are drawn over the rings
        typed_post = None
        if lines:
            try:
                typed_post = encode_sentences(m.model, m.vocab, lines)
                show_notices(typed_post.inputs)
                overlays.append({"name": "typed", "xy": place(typed_post.mu.numpy(), proj["mu"], proj["coords"]),
                                 "text": [" ".join(e.tokens) for e in typed_post.inputs]})
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
        labels = figures.cluster_labels_on_map(clusters) if with_clusters and clusters else None

        fig = figures.projection_figure(proj["coords"], sentences, color, color_by, overlays,
                                        title=f"{method.upper()} of {N:,} posterior means ({corpus['name']})",
                                        labels=labels)
        event = show_figure(fig, "Corpus map", f"{key}projection_plot", on_select="rerun",
                            selection_mode=("box", "lasso"))
        if color_by == "unit" and key == "":
            open_unit_page(m, int(unit[1:]), "proj_unit_open")
        st.caption(("read from the disk cache" if proj["cached"] else "computed in this session and cached on disk")
                   + f" · {N:,} sentences"
                   + (f" · {len(clusters['words'])} clusters" if clusters else ""))

        with st.popover("Export the corpus codes", icon=":material/download:"):
            st.caption(f"μ and σ of q(z|x) for the {N} sentences, with the sentences (files made on click)")
            mu, logvar = proj["mu"], proj["logvar"]
            c1, c2 = st.columns(2)
            c1.download_button("CSV", lambda: export.csv_bytes(export.corpus_codes_table(sentences, mu, logvar)),
                               file_name="corpus-codes.csv", mime="text/csv", key=f"{key}codes_csv", on_click="ignore")
            c2.download_button("NumPy .npz", lambda: export.corpus_codes_npz(sentences, mu, logvar),
                               file_name="corpus-codes.npz", mime="application/octet-stream", key=f"{key}codes_npz",
                               on_click="ignore")
            st.caption("TensorBoard Embedding Projector (projector.tensorflow.org: Load → vectors, then metadata)")
            c1, c2 = st.columns(2)
            c1.download_button("vectors.tsv", lambda: export.projector_tsv(sentences, mu)[0], file_name="vectors.tsv",
                               mime="text/tab-separated-values", key=f"{key}codes_vec", on_click="ignore")
            c2.download_button("metadata.tsv", lambda: export.projector_tsv(sentences, mu)[1], file_name="metadata.tsv",
                               mime="text/tab-separated-values", key=f"{key}codes_meta", on_click="ignore")

        picked = figures.selected_rows(event.selection if event and event.selection else {}, proj["coords"])
        if len(picked) > MAX_SELECTION:
            st.caption(f"The selection holds {len(picked):,} sentences; the first {MAX_SELECTION} (by line) are "
                       "kept, listed and carried by the link.")
            picked = picked[:MAX_SELECTION]
        if picked and key == "":
            remember("proj_sel", ",".join(str(i + 1) for i in picked))
        picked = picked or kept
        if picked:
            st.subheader(f"{len(picked)} selected sentences")
            decoded = (reconstruct_many(m.model, m.vocab, [sentences[i] for i in picked[:MAX_RECONSTRUCTED]])
                       if m.model_config.is_sequence else None)
            if decoded is not None and len(picked) > MAX_RECONSTRUCTED:
                st.caption(f"All {len(picked)} are listed (and exported); the first {MAX_RECONSTRUCTED} are decoded "
                           "and scored.")
            show_table(figures.selection_table(sentences, proj["length"], proj["kl"], picked, decoded,
                                               corpus["labels"]),
                       "Selected sentences", f"{key}selection", dataframe=True, hide_index=True, width="stretch")
            if key == "":
                def line_and_sentence(i: int) -> str:
                    return f"{i + 1}: {sentences[i][:90]}"

                def line_and_start(i: int) -> str:                 # two of them fit side by side
                    return f"{i + 1}: {sentences[i][:28]}…" if len(sentences[i]) > 28 else f"{i + 1}: {sentences[i]}"
                c1, c2 = st.columns(2)
                one = c1.selectbox("One of them", picked, format_func=line_and_sentence, key="proj_pick_one")
                if c1.button("Open in Encode", key="proj_open_encode"):
                    st.session_state["sentence"] = sentences[one]
                    st.switch_page(str(Path(__file__).parent / "encode.py"))
                if len(picked) >= 2:
                    two = c2.multiselect("Two of them", picked, default=picked[:2], max_selections=2,
                                         format_func=line_and_start, key="proj_pick_two")
                    if len(two) == 2:
                        b1, b2 = c2.columns(2)
                        b1.button("Draw their homotopy here", key="proj_draw_homotopy", on_click=set_values,
                                  args=({"proj_h1": sentences[two[0]], "proj_h2": sentences[two[1]]},))
                        if b2.button("Open the homotopy", key="proj_open_homotopy"):
                            st.session_state["hom_first"], st.session_state["hom_second"] = (sentences[i] for i in two)
                            st.switch_page(str(Path(__file__).parent / "homotopy.py"))
                if c1.button("Clear the selection", key="proj_clear"):
                    st.session_state["proj_sel"] = ""
                    st.rerun()

        # nearest neighbours of the first typed sentence, or else of a single selected sentence
        if typed_post is not None or len(picked) == 1:
            st.subheader("Nearest neighbours")
            c1, c2, c3 = st.columns(3)
            persist("proj_k", 10, bounds=(1, 50))
            k = c1.number_input("k", 1, 50, key="proj_k")
            persist("proj_metric", "euclidean", ["euclidean", "cosine"])
            metric = c2.radio("Distance between posterior means", ["euclidean", "cosine"], key="proj_metric",
                              horizontal=True)
            persist("proj_rerank", False)
            rerank = c3.toggle("Re-rank the 100 nearest by log p(x|z)", key="proj_rerank",
                               disabled=not m.model_config.is_sequence,
                               help="the model's own score of each corpus sentence given the query's μ")
            if typed_post is not None:
                qmu, what, own = typed_post.mu[0].numpy(), f"“{' '.join(typed_post.inputs[0].tokens)[:80]}”", None
            else:
                qmu, what, own = proj["mu"][picked[0]], f"line {picked[0] + 1}", picked[0]
            index = neighbour_index(m, sentences, proj["mu"])
            idx, dist = nearest_to(index, qmu, 100 if rerank else int(k), metric, exclude=own)
            logp = None
            if rerank and m.model_config.is_sequence:
                order, logp = rerank_by_likelihood(m.model, m.vocab, sentences, idx, qmu)
                idx, dist, logp = order[: int(k)].tolist(), None, logp[: int(k)]
            st.caption(f"The {len(idx)} corpus sentences nearest to {figures.escape_markdown(what)}")
            show_table(figures.neighbour_table(sentences, idx, dist, metric, logp), "Nearest neighbours",
                       f"{key}neighbours", dataframe=True, hide_index=True, width="stretch")
