"""Jacobian word embeddings (Krishnan, Liang & Hoffman 2018): the decoder's sensitivity to z, its singular
value spectrum, and nearest neighbours of a word, expected over the prior and in the context of a sentence."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # repo root, so the page also runs on its own

import streamlit as st

from app import figures
from app.figures import escape_markdown
from app.common import (analysis_page, cooccurrence_vectors, expected_jacobian_for, result_store, show_figure,
                        show_problem, show_table, side_by_side)
from app.state import persist
from vae_core import jacobian as jac
from vae_core.data import TextError, encode_text
from vae_core.wordsim import frequent_words, neighbour_agreement, random_pair_agreement

models = analysis_page("Jacobian word embeddings", sequence=False)
st.markdown(
    "**Definition used for sentence decoders.** For a code z and a token path w₁…w_T (held fixed), "
    "f(z) = (1/T) Σₜ log softmax(logitsₜ(z; w₍<t₎)) ∈ ℝ^|V|, and J(z) = ∂f/∂z is a |V| × n matrix. The "
    "**expected** Jacobian averages J over S prior samples z ~ N(0, I), each with its own greedy decode as the "
    "path; the **contextual** Jacobian averages it over z ~ q(z|x) with the typed sentence x as the path. "
    "Rows are word embeddings; the singular values show how many latent directions the decoder responds to "
    "(Krishnan et al. 2018). Neighbours compare the rows **centred** by default (the mean row removed): every row "
    "shares a large component, so raw rows have cosines near 0.98 for almost any pair of words. Of raw, centred "
    "and whitened rows (J = U S Vᵀ, a row of U over the directions above the threshold), centred agreed best "
    "with co-occurrence on the zoo's models (`bench/jacobian_agreement.py`); the score below is that agreement "
    "for this model.")

c1, c2, c3 = st.columns(3)
persist("jac_S", 16, [8, 16, 32, 64, 128])
S = c1.select_slider("S prior samples", [8, 16, 32, 64, 128], key="jac_S",
                     help="one forward-mode Jacobian per sample: the first computation costs about S times one; "
                          "kept for the server afterwards")
persist("jac_thr", 0.01, [0.001, 0.01, 0.05, 0.1])
threshold = c2.select_slider("Relative threshold", [0.001, 0.01, 0.05, 0.1], key="jac_thr")
persist("jac_seed", 0, bounds=(0, 10**6))
seed = c3.number_input("Seed", 0, 10**6, key="jac_seed")


c1, c2 = st.columns(2)
persist("jac_word", "stock")
typed_word = c1.text_input("Word (nearest neighbours; tokenised as the model's corpus is)", key="jac_word")
persist("jac_context", "")
sentence = c2.text_input("Context sentence (optional)", key="jac_context")
persist("jac_embedding", jac.DEFAULT_EMBEDDING, list(jac.EMBEDDINGS))
embedding = st.radio("Embedding", list(jac.EMBEDDINGS), horizontal=True, key="jac_embedding",
                     help="centred: rows minus the mean row (the default, measured best); raw: the rows of J, as "
                          "in the paper; whitened: rows in J's principal directions, each direction weighed the same")


for m, box, key in side_by_side(models):
    with box:
        J = expected_jacobian_for(m, S, int(seed))
        sv = jac.singular_values(J)
        eff = jac.effective_dims(sv, threshold)
        au = (m.history.get("epochs") or [{}])[-1].get("val_active_units")
        m1, m2 = st.columns(2)
        m1.metric(f"dimensions above {threshold} × largest", eff)
        m2.metric("active units (validation, from training)", au if au is not None else "–")
        show_figure(figures.spectrum_figure(sv.tolist(), au, eff), "Jacobian spectrum", f"{key}spectrum")

        st.subheader("Nearest neighbours")
        try:
            typed = encode_text(typed_word, m.vocab)
        except TextError as e:
            show_problem("No word to look up", e)
            continue
        word = typed.tokens[0]                        # "Stocks!" -> stocks, as the corpus writes it
        if typed.ids[0] == m.vocab.unk_id:
            st.warning(f"“{escape_markdown(typed_word.strip()[:80])}” is not in the model's vocabulary.")
            continue
        if len(typed.tokens) > 1:
            st.caption(f"The first of its {len(typed.tokens)} tokens is looked up: “{escape_markdown(word[:80])}”.")
        elif typed.notices:
            st.caption(f"Looked up as “{escape_markdown(word[:80])}”.")
        ctx = None
        if sentence.strip():
            try:
                with st.spinner("Contextual Jacobian…"):
                    Jc = jac.contextual_jacobian(m.model, m.vocab, sentence, n_samples=16, seed=int(seed))
                ctx = jac.nearest_words(Jc, m.vocab, word, embedding=embedding, rel_threshold=threshold)
            except TextError as e:
                show_problem("Context ignored", e)
        show_table(figures.neighbours_table(jac.nearest_words(J, m.vocab, word, embedding=embedding,
                                                              rel_threshold=threshold), ctx),
                   f"Nearest words to {word}", f"{key}neighbours", hide_index=True)
        ref = cooccurrence_vectors(m)
        if ref is None:
            st.caption("Agreement with co-occurrence: not available (the training corpus is not under the app's "
                       "data roots).")
        else:
            def agreement(m=m, J=J, ref=ref):
                words = frequent_words(m.vocab, 300)
                return (neighbour_agreement(jac.word_embeddings(J, embedding, threshold).numpy(), ref[1], words),
                        random_pair_agreement(ref[1], words))
            # kept: it does not change with the word typed, and takes about 70 ms a model on every rerun otherwise
            score, baseline = result_store("jacobian_agreement", 32).get_or_compute(
                (m.meta["checkpoint_id"], S, int(seed), embedding, threshold, ref[0]), agreement)
            st.metric(f"agreement of {embedding} neighbours with co-occurrence", f"{score:.3f}",
                      help="Mean cosine, under PPMI-SVD vectors of the training corpus, between each of the 300 "
                           "most frequent words and its 10 nearest neighbours here (vae_core.wordsim); "
                           f"random pairs give {baseline:.3f}. Corpus: {ref[0]}.")
