"""Analyses of a trained model's latent space: reconstruction tables, k-sigma perturbation, prior samples,
and the cross log-likelihood matrices behind the overlap histograms. Pure functions, batched, no UI.

Sentences are decoded greedily unless a `strategy` says otherwise; BLEU is sacrebleu's sentence BLEU
(0-100) of a decode against the input as the model sees it (unknown words as `<unk>`).
"""
from __future__ import annotations

import math
from typing import Callable, Iterable, Sequence

import torch
from sacrebleu.metrics import BLEU

from .data import Vocab, pad_batch
from .decoding import decode
from .estimators import TOKEN_BUDGET, sentence_bleu1
from .latent import encode_sentences, ids_to_text
from .model import SentenceVAE
from .posterior import posterior_family

# tokenize="none": the sentences are already PTB tokens; sacrebleu's default 13a tokenizer would split
# `<unk>` and `a.m.` into several tokens and inflate the scores.
_BLEU = BLEU(effective_order=True, tokenize="none")


def bleu(hypothesis: str, reference: str) -> float:
    """Sentence BLEU-4 (sacrebleu, effective order, whitespace tokens) of one decode against one reference, 0-100."""
    return float(_BLEU.sentence_score(hypothesis, [reference]).score)


bleu1 = sentence_bleu1        # BLEU-1, 0-1, Livne et al. 2020's reconstruction score (vae_core.estimators)


@torch.no_grad()
def reconstruction_rows(model: SentenceVAE, vocab: Vocab, text: str, n_samples: int = 3, k: float = 10.0,
                        seed: int = 0, strategy: str = "greedy") -> list[dict]:
    """The reconstruction table of Livne et al. 2020 (Tables 11-12) for one sentence.

    Rows (dicts with kind, label, sentence, bleu): D the data; M decoded from the posterior mean;
    R decoded from z ~ q(z|x) (n_samples rows; the same samples as `latent.reconstruct` with this seed);
    P decoded from z ~ N(mu, (k sigma)^2) (n_samples rows; for a vMF posterior from vMF(mu, kappa / k^2),
    its k-sigma perturbation, `vae_core.posterior`). Raises TextError for empty text.
    """
    post = encode_sentences(model, vocab, [text])
    ref = " ".join(post.inputs[0].tokens)
    g = torch.Generator().manual_seed(seed)
    # R's noise is drawn first and alone, so the R rows are `latent.reconstruct`'s samples for the same seed
    # (torch fills a tensor's normals in blocks of 16: one (2n, d) draw would not start with the (n, d) one)
    L = model.codes_per_sentence                  # an AVG model's sample is an L-tuple (vae_core.decoding)
    mu, logvar = post.mu.expand(n_samples, -1), post.logvar.expand(n_samples, -1)
    z_r = post.family.sample(mu, logvar, L, g)                                          # (L, n_samples, n)
    z_p = post.family.sample(mu, logvar, L, g, scale=k)
    z = torch.cat([post.mu.expand(L, 1, -1), z_r, z_p], 1)
    out = ids_to_text(vocab, decode(model, z, strategy))
    labels = ["M"] + [f"R{i + 1}" for i in range(n_samples)] + [f"P{i + 1}" for i in range(n_samples)]
    rows = [{"kind": "D", "label": "D", "sentence": ref, "bleu": 100.0}]
    rows += [{"kind": lab[0], "label": lab, "sentence": s, "bleu": bleu(s, ref)} for lab, s in zip(labels, out)]
    return rows


