"""Nearest corpus sentences in latent space: exact k-nearest neighbours of posterior means.

    index = NeighbourIndex(mu)                       # mu: (N, n) posterior means of a corpus
    idx, dist = index.query(mu_q, k=10, metric="cosine")

The search is exact (scikit-learn's brute-force NearestNeighbors: one matrix product per query batch), not
approximate: at the sizes the explorer maps (49k PTB sentences at n <= 512, and 1M synthetic codes at n = 32)
a query costs milliseconds to a few hundred, which an approximate index (pynndescent, faiss) would only
trade for recall (bench/neighbours.py prints the figures). `rerank_by_likelihood` re-orders candidates by
the model's own score log p(x_i | z), z the query's posterior mean, as the overlap view's matrix does.
"""
from __future__ import annotations

import numpy as np
import torch

METRICS = ("euclidean", "cosine")


class NeighbourIndex:
    """Exact nearest neighbours among N codes (N, n) (float32), by Euclidean distance or cosine distance
    1 - cos. One fitted scikit-learn model per metric, made on first use."""

    def __init__(self, codes: np.ndarray):
        codes = np.asarray(codes, dtype=np.float32)
        if codes.ndim != 2 or len(codes) == 0:
            raise ValueError(f"an index needs codes of shape (N, n) with N >= 1, got {codes.shape}")
        self.codes = codes
        self._fitted: dict = {}

    def __len__(self) -> int:
        return len(self.codes)

    def query(self, queries: np.ndarray, k: int = 10, metric: str = "euclidean") -> tuple[np.ndarray, np.ndarray]:
        """Indices (M, k) of the k nearest codes of each query (M, n), nearest first, and their distances
        (M, k): Euclidean, or cosine distance 1 - cos (0 = the same direction). Raises ValueError for an
        unknown metric, k < 1 or a query of another dimension. `nearest_to` leaves out a query's own row."""
        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r}; expected one of {METRICS}")
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        if queries.shape[1] != self.codes.shape[1]:
            raise ValueError(f"queries have {queries.shape[1]} dimensions, the index {self.codes.shape[1]}")
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        if metric not in self._fitted:
            from sklearn.neighbors import NearestNeighbors
            self._fitted[metric] = NearestNeighbors(algorithm="brute", metric=metric).fit(self.codes)
        dist, idx = self._fitted[metric].kneighbors(queries, n_neighbors=min(k, len(self.codes)))
        return idx, dist.astype(np.float32)


def nearest_to(index: NeighbourIndex, query: np.ndarray, k: int = 10, metric: str = "euclidean",
               exclude: int | None = None) -> tuple[list[int], list[float]]:
    """The k corpus indices nearest to one code `query` (n,), nearest first, and their distances, leaving out
    corpus index `exclude` (the query's own sentence when it is one of the corpus). Raises as `query`."""
    idx, dist = index.query(np.asarray(query).reshape(1, -1), k + (exclude is not None), metric)
    pairs = [(int(i), float(d)) for i, d in zip(idx[0], dist[0]) if i != exclude][:k]
    return [i for i, _ in pairs], [d for _, d in pairs]


@torch.no_grad()
def rerank_by_likelihood(model, vocab, sentences: list[str], candidates, z,
                         max_tokens: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Re-order candidate corpus sentences (indices (c,)) by log p(x_i | z) under the model's decoder, z (n,)
    a code (the query's posterior mean; tensor or array), best first: (indices (c,), log p(x_i | z) in nats per sentence (c,)).
    Scoring every corpus sentence costs N decoder passes, so the candidates are a latent-space shortlist."""
    from .data import corpus_from_text
    cand = [int(i) for i in candidates]
    z = torch.as_tensor(np.asarray(z, dtype=np.float32)).reshape(-1)
    corpus = corpus_from_text([sentences[i] for i in cand], vocab, max_tokens)
    x, lengths = corpus.collate(range(len(cand)))
    device = next(model.parameters()).device
    model.eval()
    logp = model.reconstruction(x.to(device), lengths.to(device), z.to(device).expand(len(cand), -1)).float().cpu()
    order = torch.argsort(logp, descending=True).numpy()
    return np.array(cand)[order], logp.numpy()[order]
