"""Objectives against closed forms and a hand computation of a tiny model's ELBO."""
import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from vae_core.config import ModelConfig
from vae_core.data import Vocab
from vae_core.model import SentenceVAE, decoder_inputs
from vae_core.objectives import elbo, gaussian_kl, log_normal, log_standard_normal
from vae_core.schedules import kl_weight


def test_gaussian_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(7, 5, generator=g, dtype=torch.float64) * 2
    logvar = torch.randn(7, 5, generator=g, dtype=torch.float64)
    ref = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0))
    torch.testing.assert_close(gaussian_kl(mu, logvar), ref)
    assert gaussian_kl(torch.zeros(3), torch.zeros(3)).abs().max() == 0   # posterior == prior


def test_log_densities_match_torch_distributions():
    g = torch.Generator().manual_seed(1)
    z, mu, logvar = (torch.randn(4, 3, generator=g, dtype=torch.float64) for _ in range(3))
    torch.testing.assert_close(log_normal(z, mu, logvar), Normal(mu, torch.exp(0.5 * logvar)).log_prob(z).sum(-1))
    torch.testing.assert_close(log_standard_normal(z), Normal(0.0, 1.0).log_prob(z).sum(-1))


def _lstm_step(x, h, c, w_ih, w_hh, b_ih, b_hh):
    """One LSTM step written out from the gate equations (PyTorch's gate order i, f, g, o)."""
    gates = w_ih @ x + b_ih + w_hh @ h + b_hh
    H = h.numel()
    i, f, g, o = (gates[k * H:(k + 1) * H] for k in range(4))
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def test_elbo_of_tiny_model_equals_hand_computation():
    cfg = ModelConfig(vocab_size=7, emb_dim=3, hidden_dim=2, latent_dim=2)
    torch.manual_seed(3)
    model = SentenceVAE(cfg).double().eval()
    x = torch.tensor([[4, 5, 6, Vocab.eos_id]])
    lengths = torch.tensor([4])
    torch.manual_seed(11)
    terms = elbo(model, x, lengths, kl_weight=0.3)
    torch.manual_seed(11)
    eps = torch.randn(1, 1, 2, dtype=torch.float64)[0, 0]     # the draw reparameterize makes

    P = {k: v.detach() for k, v in model.named_parameters()}
    # encoder: run the LSTM over the 4 tokens, read h at the last one
    h = c = torch.zeros(2, dtype=torch.float64)
    for tok in x[0]:
        h, c = _lstm_step(P["encoder.embedding.weight"][tok], h, c, P["encoder.rnn.weight_ih_l0"],
                          P["encoder.rnn.weight_hh_l0"], P["encoder.rnn.bias_ih_l0"], P["encoder.rnn.bias_hh_l0"])
    mu = P["to_mu.weight"] @ h + P["to_mu.bias"]
    logvar = P["to_logvar.weight"] @ h + P["to_logvar.bias"]
    z = mu + torch.exp(0.5 * logvar) * eps
    # decoder: c0 = W z, h0 = tanh(c0); input = [emb(previous token); z]; softmax over the vocabulary
    c = P["decoder.z_to_cell.weight"] @ z + P["decoder.z_to_cell.bias"]
    h = torch.tanh(c)
    logp, prev = 0.0, Vocab.bos_id
    for tok in x[0]:
        inp = torch.cat([P["decoder.embedding.weight"][prev], z])
        h, c = _lstm_step(inp, h, c, P["decoder.rnn.weight_ih_l0"], P["decoder.rnn.weight_hh_l0"],
                          P["decoder.rnn.bias_ih_l0"], P["decoder.rnn.bias_hh_l0"])
        logits = P["decoder.out.weight"] @ h + P["decoder.out.bias"]
        logp = logp + torch.log_softmax(logits, 0)[tok]
        prev = tok
    kl = 0.5 * sum(float(m) ** 2 + math.exp(float(lv)) - float(lv) - 1 for m, lv in zip(mu, logvar))
    assert terms.rec.item() == pytest.approx(-float(logp), abs=1e-9)
    assert terms.kl.item() == pytest.approx(kl, abs=1e-9)
    assert terms.loss.item() == pytest.approx(-float(logp) + 0.3 * kl, abs=1e-9)


def test_padding_does_not_change_log_likelihood():
    torch.manual_seed(0)
    model = SentenceVAE(ModelConfig(vocab_size=9, emb_dim=4, hidden_dim=5, latent_dim=3)).eval()
    short = torch.tensor([[5, 6, Vocab.eos_id]])
    batch = torch.tensor([[5, 6, Vocab.eos_id, 0, 0], [4, 5, 6, 7, Vocab.eos_id]])
    z = torch.randn(2, 3)
    alone = model.reconstruction(short, torch.tensor([3]), z[:1])
    padded = model.reconstruction(batch, torch.tensor([3, 5]), z)
    torch.testing.assert_close(padded[0], alone[0])
    mu1, _ = model.encode(short, torch.tensor([3]))
    mu2, _ = model.encode(batch, torch.tensor([3, 5]))
    torch.testing.assert_close(mu2[0], mu1[0])


def test_word_dropout_keep_rates():
    x = torch.tensor([[5, 6, 7, 8, Vocab.eos_id, 0]])
    assert decoder_inputs(x, Vocab.bos_id, Vocab.unk_id, 1.0).tolist() == [[2, 5, 6, 7, 8, 3]]
    # k = 0: the inputless decoder sees <bos> then only <unk>; padding is left alone
    # (the input under a padded target is never scored; padding itself stays padding)
    x = torch.tensor([[5, 6, Vocab.eos_id, 0, 0]])
    assert decoder_inputs(x, Vocab.bos_id, Vocab.unk_id, 0.0).tolist() == [[2, 1, 1, 1, 0]]
    torch.manual_seed(0)
    big = torch.randint(4, 50, (200, 50))
    rate = (decoder_inputs(big, 2, 1, 0.7)[:, 1:] == 1).float().mean().item()
    assert rate == pytest.approx(0.3, abs=0.02)


def test_kl_weight_schedules():
    assert kl_weight(0, "linear", 100) == 0.0
    assert kl_weight(50, "linear", 100) == 0.5
    assert kl_weight(500, "linear", 100) == 1.0
    assert kl_weight(100, "logistic", 100, 0.1) == pytest.approx(0.5)
    assert kl_weight(0, "logistic", 100, 0.1) == pytest.approx(1 / (1 + math.exp(10)))
    assert kl_weight(5, "none") == 1.0
    with pytest.raises(ValueError, match="unknown KL annealing"):
        kl_weight(0, "cosine")


def test_lm_elbo_has_no_kl():
    torch.manual_seed(0)
    lm = SentenceVAE(ModelConfig(model="lm", vocab_size=9, emb_dim=4, hidden_dim=5)).eval()
    x, lengths = torch.tensor([[5, 6, 3]]), torch.tensor([3])
    t = elbo(lm, x, lengths)
    assert t.kl.item() == 0.0 and t.loss.item() == t.rec.item() > 0
    assert not hasattr(lm, "encoder")
