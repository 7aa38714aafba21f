"""Collapse diagnostics: KL per dimension and active units over training, the "does the decoder use z?" test
(reconstruction with the sentence's own code against another sentence's and the prior's), and a verdict."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # repo root, so the page also runs on its own

import streamlit as st

from app import figures
from app.common import (aggregate_stats, analysis_page, corpus_section, load_cached, note_posterior_family,
                        note_tuple_codes, open_unit_page, show_figure, show_problem, side_by_side)
from app.state import persist
from vae_core.data import corpus_from_text
from vae_core.diagnostics import collapse_verdict, decoder_uses_z
from vae_core.latent import units_by_activity

models = analysis_page("Collapse diagnostics")
ck = models[0]
st.caption("Posterior collapse: the decoder learns to ignore z, the KL falls to 0 and every sentence decodes "
           "alike. The test below scores each sentence with its own code, with another sentence's code and with "
           "a prior sample: a decoder that ignores z gives all three the same likelihood.")
note_tuple_codes(models, "(own, another's, prior)")
note_posterior_family(models, "collapse")
corpus = corpus_section("col", ck, "Corpus for the test", default_limit=300, allow_labels=False)
persist("col_n", 200, bounds=(20, 1000))
n = st.slider("Sentences in the test", 20, 1000, step=20, key="col_n")


@st.cache_data(show_spinner=False, max_entries=16)
def uses_z(ckpt_path: str, checkpoint_id: str, sentences: tuple[str, ...], n: int) -> dict:
    m = load_cached(ckpt_path)
    return decoder_uses_z(m.model, corpus_from_text(sentences, m.vocab), n)


for m, box, key in side_by_side(models):
    with box:
        stats = aggregate_stats(m, corpus)
        per_dim_kl = stats["kl"]                        # None for a vMF posterior, whose KL is one constant
        kl, au = stats["kl_total"], stats["active_units"]
        try:
            with st.spinner(f"Scoring {min(n, len(corpus['sentences']))} sentences with three codes each…"):
                res = uses_z(str(m.path.resolve()), m.meta["checkpoint_id"], tuple(corpus["sentences"]), n)
        except ValueError as e:
            show_problem("Cannot run the test", e)
            continue
        level, verdict = collapse_verdict(res, kl, au, m.model.latent_dim)
        {"collapsed": st.error, "partial": st.warning, "uses z": st.success}[level](verdict)
        # three to a row alone, two in compare mode: a half-width third column cut "+280.70" to "+280.7…"
        c = st.columns(3 if len(models) == 1 else 2)
        c[0].metric("KL, nats per sentence", f"{kl:.2f}")
        c[1].metric("active units", f"{au} / {m.model.latent_dim}")
        c[2 % len(c)].metric("cost of another sentence's code, nats", f"{res['gap_other']:+.1f}")
        show_figure(figures.decoder_use_figure(res), "Does the decoder use z", f"{key}col_uses")
        if per_dim_kl is not None:
            show_figure(figures.kl_per_dimension_figure(per_dim_kl.tolist()), "KL per dimension", f"{key}col_kl")
        u1, u2 = st.columns([1, 2])
        unit = u1.selectbox("A unit (most active first)", [f"z{d}" for d in units_by_activity(stats)],
                            key=f"{key}col_unit")
        with u2:
            open_unit_page(m, int(unit[1:]), f"{key}col_unit_open")
        st.subheader("Over training")
        fig = figures.kl_history_figure(m.history)
        if fig is not None:
            show_figure(fig, "KL per dimension over training", f"{key}col_hist")
        elif m.history.get("epochs"):
            st.caption("This checkpoint's history has no KL per dimension (it was trained before that was "
                       "recorded); here are the KL and the active units per epoch.")
            show_figure(figures.active_units_history_figure(m.history), "KL and active units over training",
                        f"{key}col_au")
        else:
            st.info("This checkpoint records no training history.")
