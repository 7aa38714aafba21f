"""Evaluation estimators: ELBO NLL, importance-weighted NLL, MELBO, active units, mutual information,
perplexity, BLEU-1 of reconstructions, and each again after secondary optimisation.

Units: nats per sentence unless the name says per token. Perplexities count one `<eos>` per sentence as a
predicted token (Mikolov's convention, used by Bowman et al. 2016 and He et al. 2019); `ppl_excl_eos`
divides by words only (the convention of Livne et al. 2020, Eq. 16) and is reported beside it.
"""
from __future__ import annotations

import math
from typing import Callable, Iterable

import torch
from sacrebleu.metrics import BLEU

from .data import Corpus
from .decoding import decode
from .model import SentenceVAE
from .objectives import elbo, elbo_at, log_normal, log_standard_normal
from .refine import refine_posterior

# Upper bound on (sequences x padded length) scored at once; keeps the |V|-wide logits near 300 MB.
TOKEN_BUDGET = 8192


@torch.no_grad()
def iw_nll(model: SentenceVAE, x: torch.Tensor, lengths: torch.Tensor, n_samples: int = 500,
           token_budget: int = TOKEN_BUDGET, mu: torch.Tensor | None = None,
           logvar: torch.Tensor | None = None) -> torch.Tensor:
    """Importance-weighted NLL (Burda et al. 2016, Eq. 8 with q(z|x) as proposal), (B,) nats per sentence.

        -log p(x) ~= -log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x),   z_k ~ q(z|x), K = n_samples

    It is an upper bound on -log p(x) that tightens as K grows and never exceeds the ELBO NLL in
    expectation. Samples are scored in chunks so that memory stays bounded for any K. For the "lm" model
    the exact -log p(x) is returned. `mu`, `logvar` (B, n) replace the encoder's proposal (e.g. refined ones).

    LSTM-VAE-AVG (Kruengkrai 2019) is a VAE whose latent is the L-tuple Z = (z^1..z^L) with prior
    prod_l p(z^l) and posterior prod_l q(z^l|x); each importance sample is one such tuple:
    log w = log p(x | Z) + sum_l [log p(z^l) - log q(z^l|x)]. Its bound is therefore on the tuple model's
    likelihood, whose ELBO counts the KL L times (`nll_avg_tuple` in `evaluate_corpus`).
    """
    if not model.has_latent:
        return -model.reconstruction(x, lengths, None)
    if mu is None:
        mu, logvar = model.encode(x, lengths)
    if model.cfg.model == "vae-avg":
        L = model.cfg.avg_samples
        log_w = []
        for _ in range(n_samples):
            z = model.reparameterize(mu, logvar, L)                       # (L, B, n): one tuple
            log_w.append(model.reconstruction_avg(x, lengths, z)
                         + (log_standard_normal(z) - log_normal(z, mu, logvar)).sum(0))
        return -(torch.logsumexp(torch.stack(log_w), 0) - math.log(n_samples))
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
    can reach log N. mu, logvar: (N, n). Returns nats. Memory is O(block x N x n), block shrunk to stay
    under 256 MB (a z = 512 model on 3761 sentences would otherwise need 16 GB).
    """
    mu, logvar = mu.double(), logvar.double()
    N, n = mu.shape
    block = max(1, min(block, 2 ** 25 // max(1, N * n)))     # the (block, N, n) float64 tensor stays <= 256 MB
    neg_entropy = (-0.5 * n * math.log(2 * math.pi) - 0.5 * (1 + logvar).sum(-1)).mean()
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype)
    z = mu + torch.exp(0.5 * logvar) * eps
    log_qz = []
    for s in range(0, N, block):
        lq = log_normal(z[s: s + block, None, :], mu[None], logvar[None])   # (b, N)
        log_qz.append(torch.logsumexp(lq, dim=1) - math.log(N))
    return float(neg_entropy - torch.cat(log_qz).mean())


@torch.no_grad()
def reconstruction_bleu1(model: SentenceVAE, corpus: Corpus, batch_size: int = 256,
                         device: torch.device | str = "cpu") -> float:
    """Corpus BLEU-1 (0-1) of greedy decodes from the posterior means against the sentences as the model sees
    them (out-of-vocabulary words as `<unk>`): the reconstruction score of Livne et al. 2020, Table 2.
    sacrebleu's corpus BLEU with unigrams only (clipped unigram precision times the brevity penalty)."""
    hyps, refs = [], []
    itos = corpus.vocab.itos
    for idx in corpus.batches(batch_size):
        x, lengths = corpus.collate(idx)
        mu, _ = model.encode(x.to(device), lengths.to(device))
        out = decode(model, mu, "greedy", max_len=int(lengths.max()) + 5)
        hyps += [" ".join(itos[i] for i in ids) for ids in out]
        refs += [" ".join(itos[i] for i in corpus.ids[j][:-1].tolist()) for j in idx]
    return float(BLEU(max_ngram_order=1).corpus_score(hyps, [refs]).score) / 100.0


EVAL_KEYS = ("nll", "rec", "kl", "ppl", "ppl_excl_eos", "iw_nll", "iw_ppl", "melbo", "melbo_ppl", "bleu1",
             "active_units", "mutual_info", "nll_refined", "rec_refined", "kl_refined", "ppl_refined",
             "iw_nll_refined", "active_units_refined", "nll_avg_tuple")


