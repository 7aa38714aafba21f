"""Prior samples: greedy (or sampled) decodes of z ~ N(0, I), and Bowman et al. 2016's lower-probability
samples from a stretched prior (Table 6)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # repo root, so the page also runs on its own

import streamlit as st

from app import figures
from app.common import DEFAULT_DATA, checkpoints, note_tuple_codes, show_table, side_by_side
from app.state import persist
from vae_core.analysis import prior_samples
from vae_core.diagnostics import sample_quality

models = checkpoints(latent=False)       # the LM baseline samples too; the bag-of-words model is noted below
st.title("Prior samples")
st.caption("z ~ p(z) = N(0, I), decoded (Bowman et al. 2016, Table 5). Stretching applies the random map I + A, "
           "A_ij ~ U(−c, c), scaled to determinant 1 so that it preserves volume, to each z (Table 6 uses c = 0.1) "
           "to reach into the tails of the prior.")
note_tuple_codes(models, "z ~ p(z)")
c1, c2, c3, c4, c5 = st.columns(5)
persist("prior_n", 10, bounds=(1, 50))
n = c1.slider("Samples", 1, 50, key="prior_n")
persist("prior_strategy", "greedy", ["greedy", "sample", "beam"])
strategy = c2.selectbox("Decoding", ["greedy", "sample", "beam"], key="prior_strategy")
persist("prior_temp", 1.0, bounds=(0.1, 2.0))
temperature = c3.slider("Temperature (sampling only)", 0.1, 2.0, step=0.1, key="prior_temp",
                        disabled=strategy != "sample", help="Greedy and beam decoding take the most likely words")
persist("prior_stretch", 0.0, [0.0, 0.05, 0.1, 0.2, 0.3])
stretch = c4.select_slider("Stretch c", [0.0, 0.05, 0.1, 0.2, 0.3], key="prior_stretch")
persist("prior_seed", 0, bounds=(0, 10**6))
seed = c5.number_input("Seed", 0, 10**6, key="prior_seed")
persist("prior_quality_n", 0, [0, 50, 100, 200, 500])
quality_n = st.select_slider("Sample quality over this many samples (0 = off): self-BLEU (Zhu et al. 2018; high = "
                             "alike), distinct-1/2 (Li et al. 2016), and the share that copy a training sentence",
                             [0, 50, 100, 200, 500], key="prior_quality_n")


@st.cache_data(show_spinner=False, max_entries=2)
def _training_sentences(path: str, mtime: float) -> frozenset[str]:
    from vae_core.data import read_corpus
    return frozenset(" ".join(s) for s in read_corpus(path)[0])


def training_sentences() -> frozenset[str] | None:
    """The training split beside the default data directory (PTB), or None when it is not there."""
    from vae_core.data import CorpusError, split_path
    try:
        p = split_path(DEFAULT_DATA, "train")
    except CorpusError:
        return None
    return _training_sentences(str(p), p.stat().st_mtime)
for m, box, key in side_by_side(models):
    with box:
        if not m.model_config.is_sequence:
            st.info("The bag-of-words model has no sentence decoder: it has no sentences to sample.")
            continue
        if not m.model.has_latent:
            st.info("The LM baseline has no latent code: these are ancestral samples from the language model.")
        with st.spinner("Decoding…"):
            samples = prior_samples(m.model, m.vocab, n, strategy, temperature, stretch, int(seed))
        show_table(figures.prior_samples_table(samples), "Prior samples", f"{key}prior_table", hide_index=True)
        if quality_n:
            with st.spinner(f"Decoding {quality_n} samples and comparing them with the training sentences…"):
                big = prior_samples(m.model, m.vocab, quality_n, strategy, temperature, stretch, int(seed))
                q = sample_quality([s["sentence"] for s in big], training_sentences())
            st.markdown("**Sample quality**")
            show_table(figures.sample_quality_table(q), "Sample quality", f"{key}prior_quality", hide_index=True)
