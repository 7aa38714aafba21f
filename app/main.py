"""Sentence-VAE explorer: `streamlit run app/main.py` (opens on the committed demo checkpoint)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # the repo root, for vae_core and app

import streamlit as st

st.set_page_config(page_title="Sentence VAE explorer", layout="wide")
PAGES = Path(__file__).parent / "pages"
nav = st.navigation([
    st.Page(PAGES / "encode.py", title="Encode & reconstruct", default=True),
    st.Page(PAGES / "homotopy.py", title="Homotopy", url_path="homotopy"),
])
nav.run()