@torch.no_grad()
def evaluate_corpus(model: SentenceVAE, corpus: Corpus, iw_samples: int = 500, elbo_samples: int = 1,
                    batch_size: int = 64, device: torch.device | str = "cpu", seed: int = 0,
                    progress: Callable[[Iterable], Iterable] = lambda it: it, refine_steps: int = 0,
                    refine_lr: float = 0.01, bleu: bool = True) -> dict:
    """Every estimator defined for the model on one split, as one flat dict with the keys of EVAL_KEYS
    (None where a quantity is not defined for the model or was not asked for): the JSON of
    `python -m vae_core.evaluate`.

    nll = rec + kl: the negative ELBO (Bowman et al. 2016, Eq. 1), rec with `elbo_samples` z per sentence;
        for "vae-avg" the paper's objective (Kruengkrai 2019, Eq. 7-8, KL counted once) and nll_avg_tuple =
        rec + L kl, the ELBO of the L-tuple latent model that the AVG decoder actually defines.
    iw_nll: importance-weighted NLL with K = iw_samples (Burda et al. 2016); `iw_nll` has the details.
    melbo: the MELBO upper bound on NLL (Livne et al. 2020, Eq. 16) = rec + log N, N = sentences in the
        split; melbo_ppl = exp(N melbo / words), EOS excluded as in that paper.
    bleu1: corpus BLEU-1 of greedy reconstructions from the posterior means (`reconstruction_bleu1`).
    active_units (Burda et al. 2016), mutual_info (He et al. 2019) over the split.
    *_refined: the same after secondary optimisation of each posterior (Krishnan et al. 2018;
        `refine_steps` Adam steps at `refine_lr`; 0 = skip).
    Units: nats per sentence (means over sentences). ppl and iw_ppl count one `<eos>` per sentence, except
    for the bag-of-words model whose bag holds words only (all its perplexities are per word).
    """
    model.eval()
    torch.manual_seed(seed)
    latent = model.has_latent
    sequence = model.cfg.is_sequence
    avg = model.cfg.model == "vae-avg"
    keys = ("rec", "kl", "iw_nll", "rec_refined", "kl_refined", "iw_nll_refined")
    sums = dict.fromkeys(keys, 0.0)
    N, n_lat = len(corpus), model.latent_dim
    mus, logvars, mus_refined = torch.empty((N, n_lat)), torch.empty((N, n_lat)), torch.empty((N, n_lat))
    for idx in progress(corpus.batches(batch_size)):
        x, lengths = corpus.collate(idx)
        x, lengths = x.to(device), lengths.to(device)
        if latent:
            mu, logvar = model.encode(x, lengths)
            mus[idx], logvars[idx] = mu.float().cpu(), logvar.float().cpu()       # corpus order, for AU and MI
            t = elbo_at(model, x, lengths, mu, logvar, n_samples=elbo_samples)
        else:
            t = elbo(model, x, lengths)
        sums["rec"] += float(t.rec.sum())
        sums["kl"] += float(t.kl.sum())
        if iw_samples > 0:
            sums["iw_nll"] += float(iw_nll(model, x, lengths, iw_samples).sum())
        if latent and refine_steps > 0:
            mu_r, logvar_r = refine_posterior(model, x, lengths, mu, logvar, refine_steps, refine_lr)
            tr = elbo_at(model, x, lengths, mu_r, logvar_r, n_samples=elbo_samples)
            sums["rec_refined"] += float(tr.rec.sum())
            sums["kl_refined"] += float(tr.kl.sum())
            mus_refined[idx] = mu_r.float().cpu()
            if iw_samples > 0:
                sums["iw_nll_refined"] += float(iw_nll(model, x, lengths, iw_samples, mu=mu_r, logvar=logvar_r).sum())
    n, n_tok = len(corpus), corpus.n_tokens
    n_words = n_tok - n
    denom = n_tok if sequence else n_words            # the bag-of-words likelihood has no <eos>
    out: dict = dict.fromkeys(EVAL_KEYS)
    out["rec"], out["kl"] = sums["rec"] / n, sums["kl"] / n
    nll_sum = sums["rec"] + sums["kl"]
    out["nll"] = nll_sum / n
    out["ppl"] = math.exp(nll_sum / denom)
    out["ppl_excl_eos"] = math.exp(nll_sum / n_words)
    if iw_samples > 0:
        out["iw_nll"] = sums["iw_nll"] / n
        out["iw_ppl"] = math.exp(sums["iw_nll"] / denom)
    if latent:
        out["melbo"] = sums["rec"] / n + math.log(n)
        out["melbo_ppl"] = math.exp(n * out["melbo"] / n_words)
        out["active_units"], _ = active_units(mus)
        out["mutual_info"] = mutual_info(mus, logvars, torch.Generator().manual_seed(seed))
        if sequence and bleu:
            out["bleu1"] = reconstruction_bleu1(model, corpus, device=device)
        if avg:
            out["nll_avg_tuple"] = (sums["rec"] + model.cfg.avg_samples * sums["kl"]) / n
        if refine_steps > 0:
            out["rec_refined"], out["kl_refined"] = sums["rec_refined"] / n, sums["kl_refined"] / n
            out["nll_refined"] = out["rec_refined"] + out["kl_refined"]
            out["ppl_refined"] = math.exp(n * out["nll_refined"] / denom)
            if iw_samples > 0:
                out["iw_nll_refined"] = sums["iw_nll_refined"] / n
            out["active_units_refined"], _ = active_units(mus_refined)
    else:
        out["active_units"], out["mutual_info"] = 0, 0.0
    out["ppl_convention"] = ("ppl and iw_ppl count one <eos> per sentence; ppl_excl_eos and melbo_ppl count words only"
                             if sequence else "bag-of-words model: every perplexity is per word (no <eos>)")
    out.update(n_sentences=n, n_tokens=n_tok, n_words=n_words, iw_samples=iw_samples, elbo_samples=elbo_samples,
               refine_steps=refine_steps, refine_lr=refine_lr if refine_steps else None)
    return out
