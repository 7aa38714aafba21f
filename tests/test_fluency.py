"""The homotopy fluency measure (vae_core.fluency) against direct computations with the models' own calls."""
import math

import pytest
import torch

from tests.conftest import tiny_configs
from vae_core.checkpoint import load_checkpoint
from vae_core.data import corpus_from_text
from vae_core.fluency import homotopy_fluency, lm_nll_per_token
from vae_core.latent import homotopy


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory, tiny_ptb):
    from vae_core.train import Trainer
    out = tmp_path_factory.mktemp("tiny_lm")
    m, t = tiny_configs(tiny_ptb, out, epochs=1)
    m.model = "lm"
    Trainer(m, t, quiet=True).run()
    return load_checkpoint(out).model


def test_fluency_scores_the_intermediate_decodes_per_token_and_counts_distinct_steps(tiny_vae, tiny_lm):
    ck = load_checkpoint(tiny_vae)
    model, vocab = ck.model, ck.vocab
    pairs = [("the market fell sharply", "prices rose in new york"), ("he said", "the company expects a loss")]
    r = homotopy_fluency(model, vocab, tiny_lm, pairs, steps=5)
    paths = [homotopy(model, vocab, a, b, 5)["sentences"] for a, b in pairs]
    assert r["paths"] == paths
    assert r["distinct_steps"] == pytest.approx(sum(len(set(p)) for p in paths) / 2)
    middle = [s for p in paths for s in p[1:-1] if s.strip()]
    corpus = corpus_from_text(middle, vocab)
    x, lengths = corpus.collate(range(len(middle)))
    with torch.no_grad():
        direct = -float(tiny_lm.eval().reconstruction(x, lengths, None).sum()) / int(lengths.sum())
    assert r["nll_per_token"] == pytest.approx(direct, rel=1e-6) and math.isfinite(direct)
    assert lm_nll_per_token(tiny_lm, vocab, middle) == pytest.approx(direct, rel=1e-6)
    toks = [m.split() for m in middle]
    adjacent = [a == b for t in toks for a, b in zip(t, t[1:])]
    assert r["repeats"] == pytest.approx(sum(adjacent) / len(adjacent))


def test_the_lm_must_share_the_vocabulary(tiny_vae, tiny_lm):
    ck = load_checkpoint(tiny_vae)
    tiny_lm.cfg.vocab_size += 1
    try:
        with pytest.raises(ValueError, match="vocabulary"):
            homotopy_fluency(ck.model, ck.vocab, tiny_lm, [("a", "b")])
    finally:
        tiny_lm.cfg.vocab_size -= 1


def test_the_most_fluent_model_changes_its_paths_and_does_not_repeat():
    from vae_core.fluency import most_fluent
    record = {"models": {"collapsed": {"nll_per_token": 1.9, "distinct_steps": 1.7, "repeats": 0.9},
                         "stuttering": {"nll_per_token": 2.0, "distinct_steps": 6.9, "repeats": 0.5},
                         "fluent": {"nll_per_token": 3.0, "distinct_steps": 6.4, "repeats": 0.02},
                         "garbled": {"nll_per_token": 4.1, "distinct_steps": 6.7, "repeats": 0.01}}}
    assert most_fluent(record) == "fluent" and most_fluent({}) is None
