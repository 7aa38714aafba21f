"""Evaluation estimators: ELBO NLL, importance-weighted NLL, active units, mutual information, perplexity.

Units: nats per sentence unless the name says per token. Perplexities count one `<eos>` per sentence as a
predicted token (Mikolov's convention, used by Bowman et al. 2016 and He et al. 2019); `ppl_excl_eos`
divides by words only (the convention of Livne et al. 2020, Eq. 16) and is reported beside it.
"""
from __future__ import annotations

import math
from typing import Callable, Iterable

import torch

from .data import Corpus
from .model import SentenceVAE
from .objectives import elbo, log_normal, log_standard_normal

# Upper bound on (sequences x padded length) scored at once; keeps the |V|-wide logits near 300 MB.
TOKEN_BUDGET = 8192


@torch.no_grad()
def iw_nll(model: SentenceVAE, x: torch.Tensor, lengths: torch.Tensor, n_samples: int = 500,
           token_budget: int = TOKEN_BUDGET) -> torch.Tensor:
    """Importance-weighted NLL (Burda et al. 2016, Eq. 8 with q(z|x) as proposal), (B,) nats per sentence.

        -log p(x) ~= -log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x),   z_k ~ q(z|x), K = n_samples

    It is an upper bound on -log p(x) that tightens as K grows and never exceeds the ELBO NLL in
    expectation. Samples are scored in chunks so that memory stays bounded for any K. For the "lm" model
    the exact -log p(x) is returned.
    """
    if not model.has_latent:
        return -model.reconstruction(x, lengths, None)
    mu, logvar = model.encode(x, lengths)
    per_chunk = max(1, token_budget // max(1, x.numel()))
    log_w = []
    done = 0
    while done < n_samples:
        s = min(per_chunk, n_samples - done)
        z = model.reparameterize(mu, logvar, s)                            # (s, B, n)
        log_w.append(model.reconstruction(x, lengths, z) + log_standard_normal(z) - log_normal(z, mu, logvar))
        done += s
    log_w = torch.cat(log_w, 0)                                            # (K, B)
    return -(torch.logsumexp(log_w, 0) - math.log(n_samples))


@torch.no_grad()
def encode_corpus(model: SentenceVAE, corpus: Corpus, batch_size: int = 256,
                  device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Posterior parameters of every sentence, in corpus order: mu, logvar, each (N, n), on the CPU."""
    mus = torch.empty((len(corpus), model.latent_dim))
    logvars = torch.empty_like(mus)
    for idx in corpus.batches(batch_size):
        x, lengths = corpus.collate(idx)
        mu, logvar = model.encode(x.to(device), lengths.to(device))
        mus[idx], logvars[idx] = mu.float().cpu(), logvar.float().cpu()     # back to corpus order
    return mus, logvars


def active_units(mu: torch.Tensor, threshold: float = 0.01) -> tuple[int, torch.Tensor]:
    """Active units (Burda et al. 2016, Sec. 5.2; as used by He et al. 2019).

    Dimension d is active if Cov_x(E_{q(z|x)}[z_d]) > threshold. mu: (N, n) posterior means over a corpus.
    Returns (count, per-dimension variance (n,)).
    """
    var = mu.double().var(dim=0, unbiased=True).float() if mu.size(0) > 1 else torch.zeros(mu.size(1))
    return int((var > threshold).sum()), var


def mutual_info(mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None,
                block: int = 1024) -> float:
    """I_q(x; z) under the aggregate posterior, the estimator of He et al. 2019 (their Sec. 4.2 / code).

        I = E_x E_{q(z|x)}[log q(z|x)] - E_{q(z)}[log q(z)],   q(z) ~= (1/N) sum_j q(z|x_j)

    The first term is the negative posterior entropy in closed form; the second uses one z_i ~ q(z|x_i)
    per sentence scored against all N posteriors (block-wise, memory O(block x N)). Unlike He et al.'s code,
    which averages per-batch estimates, q(z) here is the whole corpus' aggregate posterior, so the estimate
    can reach log N. mu, logvar: (N, n). Returns nats.
    """
    mu, logvar = mu.double(), logvar.double()
    N, n = mu.shape
    neg_entropy = (-0.5 * n * math.log(2 * math.pi) - 0.5 * (1 + logvar).sum(-1)).mean()
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype)
    z = mu + torch.exp(0.5 * logvar) * eps
    log_qz = []
    for s in range(0, N, block):
        lq = log_normal(z[s: s + block, None, :], mu[None], logvar[None])   # (b, N)
        log_qz.append(torch.logsumexp(lq, dim=1) - math.log(N))
    return float(neg_entropy - torch.cat(log_qz).mean())


@torch.no_grad()
def evaluate_corpus(model: SentenceVAE, corpus: Corpus, iw_samples: int = 500, elbo_samples: int = 1,
                    batch_size: int = 64, device: torch.device | str = "cpu", seed: int = 0,
                    progress: Callable[[Iterable], Iterable] = lambda it: it) -> dict:
    """Every standard estimator on one split, as a flat dict (the JSON of `python -m vae_core.evaluate`).

    Keys: nll (negative ELBO), rec, kl, iw_nll (nats per sentence, means over sentences); ppl and iw_ppl
    (EOS counted), ppl_excl_eos; active_units, mutual_info (nats); n_sentences, n_tokens (with EOS),
    n_words (without). `iw_samples = 0` skips the importance-weighted estimate.
    """
    model.eval()
    torch.manual_seed(seed)
    sums = {"nll": 0.0, "rec": 0.0, "kl": 0.0, "iw_nll": 0.0}
    for idx in progress(corpus.batches(batch_size)):
        x, lengths = corpus.collate(idx)
        x, lengths = x.to(device), lengths.to(device)
        t = elbo(model, x, lengths, kl_weight=1.0, n_samples=elbo_samples)
        sums["rec"] += float(t.rec.sum())
        sums["kl"] += float(t.kl.sum())
        sums["nll"] += float((t.rec + t.kl).sum())
        if iw_samples > 0:
            sums["iw_nll"] += float(iw_nll(model, x, lengths, iw_samples).sum())
    n, n_tok = len(corpus), corpus.n_tokens
    n_words = n_tok - n
    out = {k: v / n for k, v in sums.items()}
    out["ppl"] = math.exp(sums["nll"] / n_tok)
    out["ppl_excl_eos"] = math.exp(sums["nll"] / n_words)
    if iw_samples > 0:
        out["iw_ppl"] = math.exp(sums["iw_nll"] / n_tok)
    else:
        out["iw_nll"] = None
    out["ppl_convention"] = "ppl and iw_ppl count one <eos> per sentence; ppl_excl_eos counts words only"
    if model.has_latent:
        mu, logvar = encode_corpus(model, corpus, device=device)
        out["active_units"], _ = active_units(mu)
        out["mutual_info"] = mutual_info(mu, logvar, torch.Generator().manual_seed(seed))
    else:
        out["active_units"], out["mutual_info"] = 0, 0.0
    out.update(n_sentences=n, n_tokens=n_tok, n_words=n_words, iw_samples=iw_samples, elbo_samples=elbo_samples)
    return out