@torch.no_grad()
def perturb(model: SentenceVAE, vocab: Vocab, text: str, ks: Sequence[float] = (0, 1, 2, 5, 10, 20),
            n_samples: int = 8, seed: int = 0, strategy: str = "greedy") -> list[dict]:
    """Decode z ~ N(mu, (k sigma)^2) for each k: how far from x one must move before the decode changes.

    Livne et al. 2020 use k = 10 ("P" rows of Table 11). For a vMF posterior (Xu & Durrett 2018) z ~
    vMF(mu, kappa / k^2), whose spread orthogonal to mu is k times the posterior's (`vae_core.posterior`).
    All len(ks) * n_samples codes are decoded as one batch. Returns one dict per k: k, sentences
    (n_samples), n_distinct, bleu (mean BLEU to the input), exact (fraction identical to the input),
    kl_shift (mean log q(mu|x) - log q(z|x) per sample, nats: 0.5 ||z - mu||^2 / sigma^2 for the Gaussian,
    kappa (1 - mu^T z) for the vMF).
    """
    post = encode_sentences(model, vocab, [text])
    ref = " ".join(post.inputs[0].tokens)
    g = torch.Generator().manual_seed(seed)
    L = model.codes_per_sentence                  # an AVG model's sample is an L-tuple (vae_core.decoding)
    mu, logvar = post.mu.expand(n_samples, -1), post.logvar.expand(n_samples, -1)
    draws = [post.family.sample(mu, logvar, L, g, scale=float(k)) for k in ks]         # each (L, n_samples, n)
    shift = [float((post.family.log_density(post.mu, mu, logvar) - post.family.log_density(d, mu, logvar)).mean())
             for d in draws]
    z = torch.cat(draws, 1)
    sents = ids_to_text(vocab, decode(model, z, strategy))
    out = []
    for i, k in enumerate(ks):
        chunk = sents[i * n_samples:(i + 1) * n_samples]
        scores = [bleu(s, ref) for s in chunk]
        out.append({"k": float(k), "sentences": chunk, "n_distinct": len(set(chunk)),
                    "bleu": sum(scores) / len(scores), "exact": sum(s == ref for s in chunk) / len(chunk),
                    "kl_shift": shift[i]})
    return out


def stretch_matrix(n: int, factor: float = 4.0, generator: torch.Generator | None = None, c: float = 0.1) -> torch.Tensor:
    """The random volume-preserving map behind Bowman et al. 2016's lower-probability samples (Sec. 6.1,
    Table 6): it "stretches some eigenspaces by up to a factor of 4" (`factor`), an (n, n) symmetric matrix
    with determinant 1 and largest eigenvalue exactly `factor`.

    The paper draws a random matrix with elements from U(-c, c) (c = 0.1) and says no more; that matrix gives
    the eigenspaces here: those of I + (A + A^T) / 2. Its eigenvalues are then set so the map does what the
    paper says: their logarithms, centred (determinant 1) and scaled so the largest is log(factor). (I + A
    itself, scaled to determinant 1, stretched by at most 1.26 at z = 13.) `factor` = 1 is the identity.
    Raises ValueError for n < 2 (one dimension cannot be stretched and keep its volume) or factor < 1."""
    if factor < 1:
        raise ValueError(f"the stretch factor must be at least 1, got {factor}")
    if factor == 1:
        return torch.eye(n)
    if n < 2:
        raise ValueError("stretching while preserving volume needs at least 2 latent dimensions")
    a = (torch.rand((n, n), generator=generator, dtype=torch.float64) * 2 - 1) * c
    eigvals, vectors = torch.linalg.eigh(torch.eye(n, dtype=torch.float64) + (a + a.T) / 2)
    logs = torch.log(eigvals.clamp_min(1e-12))
    logs = logs - logs.mean()
    logs = logs * (math.log(factor) / logs.max())
    return (vectors @ torch.diag(torch.exp(logs)) @ vectors.T).float()


