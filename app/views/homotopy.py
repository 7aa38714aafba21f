"""Homotopy between two sentences: decode points on the path between their posterior means (Bowman et al.
2016, Sec. 6.3), and draw the path on a projection map of a corpus."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # repo root, so the page also runs on its own

import streamlit as st

from app import figures
from app.common import (analysis_page, note_posterior_family, path_map_controls, show_notices, show_path_on_map,
                        show_problem, show_table, side_by_side, suggest_fluent_model)
from app.state import persist, set_values
from vae_core.data import TextError
from vae_core.latent import homotopy

models = analysis_page("Homotopy")
note_posterior_family(models, "homotopy")
ck = models[0]
st.caption("z(t) = (1 − t)·μ₁ + t·μ₂ (linear) or the great-circle path (spherical), decoded at each step.")
suggest_fluent_model("homotopy", models)

persist("hom_first", "the company said it expects to report a loss")
a = st.text_input("First sentence", key="hom_first")
persist("hom_second", "stock prices fell sharply in new york")
b = st.text_input("Second sentence", key="hom_second")
c1, c2, c3 = st.columns(3)
persist("hom_steps", 7, bounds=(2, 25))
steps = c1.slider("Steps", 2, 25, key="hom_steps")
persist("hom_method", "linear", ["linear", "spherical"])
method = c2.radio("Interpolation", ["linear", "spherical"], horizontal=True, key="hom_method")
persist("hom_strategy", "greedy", ["greedy", "beam"])
strategy = c3.selectbox("Decoding", ["greedy", "beam"], key="hom_strategy")

path_map = path_map_controls(ck, "hom_map", "hom_proj", "hmap")

for m, box, key in side_by_side(models):
    with box:
        try:
            with st.spinner("Decoding the path…"):
                result = homotopy(m.model, m.vocab, a, b, steps=steps, method=method, strategy=strategy)
        except TextError as e:
            show_problem("Both sentences are needed", e)
            st.stop()

        show_notices(result["inputs"])
        show_table(figures.homotopy_table(result), "Homotopy", f"{key}homotopy_table", hide_index=True)
        n_distinct = len(dict.fromkeys(result["sentences"]))
        st.caption(f"{n_distinct} distinct sentences along {steps} steps; ● marks a step whose decode differs from "
                   "the one before.")

        if path_map:
            labels = [f"t={t:.2f}: {s}" for t, s in zip(result["t"], result["sentences"])]
            show_path_on_map(m, path_map, result["z"], labels, "homotopy", f"{key}homotopy_map")
