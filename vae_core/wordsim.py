"""An independent yardstick for Jacobian word embeddings: co-occurrence vectors of the training corpus, and how
well a word's Jacobian neighbours agree with them.

    ppmi_svd_vectors     positive PMI of word / context counts in a symmetric window, with context-distribution
                         smoothing 0.75, reduced by truncated SVD to `dim` dimensions as U_d S_d^0.5 (Levy,
                         Goldberg & Dagan 2015, "Improving distributional similarity with lessons learned from
                         word embeddings", TACL: their PPMI and SVD with eigenvalue weighting p = 0.5)
    neighbour_agreement  the mean cosine, under those vectors, between each of a set of words (by default the
                         300 most frequent) and its k nearest neighbours under an embedding; the random-pair
                         baseline is `random_pair_agreement`

Higher agreement = the embedding's neighbours are words that occur in alike contexts. `bench/
jacobian_agreement.py` scores every zoo model's Jacobian embeddings with it, and that choice of the Jacobian
view's default is written in README.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .data import SPECIALS, Vocab


def ppmi_svd_vectors(sentences: Sequence[Sequence[str]], vocab: Vocab, window: int = 5, dim: int = 100,
                     cds: float = 0.75, seed: int = 0) -> np.ndarray:
    """(|V|, dim) float32 word vectors, rows L2-normalised (all-zero for the specials and for words without a
    context). Counts pair every token with each token up to `window` positions away within its sentence.
    Raises ValueError when `dim` is not below the vocabulary size."""
    import scipy.sparse as sp
    from sklearn.decomposition import TruncatedSVD
    V = len(vocab)
    if dim >= V:
        raise ValueError(f"dim must be below the vocabulary size ({V}), got {dim}")
    ids, sent = [], []
    for i, s in enumerate(sentences):
        ids.extend(vocab.encode(s))
        sent.extend([i] * len(s))
    ids, sent = np.asarray(ids, dtype=np.int64), np.asarray(sent, dtype=np.int64)
    rows, cols = [], []
    for k in range(1, window + 1):
        same = sent[k:] == sent[:-k]
        a, b = ids[:-k][same], ids[k:][same]
        rows += [a, b]
        cols += [b, a]
    r, c = np.concatenate(rows), np.concatenate(cols)
    counts = sp.coo_matrix((np.ones(len(r), dtype=np.float64), (r, c)), shape=(V, V)).tocsr()
    counts.sum_duplicates()
    total = counts.sum()
    word = np.asarray(counts.sum(1)).ravel()
    ctx = np.asarray(counts.sum(0)).ravel() ** cds
    ctx = ctx / ctx.sum()
    coo = counts.tocoo()
    pmi = np.log(coo.data * 1.0 / total) - np.log(word[coo.row] / total) - np.log(ctx[coo.col])
    keep = pmi > 0
    ppmi = sp.csr_matrix((pmi[keep], (coo.row[keep], coo.col[keep])), shape=(V, V))
    svd = TruncatedSVD(dim, algorithm="randomized", random_state=seed)
    u = svd.fit_transform(ppmi)                      # U_d S_d
    vec = u / np.sqrt(np.maximum(svd.singular_values_, 1e-12))        # U_d S_d^0.5
    vec[[vocab.stoi[s] for s in SPECIALS]] = 0.0
    norms = np.linalg.norm(vec, axis=1, keepdims=True)
    return (vec / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def _unit_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(n > 0, n, 1.0)


def frequent_words(vocab: Vocab, n: int = 300) -> list[int]:
    """Ids of the `n` most frequent words: a vocabulary built by `Vocab.build` lists words by frequency
    after the four specials."""
    return list(range(len(SPECIALS), min(len(vocab), len(SPECIALS) + n)))


def neighbour_agreement(embedding: np.ndarray, reference: np.ndarray, words: Sequence[int], k: int = 10) -> float:
    """Mean over `words` (ids) of the mean cosine, under `reference` (|V|, d'), between the word and its k
    nearest neighbours by cosine under `embedding` (|V|, d); the specials and the word itself are never
    neighbours, nor are words without a reference vector."""
    E, R = _unit_rows(embedding), _unit_rows(reference)
    valid = np.linalg.norm(R, axis=1) > 0
    valid[: len(SPECIALS)] = False
    words = [w for w in words if valid[w]]
    sims = E[words] @ E.T
    sims[:, ~valid] = -np.inf
    sims[np.arange(len(words)), words] = -np.inf
    near = np.argpartition(-sims, k, axis=1)[:, :k]
    return float(np.mean(np.einsum("wd,wkd->wk", R[words], R[near])))


def random_pair_agreement(reference: np.ndarray, words: Sequence[int], k: int = 10, seed: int = 0) -> float:
    """`neighbour_agreement`'s baseline: the same mean cosine with k random words (with a reference vector,
    not specials, not the word itself) as each word's "neighbours"."""
    R = _unit_rows(reference)
    valid = np.flatnonzero(np.linalg.norm(R, axis=1) > 0)
    valid = valid[valid >= len(SPECIALS)]
    rng = np.random.default_rng(seed)
    has_vector = set(valid.tolist())
    words = [w for w in words if w in has_vector]
    out = []
    for w in words:
        pick = rng.choice(valid[valid != w], size=k, replace=False)
        out.append(float((R[pick] @ R[w]).mean()))
    return float(np.mean(out))


def agreement_by_embedding(J, vocab: Vocab, reference: np.ndarray, words: Sequence[int] | None = None,
                           k: int = 10) -> dict[str, float]:
    """`neighbour_agreement` of each kind of Jacobian word embedding (`vae_core.jacobian.word_embeddings`:
    raw, centred, whitened) of the |V| x n Jacobian `J`, with `reference` vectors (|V|, d'), over `words`
    (default the 300 most frequent), plus "random" (`random_pair_agreement`). What bench/jacobian_agreement.py
    prints for each zoo model and the test of the Jacobian view's default recomputes."""
    from .jacobian import EMBEDDINGS, word_embeddings
    words = frequent_words(vocab, 300) if words is None else words
    out = {kind: neighbour_agreement(word_embeddings(J, kind).numpy(), reference, words, k) for kind in EMBEDDINGS}
    return out | {"random": random_pair_agreement(reference, words, k)}
