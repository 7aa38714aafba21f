"""Latent arithmetic: a direction d = mean(group B) − mean(group A) of posterior means, applied to a sentence
as z(s) = μ(x) + s·d and decoded; the path z(0) → z(s) drawn on a projection."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # repo root, so the page also runs on its own

import streamlit as st

from app import examples, figures
from app.common import (analysis_page, kept_upload, path_map_controls, show_notices, show_path_on_map, show_problem,
                        show_table, side_by_side, typed_lines, uploaded_lines)
from app.state import persist
from vae_core.data import TextError
from vae_core.downstream import apply_direction, latent_direction

models = analysis_page("Latent arithmetic")
ck = models[0]
st.caption("Two groups of sentences define a direction in z: d = mean of group B's posterior means − mean of "
           "group A's. It is added to a sentence's posterior mean with strength s, z(s) = μ(x) + s·d, and each "
           "z(s) from 0 to the chosen strength is decoded greedily.")


def group(label: str, default: str, key: str) -> list[str]:
    persist(key, default)
    text = st.text_area(f"{label} (one sentence a line)", key=key, height=110)
    up = kept_upload(f"…or upload {label.lower()} (.txt, one sentence a line)", f"{key}_up", ["txt"])
    if up is not None:
        lines = uploaded_lines(up, f"the file for {label.lower()}") or []
        st.caption(f"{label}: the {len(lines)} sentences of the uploaded file are used, not the text box above.")
        return lines
    return typed_lines(text, label)


c1, c2 = st.columns(2)
with c1:
    group_a = group("Group A", examples.ARITHMETIC_GROUP_A, "group_a")
with c2:
    group_b = group("Group B", examples.ARITHMETIC_GROUP_B, "group_b")
persist("arith_text", examples.ARITHMETIC_SENTENCE)
text = st.text_input("Sentence to move", key="arith_text")
c1, c2 = st.columns(2)
persist("arith_strength", examples.ARITHMETIC_STRENGTH, bounds=(-5.0, 5.0))
strength = c1.slider("Strength s", -5.0, 5.0, step=0.25, key="arith_strength")
persist("arith_steps", 9, bounds=(2, 21))
steps = c2.slider("Decoded points on the path", 2, 21, key="arith_steps")
strengths = [strength * i / (steps - 1) for i in range(steps)]
path_map = path_map_controls(ck, "arith_map", "arith_proj", "amap")

for m, box, key in side_by_side(models):
    with box:
        try:
            d = latent_direction(m.model, m.vocab, group_a, group_b)
            res = apply_direction(m.model, m.vocab, text, d["direction"], strengths)
        except TextError as e:
            show_problem("Cannot apply the direction", e)
            continue
        show_notices([res["input"]])
        st.caption(f"‖d‖ = {d['norm']:.3f} from {d['n_a']} + {d['n_b']} sentences")
        show_table(figures.arithmetic_table(res), "Latent arithmetic", f"{key}arith_table", hide_index=True)
        if path_map:
            labels = [f"s={s:.2f}: {t}" for s, t in zip(res["strengths"], res["sentences"])]
            show_path_on_map(m, path_map, res["z"], labels, "z(s)", f"{key}arith_path_map")
