"""Choices that persist: every widget value survives a change of view for the whole session, and the
checkpoint(s) and main inputs are also in the URL, so a colleague opening the link sees the same thing.

Streamlit forgets a widget's value when a view without that widget runs. The documented remedy is to
write each value back into session state at the top of every run (`keep_all`, called by app/main.py),
which only works for widgets created *without* a default argument. So a view calls `persist(key,
default)` before it creates the widget and passes no `value=`/`index=`:

    persist("hom_steps", 7)
    steps = st.slider("Steps", 2, 25, key="hom_steps")

The URL holds the values named in URL_PARAMS: read once when a session starts (`read_url`), rewritten on
every run with the current view's values that differ from their defaults.
"""
from __future__ import annotations

from typing import Any, Sequence

import streamlit as st

# URL parameter -> widget key. Only text and choices: what makes a link show the same thing.
URL_PARAMS = {
    "ckpt": "ckpt_choice", "path": "ckpt_typed", "compare": "ckpt_compare",
    "s": "sentence", "a": "hom_first", "b": "hom_second", "blanks": "impute_text", "prompt": "rank_prompt",
    "move": "arith_text", "word": "jac_word", "context": "jac_context", "dim": "trav_dim", "unit": "unit_dim",
    "split": "proj_split", "color": "proj_color", "q": "proj_search", "sel": "proj_sel", "method": "proj_method",
}
# Settings a link carries too, under their own key (so that k = 3 comes back as 3): every persistent widget
# except the uploads (a link cannot carry a file). Values from a link are checked by `persist` like any other
# (options, bounds, type), and only these keys are read from a URL.
URL_SETTINGS = (
    "arith_steps", "arith_strength", "col_n", "enc_k", "enc_samples", "enc_seed", "enc_strategy", "eval_batch",
    "eval_bleu", "eval_iw", "eval_seed", "hom_method", "hom_steps", "hom_strategy", "impute_beam", "impute_steps",
    "jac_S", "jac_embedding", "jac_seed", "jac_thr", "methods_colour", "methods_papers", "ov_n", "ov_seed",
    "pert_kmax", "pert_n", "pert_seed", "prior_from", "prior_n", "prior_quality_n", "prior_seed", "prior_strategy",
    "prior_stretch", "prior_temp", "proj_clusters", "proj_k", "proj_md", "proj_metric", "proj_nn", "proj_perp",
    "proj_rerank", "proj_unit", "proj_typed", "proj_h1", "proj_h2", "proj_src", "proj_dir", "proj_limit",
    "rank_candidates", "trav_base", "trav_rows", "trav_span", "trav_steps", "unit_jac")
_KEY_TO_URL = {v: k for k, v in URL_PARAMS.items()} | {k: k for k in URL_SETTINGS}
DEFAULTS: dict[str, Any] = {}        # key -> default, for every persistent widget seen by this server
_URL_READ = "_state_url_read"


def read_url() -> None:
    """Seed session state from the URL's query parameters, once per session (a shared link)."""
    ss = st.session_state
    if ss.get(_URL_READ):
        return
    ss[_URL_READ] = True
    for name, key in list(URL_PARAMS.items()) + [(k, k) for k in URL_SETTINGS]:
        if name in st.query_params:
            ss[key] = st.query_params[name]


def keep_all() -> None:
    """Write every persistent widget value back into session state, so Streamlit keeps it while a view
    without that widget runs; then start this run's URL afresh (views add their values through `persist`)."""
    ss = st.session_state
    for key in DEFAULTS:
        if key in ss:
            ss[key] = ss[key]
    st.query_params.clear()


def persist(key: str, default: Any, options: Sequence | None = None, bounds: tuple | None = None) -> Any:
    """Make widget `key` keep its value across views: give it `default` on first use (or when its value is
    no longer one of `options`, e.g. a checkpoint that was removed, or a number of the wrong type), put it
    in the URL when URL_PARAMS names it and it differs from the default. Returns the current value. Create
    the widget right after, with `key=key` and no default argument.

    `bounds` = (lo, hi), the widget's own range, is enforced here on the server too: a number from a link,
    a stale session or a client that bypasses the widget is clamped into it (NaN becomes the default), so
    no value can start more work than the widget allows."""
    DEFAULTS[key] = default
    ss = st.session_state
    value = ss.get(key, default)
    if options is not None and value not in options:
        value = default
    elif default is not None and not isinstance(value, type(default)) and not (
            isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool)):
        value = _coerce(value, default)
    if bounds is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
        value = default if value != value else type(default)(min(max(value, bounds[0]), bounds[1]))
    ss[key] = value
    name = _KEY_TO_URL.get(key)
    if name is not None and value != default:
        st.query_params[name] = str(value)
    return value


def set_values(values: dict) -> None:
    """A button's `on_click`: set widget values (e.g. the sidebar's) before the widgets are made on the rerun
    the click starts; setting them after a widget exists raises."""
    st.session_state.update(values)


def remember(key: str, value: Any) -> None:
    """Set a persistent value after its `persist` call in this run (e.g. a selection made on a chart), in the
    session and, when it has a URL name, in the address bar at once (not only on the next run)."""
    st.session_state[key] = value
    name = _KEY_TO_URL.get(key)
    if name is not None:
        if value != DEFAULTS.get(key):
            st.query_params[name] = str(value)
        elif name in st.query_params:
            del st.query_params[name]


def _coerce(value: Any, default: Any) -> Any:
    """A value from the URL (always a string) as the widget's type; the default when it does not parse."""
    try:
        if isinstance(default, bool):
            return str(value).lower() in ("1", "true", "yes", "on")
        return type(default)(value)
    except (TypeError, ValueError):
        return default