@torch.no_grad()
def aggregate_posterior_samples(model: SentenceVAE, vocab: Vocab, mu, logvar, n: int = 10,
                                strategy: str = "greedy", temperature: float = 1.0, seed: int = 0) -> list[dict]:
    """Decode z ~ q(z) = (1/N) sum_j q(z | x_j), the aggregate posterior of a corpus whose posteriors are mu,
    logvar (N, n) (tensors or arrays, e.g. from `vae_core.latent.posterior_of_corpus`): a sentence j drawn uniformly, then z ~ q(z | x_j)
    from the model's posterior family (for LSTM-VAE-AVG an L-tuple of draws from it). For models whose
    posteriors lie off the prior (sentenceMIM has no KL term in its loss), these are the codes its decoder
    was trained on. Returns dicts with sentence, log_prior (log p(z), nats) and source (j)."""
    mu, logvar = torch.as_tensor(mu), torch.as_tensor(logvar)
    g = torch.Generator().manual_seed(seed)
    j = torch.randint(0, len(mu), (n,), generator=g)
    fam = posterior_family(model)
    z = fam.sample(mu[j].float(), logvar[j].float(), model.codes_per_sentence, g)                # (L, n, d)
    sents = ids_to_text(vocab, decode(model, z, strategy, temperature=temperature, generator=g))
    logp = fam.log_prior(z).sum(0).tolist()
    return [{"sentence": s, "log_prior": lp, "source": int(i)} for s, lp, i in zip(sents, logp, j.tolist())]


@torch.no_grad()
def prior_samples(model: SentenceVAE, vocab: Vocab, n: int = 10, strategy: str = "greedy",
                  temperature: float = 1.0, stretch: float = 1.0, seed: int = 0) -> list[dict]:
    """Decode z ~ p(z) = N(0, I) (Bowman et al. 2016, Table 5); with `stretch` > 1, z is first mapped by
    `stretch_matrix(latent_dim, stretch)`, which stretches some eigenspaces by up to that factor (Table 6's
    lower-probability samples; the paper's factor is 4). For the LM baseline, plain samples.

    Returns dicts with sentence and log_prior (log p(z), nats; None for the LM). A vMF model (Xu & Durrett
    2018) draws from its uniform prior on the sphere and cannot be stretched (ValueError).
    LSTM-VAE-AVG decodes an L-tuple of independent draws (`vae_core.decoding`): its generative model is
    p(z^(1..L)) = prod_l N(z^(l); 0, I), the "tuple" model whose bound `estimators` reports as
    nll_avg_tuple (Kruengkrai 2019 count the KL once in training); log_prior is then the tuple's, summed
    over the L draws.
    """
    g = torch.Generator().manual_seed(seed)
    if not model.has_latent:
        ids = decode(model, None, "sample" if strategy == "greedy" else strategy, temperature=temperature,
                     batch_size=n, generator=g)
        return [{"sentence": s, "log_prior": None} for s in ids_to_text(vocab, ids)]
    family = posterior_family(model)
    if stretch > 1 and family.name != "gaussian":
        raise ValueError("stretching the prior (Bowman et al. 2016, Table 6) needs a Gaussian prior; a vMF "
                         "model's uniform prior on the sphere gives every direction the same density")
    z = family.sample_prior((model.codes_per_sentence, n, model.latent_dim), g)       # (L, n, d)
    if stretch > 1:
        z = z @ stretch_matrix(model.latent_dim, stretch, g).T
    sents = ids_to_text(vocab, decode(model, z, strategy, temperature=temperature, generator=g))
    logp = family.log_prior(z).sum(0).tolist()
    return [{"sentence": s, "log_prior": lp} for s, lp in zip(sents, logp)]


