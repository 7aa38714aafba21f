"""The von Mises-Fisher posterior of Xu & Durrett 2018 (`vae_core.posterior`), checked against SciPy's own
`scipy.stats.vonmises_fisher` (density, entropy, samples) and against direct computations, and the vMF VAE
end to end: training, the ELBO's constant KL, IW-NLL, mutual information, active units and the views'
k-sigma perturbation."""
import math

import numpy as np
import pytest
import torch
from scipy.stats import vonmises_fisher

from tests.conftest import tiny_configs
from vae_core.config import ModelConfig
from vae_core.posterior import GaussianPosterior, VonMisesFisherPosterior, posterior_family


def unit(n, seed=0, batch=3):
    g = torch.Generator().manual_seed(seed)
    mu = torch.randn((batch, n), generator=g, dtype=torch.float64)
    return mu / mu.norm(dim=-1, keepdim=True)


@pytest.mark.parametrize("n,kappa", [(50, 35.0), (3, 2.0), (32, 400.0)])
def test_density_kl_and_entropy_are_scipys(n, kappa):
    fam = VonMisesFisherPosterior(n, kappa)
    mu = unit(n)
    z = unit(n, seed=1, batch=4)
    ours = fam.log_density(z[:, None], mu[None])                                   # (4, 3)
    ref = np.stack([vonmises_fisher(m.numpy(), kappa).logpdf(z.numpy()) for m in mu], 1)
    np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-9, atol=1e-9)
    dist = vonmises_fisher(mu[0].numpy(), kappa)
    log_area = math.log(2) + n / 2 * math.log(math.pi) - math.lgamma(n / 2)
    assert fam.kl_value == pytest.approx(-dist.entropy() + log_area, rel=1e-9)
    assert float(fam.neg_entropy(mu)[0]) == pytest.approx(-dist.entropy(), rel=1e-9)
    assert float(fam.log_prior(z)[0]) == pytest.approx(-log_area)
    torch.testing.assert_close(fam.kl(mu), torch.full((3,), fam.kl_value, dtype=torch.float64))


def test_the_ptb_runs_kl_and_their_codes_approximation():
    """n = 50, kappa = 35 (their issue #7): exact 7.743 nats; their code's `_vmf_kld` (Guu et al.) gives 7.628."""
    assert VonMisesFisherPosterior(50, 35.0).kl_value == pytest.approx(7.7430, abs=1e-4)


def test_samples_have_the_vmf_moments_and_match_scipys_draws():
    """Wood's sampler: E[mu^T z] = A_n(kappa), Var(mu^T z) = 1 - (n-1) A / kappa - A^2, the spread orthogonal
    to mu is A / kappa per direction (`var_per_dim` is the exact diagonal of the covariance), and the cosines
    are distributed as SciPy's (two-sample Kolmogorov-Smirnov)."""
    from scipy.stats import ks_2samp
    n, kappa, N = 50, 35.0, 40000
    fam = VonMisesFisherPosterior(n, kappa)
    mu = unit(n, batch=1)
    z = fam.sample(mu, None, N, torch.Generator().manual_seed(0))[:, 0]              # (N, n)
    torch.testing.assert_close(z.norm(dim=-1), torch.ones(N, dtype=torch.float64))
    w = z @ mu[0]
    a = fam.mean_cosine
    se = math.sqrt(float(w.var()) / N)
    assert abs(float(w.mean()) - a) < 4 * se
    assert float(w.var()) == pytest.approx(1 - (n - 1) * a / kappa - a * a, rel=0.05)
    ref = vonmises_fisher(mu[0].numpy(), kappa).rvs(N, random_state=np.random.default_rng(0)) @ mu[0].numpy()
    assert ks_2samp(w.numpy(), ref).pvalue > 1e-3
    np.testing.assert_allclose(z.var(0).numpy(), fam.var_per_dim(mu)[0].numpy(), rtol=0.06)
    torch.testing.assert_close(z.mean(0), fam.mean(mu)[0], atol=4 * math.sqrt(1 / N), rtol=0)
    assert math.exp(fam.logvar_value) == pytest.approx(a / kappa)


def test_samples_are_reparameterised_reproducible_and_scale_as_k_sigma():
    fam = VonMisesFisherPosterior(8, 20.0)
    mu = unit(8, batch=2).float().requires_grad_()
    z = fam.sample(mu, None, 5)
    (z * torch.arange(8.0)).sum().backward()
    assert mu.grad is not None and mu.grad.abs().sum() > 0                        # gradients reach mu
    a = fam.sample(mu.detach(), None, 4, torch.Generator().manual_seed(3))
    b = fam.sample(mu.detach(), None, 4, torch.Generator().manual_seed(3))
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(fam.sample(mu.detach(), None, 2, scale=0.0)[0], mu.detach())
    # k-sigma: vMF(mu, kappa / k^2) spreads k times as far orthogonally (exact as kappa grows)
    big = VonMisesFisherPosterior(16, 4000.0)
    m = unit(16, batch=1)
    g = torch.Generator().manual_seed(0)
    spread = [float((1 - big.sample(m, None, 4000, g, scale=k)[:, 0] @ m[0]).mean()) for k in (1.0, 3.0)]
    assert spread[1] / spread[0] == pytest.approx(9.0, rel=0.05)                  # 1 - cos ~ angle^2 / 2


