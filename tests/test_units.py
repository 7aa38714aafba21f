"""A latent unit's page (vae_core.units): its activity, extremes and the words its Jacobian column favours,
against direct computations on toy tensors."""
import numpy as np
import pytest
import torch

from vae_core.data import SPECIALS, Vocab
from vae_core.units import aligned_words, unit_summary


def test_unit_summary_ranks_sentences_by_their_mu_d_and_says_if_the_unit_is_active():
    mu = np.array([[0.0, 0.30], [0.0, -0.20], [0.0, 0.05], [0.001, 0.40]])
    sents = ["a", "b", "c", "d"]
    s = unit_summary(mu, sents, 1, kl_per_dim=np.array([0.0, 1.25]), k=2)
    assert [r[1] for r in s["top"]] == ["d", "a"] and [r[1] for r in s["bottom"]] == ["b", "c"]
    assert s["variance"] == pytest.approx(np.var(mu[:, 1], ddof=1)) and s["active"] and s["kl"] == 1.25
    s0 = unit_summary(mu, sents, 0)
    assert not s0["active"] and s0["kl"] is None                  # Var(mu_0) ~ 2.5e-7 < 0.01
    with pytest.raises(ValueError, match="out of range"):
        unit_summary(mu, sents, 2)


def test_aligned_words_are_the_rows_closest_in_direction_to_the_unit():
    vocab = Vocab(list(SPECIALS) + ["up", "down", "side", "tiny", "mixed"])
    J = torch.zeros(9, 2)
    J[4] = torch.tensor([3.0, 0.1])      # up: along +e0
    J[5] = torch.tensor([-3.0, 0.0])     # down: along -e0
    J[6] = torch.tensor([0.0, 3.0])      # side: along e1
    J[7] = torch.tensor([0.001, 0.0])    # tiny: along e0 but a short row
    J[8] = torch.tensor([2.0, 2.0])      # mixed: 45 degrees
    J[3] = torch.tensor([9.0, 0.0])      # <eos>: a special, never listed
    words = aligned_words(J, vocab, 0, k=3)
    assert [w for w, _ in words] == ["up", "mixed", "side"]
    assert words[0][1] == pytest.approx(3.0 / np.hypot(3.0, 0.1)) and words[1][1] == pytest.approx(2 ** -0.5)


def test_units_by_activity_and_the_mean_kl_of_both_posterior_families():
    """Traversal and collapse views order units by their mean KL, or by the aggregate spread for a vMF
    posterior; the mean KL per sentence is the sum of the per-dimension means, or the vMF's constant."""
    from vae_core.latent import aggregate_posterior, units_by_activity
    from vae_core.posterior import VonMisesFisherPosterior
    mu = torch.tensor([[2.0, 0.1, -1.0], [-2.0, 0.0, 1.0]])
    logvar = torch.zeros(2, 3)
    stats = aggregate_posterior(mu, logvar)
    assert units_by_activity(stats) == [0, 2, 1]
    assert stats["kl_total"] == pytest.approx(float(stats["kl"].sum()), rel=1e-6)
    fam = VonMisesFisherPosterior(3, 10.0)
    unit_mu = mu / mu.norm(dim=-1, keepdim=True)
    vmf = aggregate_posterior(unit_mu, torch.full_like(mu, fam.logvar_value), fam)
    assert vmf["kl"] is None and vmf["kl_total"] == pytest.approx(fam.kl_value, rel=1e-6)
    assert units_by_activity(vmf) == sorted(range(3), key=lambda d: -float(vmf["std"][d]))
