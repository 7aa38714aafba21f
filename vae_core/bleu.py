"""BLEU as the papers' code computes it: NLTK's sentence BLEU (Papineni et al. 2002, with NLTK's handling of
several references and of smoothing), and the two scores built on it that this project reports.

    sentence_bleu   one hypothesis against references: NLTK's own `nltk.translate.bleu_score.sentence_bleu`
                    with uniform weights over 1..max_n, and `SmoothingFunction().method1` (epsilon 0.1 counts
                    for an order without a match) or none
    self_bleu       Zhu et al. 2018 (Texygen, utils/metrics/SelfBleu.py): each sample scored against all the
                    others as its references, averaged; one pass over the samples instead of Texygen's N^2
    livne_bleu1     Livne et al. 2020's BLEU-1 exactly as their released test.py scores a reconstruction

Tokens are whitespace tokens as they stand (`<unk>`, `a.m.` stay one token). Scores are 0-1.
NLTK has no entry point that scores from n-gram counts, which the one-pass Self-BLEU needs, so `_score`
assembles a score from counts under NLTK's rules; `tests/test_bleu.py` checks Self-BLEU against NLTK itself.
"""
from __future__ import annotations

import bisect
import math
from collections import Counter
from typing import Sequence

SMOOTHING_EPSILON = 0.1        # NLTK SmoothingFunction(epsilon=0.1).method1


def _ngrams(tokens: Sequence[str], n: int) -> Counter:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def _closest(lengths: Sequence[int], hyp_len: int) -> int:
    """The reference length closest to hyp_len, the shorter on a tie (NLTK closest_ref_length)."""
    return min(lengths, key=lambda r: (abs(r - hyp_len), r))


def _score(matches: Sequence[int], totals: Sequence[int], hyp_len: int, ref_len: int, smooth: bool) -> float:
    """BLEU from clipped n-gram matches and hypothesis n-gram counts per order, with NLTK's rules: 0 when no
    unigram matches; an order with no match gets epsilon / total under method1 and is skipped without
    smoothing (NLTK's method0 makes it the smallest float, whose weighted log underflows the score to 0)."""
    if matches[0] == 0:
        return 0.0
    bp = 1.0 if hyp_len > ref_len else (0.0 if hyp_len == 0 else math.exp(1 - ref_len / hyp_len))
    w = 1.0 / len(matches)
    logs = []
    for m, t in zip(matches, totals):
        denominator = max(1, t)
        if m > 0:
            logs.append(w * math.log(m / denominator))
        elif smooth:
            logs.append(w * math.log(SMOOTHING_EPSILON / denominator))
        else:
            return 0.0
    return bp * math.exp(math.fsum(logs))


def sentence_bleu(references: Sequence[Sequence[str]], hypothesis: Sequence[str], max_n: int = 4,
                  smooth: bool = True) -> float:
    """NLTK's sentence_bleu(references, hypothesis, weights=(1/max_n,) * max_n, smoothing_function=method1
    if `smooth`), 0-1: clipped n-gram precision (a hypothesis n-gram counts at most as often as in the
    reference that has it most), geometric mean over orders 1..max_n, times the brevity penalty
    exp(1 - r / c) for a hypothesis of c tokens shorter than the closest reference length r. NLTK is the
    library Texygen's and Livne et al.'s code call. Raises ValueError without references."""
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu as nltk_sentence_bleu
    if not references:
        raise ValueError("BLEU needs at least one reference")
    smoothing = SmoothingFunction(epsilon=SMOOTHING_EPSILON).method1 if smooth else None
    return float(nltk_sentence_bleu(references, hypothesis, (1.0 / max_n,) * max_n, smoothing_function=smoothing))


def self_bleu(samples: Sequence[str], max_n: int = 4) -> float:
    """Self-BLEU of generated sentences (Zhu et al. 2018, Texygen's SelfBleu): the mean over samples of
    `sentence_bleu(all other samples, sample, max_n)` with method1 smoothing, 0-1. High = the samples are alike.
    Texygen's default is max_n = 3 on its first 500 samples; papers report 2 to 5. It grows with the number
    of samples (more references match more n-grams), so compare at equal N. NaN for fewer than 2 samples.

    Linear in the samples' total length: for each n-gram the largest and second-largest count over samples
    (and how many samples hold the largest) give, for every sample at once, the largest count among the
    *other* samples, which is what clipping against "all the others" needs; the closest other length comes
    from the sorted lengths. Texygen's loop does the same work in N^2 (106 s at 500 samples here)."""
    toks = [s.split() for s in samples]
    N = len(toks)
    if N < 2:
        return float("nan")
    counts = [[_ngrams(t, n) for n in range(1, max_n + 1)] for t in toks]
    tops = []          # per order: n-gram -> (largest count, samples holding it, second-largest count)
    for k in range(max_n):
        best: dict[tuple, list[int]] = {}
        for c in counts:
            for g, v in c[k].items():
                b = best.setdefault(g, [0, 0, 0])
                if v > b[0]:
                    b[0], b[1], b[2] = v, 1, b[0]
                elif v == b[0]:
                    b[1] += 1
                elif v > b[2]:
                    b[2] = v
        tops.append(best)
    lengths = sorted(len(t) for t in toks)
    total = 0.0
    for t, c in zip(toks, counts):
        matches, totals = [], []
        for k in range(max_n):
            m = 0
            for g, v in c[k].items():
                top, holders, second = tops[k][g]
                others = second if (v == top and holders == 1) else top
                m += min(v, others)
            matches.append(m)
            totals.append(sum(c[k].values()))
        L = len(t)
        i, j = bisect.bisect_left(lengths, L), bisect.bisect_right(lengths, L)     # lengths[i:j] == L, one is t's
        near = [L] if j - i >= 2 else lengths[i - 1: i] + lengths[j: j + 1]          # the others' nearest
        total += _score(matches, totals, L, _closest(near, L), smooth=True)
    return total / N


def livne_bleu1(hypothesis: Sequence[str], reference: Sequence[str], ended: bool, eos: str = "<eos>",
                pad: str = "<pad>") -> float:
    """BLEU-1 of a reconstruction as Livne et al. 2020's released code scores it (SentenceMIM-demo, test.py
    with model.py's `decode`), 0-1: NLTK sentence BLEU-1 (no smoothing) between the target row, whose `<eos>`
    the loss function has overwritten with `<pad>` in place, and the decoded row, which keeps the `<eos>`
    it emitted. `hypothesis` and `reference` are the words; `ended`: the decode emitted `<eos>` (it did not
    stop at the length limit). So every pair carries one token that cannot match, and a perfect n-word
    reconstruction scores n / (n + 1)."""
    return sentence_bleu([list(reference) + [pad]], list(hypothesis) + ([eos] if ended else []), max_n=1,
                         smooth=False)
