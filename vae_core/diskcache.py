"""Arrays kept on disk between runs of the app: NumPy `.npz` files (no pickles) under $VAE_CORE_CACHE (else
~/.cache/vae_core), one per key, written atomically. A damaged or mismatched file is ignored and rewritten.
Used for corpus maps: the posteriors of a corpus (`vae_core.latent.posterior_of_corpus`), its NLLs
(`nll_of_corpus`) and its 2-D projection (`vae_core.projection.project`), so a restarted server shows a map it
has made before at once.

Each directory is bounded: after a write, the files least recently used are deleted until the directory
holds at most $VAE_CORE_CACHE_MAX_MB megabytes (default 1024). A link or an upload can ask for a map of any
corpus, so without the bound every new corpus or parameter would add a file for good.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np


def cache_root() -> Path:
    """$VAE_CORE_CACHE, else ~/.cache/vae_core."""
    return Path(os.environ.get("VAE_CORE_CACHE", Path.home() / ".cache" / "vae_core"))


def max_bytes() -> int:
    """The most bytes one cache directory keeps: $VAE_CORE_CACHE_MAX_MB megabytes (default 1024)."""
    return int(float(os.environ.get("VAE_CORE_CACHE_MAX_MB", 1024)) * 2 ** 20)


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
    """Write `arrays` to `path` as .npz through a temporary file and a rename (readers see all or nothing),
    then bound its directory (`prune`)."""
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
    prune(path.parent, keep=path)


def prune(directory: Path, limit: int | None = None, keep: Path | None = None) -> int:
    """Delete the least recently used `.npz` files of `directory` (by modification time, which a cache hit
    renews) until it holds at most `limit` bytes (default `max_bytes()`); `keep` is never deleted. Returns
    how many files went. One listing of the directory: linear in its files, which the bound keeps few."""
    limit = max_bytes() if limit is None else limit
    files = []
    for p in Path(directory).glob("*.npz"):
        try:
            st = p.stat()
        except OSError:
            continue                                    # deleted meanwhile by another process
        files.append((st.st_mtime, st.st_size, p))
    total, gone = sum(size for _, size, _ in files), 0
    for _, size, p in sorted(files):
        if total <= limit:
            break
        if keep is not None and p == Path(keep):
            continue
        try:
            p.unlink()
            total, gone = total - size, gone + 1
        except OSError:
            pass
    return gone


def cached(directory: Path, key: str, rows: int, compute: Callable[[], dict[str, np.ndarray]],
           names: set[str] | None = None) -> tuple[dict[str, np.ndarray], bool]:
    """The arrays stored under `key` in `directory` when they are there, have `rows` rows and (with `names`)
    those names; else `compute()`, stored. Returns (arrays, whether they came from the disk)."""
    path = Path(directory) / f"{key}.npz"
    got = load_arrays(path, rows=rows)
    if got is not None and (names is None or names <= set(got)):
        try:
            os.utime(path)                              # recently used: the last to be pruned
        except OSError:
            pass
        return got, True
    out = compute()
    save_arrays(path, **out)
    return out, False
