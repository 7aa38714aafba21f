"""Two latent-space probes of a checkpoint on PTB validation, as counts a reader can compare between models.

    python bench/latent_probes.py checkpoints/smim128-v2 [--data ../shared/data/ptb] [--threads 1]

- Imputation (Bowman et al. 2016, Sec. 5; `vae_core.downstream.impute`): the middle word of each of the first
  60 validation sentences of 3-6 words without `<unk>` is blanked and filled by 3 steps of iterated conditional
  modes; printed: how many fills are the original word, and which.
- Ranking by latent distance (Livne et al. 2020, Sec. 4.6; `vae_core.downstream.rank_candidates`): for 200
  validation sentences of 4-12 words (shuffled with seed 0), the prompt is all but the last word and the
  candidates are the true last word and the last words of two other sentences; printed: how often the true
  word ranks first (chance: 1 in 3).

Figures of 2026-12-04 (docs/runs-ledger.md): smim128 (earlier preset, 40 epochs) 9 / 60 and 80 / 200;
smim128-v2 (epoch 17) 3 / 60 and 70 / 200; 2026-12-05, smim128-v2 as shipped (epoch 21 of 27) 2 / 60 and
71 / 200; bowman-vae 18 / 60 and 66 / 200, vani-mi1 19 / 60 and 71 / 200 (a decoder that is nearly a language
model fills blanks better). A few seconds a checkpoint on one thread.
"""
from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    import torch
    from vae_core.checkpoint import load_checkpoint
    from vae_core.data import read_corpus, split_path
    from vae_core.downstream import impute, rank_candidates
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("checkpoint")
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "ptb"))
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    ck = load_checkpoint(args.checkpoint)
    valid = read_corpus(split_path(Path(args.data), "valid"))[0]          # token lists, no <eos>

    short = [s for s in valid if 3 <= len(s) <= 6 and "<unk>" not in s][:60]
    hits = []
    for s in short:
        m = len(s) // 2
        text = " ".join(s[:m] + ["___"] + s[m + 1:])
        if impute(ck.model, ck.vocab, text)["steps"][-1]["filled"] == [s[m]]:
            hits.append(f"{text} -> {s[m]}")
    print(f"imputation: the middle word back for {len(hits)} of {len(short)} sentences")
    print("".join(f"  {h}\n" for h in hits), end="")

    rng = random.Random(0)
    pool = [s for s in valid if 4 <= len(s) <= 12]
    rng.shuffle(pool)
    sample = pool[:200]
    first, n = 0, len(sample)
    for s in sample:
        others = [rng.choice(pool)[-1] for _ in range(2)]
        while len({s[-1], *others}) < 3:                  # three different candidates
            others = [rng.choice(pool)[-1] for _ in range(2)]
        ranked = rank_candidates(ck.model, ck.vocab, " ".join(s[:-1]), [s[-1], *others])
        first += ranked[0]["candidate"] == s[-1]
    print(f"ranking: the true last word first of 3 for {first} of {n} sentences (chance about {n // 3})")


if __name__ == "__main__":
    main()
