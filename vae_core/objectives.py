"""Training objectives. Each cites its paper and equation; all values are nats per sentence.

    elbo          Bowman et al. 2016, Eq. 1 (KL weight, word dropout; L samples: Kruengkrai 2019, Eq. 3;
                  free bits: Kingma et al. 2016, Eq. 15)
    elbo_avg      LSTM-VAE-AVG, Kruengkrai 2019, Eq. 7-8
    mi_loss       L_MI of Vani & Birodkar, Eq. 8-9
    amim          A-MIM of Livne et al. 2020, Algorithm 1
    training_terms  picks the objective of a model family (what `vae_core.train` minimises)

The loss that is minimised is a batch mean of per-sentence values, so gradients do not depend on how many
tokens a batch happens to hold (the convention of Bowman et al. 2016 and He et al. 2019's code).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .config import TrainConfig
from .data import Vocab
from .decoding import sample_batch
from .model import SentenceVAE, decoder_inputs, upcast
# the Gaussian's closed forms live with the posterior families; re-exported here, where the objectives use them
from .posterior import LOG_2PI, gaussian_kl, log_normal, log_standard_normal  # noqa: F401


@dataclass
class ElboTerms:
    """Per-sentence terms of one ELBO evaluation, each (B,) in nats per sentence."""

    loss: torch.Tensor          # rec_loss + kl_weight * kl  (what is minimised, before the batch mean)
    rec: torch.Tensor           # -E_q[log p(x|z)] estimated with the drawn samples
    kl: torch.Tensor            # KL(q(z|x) || p(z)), closed form
    kl_per_dim: torch.Tensor | None = None   # (B, n)
    rec_eos: torch.Tensor | None = None      # the part of `rec` from the final <eos> (sequence models; 0 for a bag)


def free_bits_kl(kl_dim: torch.Tensor, free_bits: float, mode: str = "batch") -> torch.Tensor:
    """The KL term under free bits, (B,).

    kl_dim: (B, n) per-dimension KL; free_bits: lambda, nats per dimension; 0 returns kl_dim.sum(-1).
    mode "batch" (Kingma et al. 2016, Eq. 15): a dimension whose batch-mean KL is below lambda costs the
        constant lambda (no gradient) instead of its KL, so the batch mean of the result is
        sum_d max(lambda, mean_b KL_bd) exactly.
    mode "example" (Li et al. 2019's code, bohanli/vae-pretraining-encoder, text_anneal_fb.py `--fb 2`, with
        their target_kl / n as lambda): each sentence's dimension d costs KL_bd when it is above lambda and
        nothing below it, so no gradient pushes a sentence's KL below lambda in any dimension.
    Raises ValueError for an unknown mode.
    """
    if free_bits <= 0:
        return kl_dim.sum(-1)
    if mode == "example":
        return (kl_dim * (kl_dim > free_bits)).sum(-1)
    if mode != "batch":
        raise ValueError(f"unknown free-bits mode {mode!r} (batch, example)")
    below = kl_dim.mean(0, keepdim=True) < free_bits                      # (1, n)
    return torch.where(below, torch.full_like(kl_dim, free_bits), kl_dim).sum(-1)


def elbo(model: SentenceVAE, x: torch.Tensor, lengths: torch.Tensor, kl_weight: float = 1.0,
         word_keep: float = 1.0, n_samples: int = 1, free_bits: float = 0.0, free_bits_mode: str = "batch") -> ElboTerms:
    """Negative ELBO with a KL weight: Bowman et al. 2016, Eq. (1), KL annealing and word dropout (Sec. 3.1).

        loss(x) = -(1/L) sum_l log p(x | z_l) + kl_weight * KL(q(z|x) || p(z)),  z_l = mu + sigma * eps_l

    With n_samples = L > 1 this is Kruengkrai 2019, Eq. (3). The KL is analytic (`gaussian_kl`; for a vMF
    posterior the constant of Xu & Durrett 2018, Eq. 6, and z is drawn by Wood's sampler); with
    free_bits > 0 the KL inside `loss` is `free_bits_kl` in `free_bits_mode` (the reported `kl` stays the true KL). For the
    "lm" model there is no z: loss = rec = -log p(x) and kl = 0.
    x: (B, T) ids ending in `<eos>`; lengths: (B,). Returns ElboTerms of (B,) tensors, nats per sentence.
    """
    if not model.has_latent:
        parts = -model.reconstruction(x, lengths, None, word_keep, split=True)     # (B, 2)
        rec = parts.sum(-1)
        return ElboTerms(rec, rec, torch.zeros_like(rec), rec_eos=parts[:, 1])
    mu, logvar = model.encode(x, lengths)
    return elbo_at(model, x, lengths, mu, logvar, kl_weight, word_keep, n_samples, free_bits, free_bits_mode)


def elbo_at(model, x: torch.Tensor, lengths: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
            kl_weight: float = 1.0, word_keep: float = 1.0, n_samples: int = 1, free_bits: float = 0.0,
            free_bits_mode: str = "batch") -> ElboTerms:
    """`elbo` for given posterior parameters mu, logvar (B, n) instead of the encoder's (the objective that
    secondary optimisation improves, Krishnan et al. 2018). For "vae-avg" models it is `elbo_avg`'s
    objective with the model's L; otherwise Bowman et al. 2016, Eq. 1 with L samples (Kruengkrai Eq. 3)."""
    if model.cfg.model == "vae-avg":
        z = model.reparameterize(mu, logvar, model.cfg.avg_samples)
        parts = -model.reconstruction_avg(x, lengths, z, word_keep, split=True)     # (B, 2)
    elif model.cfg.is_sequence:
        z = model.reparameterize(mu, logvar, n_samples)                              # (L, B, n)
        parts = -model.reconstruction(x, lengths, z, word_keep, split=True).mean(0)  # (B, 2)
    else:                                                                            # a bag has no <eos>
        z = model.reparameterize(mu, logvar, n_samples)
        rec = -model.reconstruction(x, lengths, z, word_keep).mean(0)
        parts = torch.stack([rec, torch.zeros_like(rec)], -1)
    rec = parts.sum(-1)
    family = model.posterior
    if not family.per_dimension_kl:                 # vMF (Xu & Durrett 2018, Eq. 6): a constant KL
        kl = family.kl(upcast(mu), upcast(logvar))
        return ElboTerms(rec + kl_weight * kl, rec, kl, None, parts[:, 1])
    kl_dim = family.kl_per_dim(upcast(mu), upcast(logvar))
    kl = kl_dim.sum(-1)
    return ElboTerms(rec + kl_weight * free_bits_kl(kl_dim, free_bits, free_bits_mode), rec, kl, kl_dim, parts[:, 1])


