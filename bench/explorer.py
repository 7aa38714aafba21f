"""Explorer latencies on this machine, for a zoo checkpoint (default checkpoints/bowman-vae). Prints figures; asserts nothing.

    python bench/explorer.py [--checkpoint checkpoints/bowman-vae] [--data ../shared/data/ptb] [--threads 2]

Measures (medians of repeated runs where cheap): encode + reconstruct one sentence; a 10-step homotopy;
overlap matrices at N = 40 (the view's default), 100 and 200 (with the achieved FLOP/s of the teacher-forced
scoring, from a FLOP count of the model, against the measured float32 matrix-multiply FLOP/s); the expected
Jacobian at S = 16 (the view's default) and 64; the Evaluate view's default work;
a projection of PTB test (3761 sentences) cold and from the disk cache; and the machine's matmul FLOP/s.
Targets from the explorer issue are printed beside each figure.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from vae_core import analysis, jacobian
from vae_core.checkpoint import load_checkpoint
from vae_core.data import read_corpus, split_path
from vae_core.latent import homotopy, posterior_of_corpus, reconstruct
from vae_core.projection import cache_key, project

from bench.common import flops_per_token, matmul_flops, timed


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--checkpoint", default="checkpoints/bowman-vae")
    p.add_argument("--data", default="../shared/data/ptb")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--skip-umap", action="store_true")
    p.add_argument("--overlap-sizes", type=int, nargs="+", default=[40, 100, 200],
                   help="N of the overlap matrices (the view's default is 40)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.2f}, torch {torch.__version__}")
    ck = load_checkpoint(args.checkpoint)
    m, v = ck.model, ck.vocab
    peak32 = matmul_flops(torch.float32)
    peak16 = matmul_flops(torch.bfloat16)
    print(f"matmul 2048^3: float32 {peak32 / 1e9:.0f} GFLOP/s, bfloat16 {peak16 / 1e9:.0f} GFLOP/s")

    s = "the company said it expects to report a loss for the third quarter"
    reconstruct(m, v, s)
    t, _ = timed(lambda: reconstruct(m, v, s, n_samples=3), 20)
    print(f"encode + reconstruct (mean + 3 samples, greedy): {t * 1e3:.1f} ms   [target <= 50 ms]")
    t, _ = timed(lambda: homotopy(m, v, s, "stock prices fell sharply in new york", steps=10), 20)
    print(f"homotopy, 10 steps, greedy: {t * 1e3:.1f} ms   [target <= 300 ms]")

    test, _ = read_corpus(split_path(args.data, "test"))
    sents = [" ".join(x) for x in test]
    per_tok = flops_per_token(ck.model_config, encoder=False)
    for N in args.overlap_sizes:
        sub = sents[:N]
        ntok = sum(len(x.split()) + 1 for x in sub)
        t, res = timed(lambda: analysis.overlap(m, v, sub))
        flops = per_tok * ntok * N / t
        print(f"overlap N={N}: {t:.2f} s, {flops / 1e9:.0f} GFLOP/s = {100 * flops / peak32:.0f}% of float32 matmul "
              f"(AUROC p {res['auroc_loglik']:.3f}, q {res['auroc_logq']:.3f})"
              + ("   [target >= 50%]" if N == 200 else ""))

    for S in (16, 64):                      # the view's default, and the paper-sized estimate
        t, J = timed(lambda: jacobian.expected_jacobian(m, S))
        print(f"expected Jacobian, S={S}: {t:.2f} s" + ("   [target <= 3 s]" if S == 64 else " (the view's default)")
              + f"; {jacobian.effective_dims(jacobian.singular_values(J))} dims above 1%")
    from vae_core.data import Corpus
    from vae_core.estimators import evaluate_corpus
    sub = Corpus(Corpus.from_file(split_path(args.data, "test"), v).sentences[:200], v)
    t, _ = timed(lambda: evaluate_corpus(m, sub, iw_samples=10, bleu=True))
    print(f"Evaluate view's default (200 test sentences, IW-NLL K = 10, BLEU-1): {t:.1f} s")

    t, post = timed(lambda: posterior_of_corpus(m, v, sents))
    print(f"encode PTB test ({len(sents)} sentences): {t:.2f} s")
    with tempfile.TemporaryDirectory() as cache:
        for method in ("pca", "tsne") + (() if args.skip_umap else ("umap",)):
            key = cache_key(ck.meta["checkpoint_id"], sents, method, {}, 0)
            cold, _ = timed(lambda: project(post["mu"], method, key=key, cache_dir=cache))
            warm, (_, hit) = timed(lambda: project(post["mu"], method, key=key, cache_dir=cache), 5)
            print(f"projection {method} of {len(sents)}: cold {cold:.2f} s, from cache {warm * 1e3:.1f} ms (hit={hit})"
                  "   [target cached <= 1 s]")


if __name__ == "__main__":
    main()
