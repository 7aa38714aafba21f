"""Sentence-VAE explorer: `streamlit run app/main.py` (opens on the committed default checkpoint, checkpoints/smim128-v2)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # the repo root, for vae_core and app

import streamlit as st

from app.catalogue import VIEWS
from app.state import keep_all, read_url

st.set_page_config(page_title="Sentence VAE explorer", layout="wide")
read_url()          # a shared link's checkpoint and inputs, once per session
keep_all()          # every choice survives the change of view
# Not "pages/": Streamlit would also serve that directory as its own auto-discovered app on a direct URL.
PAGES = Path(__file__).parent / "views"
sections: dict[str, list] = {"": [st.Page(PAGES / "home.py", title="Start", default=True, icon=":material/home:")]}
for file, title, url_path, section, _ in VIEWS:
    sections.setdefault(section, []).append(st.Page(PAGES / file, title=title, url_path=url_path))
nav = st.navigation(sections, expanded=True)       # every view in sight, none behind "View more"
nav.run()
