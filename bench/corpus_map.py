"""The corpus map's costs on this machine (issue 38). Prints figures beside their targets; asserts nothing.

    python bench/corpus_map.py [--checkpoint checkpoints/bowman-vae] [--data ../shared/data/ptb] [--threads 2]

Measures, for PTB train + valid + test (49,199 sentences):
  - cold: encoding every sentence, then the UMAP fit (numba's compilation included: a fresh process), by stage;
  - warm: both read back from the disk cache (`vae_core.diskcache`), as a restarted server does;
  - HDBSCAN clusters of the map and their class-based TF-IDF labels;
  - nearest-neighbour queries (exact, `vae_core.neighbours`): median and 95th percentile over 200 queries, on
    the 49k posterior means and on 1M synthetic 32-d codes, by Euclidean and cosine distance;
  - the process' resident memory after it holds the map (what one server adds for it).
Run it with no training run holding a core.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def queries(index, codes, metric, n=200, k=10, seed=0):
    rng = np.random.default_rng(seed)
    times = []
    for i in rng.integers(0, len(codes), n):
        t = time.perf_counter()
        index.query(codes[i], k, metric)
        times.append(time.perf_counter() - t)
    return np.median(times) * 1e3, np.percentile(times, 95) * 1e3


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--checkpoint", default="checkpoints/bowman-vae")
    p.add_argument("--data", default="../shared/data/ptb")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    os.environ["VAE_CORE_CACHE"] = tempfile.mkdtemp(prefix="corpus-map-bench-")
    from vae_core.checkpoint import load_checkpoint
    from vae_core.clusters import cluster_map, cluster_words
    from vae_core.data import read_corpus, split_path
    from vae_core.latent import posterior_of_corpus
    from vae_core.neighbours import NeighbourIndex
    from vae_core.projection import cache_key, project
    print(f"threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.2f}, torch {torch.__version__}, "
          f"{args.checkpoint}")
    ck = load_checkpoint(args.checkpoint)
    sents = [" ".join(s) for split in ("train", "valid", "test") for s in read_corpus(split_path(args.data, split))[0]]
    print(f"{len(sents):,} sentences; resident memory {rss_mb():.0f} MB before the map")
    key = "bench-" + cache_key(ck.meta["checkpoint_id"], sents, "umap", {}, 0)
    t0 = time.perf_counter()
    post = posterior_of_corpus(ck.model, ck.vocab, sents, cache_key=key)
    t1 = time.perf_counter()
    coords, cached = project(post["mu"], "umap", key=key)
    t2 = time.perf_counter()
    print(f"cold: encoding {t1 - t0:.1f} s + UMAP {t2 - t1:.1f} s (numba compilation included) = {t2 - t0:.1f} s"
          f"   [target <= 90 s]")
    t0 = time.perf_counter()
    post = posterior_of_corpus(ck.model, ck.vocab, sents, cache_key=key)
    coords, cached = project(post["mu"], "umap", key=key)
    print(f"warm (both from the disk cache, cached={cached}): {time.perf_counter() - t0:.2f} s   [target < 2 s]")
    t0 = time.perf_counter()
    labels = cluster_map(coords)
    t1 = time.perf_counter()
    words = cluster_words(sents, labels)
    t2 = time.perf_counter()
    print(f"HDBSCAN: {len(words)} clusters, {int((labels < 0).sum()):,} points unclustered, {t1 - t0:.1f} s; "
          f"labels {t2 - t1:.1f} s; e.g. " + "; ".join(", ".join(w) for w in list(words.values())[:4]))
    print(f"resident memory with the map: {rss_mb():.0f} MB (peak of the process)")
    index = NeighbourIndex(post["mu"])
    for metric in ("euclidean", "cosine"):
        index.query(post["mu"][0], 10, metric)
        med, p95 = queries(index, post["mu"], metric)
        print(f"neighbours, {len(post['mu']):,} x {post['mu'].shape[1]}, {metric}: median {med:.1f} ms, p95 {p95:.1f} ms"
              f"   [target p95 < 100 ms]")
    big = np.random.default_rng(0).normal(size=(1_000_000, 32)).astype(np.float32)
    index = NeighbourIndex(big)
    for metric in ("euclidean", "cosine"):
        index.query(big[0], 10, metric)
        med, p95 = queries(index, big, metric, n=50)
        print(f"neighbours, 1M x 32 (synthetic), {metric}: median {med:.0f} ms, p95 {p95:.0f} ms   [target < 1 s]")


if __name__ == "__main__":
    main()
