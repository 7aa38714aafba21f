"""Clusters of a corpus map and their labels: the labelled data map papers print.

    labels = cluster_map(coords)                   # (N,) cluster of each sentence, -1 = unclustered
    words = cluster_words(sentences, labels)       # {cluster: its most distinctive words}

Clusters are scikit-learn's HDBSCAN on the 2-D map (density-based: no number of clusters to choose, and
sentences in no dense region stay unclustered). Each cluster is labelled by class-based TF-IDF (Grootendorst
2022, BERTopic, Eq. 1): the sentences of a cluster are one document, and a word's weight in cluster c is

    W(t, c) = tf(t, c) * log(1 + A / f(t))

tf(t, c) the frequency of t in c divided by c's word count, f(t) its frequency over all clusters and A the
mean word count of a cluster; words are the whitespace tokens of two or more letters, counted by scikit-learn's
CountVectorizer without its English stop words (PTB's `<unk>` and `N` are not words).
"""
from __future__ import annotations

import re

import numpy as np

_WORD = re.compile(r"[a-z][a-z&.-]*[a-z]")         # words of two or more letters; not PTB's "n't", "'s"


def cluster_map(coords: np.ndarray, min_cluster_size: int | None = None) -> np.ndarray:
    """HDBSCAN clusters of map coordinates (N, 2): (N,) int labels 0..C-1, -1 for unclustered points.
    min_cluster_size defaults to max(10, N / 100). Raises ValueError for fewer than 2 points."""
    coords = np.asarray(coords, dtype=np.float64)
    if len(coords) < 2:
        raise ValueError(f"clustering needs at least 2 points, got {len(coords)}")
    from sklearn.cluster import HDBSCAN
    size = min_cluster_size or max(10, len(coords) // 100)
    return HDBSCAN(min_cluster_size=min(size, len(coords)), copy=True).fit_predict(coords).astype(np.int64)


def cluster_words(sentences: list[str], labels: np.ndarray, top: int = 3) -> dict[int, list[str]]:
    """The `top` words of highest class-based TF-IDF for each cluster (labels >= 0), highest first; a
    cluster with no countable word gets []. sentences: (N,) texts; labels: (N,) as from `cluster_map`."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer
    members: dict[int, list[str]] = {}
    for s, c in zip(sentences, np.asarray(labels).tolist()):     # one pass (a pass per cluster was N x C)
        if c >= 0:
            members.setdefault(int(c), []).append(s)
    clusters = sorted(members)
    if not clusters:
        return {}
    docs = [" ".join(members[c]) for c in clusters]
    # whole whitespace tokens that are words: PTB's <unk> and N are not ("<unk>" held the word "unk" for a
    # regular expression that looks inside tokens)
    vec = CountVectorizer(analyzer=lambda doc: [t for t in doc.lower().split()
                                                if _WORD.fullmatch(t) and t not in ENGLISH_STOP_WORDS])
    try:
        counts = vec.fit_transform(docs).toarray().astype(np.float64)       # (C, |words|)
    except ValueError:                                                     # no word at all
        return {c: [] for c in clusters}
    words = vec.get_feature_names_out()
    size = counts.sum(1, keepdims=True)
    tf = np.divide(counts, size, out=np.zeros_like(counts), where=size > 0)
    weight = tf * np.log(1 + counts.sum(1).mean() / counts.sum(0))
    out = {}
    for row, c in enumerate(clusters):
        best = [j for j in np.argsort(-weight[row], kind="stable")[:top] if counts[row, j] > 0]
        out[c] = [str(words[j]) for j in best]
    return out


def labelled_clusters(coords: np.ndarray, sentences: list[str], min_cluster_size: int | None = None) -> dict:
    """`cluster_map` and `cluster_words` together: {"labels" (N,), "words" {cluster: [word]}, "centres"
    {cluster: (x, y), the median position of its points}}, what a labelled map draws."""
    coords = np.asarray(coords, dtype=np.float64)
    labels = cluster_map(coords, min_cluster_size)
    words = cluster_words(sentences, labels)
    centres = {c: tuple(np.median(coords[labels == c], 0).tolist()) for c in words}
    return {"labels": labels, "words": words, "centres": centres}
