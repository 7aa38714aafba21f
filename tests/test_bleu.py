"""BLEU as the papers' code computes it. Sentence BLEU is NLTK's own call (the library Texygen and Livne et al.'s
test.py call), checked here on known values; the one-pass Self-BLEU, which scores from counts, is checked against
NLTK itself: clipping against several references, the brevity penalty, smoothing, at every size."""
import random

import pytest
from nltk.translate.bleu_score import SmoothingFunction
from nltk.translate.bleu_score import sentence_bleu as nltk_bleu

from vae_core.bleu import livne_bleu1, self_bleu, sentence_bleu
from vae_core.estimators import sentence_bleu1

METHOD1 = SmoothingFunction().method1


@pytest.fixture(scope="module")
def ptb_lines(ptb_dir):
    return (ptb_dir / "ptb.test.txt").read_text().split("\n")[:400]


@pytest.mark.parametrize("hyp,ref,want", [
    ("the the the the", "the cat", 0.25),                     # clipping: "the" counts once, as in the reference
    ("the cat", "the cat sat on the mat", 0.1353352832),     # brevity: exp(1 - 6/2), both words match
    ("the cat sat", "the cat sat", 1.0),
    ("a b c", "x y z", 0.0),
    ("", "x y", 0.0),
])
def test_sentence_bleu1_clips_and_penalises_brevity_as_nltk_does(hyp, ref, want):
    nltk = nltk_bleu([ref.split()], hyp.split(), weights=(1.0,))
    assert nltk == pytest.approx(want, abs=1e-9)
    assert sentence_bleu([ref.split()], hyp.split(), max_n=1, smooth=False) == pytest.approx(nltk, abs=1e-12)
    assert sentence_bleu1(hyp, ref) == pytest.approx(nltk, abs=1e-12)


@pytest.mark.parametrize("n_samples", [2, 3, 17, 100])
@pytest.mark.parametrize("max_n", [3, 4])
def test_self_bleu_is_texygens_definition_at_every_size(ptb_lines, n_samples, max_n):
    """Texygen: each sample against all the others, NLTK sentence_bleu, uniform weights, method1. Repeated
    samples, a one-word and an empty sample are included (they exercise the clipping against "the others")."""
    rng = random.Random(n_samples)
    samples = [" ".join(rng.choice(ptb_lines).split()[:rng.randint(1, 15)]) for _ in range(n_samples)]
    if n_samples > 3:
        samples[1] = samples[0]
        samples[2] = "the"
        samples[3] = ""
    toks = [s.split() for s in samples]
    w = (1.0 / max_n,) * max_n
    want = sum(nltk_bleu(toks[:i] + toks[i + 1:], toks[i], w, smoothing_function=METHOD1)
               for i in range(len(toks))) / len(toks)
    assert self_bleu(samples, max_n) == pytest.approx(want, abs=1e-12)


def test_self_bleu_of_100_ptb_sentences_is_texygens_figure(ptb_lines):
    """The issue's figures for the first 100 PTB test sentences: Texygen gives 12.0 at n = 4, 22.0 at n = 3."""
    s = ptb_lines[:100]
    assert 100 * self_bleu(s, 4) == pytest.approx(12.0, abs=0.05)
    assert 100 * self_bleu(s, 3) == pytest.approx(22.0, abs=0.05)
    assert self_bleu(["only one"]) != self_bleu(["only one"])             # NaN


def test_livne_bleu1_is_their_test_py_pairing():
    """test.py scores the target row, `<eos>` overwritten by `<pad>`, against the decode, `<eos>` kept."""
    ref, hyp = "the market fell".split(), "the market fell".split()
    assert livne_bleu1(hyp, ref, ended=True) == pytest.approx(
        nltk_bleu([ref + ["<pad>"]], hyp + ["<eos>"], weights=(1.0,)), abs=1e-12) == pytest.approx(3 / 4)
    assert livne_bleu1(hyp[:2], ref, ended=True) == pytest.approx(
        nltk_bleu([ref + ["<pad>"]], hyp[:2] + ["<eos>"], weights=(1.0,)), abs=1e-12)
    # a decode cut at the length limit has no <eos>: 3 of 3 match, shorter than the 4-token target
    assert livne_bleu1(hyp, ref, ended=False) == pytest.approx(nltk_bleu([ref + ["<pad>"]], hyp, weights=(1.0,)),
                                                               abs=1e-12) == pytest.approx(2.718281828 ** (1 - 4 / 3))
