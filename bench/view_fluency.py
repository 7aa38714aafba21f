"""How readable each zoo model's decodes are in each decoding view (issue 38: choose each view's suggested
model by its own phenomenon). Prints figures; asserts nothing.

    python bench/view_fluency.py --lm ../runs/he-lm/best [--items 20] [--data ../shared/data/ptb]

On PTB test sentences of 5-15 words, each zoo model decodes what each view decodes (`vae_core.fluency`):
  homotopy   7-point linear homotopies between `--items` pairs (the intermediate decodes scored);
  perturb    5 draws around each of `--items` sentences at k = 2 (the view's k sigma);
  traversal  a 7-point sweep of the model's most active unit around each of `--items` sentences
             (the aggregate posterior of 400 test sentences gives sigma and the unit);
  prior      50 samples of z ~ p(z).
The decodes are scored by the LSTM-LM given (nats per token; lower is more fluent), with the share of distinct
decodes in each group and the share of repeated adjacent tokens. The held-out test sentences themselves are
scored too, as the fluent end of the scale. Writes docs/view-fluency.json, from which each view names its most
fluent zoo model (`vae_core.fluency.most_fluent`: the lowest NLL among the models whose decodes vary at least
as RULES asks, with at most 10% repeated tokens).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch

from vae_core.checkpoint import load_checkpoint
from vae_core.data import read_corpus, split_path
from vae_core.fluency import (homotopy_fluency, lm_nll_per_token, most_fluent, perturb_fluency, prior_fluency,
                              traversal_fluency)
from vae_core.latent import aggregate_posterior, encode_sentences

# what each view's decodes must do to count: vary (a share of distinct decodes per group) and, for perturbations,
# stay the input's neighbours (a mean BLEU to it)
RULES = {"homotopy": {"what": "7-point homotopies between PTB test pairs", "min_distinct": 6 / 7},
         "perturb": {"what": "5 draws at k = 2 around PTB test sentences", "min_distinct": 0.4, "min_bleu": 20.0},
         "traversal": {"what": "7-point sweeps of the most active unit (±3σ) around PTB test sentences",
                       "min_distinct": 4 / 7},
         "prior": {"what": "50 samples of z ~ p(z)", "min_distinct": 0.9}}
MAX_REPEATS = 0.1


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lm", required=True, help="an LSTM-LM checkpoint trained on the same corpus")
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "ptb"))
    p.add_argument("--items", type=int, default=20)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    lm = load_checkpoint(args.lm)
    test = [" ".join(s) for s in read_corpus(split_path(args.data, "test"))[0] if 5 <= len(s) <= 15]
    pairs = list(zip(test[0:2 * args.items:2], test[1:2 * args.items:2]))
    single = test[:args.items]
    held_out = round(lm_nll_per_token(lm.model, lm.vocab, test[:400]), 3)
    print(f"LM {args.lm}: held-out test sentences {held_out:.3f} nats/token")
    record = {"lm": str(Path(args.lm).resolve().relative_to(ROOT.parent)), "items": args.items,
              "test_nll_per_token": held_out,
              "views": {v: {**rule, "max_repeats": MAX_REPEATS, "models": {}} for v, rule in RULES.items()}}
    zoo = json.loads((ROOT / "checkpoints" / "zoo.json").read_text())
    for name in (n for n in zoo if (ROOT / "checkpoints" / n).is_dir()):
        ck = load_checkpoint(ROOT / "checkpoints" / name)
        if not ck.model_config.is_sequence or not ck.model.has_latent:
            continue
        m, v = ck.model, ck.vocab
        post = encode_sentences(m, v, test[:400])
        stats = aggregate_posterior(post.mu, post.logvar, post.family)
        results = {"homotopy": homotopy_fluency(m, v, lm.model, pairs),
                   "perturb": perturb_fluency(m, v, lm.model, single),
                   "traversal": traversal_fluency(m, v, lm.model, single, stats),
                   "prior": prior_fluency(m, v, lm.model)}
        for view, r in results.items():
            example = (r.get("paths") or r.get("groups"))[0]
            record["views"][view]["models"][name] = {
                "nll_per_token": round(r["nll_per_token"], 3), "distinct": round(r["distinct"], 3),
                "repeats": round(r["repeats"], 3), "example": " | ".join(example)[:240]}
            if "bleu" in r:
                record["views"][view]["models"][name]["bleu"] = round(r["bleu"], 1)
            print(f"{name:16s} {view:9s} {r['nll_per_token']:.3f} nats/token, {100 * r['distinct']:.0f}% distinct, "
                  + (f"BLEU to the input {r['bleu']:.1f}, " if "bleu" in r else "")
                  + f"{100 * r['repeats']:.0f}% repeated tokens; e.g. {' | '.join(example)[:120]}", flush=True)
    for view, rec in record["views"].items():
        print(f"{view}: the most fluent model whose decodes vary is {most_fluent(rec)}")
    (ROOT / "docs" / "view-fluency.json").write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    print("wrote docs/view-fluency.json")


if __name__ == "__main__":
    main()
