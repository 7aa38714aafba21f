"""2-D projections of posterior means (UMAP, PCA, t-SNE), cached on disk.

A projection is computed once per (checkpoint, corpus, method, parameters) and stored as a NumPy `.npz`
(no pickles) under the cache directory, so a restarted app does not pay for it again.

New points (typed sentences, homotopy paths) are placed on an existing map by `place`: the
distance-weighted mean of the map positions of their k nearest corpus points in latent space. This works
the same for every method (scikit-learn's t-SNE has no transform of its own) and for maps read back from
the cache. openTSNE, which can place new points by optimising them against a map, was measured and not
taken: on the PTB test codes of the VAE demo (3,761 x 32, 2 threads) it took 18.3 s for the first fit of a
process and 7.4 s warm, against scikit-learn's 9.2-9.4 s, with the same trustworthiness (0.971 vs 0.970).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable

import numpy as np

from .diskcache import cache_root, cached

METHODS = ("umap", "pca", "tsne")
DEFAULT_PARAMS = {"umap": {"n_neighbors": 15, "min_dist": 0.1}, "pca": {}, "tsne": {"perplexity": 30.0}}


def default_cache_dir() -> Path:
    """$VAE_CORE_CACHE/projections, else ~/.cache/vae_core/projections (`vae_core.diskcache`)."""
    return cache_root() / "projections"


def cache_key(checkpoint_id: str, corpus: list[str], method: str, params: dict, seed: int) -> str:
    """sha256 over the checkpoint id, the corpus text, the method, its parameters and the seed."""
    h = hashlib.sha256()
    h.update(json.dumps({"ckpt": checkpoint_id, "method": method, "params": params, "seed": seed},
                        sort_keys=True).encode())
    for s in corpus:
        h.update(s.encode("utf-8", "replace") + b"\n")
    return h.hexdigest()[:32]


def _fit(points: np.ndarray, method: str, params: dict, seed: int, progress: Callable[[str, float], None]):
    n = len(points)
    if method == "pca":
        from sklearn.decomposition import PCA
        return PCA(n_components=2, random_state=seed).fit_transform(points)
    if method == "tsne":
        from sklearn.manifold import TSNE
        perplexity = min(float(params.get("perplexity", 30.0)), max(1.0, (n - 1) / 3))
        progress(f"t-SNE: affinities and 1,000 iterations of layout for {n:,} points (scikit-learn; about "
                 f"{max(1, round(2.5e-3 * n))} s on 2 CPU cores)", 0.1)
        return TSNE(n_components=2, perplexity=perplexity, random_state=seed, init="pca").fit_transform(points)
    if method == "umap":
        progress("UMAP: loading (numba compiles it the first time in a process, 10-30 s)", 0.05)
        import umap
        from umap.umap_ import nearest_neighbors
        k = min(int(params.get("n_neighbors", 15)), max(2, n - 1))
        progress(f"UMAP: the {k} nearest neighbours of {n:,} points", 0.35)
        knn = nearest_neighbors(points, k, "euclidean", {}, False, np.random.RandomState(seed))
        progress("UMAP: optimising the layout", 0.6)
        return umap.UMAP(n_components=2, n_neighbors=k, min_dist=float(params.get("min_dist", 0.1)),
                         random_state=seed, precomputed_knn=knn).fit_transform(points)
    raise ValueError(f"unknown projection {method!r}; expected one of {METHODS}")


def project(points: np.ndarray, method: str = "umap", params: dict | None = None, seed: int = 0,
            key: str | None = None, cache_dir: Path | None = None,
            progress: Callable[[str, float], None] = lambda stage, fraction: None) -> tuple[np.ndarray, bool]:
    """2-D coordinates (N, 2) of `points` (N, n), and whether they came from the disk cache.

    With `key` (see `cache_key`), the result is read from / written to `cache_dir/key.npz` (atomic write; the directory is bounded, `vae_core.diskcache`).
    `progress(stage, fraction)` is told each stage of a fit (UMAP: loading, nearest neighbours, layout).
    Raises ValueError for an unknown method or fewer than 3 points.
    """
    if method not in METHODS:
        raise ValueError(f"unknown projection {method!r}; expected one of {METHODS}")
    if len(points) < 3:
        raise ValueError(f"a projection needs at least 3 points, got {len(points)}")
    params = {**DEFAULT_PARAMS[method], **(params or {})}
    def fit():
        return {"coords": np.asarray(_fit(np.asarray(points, dtype=np.float32), method, params, seed, progress),
                                     dtype=np.float32)}
    if key is None:
        return fit()["coords"], False
    got, hit = cached(Path(cache_dir or default_cache_dir()), key, len(points), fit, {"coords"})   # damaged: refit
    return got["coords"], hit


def place(new_points: np.ndarray, points: np.ndarray, coords: np.ndarray, k: int = 5) -> np.ndarray:
    """Map positions (M, 2) for new latent points (M, n): inverse-distance-weighted mean of the positions
    `coords` (N, 2) of their k nearest neighbours among `points` (N, n) (scikit-learn NearestNeighbors)."""
    from sklearn.neighbors import NearestNeighbors
    new_points = np.asarray(new_points, dtype=np.float64)
    if len(new_points) == 0:
        return np.zeros((0, 2), dtype=np.float32)
    k = min(k, len(points))
    dist, idx = NearestNeighbors(n_neighbors=k).fit(np.asarray(points, dtype=np.float64)).kneighbors(new_points)
    w = 1.0 / np.maximum(dist, 1e-9)
    w /= w.sum(1, keepdims=True)
    return (w[..., None] * np.asarray(coords, dtype=np.float64)[idx]).sum(1).astype(np.float32)


# A hand-drawn lasso has a few hundred vertices; the cap keeps a forged selection from costing minutes (each vertex
# is one pass over its band of points).
MAX_POLYGON_VERTICES = 10_000


def points_in_polygon(coords: np.ndarray, xs, ys) -> np.ndarray:
    """Which map points lie inside a closed path (a lasso), by the even-odd rule, as plotly's own lasso decides.

    coords: (N, 2) map coordinates; xs, ys: the path's vertices, V each (the last joins the first). Returns a
    bool array (N,). A path that is not two equal lists of at least 3 finite numbers has no inside; vertices
    that are not numbers, or more than MAX_POLYGON_VERTICES of them, raise ValueError. The points are sorted by
    y once; each edge then flips only the points in its own y band [min y, max y) that lie left of it, so the
    cost is O(N log N + V log N + the points the edges' bands hold), not O(N V): a 300-vertex lasso over 1M
    points takes 65 ms (`bench/map_render.py`).
    """
    coords = np.asarray(coords, dtype=np.float64)
    inside = np.zeros(len(coords), dtype=bool)
    try:
        px, py = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"a path's vertices are not numbers: {e}") from None
    if max(px.size, py.size) > MAX_POLYGON_VERTICES:
        raise ValueError(f"a path of {max(px.size, py.size):,} vertices (at most {MAX_POLYGON_VERTICES:,})")
    if px.ndim != 1 or px.shape != py.shape or len(px) < 3 or not (np.isfinite(px).all() and np.isfinite(py).all()) \
            or not len(coords):
        return inside
    x, y = coords[:, 0], coords[:, 1]
    candidates = np.flatnonzero((x >= px.min()) & (x <= px.max()) & (y >= py.min()) & (y <= py.max()))
    order = candidates[np.argsort(y[candidates], kind="stable")]
    ys_sorted, xs_sorted = y[order], x[order]
    flips = np.zeros(len(order), dtype=bool)
    for x0, y0, x1, y1 in zip(px, py, np.roll(px, 1), np.roll(py, 1)):
        if y0 == y1:
            continue                                   # a horizontal edge crosses no horizontal ray
        a, b = np.searchsorted(ys_sorted, [min(y0, y1), max(y0, y1)], side="left")
        band = slice(a, b)
        flips[band] ^= xs_sorted[band] < x0 + (ys_sorted[band] - y0) * (x1 - x0) / (y1 - y0)
    inside[order[flips]] = True
    return inside