def test_config_and_training_settings_that_do_not_apply_are_refused(tmp_path, tiny_ptb):
    from vae_core.train import Trainer
    for bad in (dict(model="smim"), dict(model="vae-avg", avg_samples=2), dict(vmf_kappa=0.0), dict(latent_dim=1),
                dict(mu_batchnorm_gamma=0.5)):
        with pytest.raises(ValueError, match="vMF"):
            ModelConfig(**{"posterior": "vmf", "vmf_kappa": 10.0, **bad})
    with pytest.raises(ValueError, match="vmf_kappa"):
        ModelConfig(vmf_kappa=3.0)
    with pytest.raises(ValueError, match="linear-hc"):
        ModelConfig(rnn="gru", init_state="linear-hc")
    m, t = tiny_configs(tiny_ptb, tmp_path, free_bits=0.5)
    m.posterior, m.vmf_kappa = "vmf", 10.0
    with pytest.raises(ValueError, match="free_bits"):
        Trainer(m, t, quiet=True)


@pytest.fixture(scope="module")
def tiny_vmf(tmp_path_factory, tiny_ptb):
    from vae_core.train import Trainer
    out = tmp_path_factory.mktemp("tiny_vmf")
    m, t = tiny_configs(tiny_ptb, out, kl_anneal="none")
    m.posterior, m.vmf_kappa, m.init_state, m.latent_dim = "vmf", 20.0, "linear-hc", 6
    Trainer(m, t, quiet=True).run()
    return out


def test_a_vmf_vae_trains_saves_loads_and_its_estimators_use_its_own_density(tiny_vmf, tiny_ptb):
    from vae_core.checkpoint import load_checkpoint
    from vae_core.data import Corpus
    from vae_core.estimators import active_units, evaluate_corpus, iw_nll, mutual_info
    from vae_core.objectives import elbo
    ck = load_checkpoint(tiny_vmf)
    model = ck.model.eval()
    fam = model.posterior
    assert fam.name == "vmf" and not hasattr(model, "to_logvar") and hasattr(model.decoder, "z_to_hidden")
    corpus = Corpus.from_file(tiny_ptb / "ptb.valid.txt", ck.vocab)
    x, lengths = corpus.collate(range(24))
    with torch.no_grad():
        mu, logvar = model.encode(x, lengths)
        torch.testing.assert_close(mu.norm(dim=-1), torch.ones(24))
        t = elbo(model, x, lengths)
        assert t.kl_per_dim is None and torch.allclose(t.kl, torch.full((24,), fam.kl_value))
        torch.manual_seed(0)
        nll_elbo = float((t.rec + t.kl).mean())
        torch.manual_seed(0)
        # log w = log p(x|z) + log p(z) - log q(z|x): with one sample its mean is the ELBO exactly in expectation
        one = torch.stack([iw_nll(model, x, lengths, 1) for _ in range(20)]).mean()
        many = iw_nll(model, x, lengths, 200)
    assert float(one.mean()) == pytest.approx(nll_elbo, rel=0.02)
    assert float(many.mean()) < float(one.mean())                                # the bound tightens with K
    # MI: the matrix of vMF log densities against a direct computation with SciPy's
    g = torch.Generator().manual_seed(1)
    mi = mutual_info(mu.double(), logvar.double(), g, family=fam)
    z = fam.sample(mu.double(), None, 1, torch.Generator().manual_seed(1))[0].numpy()
    lq = np.stack([vonmises_fisher(m, fam.kappa).logpdf(z) for m in mu.double().numpy()], 1)     # (i, j)
    from scipy.special import logsumexp
    direct = -vonmises_fisher(mu[0].double().numpy(), fam.kappa).entropy() - np.mean(logsumexp(lq, 1) - math.log(24))
    assert mi == pytest.approx(direct, rel=1e-8)
    out = evaluate_corpus(model, corpus, iw_samples=5, bleu=False)
    assert out["kl"] == pytest.approx(fam.kl_value, rel=1e-6)
    with torch.no_grad():
        all_mu, all_logvar = model.encode(*corpus.collate(range(len(corpus))))
    assert out["active_units"] == active_units(fam.mean(all_mu, all_logvar))[0]