def elbo_avg(model: SentenceVAE, x: torch.Tensor, lengths: torch.Tensor, kl_weight: float = 1.0,
             word_keep: float = 1.0, free_bits: float = 0.0) -> ElboTerms:
    """LSTM-VAE-AVG objective (Kruengkrai 2019, Eq. 7-8 inside Eq. 1):

        loss(x) = -log p(x | h~(z^(1..L))) + kl_weight * KL(q(z|x) || p(z)),  z^(l) = mu + sigma * eps^(l)

    where h~_t averages the decoder states of the L samples (`SentenceVAE.reconstruction_avg`, L =
    model.cfg.avg_samples). The KL is counted once, as in the paper. With L = 1 it equals `elbo`.
    Returns ElboTerms of (B,) tensors, nats per sentence.
    """
    return elbo(model, x, lengths, kl_weight, word_keep, 1, free_bits)      # elbo_at dispatches on the kind


def amim(model: SentenceVAE, x: torch.Tensor, lengths: torch.Tensor, word_keep: float = 1.0) -> ElboTerms:
    """A-MIM loss of sentenceMIM (Livne et al. 2020, Algorithm 1), per sentence:

        loss(x_i) = -[ log p(x_i | z_i) + 1/2 ( log q(z_i | x_i) + log P(z_i) ) ],   z_i ~ q(z | x_i)

    one reparameterised joint sample per sentence, no KL annealing. `rec` is -log p(x_i | z_i) and `kl`
    the analytic KL (reported only; it is not part of the loss). (B,) tensors, nats per sentence.
    log q(z_i | x_i) is evaluated from the noise, -1/2 sum (eps^2 + logvar + log 2 pi), which equals
    log N(z_i; mu, sigma^2) exactly and stays accurate when sigma is tiny next to mu (float32 would round
    z_i - mu to 0). The loss falls without bound as sigma -> 0; ModelConfig.logvar_min bounds it.
    """
    mu, logvar = model.encode(x, lengths)
    eps = torch.randn(mu.shape, device=mu.device, dtype=mu.dtype)
    z = mu + torch.exp(0.5 * logvar) * eps                                 # (B, n)
    log_px = model.reconstruction(x, lengths, z, word_keep)
    zf, muf, lvf = upcast(z), upcast(mu), upcast(logvar)
    log_q = -0.5 * (upcast(eps).pow(2) + lvf + LOG_2PI).sum(-1)
    log_p = log_standard_normal(zf)
    kl_dim = gaussian_kl(muf, lvf)
    return ElboTerms(-(log_px + 0.5 * (log_q + log_p)), -log_px, kl_dim.sum(-1), kl_dim)


