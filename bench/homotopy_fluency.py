"""How readable each zoo model's homotopies are (issue 38: choose the homotopy view's default model by it).
Prints figures; asserts nothing.

    python bench/homotopy_fluency.py --lm ../runs/he-lm/best [--pairs 20] [--data ../shared/data/ptb]

For `--pairs` consecutive pairs of PTB test sentences of 5-15 words, the homotopy of each zoo model (7 points,
linear, greedy) is decoded; the intermediate decodes are scored by the LSTM-LM given (nats per token under
it; lower is more fluent) and the distinct decodes along a path are counted (`vae_core.fluency`). The held-out
test sentences themselves are scored too, as the fluent end of the scale. Writes docs/homotopy-fluency.json,
from which the homotopy view names the most fluent zoo model: the lowest NLL among the models whose paths
change (at least 6 distinct decodes of 7) without repeating tokens (under 10%).
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
from vae_core.fluency import homotopy_fluency, lm_nll_per_token


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lm", required=True, help="an LSTM-LM checkpoint trained on the same corpus")
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "ptb"))
    p.add_argument("--pairs", type=int, default=20)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    lm = load_checkpoint(args.lm)
    test = [" ".join(s) for s in read_corpus(split_path(args.data, "test"))[0] if 5 <= len(s) <= 15]
    pairs = list(zip(test[0:2 * args.pairs:2], test[1:2 * args.pairs:2]))
    print(f"LM {args.lm}: held-out test sentences {lm_nll_per_token(lm.model, lm.vocab, test[:400]):.3f} nats/token")
    zoo = json.loads((ROOT / "checkpoints" / "zoo.json").read_text())
    record = {"lm": str(Path(args.lm).resolve().relative_to(ROOT.parent)),
              "pairs": len(pairs), "steps": 7, "test_nll_per_token": None, "models": {}}
    record["test_nll_per_token"] = round(lm_nll_per_token(lm.model, lm.vocab, test[:400]), 3)
    for name in (n for n in zoo if (ROOT / "checkpoints" / n).is_dir()):
        ck = load_checkpoint(ROOT / "checkpoints" / name)
        if not ck.model_config.is_sequence or not ck.model.has_latent:
            continue
        r = homotopy_fluency(ck.model, ck.vocab, lm.model, pairs)
        record["models"][name] = {"nll_per_token": round(r["nll_per_token"], 3),
                                  "distinct_steps": round(r["distinct_steps"], 2), "repeats": round(r["repeats"], 3)}
        print(f"{name:16s} intermediate decodes {r['nll_per_token']:.3f} nats/token, {r['distinct_steps']:.2f} "
              f"distinct of 7, {100 * r['repeats']:.0f}% repeated tokens; e.g. {' | '.join(r['paths'][0][1:-1])[:160]}")
    (ROOT / "docs" / "homotopy-fluency.json").write_text(json.dumps(record, indent=1) + "\n")
    print("wrote docs/homotopy-fluency.json")


if __name__ == "__main__":
    main()