def test_every_view_that_needs_sigma_uses_the_vmfs_own_definition(tiny_vmf):
    from vae_core.analysis import overlap, perturb, prior_samples, reconstruction_rows
    from vae_core.checkpoint import load_checkpoint
    from vae_core.latent import aggregate_posterior, encode_sentences, reconstruct
    ck = load_checkpoint(tiny_vmf)
    model, vocab = ck.model.eval(), ck.vocab
    post = encode_sentences(model, vocab, ["the market fell sharply"])
    assert post.kl_per_dim is None and post.per_dimension()["kl"] == [None] * 6
    rows = perturb(model, vocab, "the market fell sharply", ks=(0, 1, 5), n_samples=4)
    fam = model.posterior
    assert rows[0]["kl_shift"] == pytest.approx(0.0, abs=1e-5)                     # k = 0 is mu itself
    assert 0 < rows[1]["kl_shift"] < rows[2]["kl_shift"] <= 2 * fam.kappa           # kappa (1 - mu^T z)
    assert len(reconstruction_rows(model, vocab, "the market fell sharply", 2)) == 6
    assert len(reconstruct(model, vocab, "the market fell sharply", 2)["samples"]) == 2
    samples = prior_samples(model, vocab, 3)
    assert all(s["log_prior"] == pytest.approx(-fam.log_area, rel=1e-6) for s in samples)
    with pytest.raises(ValueError, match="Gaussian prior"):
        prior_samples(model, vocab, 3, stretch=4.0)
    ov = overlap(model, vocab, ["the market fell", "he said", "prices rose sharply"])
    z_logq = ov["logq"]
    assert z_logq.shape == (3, 3) and torch.all(z_logq <= fam.log_c + fam.kappa + 1e-4)
    stats = aggregate_posterior(post.mu, post.logvar, fam)
    assert stats["kl"] is None and torch.all(stats["std"] > 0)


def test_the_gaussian_family_is_the_closed_forms():
    fam = posterior_family(ModelConfig())
    assert isinstance(fam, GaussianPosterior)
    mu, logvar = torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    z = torch.randn(4, 3, dtype=torch.float64)
    from scipy.stats import norm
    ref = norm.logpdf(z.numpy(), mu.numpy(), np.exp(0.5 * logvar.numpy())).sum(-1)
    np.testing.assert_allclose(fam.log_density(z, mu, logvar).numpy(), ref, rtol=1e-12)
    ref_kl = 0.5 * (mu ** 2 + logvar.exp() - logvar - 1).sum(-1)
    torch.testing.assert_close(fam.kl(mu, logvar), ref_kl)
    g = torch.Generator().manual_seed(0)
    k3 = fam.sample(mu, logvar, 1, g, scale=3.0)[0]
    eps = torch.randn((1, 4, 3), generator=torch.Generator().manual_seed(0), dtype=torch.float64)[0]
    torch.testing.assert_close(k3, mu + 3 * torch.exp(0.5 * logvar) * eps)


@pytest.mark.parametrize("view", ["encode", "perturb", "collapse", "prior", "traversal", "overlap", "homotopy",
                                  "unit"])
def test_the_views_run_on_a_vmf_checkpoint_and_say_what_they_compute(view, tiny_vmf, monkeypatch):
    from streamlit.testing.v1 import AppTest
    from app.roots import CHECKPOINT_ROOTS_ENV
    from tests.conftest import ROOT
    monkeypatch.setenv(CHECKPOINT_ROOTS_ENV, str(tiny_vmf.parent))
    at = AppTest.from_file(str(ROOT / "app" / "views" / f"{view}.py"), default_timeout=120).run()
    at.sidebar.text_input(key="ckpt_typed").set_value(str(tiny_vmf)).run()
    assert not at.exception, at.exception
    assert any("von Mises-Fisher posterior" in c.value for c in at.caption), [c.value for c in at.caption]


@pytest.mark.parametrize("view", ["jacobian", "projection", "arithmetic", "downstream", "evaluate", "model_card"])
def test_the_other_views_run_on_a_vmf_checkpoint(view, tiny_vmf, monkeypatch):
    from streamlit.testing.v1 import AppTest
    from app.roots import CHECKPOINT_ROOTS_ENV
    from tests.conftest import ROOT
    monkeypatch.setenv(CHECKPOINT_ROOTS_ENV, str(tiny_vmf.parent))
    at = AppTest.from_file(str(ROOT / "app" / "views" / f"{view}.py"), default_timeout=120)
    at.session_state["jac_S"], at.session_state["proj_method"], at.session_state["proj_limit"] = 8, "pca", 300
    at.run()
    at.sidebar.text_input(key="ckpt_typed").set_value(str(tiny_vmf)).run()
    assert not at.exception, at.exception
