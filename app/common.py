"""What every page shares: the checkpoint picker in the sidebar and the cached model loader.

A page calls `current_checkpoint()` first; it returns the loaded checkpoint or stops the page with a clear
message (never a traceback). The model is loaded once per (path, modification time) for the whole server
(`st.cache_resource`), so sessions share one copy and a retrained checkpoint is picked up.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from vae_core.checkpoint import CONFIG, Checkpoint, CheckpointError, load_checkpoint

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CHECKPOINT = ROOT / "checkpoints" / "demo-vae"
SEARCH_DIRS = (ROOT / "checkpoints", ROOT / "runs")


@st.cache_resource(show_spinner="Loading the checkpoint…", max_entries=8)
def _load(path: str, mtime: float) -> Checkpoint:
    return load_checkpoint(path, device="cpu")


def load_cached(path: str | Path) -> Checkpoint:
    """Load (or fetch from the server-wide cache) the checkpoint in `path`. Raises CheckpointError."""
    p = Path(path).expanduser().resolve()
    cfg = p / CONFIG
    return _load(str(p), cfg.stat().st_mtime if cfg.is_file() else 0.0)


def find_checkpoints() -> list[str]:
    """Checkpoint directories (holding config.json) under checkpoints/ and runs/, the demo first."""
    found = {str(DEFAULT_CHECKPOINT)} if (DEFAULT_CHECKPOINT / CONFIG).is_file() else set()
    for base in SEARCH_DIRS:
        if base.is_dir():
            found.update(str(c.parent) for c in base.glob("**/" + CONFIG) if ".next" not in c.parts)
    return sorted(found, key=lambda s: (s != str(DEFAULT_CHECKPOINT), s))


def _label(path: str) -> str:
    try:
        return str(Path(path).relative_to(ROOT))
    except ValueError:
        return path


def current_checkpoint() -> Checkpoint:
    """Sidebar picker (found checkpoints, or any typed directory) -> the loaded checkpoint; stops on error."""
    with st.sidebar:
        st.subheader("Checkpoint")
        options = find_checkpoints()
        choice = st.selectbox("Checkpoint directory", options, format_func=_label, key="ckpt_choice") if options else None
        typed = st.text_input("…or another directory", key="ckpt_typed",
                              help="A directory holding weights.safetensors and config.json")
        path = typed.strip() or choice
        if not path:
            st.error("No checkpoint found. Train one with `python -m vae_core.train` or type a directory.")
            st.stop()
        try:
            ck = load_cached(path)
        except CheckpointError as e:
            st.error(f"Cannot load this checkpoint: {e}")
            st.stop()
        cfg = ck.model_config
        st.caption(f"**{cfg.model.upper()}** · z={cfg.latent_dim if ck.model.has_latent else '–'} · "
                   f"hidden={cfg.hidden_dim} · emb={cfg.emb_dim} · |V|={cfg.vocab_size}")
        last = (ck.history.get("epochs") or [{}])[-1]
        if last:
            st.caption(f"trained {last.get('epoch')} epochs · valid NLL {last.get('val_nll', float('nan')):.1f} · "
                       f"KL {last.get('val_kl', float('nan')):.2f} · AU {last.get('val_active_units', '–')}")
    return ck


def require_latent(ck: Checkpoint) -> None:
    """Stop the page with a message when the model has no latent space (the LSTM-LM baseline)."""
    if not ck.model.has_latent:
        st.warning("This checkpoint is the LSTM language-model baseline: it has no posterior to look at. "
                   "Pick a VAE checkpoint in the sidebar.")
        st.stop()


def show_notices(inputs) -> None:
    """Tell the user how their text was changed (unknown words as <unk>, truncation)."""
    for enc in inputs:
        for msg in enc.notices:
            st.info(msg)
