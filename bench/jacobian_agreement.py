"""Which Jacobian word embedding gives the best neighbour lists? Agreement with co-occurrence, on every zoo model.

    python bench/jacobian_agreement.py                  # every checkpoint in checkpoints/, S = 64 prior samples
    python bench/jacobian_agreement.py --samples 128 checkpoints/bowman-vae

For each model: the expected Jacobian (`vae_core.jacobian.expected_jacobian`, seed 0), its word embeddings of
each kind (`word_embeddings`: raw, centred, whitened), and `vae_core.wordsim.neighbour_agreement` of the 300
most frequent words' 10 nearest neighbours with PPMI-SVD vectors of the model's training corpus (PTB train),
beside the random-pair baseline. Prints a table and writes docs/jacobian-agreement.json; the Jacobian view's
default embedding (`vae_core.jacobian.DEFAULT_EMBEDDING`) is the kind with the best mean over the models.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from vae_core import jacobian as jac  # noqa: E402
from vae_core.checkpoint import load_checkpoint  # noqa: E402
from vae_core.data import read_corpus, split_path  # noqa: E402
from vae_core.wordsim import agreement_by_embedding, ppmi_svd_vectors  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("checkpoints", nargs="*", help="checkpoint directories (default: every one in checkpoints/)")
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "ptb"))
    p.add_argument("--samples", type=int, default=64, help="prior samples S of the expected Jacobian")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=str(ROOT / "docs" / "jacobian-agreement.json"))
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    ckpts = [Path(c) for c in args.checkpoints] or sorted(c.parent for c in (ROOT / "checkpoints").glob("*/config.json"))
    train, _ = read_corpus(split_path(args.data, "train"))
    refs: dict[tuple, object] = {}
    rows = {}
    print(f"{'model':<16} {'raw':>7} {'centred':>8} {'whitened':>9} {'random':>7}  (mean cosine of 10 neighbours, "
          f"300 words; S = {args.samples}, {torch.get_num_threads()} threads)", flush=True)
    for c in ckpts:
        ck = load_checkpoint(c)
        if not ck.model.has_latent:
            continue
        key = tuple(ck.vocab.itos)
        if key not in refs:
            refs[key] = ppmi_svd_vectors(train, ck.vocab)
        ref = refs[key]
        t = time.time()
        row = agreement_by_embedding(jac.expected_jacobian(ck.model, args.samples, 0), ck.vocab, ref)
        row["seconds"] = round(time.time() - t, 1)
        rows[c.name] = row
        print(f"{c.name:<16} {row['raw']:7.3f} {row['centred']:8.3f} {row['whitened']:9.3f} {row['random']:7.3f}",
              flush=True)
    means = {k: sum(r[k] for r in rows.values()) / len(rows) for k in jac.EMBEDDINGS}
    best = max(means, key=means.get)
    print(f"{'mean':<16} {means['raw']:7.3f} {means['centred']:8.3f} {means['whitened']:9.3f}   best: {best}")
    Path(args.out).write_text(json.dumps({"about": __doc__.split("\n")[0], "samples": args.samples,
                                          "words": 300, "k": 10, "models": rows, "mean": means, "best": best},
                                         indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
