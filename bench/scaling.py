"""How the corpus-sized analyses grow: time and peak memory against N. Prints figures; asserts nothing.

    python bench/scaling.py [--checkpoint checkpoints/bowman-vae] [--data ../shared/data/ptb] [--threads 2]

- Overlap matrices (Livne et al. 2020, Fig. 3) for N = 50, 100, 200, 400 PTB test sentences: N^2 decoder
  runs scored in memory-bounded blocks (`analysis.loglik_matrix`), so time grows as N^2 and memory as the
  N x N result plus one block.
- Encoding (`latent.posterior_of_corpus`, length-bucketed batches of 256: memory is one batch plus the
  (N, n) result) and 2-D projection (PCA; UMAP) of 1k, 4k and 16k PTB train sentences.
Each measurement runs in a fresh process, so "peak RSS" is that measurement's own peak, printed beside the
RSS of the same process before the measurement (the model and the corpus loaded).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import vae_core  # noqa: F401,E402  (its allocator setting applies before torch allocates)


def rss_mb() -> float:
    """Current resident memory of this process (Linux /proc), MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def measure(kind: str, n: int, checkpoint: str, data: str, threads: int) -> dict:
    import torch
    torch.set_num_threads(threads)
    from vae_core import analysis
    from vae_core.checkpoint import load_checkpoint
    from vae_core.data import read_corpus, split_path
    from vae_core.latent import posterior_of_corpus
    from vae_core.projection import project
    ck = load_checkpoint(checkpoint)
    split = "test" if kind == "overlap" else "train"
    sents = [" ".join(s) for s in read_corpus(split_path(data, split))[0]]
    if n > len(sents):
        raise SystemExit(f"only {len(sents)} sentences in {split}")
    sents = sents[:n]
    if kind not in ("overlap", "encode"):     # imports (and numba's compilation for UMAP) before timing
        import numpy as np
        project(np.random.default_rng(0).normal(size=(200, ck.model.latent_dim)).astype("float32"), kind)
    before = rss_mb()
    t = time.perf_counter()
    if kind == "overlap":
        analysis.overlap(ck.model, ck.vocab, sents)
    elif kind == "encode":
        posterior_of_corpus(ck.model, ck.vocab, sents)
    else:
        post = posterior_of_corpus(ck.model, ck.vocab, sents)
        t = time.perf_counter()        # the projection alone
        project(post["mu"], kind)
    seconds = time.perf_counter() - t
    return {"kind": kind, "n": n, "seconds": seconds, "rss_before_mb": before,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", default="checkpoints/bowman-vae")
    p.add_argument("--data", default="../shared/data/ptb")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--overlap-n", type=int, nargs="*", default=[50, 100, 200, 400])
    p.add_argument("--corpus-n", type=int, nargs="*", default=[1000, 4000, 16000])
    p.add_argument("--projections", nargs="*", default=["pca", "umap"])
    p.add_argument("--json", help="also write the figures to this file")
    p.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        print(json.dumps(measure(args.one[0], int(args.one[1]), args.checkpoint, args.data, args.threads)))
        return
    print(f"threads {args.threads}, load average {os.getloadavg()[0]:.2f}, checkpoint {args.checkpoint}")
    jobs = [("overlap", n) for n in args.overlap_n]
    jobs += [(k, n) for k in ["encode", *args.projections] for n in args.corpus_n]
    rows, prev = [], {}
    for kind, n in jobs:
        cmd = [sys.executable, __file__, "--one", kind, str(n), "--checkpoint", args.checkpoint,
               "--data", args.data, "--threads", str(args.threads)]
        r = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
        rows.append(r)
        growth = ""
        if kind in prev:
            pn, ps = prev[kind]
            growth = f"   x{r['seconds'] / ps:.1f} time for x{n / pn:.0f} N"
        prev[kind] = (n, r["seconds"])
        label = {"overlap": "overlap N x N", "encode": "encode"}.get(kind, f"project {kind}")
        print(f"{label:16} N={n:6d}: {r['seconds']:7.2f} s   RSS {r['rss_before_mb']:6.0f} MB before, "
              f"peak {r['peak_rss_mb']:6.0f} MB{growth}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
