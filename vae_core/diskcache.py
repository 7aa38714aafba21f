"""Arrays kept on disk between runs of the app: NumPy `.npz` files (no pickles) under $VAE_CORE_CACHE (else
~/.cache/vae_core), one per key, written atomically. A damaged or mismatched file is ignored and rewritten.
Used for corpus maps: the posteriors of a corpus (`vae_core.latent.posterior_of_corpus`) and its 2-D
projection (`vae_core.projection.project`), so a restarted server shows a map it has made before at once."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np


def cache_root() -> Path:
    """$VAE_CORE_CACHE, else ~/.cache/vae_core."""
    return Path(os.environ.get("VAE_CORE_CACHE", Path.home() / ".cache" / "vae_core"))


def load_arrays(path: Path, rows: int | None = None) -> dict[str, np.ndarray] | None:
    """The arrays of `path`, or None when it is missing, unreadable, holds pickled objects, or (with `rows`)
    any array whose first dimension is not `rows`."""
    if not Path(path).is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            out = {k: f[k] for k in f.files}
    except (OSError, ValueError, KeyError, EOFError):
        return None
    if rows is not None and any(a.ndim == 0 or a.shape[0] != rows for a in out.values()):
        return None
    return out


def save_arrays(path: Path, **arrays: np.ndarray) -> None:
    """Write `arrays` to `path` as .npz through a temporary file and a rename (readers see all or nothing)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
    os.close(fd)
    try:
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
