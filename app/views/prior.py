"""Prior samples: greedy (or sampled) decodes of z ~ N(0, I), and Bowman et al. 2016's lower-probability
samples from a stretched prior (Table 6)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # repo root, so the page also runs on its own

import streamlit as st

from app import figures
from app.common import checkpoints, show_table, side_by_side
from app.state import persist
from vae_core.analysis import prior_samples

models = checkpoints(latent=False)       # the LM baseline samples too; the bag-of-words model is noted below
st.title("Prior samples")
st.caption("z ~ p(z) = N(0, I), decoded (Bowman et al. 2016, Table 5). Stretching applies the random map I + A, "
           "A_ij ~ U(−c, c), to each z (Table 6 uses c = 0.1) to reach into the tails of the prior.")
c1, c2, c3, c4, c5 = st.columns(5)
persist("prior_n", 10)
n = c1.slider("Samples", 1, 50, key="prior_n")
persist("prior_strategy", "greedy", ["greedy", "sample", "beam"])
strategy = c2.selectbox("Decoding", ["greedy", "sample", "beam"], key="prior_strategy")
persist("prior_temp", 1.0)
temperature = c3.slider("Temperature (sampling only)", 0.1, 2.0, step=0.1, key="prior_temp",
                        disabled=strategy != "sample", help="Greedy and beam decoding take the most likely words")
persist("prior_stretch", 0.0, [0.0, 0.05, 0.1, 0.2, 0.3])
stretch = c4.select_slider("Stretch c", [0.0, 0.05, 0.1, 0.2, 0.3], key="prior_stretch")
persist("prior_seed", 0)
seed = c5.number_input("Seed", 0, 10**6, key="prior_seed")
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
