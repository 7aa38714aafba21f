"""PTB as Livne et al.'s released code reads it, for comparing sMIM with their Table 2 on the same tokens.

    pip install nltk      # only for this script; the project itself does not need it
    python bench/livne_tokenise.py ../shared/data/ptb ../runs/data/ptb-livne

Their code (seraphlabs-ca/SentenceMIM-demo, datasets.py `PTB._create_data` / `_create_vocab`) does not read
PTB's whitespace tokens: it lower-cases each line and splits it with NLTK's
`TweetTokenizer(preserve_case=False)`, so "'s" becomes "' s" and "mr." "mr .", and it keeps in the vocabulary
only training tokens seen more than `min_occ` times (train.py default 1; their README's commands do not set
it), reading the rest as <unk>. This script writes those tokens, space-joined, as `ptb.{train,valid,test}.txt`
in the output directory, so `vae_core.train` and `vae_core.evaluate` take it as any PTB directory. Their
`PTB` docstring states a vocabulary of 9,877 with their 4 special tokens; this prints the same.
"""
from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

SPECIALS = ("<pad>", "<unk>", "<sos>", "<eos>")   # their datasets.py special_tokens


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], epilog=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("src", type=Path, help="PTB directory with ptb.{train,valid,test}.txt")
    p.add_argument("dst", type=Path, help="output directory")
    p.add_argument("--min-occ", type=int, default=1, help="keep training tokens seen more than this many times")
    args = p.parse_args(argv)
    try:
        from nltk.tokenize import TweetTokenizer
    except ImportError:
        sys.exit("error: this script needs NLTK (pip install nltk); the project itself does not")
    tok = TweetTokenizer(preserve_case=False)
    splits = {}
    for split in ("train", "valid", "test"):
        path = args.src / f"ptb.{split}.txt"
        if not path.is_file():
            sys.exit(f"error: {path} not found")
        splits[split] = [tok.tokenize(line.strip()) for line in path.open(encoding="utf-8") if line.strip()]
    counts = collections.Counter(w for words in splits["train"] for w in words)
    keep = {w for w, c in counts.items() if c > args.min_occ and w not in SPECIALS}
    print(f"vocabulary: {len(keep) + len(SPECIALS)} with their {len(SPECIALS)} special tokens")
    args.dst.mkdir(parents=True, exist_ok=True)
    for split, lines in splits.items():
        out = [[w if w in keep else "<unk>" for w in words] for words in lines]
        (args.dst / f"ptb.{split}.txt").write_text("".join(" ".join(ws) + "\n" for ws in out), encoding="utf-8")
        n = sum(map(len, out))
        print(f"{split}: {len(out)} sentences, {n} tokens ({n / len(out):.2f} a sentence), "
              f"{sum(w == '<unk>' for ws in out for w in ws)} <unk>, longest {max(map(len, out))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
