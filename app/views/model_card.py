"""Model card: the configuration, the metrics recorded in training, and the training curves (reconstruction
and KL against step with the KL weight, as in Bowman et al. 2016, Fig. 2)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # repo root, so the page also runs on its own

import streamlit as st

from app import figures
import pandas as pd

from app.common import checkpoint_name, checkpoints, show_figure, show_table, side_by_side, training_settings

models = checkpoints(latent=False)       # every kind of checkpoint has a card
st.title("Model card")
for m, box, key in side_by_side(models):
    with box:
        st.caption(f"Checkpoint `{checkpoint_name(m)}` · weights stored as {m.meta.get('weights_dtype')} · "
                   f"{sum(p.numel() for p in m.model.parameters()) / 1e6:.2f}M parameters")
        epochs = m.history.get("epochs", [])
        if epochs:
            last = epochs[-1]
            # three to a row: five in one row cut the values off ("10…"), worse in compare mode
            epoch = ("epochs", f"{last.get('epoch')}" + (" (partial)" if last.get("partial") else ""))
            rest = (("active units", f"{last.get('val_active_units', '–')}"), ("steps", f"{last.get('step', '–')}"))
            if "val_amim" in last:       # sentenceMIM's own figures: its ELBO perplexity runs to 1e12 and means little
                rows = ((epoch, ("valid reconstruction, nats/sentence", f"{last.get('val_rec', float('nan')):.2f}"),
                         ("valid A-MIM loss", f"{last['val_amim']:.2f}")),
                        (("valid KL (not minimised), nats", f"{last.get('val_kl', float('nan')):.0f}"),) + rest)
            else:
                rows = ((epoch, ("valid NLL, nats/sentence", f"{last.get('val_nll', float('nan')):.2f}"),
                         ("valid KL, nats", f"{last.get('val_kl', float('nan')):.2f}")),
                        (("valid PPL", f"{last.get('val_ppl', float('nan')):.1f}"),) + rest)
            for row in rows:
                for col, (label, value) in zip(st.columns(3), row):
                    col.metric(label, value)
            if "val_amim" in last:      # sentenceMIM is trained (and selected) on its own loss, not the ELBO
                st.caption("Trained with the A-MIM loss (Livne et al. 2020), which has no KL term: the KL to N(0, I) of "
                           "the small posterior variances MIM learns is large, so its ELBO and perplexity say little. "
                           "Its test MELBO (the paper's headline bound) is in the Evaluate view.")
            show_figure(figures.training_curves_figure(m.history), "Training curves", f"{key}curves")
            with st.expander("Every epoch"):
                show_table(pd.DataFrame(epochs), "Training history per epoch", f"{key}epochs", dataframe=True, width="stretch")
        else:
            st.info("This checkpoint records no training history.")
        c1, c2 = st.columns(2)
        c1.subheader("Model")
        c1.json(m.model_config.to_dict())
        c2.subheader("Training")
        c2.json(training_settings(m))