# --------------------------------------------------------------------------------------------- overlap
@torch.no_grad()
def loglik_matrix(model: SentenceVAE, x: torch.Tensor, lengths: torch.Tensor, z: torch.Tensor,
                  token_budget: int = TOKEN_BUDGET,
                  progress: Callable[[Iterable], Iterable] = lambda it: it) -> torch.Tensor:
    """L[i, j] = log p(x_i | z_j), (N, M) nats per sentence; x: (N, T), lengths: (N,), z: (M, n), or
    (L, M, n) for LSTM-VAE-AVG, whose code z_j is an L-tuple scored by `SentenceVAE.reconstruction_avg`.

    Block-wise: the sentences are sorted by length and cut into groups, each padded only to its own
    longest sentence (so the decoder does not run over padding of the longest sentence of all N); each
    group is scored against blocks of codes sized so that a block holds about `token_budget` padded
    tokens. Memory is bounded by the budget plus the (N, M) result, whatever N and M are.
    """
    z = z if z.dim() == 3 else z[None]                                  # (L, M, n); L = 1 but for AVG
    L, (N, M) = z.size(0), (x.size(0), z.size(1))
    dev = next(model.parameters()).device
    order = torch.argsort(lengths, stable=True)
    # groups of sentences of similar length, about token_budget / 8 padded tokens each
    groups, start = [], 0
    while start < N:
        end = start + 1
        while end < N and (end + 1 - start) * int(lengths[order[end]]) <= max(token_budget // 8, 1):
            end += 1
        groups.append(order[start:end])
        start = end
    blocks = []
    for rows in groups:
        t = int(lengths[rows].max())
        bz = max(1, token_budget // (len(rows) * t * L))
        blocks += [(rows, t, s, bz) for s in range(0, M, bz)]
    out = torch.empty((N, M))
    z = z.to(dev)
    for rows, t, s, bz in progress(blocks):
        xg, lg = x[rows, :t].to(dev), lengths[rows].to(dev)
        zb = z[:, s:s + bz]                                             # (L, b, n), b <= bz codes
        b, G = zb.size(1), len(rows)
        zz = zb[:, :, None, :].expand(-1, -1, G, -1).reshape(L, b * G, -1)   # z_j for every x_i, j-major
        ll = model.reconstruction_avg(xg.repeat(b, 1), lg.repeat(b), zz)      # (b * G,); L = 1: reconstruction
        out[rows, s:s + bz] = ll.view(b, G).T.float().cpu()
    return out


def auroc_diagonal(matrix: torch.Tensor) -> float:
    """AUROC of separating diagonal (i = j) from off-diagonal (i != j) entries by their value: 1 = every
    matched pair scores above every mismatched one (no overlap), 0.5 = indistinguishable."""
    from sklearn.metrics import roc_auc_score
    N = matrix.size(0)
    labels = torch.eye(N, dtype=torch.bool).reshape(-1).numpy()
    return float(roc_auc_score(labels, matrix.reshape(-1).double().numpy()))


@torch.no_grad()
def overlap(model: SentenceVAE, vocab: Vocab, sentences: Sequence[str], seed: int = 0,
            progress: Callable[[Iterable], Iterable] = lambda it: it) -> dict:
    """The matrices behind Livne et al. 2020, Fig. 3, for N sentences x_1..x_N, with z_j ~ q(z|x_j):

        loglik[i, j] = log p(x_i | z_j)      (N, N) nats per sentence
        logq[i, j]   = log q(z_i | x_j)      (N, N) nats, z_i the sample drawn from x_i's own posterior

    (for LSTM-VAE-AVG z_j is an L-tuple of draws from q(z | x_j), its log q the sum over the L draws)

    and their AUROCs (`auroc_diagonal`). Overlapping histograms (AUROC near 0.5) mean sentences share
    latent regions; separated ones (near 1) mean each code belongs to its sentence.
    """
    post = encode_sentences(model, vocab, list(sentences))
    x, lengths = pad_batch([torch.tensor(e.ids + [vocab.eos_id]) for e in post.inputs])
    g = torch.Generator().manual_seed(seed)
    L = model.codes_per_sentence                  # an AVG model's sample is an L-tuple (vae_core.decoding)
    z = post.sample(L, g)                                                           # (L, N, n)
    ll = loglik_matrix(model, x, lengths, z, progress=progress)
    # (N, N): [i, j] = log q(z_i | x_j), summed over a tuple's L independent draws
    logq = post.family.log_density(z[:, :, None, :], post.mu[None, None], post.logvar[None, None]).sum(0)
    return {"loglik": ll, "logq": logq, "auroc_loglik": auroc_diagonal(ll), "auroc_logq": auroc_diagonal(logq),
            "n": len(sentences)}
