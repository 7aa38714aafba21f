"""Sentence-VAE explorer: `streamlit run app/main.py` (opens on the committed default checkpoint, checkpoints/smim128-v2)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # the repo root, for vae_core and app

import streamlit as st

from app.state import keep_all, read_url

st.set_page_config(page_title="Sentence VAE explorer", layout="wide")
read_url()          # a shared link's checkpoint and inputs, once per session
keep_all()          # every choice survives the change of view
# Not "pages/": Streamlit would also serve that directory as its own auto-discovered app on a direct URL.
PAGES = Path(__file__).parent / "views"
nav = st.navigation([
    st.Page(PAGES / "home.py", title="Start", default=True, icon=":material/home:"),
    st.Page(PAGES / "encode.py", title="Encode & reconstruct", url_path="encode"),
    st.Page(PAGES / "perturb.py", title="Perturb at k·σ", url_path="perturb"),
    st.Page(PAGES / "traversal.py", title="Latent traversal", url_path="traversal"),
    st.Page(PAGES / "unit.py", title="Latent unit", url_path="unit"),
    st.Page(PAGES / "homotopy.py", title="Homotopy", url_path="homotopy"),
    st.Page(PAGES / "projection.py", title="Corpus map", url_path="projection"),
    st.Page(PAGES / "overlap.py", title="Overlap histograms", url_path="overlap"),
    st.Page(PAGES / "collapse.py", title="Collapse diagnostics", url_path="collapse"),
    st.Page(PAGES / "jacobian.py", title="Jacobian embeddings", url_path="jacobian"),
    st.Page(PAGES / "prior.py", title="Prior samples", url_path="prior"),
    st.Page(PAGES / "downstream.py", title="Impute & rank", url_path="impute-rank"),
    st.Page(PAGES / "arithmetic.py", title="Latent arithmetic", url_path="arithmetic"),
    st.Page(PAGES / "evaluate.py", title="Evaluate", url_path="evaluate"),
    st.Page(PAGES / "methods.py", title="Methods (rate–distortion)", url_path="methods"),
    st.Page(PAGES / "model_card.py", title="Model card & training", url_path="model-card"),
])
nav.run()
