"""Uses of the latent space: imputing missing words by iterated conditional modes (Bowman et al. 2016, Sec. 5)
and ranking candidate continuations by latent distance (Livne et al. 2020, Sec. 4.6)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # repo root, so the page also runs on its own

import streamlit as st

from app import examples, figures
from app.common import analysis_page, show_problem, show_table, side_by_side, typed_lines
from app.state import persist
from vae_core.data import TextError
from vae_core.downstream import impute, rank_candidates

models = analysis_page("Impute & rank")

st.subheader("Impute missing words")
st.caption("Mark unknown words with ___ . Iterated conditional modes: the unknown words start as <unk>; each step "
           "sets z to the posterior mean of the current sentence, then fills the unknown words by a beam search of "
           "log p(x|z) with the known words fixed (Bowman et al. 2016, Sec. 5: 3 steps of beam size 5).")
persist("impute_text", examples.IMPUTE_TEXT)
text = st.text_input("Sentence with blanks", key="impute_text")
c1, c2 = st.columns(2)
persist("impute_steps", 3, bounds=(1, 10))
steps = c1.slider("ICM steps (at most: it stops early once a step changes nothing)", 1, 10, key="impute_steps")
persist("impute_beam", 5, bounds=(1, 20))
beam = c2.slider("Beam size", 1, 20, key="impute_beam")
for m, box, key in side_by_side(models):
    with box:
        try:
            with st.spinner("Imputing…"):
                res = impute(m.model, m.vocab, text, steps=steps, beam_size=beam)
        except TextError as e:
            show_problem("Cannot impute", e)
        else:
            st.markdown(f"**Final fill:** {figures.highlight_fill(res['final'], res['unknown'])}")
            ran = len(res["steps"])
            if ran < res["requested_steps"]:
                st.caption(f"Ran {ran} of {res['requested_steps']} steps: step {ran} changed nothing, so later "
                           "steps would repeat it.")
            show_table(figures.imputation_table(res), "Imputation steps", f"{key}impute_table", hide_index=True)

st.subheader("Rank candidates by latent distance")
st.caption("Each candidate k is appended to the prompt and encoded (z_k); the prompt with as many <unk> as the "
           "candidate has words gives z_unk with standard deviation σ_unk. Score ‖(z_unk − z_k)/σ_unk‖: lower "
           "ranks first (Livne et al. 2020, Sec. 4.6). Candidates made of unknown words encode like the masked "
           "prompt and score near 0: the last column counts them.")
persist("rank_prompt", examples.RANK_PROMPT)
prompt = st.text_input("Prompt", key="rank_prompt")
persist("rank_candidates", examples.RANK_CANDIDATES)
cands = st.text_area("Candidates, one a line", key="rank_candidates")
candidates = typed_lines(cands, "Candidates")
for m, box, key in side_by_side(models):
    with box:
        try:
            ranked = rank_candidates(m.model, m.vocab, prompt, candidates)
        except TextError as e:
            show_problem("Cannot rank", e)
        else:
            show_table(figures.ranking_table(ranked), "Candidates ranked by latent distance", f"{key}rank_table",
                       hide_index=True)
