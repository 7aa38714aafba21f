"""Prior samples: greedy (or sampled) decodes of z ~ N(0, I), and Bowman et al. 2016's lower-probability
samples from a stretched prior (Table 6)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # repo root, so the page also runs on its own

import streamlit as st

from app import figures
from app.common import (checkpoints, corpus_section, corpus_posteriors, model_name, note_posterior_family,
                        note_tuple_codes, show_table, side_by_side, training_split, suggest_fluent_model)
from app.state import persist
from vae_core.analysis import aggregate_posterior_samples, prior_samples
from vae_core.diagnostics import sample_quality

models = checkpoints(latent=False)       # the LM baseline samples too; the bag-of-words model is noted below
st.title("Prior samples")
st.caption("z ~ p(z) = N(0, I), decoded (Bowman et al. 2016, Table 5). Stretching maps each z by a random "
           "volume-preserving linear map that stretches some eigenspaces by up to the chosen factor, to reach into "
           "the tails of the prior (Sec. 6.1, Table 6: up to 4; the eigenspaces are those of the paper's random "
           "U(−0.1, 0.1) matrix).")
note_tuple_codes(models, "z ~ p(z)")
note_posterior_family(models, "prior")
suggest_fluent_model("prior", models)
c1, c2, c3, c4, c5 = st.columns(5)
persist("prior_n", 10, bounds=(1, 50))
n = c1.slider("Samples", 1, 50, key="prior_n")
persist("prior_strategy", "greedy", ["greedy", "sample", "beam"])
strategy = c2.selectbox("Decoding", ["greedy", "sample", "beam"], key="prior_strategy")
persist("prior_temp", 1.0, bounds=(0.1, 2.0))
temperature = c3.slider("Temperature (sampling only)", 0.1, 2.0, step=0.1, key="prior_temp",
                        disabled=strategy != "sample", help="Greedy and beam decoding take the most likely words")
persist("prior_stretch", 1.0, [1.0, 2.0, 4.0, 8.0])
stretch = c4.select_slider("Largest stretch", [1.0, 2.0, 4.0, 8.0], key="prior_stretch",
                           help="1 = plain prior samples; 4 = Bowman et al.'s lower-probability samples")
persist("prior_seed", 0, bounds=(0, 10**6))
seed = c5.number_input("Seed", 0, 10**6, key="prior_seed")
FROM = ["the prior p(z)", "the aggregate posterior q(z) of a corpus"]
persist("prior_from", FROM[0], FROM)
source = st.radio("Sample z from", FROM, horizontal=True, key="prior_from",
                  help="q(z) = (1/N) Σ_j q(z|x_j): a corpus sentence drawn at random, then z from its posterior. "
                       "These are the codes the decoder was trained on, whatever the prior.")
corpus = None
if source != FROM[0]:
    corpus = corpus_section("prior", models[0], "Corpus for the aggregate posterior", default_limit=1000,
                            allow_labels=False)
    st.caption("Stretching applies to prior samples only.")
for m in models:
    if m.model_config.model == "smim" and source == FROM[0]:
        st.info(f"{model_name(m)} is a sentenceMIM: its loss has no KL term, so its posteriors do not lie near "
                "N(0, I), and prior samples land where its decoder has seen no code (repeated words are typical). "
                "Sample the aggregate posterior instead (above).")
persist("prior_quality_n", 0, [0, 50, 100, 200, 500])
quality_n = st.select_slider("Sample quality over this many samples (0 = off): Self-BLEU-4 and -3 (Zhu et al. 2018; high = "
                             "alike), distinct-1/2 (Li et al. 2016), and the share that copy a training sentence",
                             [0, 50, 100, 200, 500], key="prior_quality_n")


for m, box, key in side_by_side(models):
    with box:
        if not m.model_config.is_sequence:
            st.info("The bag-of-words model has no sentence decoder: it has no sentences to sample.")
            continue
        if not m.model.has_latent:
            st.info("The LM baseline has no latent code: these are ancestral samples from the language model.")
        fam = getattr(m.model, "posterior", None)
        own_stretch = stretch if fam is None or fam.name == "gaussian" else 1.0    # a vMF's prior is uniform
        def draw(count):
            if corpus is None:
                return prior_samples(m.model, m.vocab, count, strategy, temperature, own_stretch, int(seed))
            post = corpus_posteriors(m, corpus["sentences"])
            return aggregate_posterior_samples(m.model, m.vocab, post["mu"], post["logvar"], count, strategy,
                                               temperature, int(seed))
        if corpus is not None and not m.model.has_latent:
            st.info("The LM baseline has no posterior: it has no aggregate posterior to sample.")
            continue
        with st.spinner("Decoding…"):
            samples = draw(n)
        show_table(figures.prior_samples_table(samples), "Prior samples", f"{key}prior_table", hide_index=True)
        if quality_n:
            with st.spinner(f"Decoding {quality_n} samples and comparing them with the training sentences…"):
                big = draw(quality_n)
                train = training_split(m)
                q = sample_quality([s["sentence"] for s in big], train[1] if train else None)
            st.markdown("**Sample quality**")
            show_table(figures.sample_quality_table(q), "Sample quality", f"{key}prior_quality", hide_index=True)
            st.caption(f"Copies are counted against the corpus this model was trained on: {train[0]}." if train else
                       "Copies are not counted: the corpus this model was trained on is not under the app's data "
                       "roots (or its file no longer matches the checkpoint's record).")
