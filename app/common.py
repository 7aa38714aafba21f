"""What every page shares: the checkpoint picker in the sidebar and the cached model loader.

A page calls `current_checkpoint()` first; it returns the loaded checkpoint or stops the page with a clear
message (never a traceback). The model is loaded once per (path, modification time) for the whole server
(`st.cache_resource`), so sessions share one copy and a retrained checkpoint is picked up.
"""
from __future__ import annotations

import functools
import os
import threading
from pathlib import Path
from typing import Callable, Iterable

import streamlit as st

from app import roots
from app.figures import escape_markdown, markdown_cells
from app.state import persist, set_values
from vae_core.checkpoint import CONFIG, Checkpoint, CheckpointError, load_checkpoint

ROOT = Path(__file__).resolve().parents[1]
# The checkpoint the app opens with: sentenceMIM with z = 128 (Livne et al. 2020's preset), the zoo model whose
# codes carry the sentence, so the views' default examples show their phenomena on it (latent arithmetic turns
# "fell" into "rose"; the ranking puts the unrelated candidate last; the imputation fills a plausible verb;
# tests/test_app.py checks all three).
# VAE_APP_CHECKPOINT overrides it (the test suite uses checkpoints/bowman-vae, the smallest VAE of the zoo).
SHIPPED_DEFAULT = ROOT / "checkpoints" / "smim128-v2"
DEFAULT_CHECKPOINT = ROOT / Path(os.environ.get("VAE_APP_CHECKPOINT") or SHIPPED_DEFAULT)   # relative: to ROOT
DEFAULT_SENTENCE = "the company said it expects to report a loss for the third quarter"   # shared by the views of one sentence
DEFAULT_DATA = "data/ptb"          # the PTB split beside the checkout, by its name under the data roots


def checkpoint_roots() -> list[roots.Root]:
    """Where the app may read checkpoints (`app.roots`: checkpoints/, runs/ and the configured roots)."""
    return _roots("checkpoint", os.environ.get(roots.CHECKPOINT_ROOTS_ENV, ""))


def data_roots() -> list[roots.Root]:
    """Where the app may read corpora (`app.roots`: ../shared/data and the configured roots)."""
    return _roots("data", os.environ.get(roots.DATA_ROOTS_ENV, ""))


@functools.lru_cache(maxsize=8)
def _roots(kind: str, env: str) -> list[roots.Root]:
    """The roots for an environment setting, made once per process (each page names them many times a run,
    and reading the secrets and resolving the paths took about 3 ms a time); a changed secret needs a
    restart of the server."""
    return roots.checkpoint_roots(DEFAULT_CHECKPOINT) if kind == "checkpoint" else roots.data_roots()


@st.cache_resource(show_spinner="Loading the checkpoint…", max_entries=8)
def _load(path: str, mtime: float) -> Checkpoint:
    return load_checkpoint(path, device="cpu")


def load_cached(path: str | Path) -> Checkpoint:
    """Load (or fetch from the server-wide cache) the checkpoint in `path`, a resolved directory under the
    checkpoint roots (`resolve_checkpoint`). Raises CheckpointError."""
    p = Path(path).expanduser().resolve()
    cfg = p / CONFIG
    return _load(str(p), cfg.stat().st_mtime if cfg.is_file() else 0.0)   # OSError/ValueError for typed nonsense


@st.cache_data(ttl=10, show_spinner=False, max_entries=8)
def _listed(checkpoint_roots: tuple[roots.Root, ...]) -> list[str]:
    """The root-relative names of the checkpoint directories under the roots (`app.roots.find_dirs_with`),
    walked at most once every 10 s for the server: every rerun of every page lists them, and a configured
    root may hold many directories."""
    rs = list(checkpoint_roots)
    return [roots.public_name(d, rs) for d in roots.find_dirs_with(CONFIG, rs)]


def find_checkpoints() -> list[str]:
    """Checkpoint directories (holding config.json) under the checkpoint roots, by their root-relative
    names, the default first (a checkpoint written since is listed within 10 s)."""
    found = set(_listed(tuple(checkpoint_roots())))
    default = _label(str(DEFAULT_CHECKPOINT))
    if (DEFAULT_CHECKPOINT / CONFIG).is_file():
        found.add(default)
    return sorted(found, key=lambda s: (s != default, s))


def _label(path: str) -> str:
    """The root-relative name of a checkpoint directory: what the sidebar, links and headings show."""
    return roots.public_name(path, checkpoint_roots())


