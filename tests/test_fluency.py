"""The fluency measures of the decoding views (vae_core.fluency) against direct computations with the views'
own calls."""
import math

import pytest
import torch

from tests.conftest import tiny_configs
from vae_core.checkpoint import load_checkpoint
from vae_core.data import corpus_from_text
from vae_core.analysis import perturb, prior_samples
from vae_core.fluency import (homotopy_fluency, lm_nll_per_token, perturb_fluency, prior_fluency,
                             traversal_fluency)
from vae_core.latent import aggregate_posterior, encode_sentences, homotopy, traverse, units_by_activity


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory, tiny_ptb):
    from vae_core.train import Trainer
    out = tmp_path_factory.mktemp("tiny_lm")
    m, t = tiny_configs(tiny_ptb, out, epochs=1)
    m.model = "lm"
    Trainer(m, t, quiet=True).run()
    return load_checkpoint(out).model


def test_homotopy_fluency_scores_the_intermediate_decodes_per_token_and_shares_distinct_steps(tiny_vae, tiny_lm):
    ck = load_checkpoint(tiny_vae)
    model, vocab = ck.model, ck.vocab
    pairs = [("the market fell sharply", "prices rose in new york"), ("he said", "the company expects a loss")]
    r = homotopy_fluency(model, vocab, tiny_lm, pairs, steps=5)
    paths = [homotopy(model, vocab, a, b, 5)["sentences"] for a, b in pairs]
    assert r["paths"] == paths
    assert r["distinct"] == pytest.approx(sum(len(set(p)) / 5 for p in paths) / 2)
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


def test_the_most_fluent_model_changes_its_decodes_and_does_not_repeat():
    from vae_core.fluency import most_fluent
    view = {"min_distinct": 6 / 7, "max_repeats": 0.1,
            "models": {"collapsed": {"nll_per_token": 1.9, "distinct": 0.25, "repeats": 0.9},
                       "stuttering": {"nll_per_token": 2.0, "distinct": 0.98, "repeats": 0.5},
                       "fluent": {"nll_per_token": 3.0, "distinct": 0.9, "repeats": 0.02},
                       "garbled": {"nll_per_token": 4.1, "distinct": 0.95, "repeats": 0.01}}}
    assert most_fluent(view) == "fluent" and most_fluent({}) is None
    assert most_fluent(view | {"min_distinct": 0.99}) is None
    view["models"]["fluent"]["bleu"], view["models"]["garbled"]["bleu"] = 8.0, 35.0    # perturbations: near x
    assert most_fluent(view | {"min_bleu": 20.0}) == "garbled"


def _direct_nll(lm, vocab, decodes):
    kept = [s for s in decodes if s.strip()]
    x, lengths = corpus_from_text(kept, vocab).collate(range(len(kept)))
    with torch.no_grad():
        return -float(lm.eval().reconstruction(x, lengths, None).sum()) / int(lengths.sum())


def test_perturb_traversal_and_prior_fluency_score_what_their_views_decode(tiny_vae, tiny_lm):
    """Each view's measure scores exactly the decodes the view shows: the same calls, the same seeds."""
    ck = load_checkpoint(tiny_vae)
    model, vocab = ck.model, ck.vocab
    sentences = ["the market fell sharply", "prices rose in new york", "he said"]
    r = perturb_fluency(model, vocab, tiny_lm, sentences, k=2.0, n_samples=4)
    groups = [perturb(model, vocab, s, ks=(2.0,), n_samples=4)[0]["sentences"] for s in sentences]
    assert r["groups"] == groups
    assert r["distinct"] == pytest.approx(sum(len(set(g)) / 4 for g in groups) / 3)
    assert r["bleu"] == pytest.approx(sum(perturb(model, vocab, s, ks=(2.0,), n_samples=4)[0]["bleu"]
                                          for s in sentences) / 3)
    assert r["nll_per_token"] == pytest.approx(_direct_nll(tiny_lm, vocab, [s for g in groups for s in g]), rel=1e-6)
    post = encode_sentences(model, vocab, sentences)
    stats = aggregate_posterior(post.mu, post.logvar, post.family)
    r = traversal_fluency(model, vocab, tiny_lm, sentences, stats, steps=5)
    d = units_by_activity(stats)[0]
    sweeps = [traverse(model, vocab, stats, [d], text=s, steps=5)["sentences"][0] for s in sentences]
    assert r["unit"] == d and r["groups"] == sweeps
    assert r["nll_per_token"] == pytest.approx(_direct_nll(tiny_lm, vocab, [s for g in sweeps for s in g]), rel=1e-6)
    r = prior_fluency(model, vocab, tiny_lm, n=12)
    samples = [x["sentence"] for x in prior_samples(model, vocab, 12)]
    assert r["groups"] == [samples] and r["distinct"] == pytest.approx(len(set(samples)) / 12)
    toks = [t.split() for t in samples if t.strip()]
    adjacent = [a == b for t in toks for a, b in zip(t, t[1:])]
    assert r["repeats"] == pytest.approx(sum(adjacent) / max(1, len(adjacent)))
