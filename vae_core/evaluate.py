"""Evaluate a checkpoint on a split and print every standard estimator.

    python -m vae_core.evaluate CKPT_DIR --data ../shared/data/ptb --split test --json
    python -m vae_core.evaluate CKPT_DIR --data DIR --split valid --iw-samples 50   # quicker IW estimate
    python -m vae_core.evaluate CKPT_DIR --data DIR --refine-steps 100 --refine-lr 0.01  # + secondary optimisation

One JSON schema for every model family (keys `vae_core.estimators.EVAL_KEYS`, null where undefined):
nll (negative ELBO), rec, kl, iw_nll, melbo (nats per sentence), ppl / iw_ppl (one <eos> per sentence
counted), ppl_excl_eos, melbo_ppl, bleu1, active_units, mutual_info, the *_refined values after secondary
optimisation, nll_avg_tuple (vae-avg), n_sentences, n_tokens; see `vae_core.estimators.evaluate_corpus`.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import torch
from tqdm import tqdm

from .checkpoint import CheckpointError, load_checkpoint
from .data import SPLITS, Corpus, CorpusError, split_path
from .estimators import evaluate_corpus
from .train import select_device


def evaluation_record(ck, corpus: Corpus, split: str, device: torch.device | str = "cpu",
                      progress=lambda it: it, **options) -> dict:
    """The JSON object the CLI prints, for a loaded checkpoint `ck` and a corpus (a split, or any file read
    with the checkpoint's vocabulary): `estimators.evaluate_corpus(**options)` plus checkpoint, model, split
    (a name for the corpus), oov_rate and seconds. The app's Evaluate view calls the same function."""
    start = time.monotonic()
    res = evaluate_corpus(ck.model, corpus, device=device, progress=progress, **options)
    res.update(checkpoint=str(ck.path), model=ck.model_config.model, split=split,
               oov_rate=sum(int((c == ck.vocab.unk_id).sum()) for c in corpus.ids) / corpus.n_tokens,
               seconds=round(time.monotonic() - start, 2))
    return res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m vae_core.evaluate", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("checkpoint", help="checkpoint directory (weights.safetensors + config.json)")
    p.add_argument("--data", required=True, help="data directory holding {ptb.,}{train,valid,test}.txt")
    p.add_argument("--split", default="test", choices=SPLITS)
    p.add_argument("--iw-samples", type=int, default=500, help="K of the importance-weighted NLL (0 = skip)")
    p.add_argument("--elbo-samples", type=int, default=1, help="z samples for the reconstruction term of the ELBO")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-sentences", type=int, default=0, help="evaluate the first N sentences only (0 = all)")
    p.add_argument("--refine-steps", type=int, default=0,
                   help="secondary optimisation steps per posterior (Krishnan et al. 2018; 0 = skip)")
    p.add_argument("--refine-lr", type=float, default=0.01, help="learning rate of the secondary optimisation")
    p.add_argument("--no-bleu", action="store_true", help="skip greedy reconstructions and BLEU-1")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print one JSON object (otherwise a readable table)")
    args = p.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    try:
        device = select_device(args.device)
        ck = load_checkpoint(args.checkpoint, device=device)
        corpus = Corpus.from_file(split_path(args.data, args.split), ck.vocab)
        if args.max_sentences:
            corpus = Corpus(corpus.sentences[: args.max_sentences], ck.vocab, corpus.stats)
        bar = lambda it: tqdm(it, desc=f"evaluate {args.split}", file=sys.stderr, dynamic_ncols=True)
        res = evaluation_record(ck, corpus, args.split, device, bar, iw_samples=args.iw_samples,
                                elbo_samples=args.elbo_samples, batch_size=args.batch_size, seed=args.seed,
                                refine_steps=args.refine_steps, refine_lr=args.refine_lr, bleu=not args.no_bleu)
    except (CheckpointError, CorpusError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    res["checkpoint"] = str(args.checkpoint)
    if args.json:
        print(json.dumps(res))
    else:
        for k, v in res.items():
            print(f"{k:>14}: {v:.4f}" if isinstance(v, float) else f"{k:>14}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
