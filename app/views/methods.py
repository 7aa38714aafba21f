"""Methods: every evaluated model on the rate-distortion plane (Alemi et al. 2018), the papers' figures beside
ours: how much each remedy for posterior collapse puts in z (KL, the rate) and what it buys in reconstruction
(the distortion)."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # repo root, so the page also runs on its own

import streamlit as st

from app import figures
from app.common import ROOT, find_checkpoints, result_store, show_figure, show_table
from app.state import persist

st.title("Methods on the rate–distortion plane")
st.caption("Each point is a model on PTB test: its KL (rate) against its reconstruction −E_q log p(x|z) "
           "(distortion), nats per sentence; dotted lines join models of equal −ELBO (rate + distortion). Open "
           "markers are the papers' figures (reconstruction = their NLL − KL), joined to ours. Rows come from "
           "`docs/results.json` (`python bench/reproduce.py report`), plus any model evaluated in this app "
           "(diamonds; Evaluate view). Select a point of a committed checkpoint to open it in the other views.")


@st.cache_data(show_spinner=False)
def _read(path: str, mtime: float) -> dict:
    return json.loads(Path(path).read_text())


results_file, zoo_file = ROOT / "docs" / "results.json", ROOT / "checkpoints" / "zoo.json"
results = _read(str(results_file), results_file.stat().st_mtime) if results_file.is_file() else {}
zoo = _read(str(zoo_file), zoo_file.stat().st_mtime) if zoo_file.is_file() else {}
c1, c2 = st.columns(2)
persist("methods_colour", "active_units", ["active_units", "mutual_info"])
colour = c1.radio("Colour", ["active_units", "mutual_info"], horizontal=True, key="methods_colour",
                  format_func=lambda c: {"active_units": "active units", "mutual_info": "mutual information"}[c])
persist("methods_papers", True)
with_papers = c2.toggle("The papers' figures", key="methods_papers")
points = figures.rate_distortion_points(results, zoo, result_store("evaluate").values())
if not with_papers:
    points = [p for p in points if p["source"] != "paper"]
if not points:
    st.info("No evaluated model yet: `python bench/reproduce.py report` writes docs/results.json.")
    st.stop()
event = show_figure(figures.rate_distortion_figure(points, colour), "Rate-distortion plane", "methods_plane",
                    on_select="rerun", selection_mode=("points",))
for name in figures.selected_checkpoints((event or {}).get("selection"), find_checkpoints()):
    if st.button(f"Open {figures.escape_markdown(name)} in the explorer", key=f"methods_open_{name}"):
        st.session_state["ckpt_choice"] = name
        st.session_state["ckpt_typed"] = ""
        st.switch_page(str(Path(__file__).parent / "encode.py"))
st.caption("sentenceMIM is not on the plane (its KL runs to hundreds of nats: it is not trained on the ELBO), nor "
           "the bag-of-words model (its likelihood is of a bag of words). Their rows are in the table of "
           "docs/results.md.")
show_table(figures.rate_distortion_table(points), "Rate-distortion points", "methods_table", dataframe=True,
           hide_index=True)
