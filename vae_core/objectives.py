"""Training objectives. Each cites its paper and equation; all values are nats per sentence.

The loss that is minimised is a batch mean of per-sentence values, so gradients do not depend on how many
tokens a batch happens to hold (the convention of Bowman et al. 2016 and He et al. 2019's code).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .model import SentenceVAE, upcast

LOG_2PI = math.log(2 * math.pi)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag exp(logvar)) || N(0, I)) per dimension, same shape as mu (nats).

    Closed form (Kingma & Welling 2014, Appendix B): 0.5 (mu^2 + sigma^2 - log sigma^2 - 1).
    Sum over the last dimension for the KL per sentence (Bowman et al. 2016, Eq. 1).
    """
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1.0)


def log_normal(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag exp(logvar)), summed over the last dimension (nats); broadcasts over leading dims."""
    return -0.5 * (((z - mu) ** 2) * torch.exp(-logvar) + logvar + LOG_2PI).sum(-1)


def log_standard_normal(z: torch.Tensor) -> torch.Tensor:
    """log p(z) for the prior N(0, I), summed over the last dimension (nats)."""
    return -0.5 * (z.pow(2) + LOG_2PI).sum(-1)


@dataclass
class ElboTerms:
    """Per-sentence terms of one ELBO evaluation, each (B,) in nats per sentence."""

    loss: torch.Tensor          # rec_loss + kl_weight * kl  (what is minimised, before the batch mean)
    rec: torch.Tensor           # -E_q[log p(x|z)] estimated with the drawn samples
    kl: torch.Tensor            # KL(q(z|x) || p(z)), closed form
    kl_per_dim: torch.Tensor | None = None   # (B, n)


def elbo(model: SentenceVAE, x: torch.Tensor, lengths: torch.Tensor, kl_weight: float = 1.0,
         word_keep: float = 1.0, n_samples: int = 1) -> ElboTerms:
    """Negative ELBO with a KL weight: Bowman et al. 2016, Eq. (1), KL annealing and word dropout (Sec. 3.1).

        loss(x) = -(1/L) sum_l log p(x | z_l) + kl_weight * KL(q(z|x) || p(z)),  z_l = mu + sigma * eps_l

    With n_samples = L > 1 this is Kruengkrai 2019, Eq. (3). The KL is analytic (`gaussian_kl`). For the
    "lm" model there is no z: loss = rec = -log p(x) and kl = 0.
    x: (B, T) ids ending in `<eos>`; lengths: (B,). Returns ElboTerms of (B,) tensors, nats per sentence.
    """
    if not model.has_latent:
        rec = -model.reconstruction(x, lengths, None, word_keep)
        zero = torch.zeros_like(rec)
        return ElboTerms(rec, rec, zero)
    mu, logvar = model.encode(x, lengths)
    z = model.reparameterize(mu, logvar, n_samples)                       # (L, B, n)
    rec = -model.reconstruction(x, lengths, z, word_keep).mean(0)         # (B,)
    kl_dim = gaussian_kl(upcast(mu), upcast(logvar))
    kl = kl_dim.sum(-1)
    return ElboTerms(rec + kl_weight * kl, rec, kl, kl_dim)