def mi_loss(model: SentenceVAE, batch_size: int, max_len: int = 40,
            generator: torch.Generator | None = None) -> torch.Tensor:
    """L_MI of Vani & Birodkar (Eq. 8-9), a scalar in nats (mean over `batch_size` prior samples):

        L_MI = E_{z ~ p(z), x' ~ p(x|z)} [ log p(z) - log q_MI(z | x') ]

    z is drawn from the prior (a leaf: no gradient reaches z, hence none reaches the encoder); x' is sampled
    from the decoder without gradient (tokens are discrete) and then re-read with teacher forcing, so
    q_MI (`MIPosterior`) sees the decoder's hidden states and its gradient trains q_MI and the decoder.
    """
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    z = torch.randn((batch_size, model.latent_dim), generator=generator).to(device=device, dtype=dtype)
    x_gen, lengths = sample_batch(model, z, max_len)
    hidden, _ = model.decoder.hidden(decoder_inputs(x_gen, Vocab.bos_id, Vocab.unk_id), z)
    mu_mi, logvar_mi = model.mi_posterior(hidden, lengths)
    return (log_standard_normal(z) - log_normal(z, upcast(mu_mi), upcast(logvar_mi))).mean()


def training_terms(model, x: torch.Tensor, lengths: torch.Tensor, kl_weight: float, word_keep: float,
                   tcfg=None) -> ElboTerms:
    """The per-sentence loss terms a model family is trained with (`vae_core.train`):

    lm, vae, bow: `elbo` (tcfg.z_samples samples, tcfg.free_bits); vae-avg: `elbo`, which is `elbo_avg`
    for that kind (the model's avg_samples replace z_samples); smim: `amim`;
    mi-vae: `elbo` + tcfg.mi_weight * `mi_loss` (the scalar L_MI added to every sentence's loss, so the
    batch mean is L_VAE + lambda L_MI, Eq. 9). `tcfg` is a TrainConfig (None = its defaults).
    """
    t = tcfg or TrainConfig()
    kind = model.cfg.model
    if kind == "smim":
        return amim(model, x, lengths, word_keep)
    terms = elbo(model, x, lengths, kl_weight, word_keep, t.z_samples if model.has_latent else 1, t.free_bits,
                 t.free_bits_mode)
    if kind == "mi-vae" and t.mi_weight > 0:
        terms.loss = terms.loss + t.mi_weight * mi_loss(model, x.size(0), t.mi_max_len)
    return terms