def _load_label(label: str) -> Checkpoint:
    """Load a checkpoint named by a root-relative name ("checkpoints/bowman-vae", "runs/x/best") or an
    absolute path under a checkpoint root. Raises CheckpointError: for a name outside the roots, missing or
    unreadable, one message that tells them apart in no way (`app.roots.NotUnderRoots`); for a checkpoint
    under the roots that does not load, the loader's reason with root-relative names, never server paths."""
    rs = checkpoint_roots()
    try:
        p = roots.resolve(label, rs, "checkpoint")
    except roots.NotUnderRoots as e:
        raise CheckpointError(str(e)) from None
    try:
        return load_cached(p)
    except CheckpointError as e:
        raise CheckpointError(roots.redact(str(e), p, rs)) from None
    except (OSError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{_label(str(p))!r} is not a loadable checkpoint ({type(e).__name__})") from None


def current_checkpoint() -> Checkpoint:
    """Sidebar picker (found checkpoints, or any typed directory) -> the loaded checkpoint.

    A typed directory that cannot be loaded leaves the chosen one active, with the reason in the main pane;
    the sidebar always names the active checkpoint. Stops the page with a message when nothing loads.
    """
    options = find_checkpoints()
    with st.sidebar:
        st.subheader("Checkpoint")
        if options:
            persist("ckpt_choice", options[0], options)
            choice = st.selectbox("Checkpoint directory", options, key="ckpt_choice")
        else:
            choice = None
        persist("ckpt_typed", "")
        typed = st.text_input("…or another checkpoint", key="ckpt_typed",
                              help="Its name under the app's checkpoint roots (" +
                                   ", ".join(r.name for r in checkpoint_roots()) +
                                   "), e.g. runs/my-run/best: a directory holding weights.safetensors and "
                                   "config.json")
        active = st.empty()
    typed = typed.strip()
    ck = None
    if typed:
        try:
            ck = _load_label(typed)
        except CheckpointError as e:
            st.error(f"Cannot load the checkpoint typed in the sidebar: {escape_markdown(str(e))}" +
                     (f" Showing `{choice}` instead." if choice else ""))
    if ck is None:
        if not choice:
            st.error("No checkpoint found. Train one with `python -m vae_core.train --out runs/NAME` or type "
                     "the name of one under the checkpoint roots.")
            st.stop()
        try:
            ck = _load_label(choice)
        except CheckpointError as e:
            st.error(f"Cannot load the checkpoint `{choice}`: {escape_markdown(str(e))}")
            st.stop()
    cfg = ck.model_config
    with active.container():
        st.markdown(f"**Active:** `{_label(str(ck.path))}`")
        st.caption(f"**{cfg.model.upper()}** · z={cfg.latent_dim if ck.model.has_latent else '–'} · "
                   f"hidden={cfg.hidden_dim} · emb={cfg.emb_dim} · |V|={cfg.vocab_size}")
        last = (ck.history.get("epochs") or [{}])[-1]
        if last:
            name, value = validation_headline(last)
            extra = (f"A-MIM loss {last['val_amim']:.1f}" if "val_amim" in last
                     else f"KL {last.get('val_kl', float('nan')):.2f}")
            st.caption(f"trained {last.get('epoch')} epochs · valid {name} {value:.1f} · {extra} · "
                       f"AU {last.get('val_active_units', '–')}")
    return ck


def validation_headline(last: dict) -> tuple[str, float]:
    """The one validation figure that sums up a checkpoint's last epoch (`last`, an entry of its history), as
    (name, nats per sentence): the NLL bound, or for sentenceMIM the reconstruction -log p(x|z), z ~ q(z|x),
    since its A-MIM loss has no KL term (Livne et al. 2020, Algorithm 1) and its KL to N(0, I) runs to hundreds
    of nats, so its NLL bound says little. The start page and the sidebar both show it."""
    if "val_amim" in last:
        return "reconstruction", last["val_rec"]
    return "NLL", last.get("val_nll", float("nan"))


@functools.lru_cache(maxsize=1)
def measured_fluency() -> dict:
    """docs/view-fluency.json (`bench/view_fluency.py`): how readable each zoo model's decodes are in each
    decoding view; {} when it is missing or unreadable."""
    import json
    try:
        return json.loads((ROOT / "docs" / "view-fluency.json").read_text())
    except (OSError, ValueError):
        return {}


FLUENCY_NOUNS = {"homotopy": "homotopies", "perturb": "perturbations", "traversal": "traversals",
                 "prior": "prior samples"}


def suggest_fluent_model(view: str, models: list) -> None:
    """Where the zoo model whose decodes in `view` read most fluently (`vae_core.fluency.most_fluent` on
    docs/view-fluency.json) is not shown, say so with its figures beside the current model's, and offer to
    compare with it (one click sets the sidebar's "Compare with")."""
    from vae_core.fluency import most_fluent
    record = measured_fluency().get("views", {}).get(view)
    best = most_fluent(record) if record else None
    shown = [checkpoint_name(m).split("/")[-1] for m in models]
    if not best or best in shown:
        return
    r, mine = record["models"][best], record["models"].get(shown[0])

    def figures_of(x: dict) -> str:                 # repetition is named where it disqualifies
        return (f"{x['nll_per_token']:.2f} nats a token, {100 * x['distinct']:.0f}% distinct"
                + (f", BLEU {x['bleu']:.0f} to the input" if "bleu" in x else "")
                + (f", {100 * x['repeats']:.0f}% repeated tokens" if x["repeats"] > record["max_repeats"] else ""))
    c1, c2 = st.columns([3, 1])
    c1.caption(f"Of the zoo, {best}'s {FLUENCY_NOUNS[view]} read most fluently: under an LSTM-LM their decodes "
               f"score {figures_of(r)}" + (f", against {figures_of(mine)} for {shown[0]}" if mine else "")
               + f" ({record['what']}; `bench/view_fluency.py`).")
    c2.button(f"Compare with {best}", key=f"{view}_compare_fluent", on_click=set_values,
              args=({"ckpt_compare": f"checkpoints/{best}"},))


def model_name(ck: Checkpoint) -> str:
    """A short name for headings and messages, as Markdown: the checkpoint's root-relative name (escaped: a
    run directory "my_run_2" would show "my<i>run</i>2") and its kind."""
    return f"{escape_markdown(checkpoint_name(ck))} ({ck.model_config.model})"


def training_settings(ck: Checkpoint) -> dict:
    """The checkpoint's training settings for display, its paths (data, out, init_from: where it was trained)
    cut to their last part, so the app shows no path of the machine that trained it or serves it."""
    d = ck.train_config.to_dict() if ck.train_config else {}
    return {k: (Path(v).name if k in ("data", "out", "init_from") and v else v) for k, v in d.items()}


def checkpoint_name(ck: Checkpoint) -> str:
    """The checkpoint's root-relative name ("checkpoints/bowman-vae"): what the app shows and exports in
    place of its path on the server."""
    return _label(str(ck.path))


def compare_checkpoint(ck: Checkpoint) -> Checkpoint | None:
    """Sidebar "Compare with": a second checkpoint, or None. Views show its results beside the first
    checkpoint's, for the same inputs and settings (e.g. bowman-vae and smim128-v2, a VAE and sentenceMIM as in Livne et al. 2020
    Fig. 3). Defaults to none; a checkpoint that cannot be loaded gives a message and no comparison."""
    own = str(ck.path.resolve())
    options = ["(none)"] + [p for p in find_checkpoints() if str((ROOT / p).resolve()) != own]
    with st.sidebar:
        persist("ckpt_compare", "(none)", options)
        choice = st.selectbox("Compare with", options, key="ckpt_compare",
                              help="Show a second checkpoint beside this one in every analysis view")
        if choice == "(none)":
            return None
        try:
            other = _load_label(choice)
        except CheckpointError as e:
            st.error(f"Cannot load the checkpoint to compare with: {escape_markdown(str(e))}")
            return None
        cfg = other.model_config
        st.caption(f"compare: **{cfg.model.upper()}** · z={cfg.latent_dim if other.model.has_latent else '–'} · "
                   f"hidden={cfg.hidden_dim} · emb={cfg.emb_dim}")
    return other


def checkpoints(sequence: bool = True, latent: bool = True) -> list[Checkpoint]:
    """The checkpoint of the sidebar, plus the one to compare with when one is chosen and it has what the
    view needs (a latent space if `latent`, a sentence decoder if `sequence`; see `require_latent`); a
    comparison checkpoint without it gets a note and is left out."""
    ck = current_checkpoint()
    other = compare_checkpoint(ck)
    if other is not None and latent and (not other.model.has_latent
                                         or (sequence and not other.model_config.is_sequence)):
        st.info(f"{model_name(other)} has no {'sentence decoder' if other.model.has_latent else 'latent space'} "
                "for this view; it is shown on its own only.")
        other = None
    return [ck] if other is None else [ck, other]


def analysis_page(title: str, sequence: bool = True) -> list[Checkpoint]:
    """The start of every analysis view: the sidebar's checkpoint(s) (see `checkpoints`), the page title, and
    a stop with a message when the first checkpoint lacks what the view needs (see `require_latent`)."""
    models = checkpoints(sequence)
    st.title(title)
    require_latent(models[0], sequence)
    return models


def note_tuple_codes(models: list[Checkpoint], what: str = "z ~ q(z|x)") -> None:
    """A caption for each VAE-AVG model among `models`: its samples (`what`) are L-tuples, decoded by
    averaging L decoders (`vae_core.decoding`), so a reader does not take them for single codes."""
    for m in models:
        L = m.model.codes_per_sentence if m.model.cfg.is_sequence else 1
        if L > 1:
            st.caption(f"{model_name(m)} is a VAE-AVG model: its decoder averages the states of L = {L} decoders, "
                       f"one per code (Kruengkrai 2019, Eq. 7-8). So each sample {what} on this page is a tuple of "
                       f"{L} independent draws decoded together; a single code such as μ decodes as itself.")


# What each view does with a von Mises-Fisher posterior (Xu & Durrett 2018; `vae_core.posterior`), whose
# concentration kappa is fixed and which has no per-dimension sigma of its own.
VMF_VIEW_NOTES = {
    "encode": "μ is the unit mean direction and σ = √(A(κ)/κ), the posterior's exact spread along any direction "
              "orthogonal to μ (the same for every dimension and sentence). R rows draw z ~ vMF(μ, κ); P rows draw "
              "z ~ vMF(μ, κ/k²), whose spread is k times as wide. The KL is one constant per sentence and does not "
              "split over dimensions.",
    "perturb": "A k·σ perturbation of a vMF posterior is a draw from vMF(μ, κ/k²): on the sphere, spread k times as "
               "wide orthogonally to μ (exactly so as κ grows). The shift column is κ(1 − μᵀz) nats.",
    "collapse": "The KL of a vMF posterior is the constant {kl:.2f} nats for every sentence (κ = {kappa:g}): it cannot "
                "collapse and does not split over dimensions, so there are no KL bars. Active units count the "
                "dimensions of E_q[z] = A(κ)μ that vary over the corpus.",
    "traversal": "The sweep moves one coordinate of the unit code μ, so the swept codes leave the sphere the posterior "
                 "lives on; the decoder reads them as they are.",
    "homotopy": "Codes lie on the unit sphere: the spherical path stays on it, the linear one cuts inside it.",
    "overlap": "log q(z_i | x_j) is the vMF density log C(κ) + κ μ_jᵀz_i.",
    "prior": "The prior is uniform on the unit sphere: samples are normalised Gaussians, and stretching does not "
             "apply (every direction has the same density).",
}


def note_posterior_family(models: list[Checkpoint], view: str) -> None:
    """A caption for each model among `models` with a vMF posterior, saying what this view computes for it
    (`VMF_VIEW_NOTES[view]`), so that a reader does not take it for the Gaussian definition on the page."""
    for m in models:
        fam = getattr(m.model, "posterior", None)
        if fam is not None and fam.name == "vmf":
            st.caption(f"{model_name(m)} has a von Mises-Fisher posterior (Xu & Durrett 2018). "
                       + VMF_VIEW_NOTES[view].format(kl=fam.kl_value, kappa=fam.kappa))


def side_by_side(models: list[Checkpoint]):
    """(checkpoint, container, key prefix) for each model: the page itself for one model, two columns headed
    by the model names for two. Widgets and figures made inside `with container:` go to that model's column;
    the key prefix keeps their keys apart ("" for the first model, so its keys do not change)."""
    if len(models) == 1:
        return [(models[0], st.container(), "")]
    cols = st.columns(len(models), gap="medium")
    out = []
    for i, (m, col) in enumerate(zip(models, cols)):
        col.markdown(f"#### {model_name(m)}")
        out.append((m, col, "" if i == 0 else f"cmp{i}_"))
    return out


def require_latent(ck: Checkpoint, sequence: bool = True) -> None:
    """Stop the page with a message when the model has no latent space (the LM baseline) or, for views that
    decode sentences (`sequence`), when it has no sentence decoder (the bag-of-words model)."""
    if not ck.model.has_latent:
        st.warning("This checkpoint is the language-model baseline: it has no posterior to look at. "
                   "Pick a VAE checkpoint in the sidebar.")
        st.stop()
    if sequence and not ck.model_config.is_sequence:
        st.warning("This checkpoint is the bag-of-words model (Krishnan et al. 2018): it has no sentence decoder, "
                   "so this view, which decodes sentences, does not apply. Its latent space is on the Projection "
                   "page and its Jacobian on the Jacobian page.")
        st.stop()


class _ResultStore:
    """Results shared by every session of the server, least recently used dropped past `max_entries`.

    For work that reports progress as it runs: `st.cache_data` replays a cached function's element calls,
    so one that moves a progress bar made outside it fails on every cache hit (CacheReplayClosureError).
    Here the work runs outside any cache and only its result is stored."""

    def __init__(self, max_entries: int):
        import collections
        import threading
        self.max_entries, self.items, self.lock = max_entries, collections.OrderedDict(), threading.Lock()

    _MISSING = object()

    def get(self, key, default=None):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        return default

    def get_or_compute(self, key, compute: Callable[[], object]):
        """The stored result for `key`, or `compute()` stored under it (run outside the lock, so two sessions
        asking at once may both compute; the result is the same)."""
        value = self.get(key, self._MISSING)
        if value is self._MISSING:
            value = compute()
            self.put(key, value)
        return value

    def values(self) -> list:
        """Every stored result, oldest first."""
        with self.lock:
            return list(self.items.values())

    def put(self, key, value) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.max_entries:
                self.items.popitem(last=False)


@st.cache_resource(show_spinner=False)
def result_store(name: str, max_entries: int = 32) -> _ResultStore:
    """The server-wide store of results called `name` (see `_ResultStore`)."""
    return _ResultStore(max_entries)


_KEYS: dict[int, tuple[list, str]] = {}      # id(list) -> (the list, its key): the last few lists keyed
_KEYS_LOCK = threading.Lock()


def sentences_key(sentences) -> str:
    """A short key for a list of sentences (sha256 of their text), for result stores. A run asks for the key
    of one corpus list many times (its screening, posteriors, NLLs, clusters, neighbours): 12 ms each at 49k
    sentences, so the key of each of the last 16 lists is kept while that very list object lives (the entry
    holds it, so its id cannot be reused)."""
    with _KEYS_LOCK:
        hit = _KEYS.get(id(sentences))
    if hit is not None and hit[0] is sentences:
        return hit[1]
    import hashlib
    h = hashlib.sha256()
    for s in sentences:
        h.update(s.encode("utf-8", "surrogatepass") + b"\n")
    key = h.hexdigest()
    with _KEYS_LOCK:
        _KEYS[id(sentences)] = (sentences, key)
        while len(_KEYS) > 16:
            del _KEYS[next(iter(_KEYS))]
    return key


def corpus_disk_key(ck: Checkpoint, sentences: list[str], *settings) -> str:
    """The `vae_core.diskcache` key of a result for checkpoint `ck`, a corpus and the settings it depends on."""
    import hashlib
    parts = "|".join(map(str, (ck.meta["checkpoint_id"], sentences_key(sentences)) + settings))
    return hashlib.sha256(parts.encode()).hexdigest()[:32]


def progress_over(bar, text: Callable[[int, int], str]) -> Callable[[Iterable], Iterable]:
    """A `progress` argument for vae_core's batched functions: passes their batches through, moving `bar`
    (an `st.progress`) after each, with the label `text(done, total)`."""
    def progress(items):
        items = list(items)
        for i, item in enumerate(items):
            yield item
            bar.progress((i + 1) / len(items), text=text(i + 1, len(items)))
    return progress


def show_problem(prefix: str, e: Exception | str) -> None:
    """A warning for input that cannot be used (e.g. a TextError), its message shown literally."""
    st.warning(f"{prefix}: {escape_markdown(str(e))}.")


MAX_TYPED_LINES = 200       # lines of a text area (or its upload) that a view encodes


def typed_lines(text: str, what: str, max_lines: int = MAX_TYPED_LINES) -> list[str]:
    """The non-empty lines of a text area, at most `max_lines` (with a notice saying how many were left)."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) > max_lines:
        st.info(f"{what}: the first {max_lines} of {len(lines):,} lines are used.")
    return lines[:max_lines]


def numbered_upload_lines(up, what: str, max_lines: int) -> list[tuple[int, str]] | None:
    """The non-empty lines of an uploaded text file as (1-based line number, text), read under the CLI's
    rules (`vae_core.data.read_text_lines`: bad bytes and control characters are refused naming line and
    column), at most `max_lines` (with a notice when there are more); None, with the reason shown, when the
    file cannot be used."""
    from vae_core.data import CorpusError, read_text_lines
    try:
        lines, _ = read_text_lines(up.getvalue(), up.name, max_lines=max_lines + 1)
    except CorpusError as e:
        show_problem(f"Cannot read {what}", e)
        return None
    if len(lines) > max_lines:
        st.info(f"{what}: the first {max_lines:,} lines are used.")
    return lines[:max_lines]


class KeptUpload:
    """An uploaded file kept in the session (name and bytes), read like Streamlit's UploadedFile."""

    def __init__(self, name: str, data: bytes):
        self.name, self._data = name, data

    def getvalue(self) -> bytes:
        return self._data


def kept_upload(label: str, key: str, types: list[str]) -> KeptUpload | None:
    """A file uploader whose file stays for the whole session: Streamlit drops an uploader's file when a view
    without it runs, so the bytes are kept in session state, used again when the user comes back (said so
    beside the uploader) until another file replaces them or "Forget it" is pressed."""
    up = st.file_uploader(label, type=types, key=key)
    store = f"_kept_upload_{key}"
    if up is not None:
        st.session_state[store] = KeptUpload(up.name, up.getvalue())
        return st.session_state[store]
    kept = st.session_state.get(store)
    if kept is None:
        return None
    c1, c2 = st.columns([3, 1])
    c1.caption(f"Using “{escape_markdown(kept.name[:80])}”, uploaded earlier in this session.")
    if c2.button("Forget it", key=f"{key}_forget"):
        del st.session_state[store]
        st.rerun()
    return kept


def uploaded_lines(up, what: str, max_lines: int = MAX_TYPED_LINES) -> list[str] | None:
    """The text of `numbered_upload_lines`, without the line numbers."""
    lines = numbered_upload_lines(up, what, max_lines)
    return None if lines is None else [text for _, text in lines]


def show_notices(inputs) -> None:
    """Tell the user how their text was changed (unknown words as <unk>, truncation)."""
    for enc in inputs:
        for msg in enc.notices:
            st.info(escape_markdown(msg))


# ------------------------------------------------------------------------------------------ corpora
def resolve_data_dir(name: str) -> Path:
    """The data directory `name` stands for under the data roots (`app.roots`). Raises NotUnderRoots."""
    return roots.resolve(name, data_roots(), "data directory")


@st.cache_data(show_spinner=False, max_entries=16)
def _read_lines(path: str, mtime: float, limit: int) -> list[str]:
    from vae_core.data import read_corpus
    sents, _ = read_corpus(path)
    return [" ".join(s) for s in sents[:limit]]


def training_split_file(ck: Checkpoint) -> tuple[Path, str] | None:
    """The train file of the corpus `ck` was trained on, found under the data roots and checked against the
    checkpoint's record (`vae_core.data.find_training_split`), with a caption naming it and how it was
    identified; None when it is not there. The recorded directory name comes with the checkpoint, so it is
    resolved under each data root like any name from outside (`app.roots.resolve`: no `..` leads out).
    Kept for every session (`result_store`)."""
    from vae_core.data import find_training_split
    record = ck.progress.get("train_corpus") if isinstance(ck.progress.get("train_corpus"), dict) else None
    recorded = ck.train_config.data if ck.train_config else ""
    name = str((record or {}).get("data_dir") or Path(recorded).name)
    rs = data_roots()
    candidates = []
    for r in rs:
        try:
            candidates.append(roots.resolve(f"{r.name}/{name}", [r], "data directory"))
        except roots.NotUnderRoots:
            pass

    def find():
        found = find_training_split(record, ck.vocab, candidates, ck.train_config.max_vocab if ck.train_config else 0)
        return found and (found[0], f"{roots.public_name(found[0], rs)} (identified by its {found[1]})")
    key = (ck.meta.get("checkpoint_id"), tuple(map(str, candidates)))
    return result_store("training_split", 16).get_or_compute(key, find)


def _training_corpus(path: Path) -> list[list[str]]:
    """The sentences (token lists) of a training split, read once for the server."""
    from vae_core.data import read_corpus
    return result_store("training_corpus", 2).get_or_compute(str(path), lambda: read_corpus(path)[0])


def training_split(ck: Checkpoint) -> tuple[str, frozenset[str]] | None:
    """(caption, the sentences of `training_split_file`), or None; for counting copies of training sentences."""
    found = training_split_file(ck)
    if found is None:
        return None
    sentences = result_store("training_sentences", 2).get_or_compute(
        str(found[0]), lambda: frozenset(" ".join(s) for s in _training_corpus(found[0])))
    return found[1], sentences


def cooccurrence_vectors(ck: Checkpoint):
    """(caption, PPMI-SVD word vectors of `ck`'s training corpus, `vae_core.wordsim.ppmi_svd_vectors`), the
    yardstick of Jacobian neighbour lists; None when the corpus is not under the data roots. Computed once
    per corpus and vocabulary for the server (a few seconds)."""
    from vae_core.wordsim import ppmi_svd_vectors
    found = training_split_file(ck)
    if found is None:
        return None

    def compute():
        with st.spinner("Co-occurrence vectors of the training corpus (PPMI-SVD, once per corpus)…"):
            return ppmi_svd_vectors(_training_corpus(found[0]), ck.vocab)
    key = (str(found[0]), sentences_key(ck.vocab.itos))
    return found[1], result_store("cooccurrence", 4).get_or_compute(key, compute)


MAX_CORPUS_SENTENCES = 50_000     # the most sentences any view takes (the corpus picker's cap)


def _screened(corpus: dict, ck: Checkpoint, max_tokens: int, unit: str, numbers: list[int]) -> dict | None:
    """`corpus` without the sentences its model's tokenizer leaves empty, with a notice naming them, and a
    notice naming those cut to `max_tokens` tokens (`vae_core.data.screen_text`); None, with a warning, when
    nothing is left. `numbers`: the line (or sentence) number of each sentence, for the notices."""
    from vae_core.data import screen_text
    # kept for every session: tokenising all of PTB train takes about 1.5 s, on every rerun otherwise
    key = (ck.meta["checkpoint_id"], sentences_key(corpus["sentences"]), max_tokens)
    empty, cut = result_store("screened", 16).get_or_compute(
        key, lambda: screen_text(corpus["sentences"], ck.vocab, max_tokens))

    def named(positions):
        shown = ", ".join(str(numbers[i]) for i in positions[:10])
        return f"{unit}{'s' if len(positions) > 1 else ''} {shown}" + (
            f" and {len(positions) - 10} more" if len(positions) > 10 else "")
    if cut:
        st.info(f"{len(cut)} {unit}{'s are' if len(cut) > 1 else ' is'} longer than {max_tokens} tokens and cut to "
                f"the first {max_tokens}, as every input of this view is: {named(cut)}.")
    if empty:
        st.info(f"{len(empty)} {unit}{'s have' if len(empty) > 1 else ' has'} no word left after tokenising "
                f"(punctuation only) and {'are' if len(empty) > 1 else 'is'} left out: {named(empty)}.")
        drop = set(empty)
        keep = [i for i in range(len(corpus["sentences"])) if i not in drop]
        corpus = {**corpus, "sentences": [corpus["sentences"][i] for i in keep],
                  "labels": [corpus["labels"][i] for i in keep] if corpus["labels"] else None}
    if not corpus["sentences"]:
        st.warning("No sentence is left to analyse.")
        return None
    return corpus


SPLITS = ["test", "valid", "train", "all"]


def _split_sentences(data_dir: Path, split: str, limit: int) -> tuple[list[str], list[str] | None, str]:
    """The sentences of one split of a data directory (its first `limit`), or of all three with each one's
    split as its label ("all": when over `limit`, every k-th sentence, so that each split keeps its share);
    and the corpus' name. Raises CorpusError / OSError / ValueError as `vae_core.data.read_corpus`."""
    from vae_core.data import split_path
    if split != "all":
        p = split_path(data_dir, split)
        return _read_lines(str(p), p.stat().st_mtime, limit), None, p.name
    rows = []
    for part in ("train", "valid", "test"):
        p = split_path(data_dir, part)
        rows += [(part, line) for line in _read_lines(str(p), p.stat().st_mtime, MAX_CORPUS_SENTENCES)]
    if len(rows) > limit:
        step = len(rows) / limit
        rows = [rows[int(i * step)] for i in range(limit)]
    return [r[1] for r in rows], [r[0] for r in rows], f"{data_dir.name}: train + valid + test"


def corpus_picker(key: str, ck: Checkpoint, default_limit: int = 3761, allow_labels: bool = True,
                  max_tokens: int = 100, default_split: str = "test") -> dict | None:
    """Choose the sentences to analyse: a split of a data directory (PTB test by default), an uploaded text
    file (one sentence a line; an optional tab-separated label column), or sentences decoded from prior
    samples. At most MAX_CORPUS_SENTENCES. Returns {"name", "sentences", "labels" or None} or None with a
    message shown.

    Files are read under `vae_core.data.read_corpus`'s policy, so bad bytes, control characters and overlong
    lines get the CLI's message (file, line, column). Sentences the model's tokenizer leaves empty are left
    out, and those over `max_tokens` tokens (what the view cuts its inputs to) named, before any work."""
    from vae_core.analysis import prior_samples
    from vae_core.data import CorpusError
    sources = ["data directory", "uploaded file", "prior samples"]
    try:
        resolve_data_dir(DEFAULT_DATA)
        has_default = True
    except roots.NotUnderRoots:
        has_default = False
    own = os.environ.get(roots.CORPUS_ENV)            # `python -m app CKPT --corpus FILE`: the operator's file
    if own:
        sources.insert(0, "command-line corpus")
    persist(f"{key}_src", sources[0] if has_default or own else sources[2], sources)
    src = st.radio("Corpus", sources, horizontal=True, key=f"{key}_src")
    persist(f"{key}_limit", default_limit, bounds=(10, MAX_CORPUS_SENTENCES))
    limit = st.number_input("At most this many sentences", 10, MAX_CORPUS_SENTENCES, step=100, key=f"{key}_limit")
    if src == "data directory":
        c1, c2 = st.columns([3, 1])
        persist(f"{key}_dir", DEFAULT_DATA)
        d = c1.text_input("Data directory", key=f"{key}_dir",
                          help="Its name under the app's data roots (" + ", ".join(r.name for r in data_roots())
                               + "): a directory holding {ptb.,}{train,valid,test}.txt")
        persist(f"{key}_split", default_split, SPLITS)
        split = c2.selectbox("Split", SPLITS, key=f"{key}_split",
                             help="all: train, valid and test together, each sentence labelled by its split")
        try:
            data_dir = resolve_data_dir(d)
        except roots.NotUnderRoots as e:
            show_problem("Cannot read the corpus", e)
            return None
        try:
            sentences, labels, name = _split_sentences(data_dir, split, int(limit))
        except (CorpusError, OSError, ValueError) as e:
            show_problem("Cannot read the corpus", roots.redact(str(e), data_dir, data_roots()))
            return None
        return _screened({"name": name, "sentences": sentences, "labels": labels if allow_labels else None}, ck,
                         max_tokens, "sentence", list(range(1, len(sentences) + 1)))
    if src == "command-line corpus":
        p = Path(own)
        try:
            sentences = _read_lines(str(p), p.stat().st_mtime, int(limit))
        except (CorpusError, OSError, ValueError) as e:
            show_problem("Cannot read the corpus", str(e).replace(str(p), p.name))
            return None
        return _screened({"name": p.name, "sentences": sentences, "labels": None}, ck, max_tokens, "line",
                         list(range(1, len(sentences) + 1)))
    if src == "uploaded file":
        up = kept_upload("Text file: one sentence a line" + (", optionally `sentence<TAB>label`" if allow_labels else ""),
                         f"{key}_upload", ["txt", "tsv"])
        if up is None:
            st.info("Upload a file to use it here.")
            return None
        lines = numbered_upload_lines(up, "the uploaded file", int(limit))
        if lines is None:
            return None
        rows = [text.split("\t", 1) for _, text in lines]
        labels = [r[1].strip() for r in rows] if allow_labels and all(len(r) == 2 for r in rows) else None
        return _screened({"name": up.name, "sentences": [r[0] for r in rows], "labels": labels}, ck, max_tokens,
                         "line", [n for n, _ in lines])
    n = min(int(limit), 2000)
    samples = prior_samples(ck.model, ck.vocab, n, seed=0)
    return {"name": f"{n} prior samples", "sentences": [s["sentence"] or "<eos>" for s in samples], "labels": None}


def corpus_section(key: str, ck: Checkpoint, title: str = "Corpus", **picker) -> dict:
    """`corpus_picker` folded into an expander titled `title` (the views that need a corpus but are not about
    it); the view stops there, with the picker's message, when there is no corpus. `picker`: its options."""
    with st.expander(title, expanded=False):
        corpus = corpus_picker(key, ck, **picker)
    if not corpus:
        st.stop()
    return corpus


def corpus_posteriors(ck: Checkpoint, sentences: list[str]) -> dict:
    """Posterior means and logvars (numpy) and per-sentence KL and lengths of a corpus
    (`vae_core.latent.posterior_of_corpus`), kept for every session per checkpoint and corpus, and on disk;
    encoding shows its progress batch by batch, where a session that is left stops."""
    from vae_core.latent import posterior_of_corpus
    # on disk too (`vae_core.diskcache`), so a restarted server reopens a large corpus' map at once; the key
    # names the 100-token cap that posterior_of_corpus applies
    disk_key = corpus_disk_key(ck, sentences, 100)

    def encode():
        bar = st.progress(0.0, text=f"Encoding {len(sentences):,} sentences…")
        post = posterior_of_corpus(ck.model, ck.vocab, list(sentences),
                                   progress=progress_over(bar, lambda i, n: f"Encoding the corpus: batch {i}/{n}"),
                                   cache_key=disk_key)
        bar.empty()
        return post
    return result_store("posteriors", 8).get_or_compute((ck.meta["checkpoint_id"], sentences_key(sentences)), encode)


def aggregate_stats(ck: Checkpoint, corpus: dict) -> dict:
    """The aggregate posterior's per-dimension mean, std and mean KL over `corpus` as torch tensors
    (`vae_core.latent.aggregate_posterior`), plus "active_units" (`vae_core.estimators.active_units`); the
    corpus is encoded once per checkpoint and corpus (`corpus_posteriors`)."""
    import torch
    from vae_core.estimators import active_units
    from vae_core.latent import aggregate_posterior
    post = corpus_posteriors(ck, corpus["sentences"])
    mu, logvar, fam = torch.from_numpy(post["mu"]), torch.from_numpy(post["logvar"]), ck.model.posterior
    return {**aggregate_posterior(mu, logvar, fam), "active_units": active_units(fam.mean(mu, logvar))[0]}


def corpus_nll(ck: Checkpoint, sentences: list[str]):
    """Each sentence's NLL bound (`vae_core.latent.nll_of_corpus`), (N,) nats, kept server-wide and on disk;
    computing it shows progress batch by batch."""
    from vae_core.latent import nll_of_corpus
    disk_key = corpus_disk_key(ck, sentences, 100, 0)                 # the token cap and the seed

    def compute():
        bar = st.progress(0.0, text=f"Scoring {len(sentences):,} sentences…")
        out = nll_of_corpus(ck.model, ck.vocab, list(sentences), cache_key=disk_key,
                            progress=progress_over(bar, lambda i, n: f"NLL of the corpus: batch {i}/{n}"))
        bar.empty()
        return out
    return result_store("corpus_nll", 8).get_or_compute((ck.meta["checkpoint_id"], sentences_key(sentences)), compute)


def posterior_means(ck: Checkpoint, sentences: list[str]):
    """E_q[z|x] of every sentence, (N, n) numpy: mu for a Gaussian posterior, A(kappa) mu for a vMF
    (`vae_core.posterior`), from the cached posteriors (`corpus_posteriors`)."""
    import torch
    post = corpus_posteriors(ck, sentences)
    return ck.model.posterior.mean(torch.from_numpy(post["mu"]), torch.from_numpy(post["logvar"])).numpy()


def expected_jacobian_for(ck: Checkpoint, n_samples: int, seed: int = 0):
    """E_{z ~ p(z)}[J(z)] of a checkpoint over `n_samples` prior samples (`vae_core.jacobian.expected_jacobian`),
    (|V|, n), kept server-wide per checkpoint, samples and seed; computing it shows progress chunk by chunk."""
    from vae_core import jacobian as jac

    def compute():
        bar = st.progress(0.0, text=f"Jacobian over {n_samples} prior samples (forward-mode AD)…")
        J = jac.expected_jacobian(ck.model, n_samples, int(seed), progress=progress_over(
            bar, lambda i, n: f"Jacobian: chunk {i}/{n} of {n_samples} samples"))
        bar.empty()
        return J
    return result_store("expected_jacobian", 8).get_or_compute((ck.meta["checkpoint_id"], n_samples, int(seed)),
                                                               compute)


def open_unit_page(ck: Checkpoint, dim: int, key: str) -> None:
    """A button that opens unit `dim`'s page (app/views/unit.py) on this checkpoint."""
    if st.button(f"Open z{dim}'s unit page", key=key):
        st.session_state["unit_dim"] = f"z{dim}"
        st.switch_page(str(Path(__file__).parent / "views" / "unit.py"))


def projection_for(ck: Checkpoint, corpus: dict, method: str, params: dict | None = None, seed: int = 0) -> dict:
    """Encode `corpus` (cached per checkpoint) and project its posterior means (disk-cached per checkpoint,
    corpus, method and parameters). Returns the posterior dict plus "coords" (N, 2) and "cached"."""
    from vae_core.projection import cache_key, project
    post = corpus_posteriors(ck, corpus["sentences"])
    key = cache_key(ck.meta["checkpoint_id"], corpus["sentences"], method, params or {}, seed)
    bar = st.empty()
    stage = lambda text, fraction: bar.progress(fraction, text=text)     # the fit's stages, as they happen
    with st.spinner(f"Projecting {len(corpus['sentences'])} sentences with {method.upper()}…"):
        coords, cached = project(post["mu"], method, params, seed, key=key, progress=stage)
    bar.empty()
    # "computed" for the rest of the session that computed it: a rerun (e.g. a selection on the map)
    # reads it back from disk, but the user did just compute it
    computed = st.session_state.setdefault("_projections_computed_here", set())
    if not cached:
        computed.add(key)
    return {**post, "coords": coords, "cached": cached and key not in computed}


def map_clusters(coords, sentences: list[str]) -> dict:
    """HDBSCAN clusters of a map and their class-based TF-IDF labels (`vae_core.clusters`): {"labels" (N,),
    "words" {cluster: [word]}, "centres" {cluster: (x, y)} (the median position)}, kept server-wide per map
    (about 17 s for 49k points on a busy 2-core CPU, with the projection's own progress shown first)."""
    import hashlib
    import numpy as np
    from vae_core.clusters import labelled_clusters
    coords = np.ascontiguousarray(coords, dtype=np.float32)
    key = hashlib.sha256(coords.tobytes()).hexdigest()[:24] + sentences_key(sentences)

    def compute():
        with st.spinner(f"Clustering {len(coords):,} points (HDBSCAN) and labelling the clusters…"):
            return labelled_clusters(coords, sentences)
    return result_store("map_clusters", 8).get_or_compute(key, compute)


def neighbour_index(ck: Checkpoint, sentences: list[str], mu):
    """A `vae_core.neighbours.NeighbourIndex` over a corpus' posterior means, kept server-wide per checkpoint
    and corpus."""
    from vae_core.neighbours import NeighbourIndex
    return result_store("neighbour_index", 8).get_or_compute((ck.meta["checkpoint_id"], sentences_key(sentences)),
                                                             lambda: NeighbourIndex(mu))


# ------------------------------------------------------------------------------------------ paths on a map
def path_map_controls(ck: Checkpoint, toggle_key: str, method_key: str, corpus_key: str) -> dict | None:
    """The "Draw the path on a projection map" toggle with its projection method and corpus; None when off
    (or no corpus). Shared by the views that walk a path through z (homotopy, latent arithmetic)."""
    persist(toggle_key, False)
    if not st.toggle("Draw the path on a projection map", key=toggle_key):
        return None
    persist(method_key, "pca", ["pca", "umap", "tsne"])
    method = st.radio("Projection", ["pca", "umap", "tsne"], horizontal=True, key=method_key)
    corpus = corpus_picker(corpus_key, ck, default_limit=1000, allow_labels=False)
    return {"method": method, "corpus": corpus} if corpus else None


def show_path_on_map(m: Checkpoint, controls: dict, z, labels: list[str], name: str, key: str) -> None:
    """Project the corpus of `controls` with model `m` and draw the codes z (S, n) on it as a path."""
    from vae_core.projection import place
    from app import figures
    corpus = controls["corpus"]
    proj = projection_for(m, corpus, controls["method"])
    xy = place(z.numpy(), proj["mu"], proj["coords"])
    fig = figures.projection_figure(proj["coords"], corpus["sentences"], proj["length"], "length",
                                    overlays=[{"name": name, "xy": xy, "text": labels, "path": True}])
    show_figure(fig, f"{name} path on the projection", key)
    st.caption("Path points are placed at the distance-weighted mean position of their 5 nearest corpus "
               "codes in latent space (the same rule for every projection method).")


# ------------------------------------------------------------------------------------------ exports
def _slug(name: str) -> str:
    import re
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() or "figure"


def show_figure(fig, name: str, key: str, **chart_kwargs):
    """Show a plotly figure, with an "Export" popover beneath it: PNG / SVG / PDF in the paper style at
    one- or two-column width (`app.export`, rendered only when clicked) and the figure's data as CSV.
    Returns what `st.plotly_chart` returns (the selection event where `on_select` is set)."""
    from app import export
    event = st.plotly_chart(fig, width="stretch", key=key, **chart_kwargs)
    slug = _slug(name)
    # its own key: two figures' menus (compare mode) had one identity, so opening one opened the other
    with st.popover("Export figure", icon=":material/download:", key=f"{key}_export"):
        layout = st.radio("Size", list(export.LAYOUTS), horizontal=True, key=f"{key}_layout",
                          help="3.5 in (one column) or 7 in (two columns) wide; serif 9 pt text")
        cols = st.columns(4)
        for col, fmt in zip(cols, export.FORMATS):
            col.download_button(fmt.upper(), data=lambda fmt=fmt: export.figure_bytes(fig, fmt, layout),
                                file_name=f"{slug}-{layout}.{fmt}", mime=export.MIME[fmt], key=f"{key}_{fmt}",
                                on_click="ignore")
        cols[3].download_button("CSV", data=lambda: export.csv_bytes(export.figure_data(fig)),
                                file_name=f"{slug}-data.csv", mime=export.MIME["csv"], key=f"{key}_csv",
                                on_click="ignore")
    return event


def show_table(df, name: str, key: str, dataframe: bool = False, **kwargs) -> None:
    """Show a table (`st.table`, or `st.dataframe` for long ones), with CSV and LaTeX downloads."""
    from app import export
    if dataframe:
        # drawn on a canvas (text is text); a missing figure (a paper that gives no AU) shows "–", not "None"
        st.dataframe(df, **{"placeholder": "–", **kwargs})
    else:
        st.table(markdown_cells(df), **kwargs)
    slug = _slug(name)
    with st.popover("Export table", icon=":material/download:", key=f"{key}_export"):
        c1, c2 = st.columns(2)
        c1.download_button("CSV", data=export.csv_bytes(df), file_name=f"{slug}.csv", mime=export.MIME["csv"],
                           key=f"{key}_csv", on_click="ignore")
        c2.download_button("LaTeX", data=export.latex_table(df, caption=name, label=f"tab:{slug}"),
                           file_name=f"{slug}.tex", mime=export.MIME["tex"], key=f"{key}_tex", on_click="ignore")
