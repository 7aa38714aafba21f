"""Start page: what the explorer is, which model is loaded, and where to begin."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # repo root, so the page also runs on its own

import streamlit as st

from app.catalogue import VIEWS
from app.common import current_checkpoint, model_name, validation_headline

ck = current_checkpoint()
st.title("Sentence VAE explorer")
st.markdown("An explorer for latent-variable models of sentences: the sentence VAEs of Bowman et al. (2016) and "
            "Kruengkrai (2019), the MI-VAE, sentenceMIM and the bag-of-words model, trained with `vae_core`. "
            "Pick a checkpoint in the sidebar; every view uses it, and **Compare with** puts a second one beside it. "
            "Choices stay as you move between views, and the address bar holds them, so a link shows a colleague "
            "the same thing. Type sentences as you would write them: they are tokenised as the model's corpus was.")
cfg = ck.model_config
last = (ck.history.get("epochs") or [{}])[-1]
st.subheader(f"Loaded: {model_name(ck)}")
c = st.columns(3)
c[0].metric("latent dimensions", cfg.latent_dim if ck.model.has_latent else "–")
if last:
    name, value = validation_headline(last)
    c[1].metric(f"validation {name}", f"{value:.1f}", help="nats per sentence on the validation split"
                + ("; sMIM's KL to the prior is not a bound it minimises" if name == "reconstruction" else ""))
else:
    c[1].metric("validation NLL", "–")
c[2].metric("active units", last.get("val_active_units", "–"))
st.caption(f"{cfg.rnn.upper() if cfg.is_sequence else 'MLP'} {cfg.emb_dim}/{cfg.hidden_dim}, vocabulary "
           f"{cfg.vocab_size:,}, tokenizer `{ck.vocab.tokenizer.name}`, trained {last.get('epoch', '–')} epochs. "
           "The Model card view has its configuration and training curves.")
st.subheader("Where to begin")
for section in dict.fromkeys(v[3] for v in VIEWS):
    st.markdown(f"**{section}**")
    for file, title, _, sec, what in VIEWS:
        if sec != section:
            continue
        try:
            st.page_link(f"views/{file}", label=f"**{title}**: {what}")
        except Exception:                   # the page run on its own, outside the app's navigation
            st.markdown(f"**{title}**: {what}")
