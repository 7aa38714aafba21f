"""Estimators: IW-NLL against its definition and the ELBO, active units and mutual information on known cases."""
import math

import pytest
import torch

from vae_core.checkpoint import load_checkpoint
from vae_core.data import Corpus, split_path
from vae_core.estimators import active_units, evaluate_corpus, iw_nll, mutual_info
from vae_core.objectives import elbo, log_normal, log_standard_normal


def _first(ck, data_dir, n=24):
    c = Corpus.from_file(split_path(data_dir, "test"), ck.vocab)
    return Corpus(c.sentences[:n], ck.vocab)


def test_iw_nll_with_one_sample_is_its_formula(tiny_vae, tiny_ptb):
    ck = load_checkpoint(tiny_vae)
    x, lengths = _first(ck, tiny_ptb).collate(range(5))
    torch.manual_seed(5)
    got = iw_nll(ck.model, x, lengths, n_samples=1)
    torch.manual_seed(5)
    with torch.no_grad():
        mu, logvar = ck.model.encode(x, lengths)
        z = ck.model.reparameterize(mu, logvar, 1)
        ref = -(ck.model.reconstruction(x, lengths, z) + log_standard_normal(z) - log_normal(z, mu, logvar))[0]
    torch.testing.assert_close(got, ref)


def test_iw_nll_is_below_elbo_and_finite_on_ptb(demo_dir, ptb_dir):
    ck = load_checkpoint(demo_dir)
    corpus = _first(ck, ptb_dir)
    x, lengths = corpus.collate(range(len(corpus)))
    torch.manual_seed(0)
    with torch.no_grad():
        elbo_nll = (elbo(ck.model, x, lengths, n_samples=20).rec + elbo(ck.model, x, lengths).kl)
    iw = iw_nll(ck.model, x, lengths, n_samples=100)
    assert torch.isfinite(iw).all() and torch.isfinite(elbo_nll).all()
    assert iw.mean() < elbo_nll.mean()
    assert (iw <= elbo_nll + 0.5).all()          # per sentence, up to Monte Carlo noise of the 20-sample ELBO


def test_iw_nll_tightens_with_more_samples(tiny_vae, tiny_ptb):
    ck = load_checkpoint(tiny_vae)
    x, lengths = _first(ck, tiny_ptb).collate(range(24))
    torch.manual_seed(1)
    k1 = torch.stack([iw_nll(ck.model, x, lengths, 1) for _ in range(10)]).mean()
    k50 = iw_nll(ck.model, x, lengths, 50).mean()
    assert k50 < k1


def test_active_units_counts_dimensions_with_variance():
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(2000, 4, generator=g) * torch.tensor([1.0, 0.5, 0.05, 0.0])   # variances 1, .25, .0025, 0
    n, var = active_units(mu)
    assert n == 2
    torch.testing.assert_close(var, torch.tensor([1.0, 0.25, 0.0025, 0.0]), atol=0.05, rtol=0.1)


def test_mutual_information_known_extremes():
    # every posterior equals the prior: z carries no information about x. The estimator is Monte Carlo
    # (one z per sentence), so it is 0 up to noise of standard deviation sqrt(n / 2N) = 0.037 here.
    N, n = 3000, 8
    assert mutual_info(torch.zeros(N, n), torch.zeros(N, n), torch.Generator().manual_seed(0), block=256) == pytest.approx(0, abs=0.15)
    # far-apart, narrow posteriors: z identifies x, so I(x; z) = H(x) = log N (same noise as above)
    mu = torch.randn(N, n, generator=torch.Generator().manual_seed(1)) * 100
    logvar = torch.full((N, n), -4.0)
    assert mutual_info(mu, logvar, torch.Generator().manual_seed(0), block=256) == pytest.approx(math.log(N), abs=0.15)


def test_evaluate_corpus_is_consistent(tiny_vae, tiny_ptb):
    ck = load_checkpoint(tiny_vae)
    corpus = _first(ck, tiny_ptb)
    res = evaluate_corpus(ck.model, corpus, iw_samples=10)
    assert res["n_tokens"] == corpus.n_tokens == res["n_words"] + res["n_sentences"]
    assert res["nll"] == pytest.approx(res["rec"] + res["kl"])
    assert res["ppl_excl_eos"] > res["ppl"] and res["iw_ppl"] == pytest.approx(math.exp(res["iw_nll"] * 24 / corpus.n_tokens))
    assert 0 <= res["active_units"] <= 4 and res["mutual_info"] >= -1e-6
    assert evaluate_corpus(ck.model, corpus, iw_samples=10) == res          # seeded: repeatable
