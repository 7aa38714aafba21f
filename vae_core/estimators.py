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

from .bleu import livne_bleu1, sentence_bleu as bleu_score
from .data import Corpus
from .decoding import decode
from .model import SentenceVAE
from .objectives import elbo, elbo_at
from .posterior import GaussianPosterior, log_normal, log_standard_normal
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
    likelihood, whose ELBO counts the KL L times (`nll_avg_tuple` in `evaluate_corpus`). The paper's own
    convention, with the KL counted once, is `iw_nll_avg`.
    """
    if not model.has_latent:
        return -model.reconstruction(x, lengths, None)
    if mu is None:
        mu, logvar = model.encode(x, lengths)
    if model.cfg.model == "vae-avg":
        return iw_nll_avg(model, x, lengths, n_samples, mu, logvar)[0]
    per_chunk = max(1, token_budget // max(1, x.numel()))
    fam = model.posterior                       # Gaussian, or vMF with its uniform prior on the sphere
    log_w = []
    done = 0
    while done < n_samples:
        s = min(per_chunk, n_samples - done)
        z = model.reparameterize(mu, logvar, s)                            # (s, B, n)
        log_w.append(model.reconstruction(x, lengths, z) + fam.log_prior(z) - fam.log_density(z, mu, logvar))
        done += s
    log_w = torch.cat(log_w, 0)                                            # (K, B)
    return -(torch.logsumexp(log_w, 0) - math.log(n_samples))


@torch.no_grad()
def iw_nll_avg(model: SentenceVAE, x: torch.Tensor, lengths: torch.Tensor, n_samples: int,
               mu: torch.Tensor, logvar: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Importance sampling for LSTM-VAE-AVG (Kruengkrai 2019, Eq. 7-8 and Table 3), two weightings of the
    same K tuples Z_k = (z_k^1..z_k^L), z_k^l ~ q(z|x) (mu, logvar: (B, n)). Returns (tuple, paper), each
    (B,) nats per sentence:

        tuple: -log (1/K) sum_k p(x|Z_k) prod_l p(z_k^l) / q(z_k^l|x)
        paper: -log (1/K) sum_k p(x|Z_k) [prod_l p(z_k^l) / q(z_k^l|x)]^(1/L)

    "tuple" bounds -log p(x) of the L-tuple latent model the AVG decoder defines (Burda et al. 2016); with
    K = 1 its expectation is that model's ELBO, rec + L KL (`nll_avg_tuple`). "paper" is the estimator whose
    K = 1 expectation is the paper's Table 2 NLL, rec + KL (the KL counted once, as in its training
    objective); by Jensen it lies below that NLL and tightens with K, as Table 3's NLL_IW does (95.1 < 97.3
    for L = 5). The paper says only "importance sampling with 500 samples" and its code is not public, so
    this is our reading: the one importance-sampled counterpart of the Table 2 number. It bounds the
    likelihood of no generative model (nor does the Table 2 NLL of an AVG model). Costs K x L decoder passes.
    """
    L = model.cfg.avg_samples
    log_px, log_ratio = [], []
    for _ in range(n_samples):
        z = model.reparameterize(mu, logvar, L)                           # (L, B, n): one tuple
        log_px.append(model.reconstruction_avg(x, lengths, z))
        log_ratio.append((log_standard_normal(z) - log_normal(z, mu, logvar)).sum(0))
    log_px, log_ratio = torch.stack(log_px), torch.stack(log_ratio)       # (K, B)
    norm = math.log(n_samples)
    return (-(torch.logsumexp(log_px + log_ratio, 0) - norm),
            -(torch.logsumexp(log_px + log_ratio / L, 0) - norm))


@torch.no_grad()
def encode_corpus(model: SentenceVAE, corpus: Corpus, batch_size: int = 256, device: torch.device | str = "cpu",
                  progress: Callable[[Iterable], Iterable] = lambda it: it) -> tuple[torch.Tensor, torch.Tensor]:
    """Posterior parameters of every sentence, in corpus order: mu, logvar, each (N, n), on the CPU.
    `progress` wraps the batches (e.g. tqdm)."""
    mus = torch.empty((len(corpus), model.latent_dim))
    logvars = torch.empty_like(mus)
    for idx in progress(corpus.batches(batch_size)):
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
                block: int = 4096, family=None) -> float:
    """I_q(x; z) under the aggregate posterior of the whole split (He et al. 2019's estimator, Sec. 4.2).

        I = E_x E_{q(z|x)}[log q(z|x)] - E_{q(z)}[log q(z)],   q(z) ~= (1/N) sum_j q(z|x_j)

    `family` is the model's posterior (`vae_core.posterior`; None = Gaussian); for a vMF both terms use its
    density (Xu & Durrett 2018). The first term is the negative posterior entropy in closed form; the second uses one z_i ~ q(z|x_i)
    per sentence scored against all N posteriors (block-wise). q(z) here is the whole split's aggregate
    posterior, so the estimate is near log N when the posteriors do not overlap. It can exceed log N: the
    analytic entropy term and the one-sample term do not cancel exactly (the true I_q(x; z) <= H(x) = log N).
    He et al.'s released code averages per-batch estimates instead; that number is `mutual_info_batch`,
    which is what published MI figures use. mu, logvar: (N, n). Returns nats.

    The (N, N) matrix log q(z_i|x_j) is formed by expanding the square, -0.5 sum_d (z_id - mu_jd)^2 / s_jd^2
    = -0.5 z^2 @ (1/s^2)^T + z @ (mu/s^2)^T - 0.5 sum_d mu_jd^2 / s_jd^2, so it costs two matrix products
    (float64) instead of an (N, N, n) tensor, with the same value to 1e-13: 1.0 s instead of 31 s for N = 3370
    (the PTB validation split) at n = 100 on one thread, measured beside two training runs. Memory is
    O(block x N), block rows at a time (at most 256 MB).
    """
    mu, logvar = mu.double(), logvar.double()
    N, n = mu.shape
    block = max(1, min(block, 2 ** 25 // max(1, N)))        # the (block, N) float64 matrix stays <= 256 MB
    if family is not None and family.name == "vmf":
        return _mutual_info_vmf(mu, family, generator, block)
    neg_entropy = GaussianPosterior().neg_entropy(mu, logvar).mean()
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype)
    z = mu + torch.exp(0.5 * logvar) * eps
    prec = torch.exp(-logvar)                                                   # (N, n) 1 / sigma^2
    const = -0.5 * (n * math.log(2 * math.pi) + logvar.sum(-1) + (mu * mu * prec).sum(-1))     # (N,)
    prec_t, mu_prec_t = prec.T.contiguous(), (mu * prec).T.contiguous()
    log_qz = []
    for s in range(0, N, block):
        zb = z[s: s + block]
        lq = const[None] - 0.5 * (zb * zb) @ prec_t + zb @ mu_prec_t           # (b, N): log q(z_i | x_j)
        log_qz.append(torch.logsumexp(lq, dim=1) - math.log(N))
    return float(neg_entropy - torch.cat(log_qz).mean())


def _mutual_info_vmf(mu: torch.Tensor, family, generator, block: int) -> float:
    """`mutual_info` for a vMF posterior (Xu & Durrett 2018): log q(z_i|x_j) = log C + kappa mu_j^T z_i, one
    matrix product; E_q[log q(z|x)] is the constant `neg_entropy`. mu: (N, n) float64 unit directions."""
    N = mu.size(0)
    z = family.sample(mu, None, 1, generator)[0]
    log_qz = [torch.logsumexp(family.log_c + family.kappa * (z[s: s + block] @ mu.T), 1) - math.log(N)
              for s in range(0, N, block)]
    return float(family.neg_entropy(mu[:1])[0] - torch.cat(log_qz).mean())


def mutual_info_batch(mu: torch.Tensor, logvar: torch.Tensor, lengths: torch.Tensor, batch_size: int = 32,
                      generator: torch.Generator | None = None, family=None) -> float:
    """I_q(x; z) as He et al. 2019's released code reports it (jxhe/vae-lagging-encoder, text.py `calc_mi`
    and modules/encoders/encoder.py `calc_mi`): the `mutual_info` estimator applied to each evaluation batch
    with that batch's aggregate posterior, averaged over batches weighted by their size.

    Their batches (data/text_data.py `create_data_batch`) hold at most `batch_size` sentences of one length,
    in order of length, so each batch's estimate is at most about log(batch size) (log 32 = 3.47 nats); the
    figure is far below the whole-split `mutual_info`. mu, logvar: (N, n); lengths: (N,); family as in
    `mutual_info`. Returns nats.
    """
    order = torch.argsort(lengths, stable=True)
    total, start = 0.0, 0
    N = len(order)
    while start < N:
        same = int((lengths[order[start:]] == lengths[order[start]]).sum())      # sorted: a run of equal lengths
        for s in range(start, start + same, batch_size):
            idx = order[s: min(s + batch_size, start + same)]
            total += len(idx) * mutual_info(mu[idx], logvar[idx], generator, family=family)
        start += same
    return total / N


def sentence_bleu1(hypothesis: str, reference: str) -> float:
    """BLEU-1 of one hypothesis against one reference, 0-1: clipped unigram precision times the brevity
    penalty exp(1 - r / c) when c < r (Papineni et al. 2002), on whitespace tokens as they are (no
    re-tokenisation, so `<unk>` and `a.m.` stay one token). NLTK's `sentence_bleu(..., weights=(1.0,))`, which
    Livne et al. 2020 use (SentenceMIM-demo, test.py); `vae_core.bleu.sentence_bleu` computes it. 0 for an
    empty hypothesis or no match."""
    return bleu_score([reference.split()], hypothesis.split(), max_n=1, smooth=False)


BLEU1_MODES = ("posterior_sample", "mean_greedy")


@torch.no_grad()
def reconstruction_bleu1(model: SentenceVAE, corpus: Corpus, mode: str = "posterior_sample", batch_size: int = 256,
                         device: torch.device | str = "cpu", seed: int = 0, max_len: int = 100,
                         progress: Callable[[Iterable], Iterable] = lambda it: it) -> dict[str, float]:
    """Mean over sentences of BLEU-1 between each sentence and its reconstruction, 0-1, in two conventions
    from the same decodes: {"livne": ..., "clean": ...}.

    "livne": Livne et al. 2020's BLEU-1 as their released code computes it (SentenceMIM-demo, test.py with
        train.py's defaults), the figure to compare with their Table 2: the target row, whose `<eos>` their
        loss function overwrites with `<pad>` in place, against the decoded row, which keeps its `<eos>`
        (`vae_core.bleu.livne_bleu1`), so a perfect n-word reconstruction scores n / (n + 1).
    "clean": `sentence_bleu1` of the words alone (the reference's words as the model sees them,
        out-of-vocabulary words as `<unk>`; the decode cut at `<eos>`): a perfect reconstruction scores 1.

    mode "posterior_sample" is the decoding of their BLEU-1: z ~ q(z|x), one sample (for LSTM-VAE-AVG one
    L-tuple of samples, which its decoder averages, `vae_core.decoding`), and the words sampled ancestrally
    from p(x|z) (`sample_mode="sample"`), up to `max_len` tokens (their max_sequence_length 100).
    mode "mean_greedy": greedy decoding from the posterior mean, deterministic (the "M" rows of their
    Tables 11-12). `seed` fixes the noise of the first mode. `progress` wraps the batches (e.g. tqdm).
    Raises ValueError for an unknown mode.
    """
    if mode not in BLEU1_MODES:
        raise ValueError(f"unknown BLEU-1 mode {mode!r}; expected one of {BLEU1_MODES}")
    g = torch.Generator().manual_seed(seed)
    itos = corpus.vocab.itos
    clean, livne = [], []
    for idx in progress(corpus.batches(batch_size)):
        x, lengths = corpus.collate(idx)
        mu, logvar = model.encode(x.to(device), lengths.to(device))
        if mode == "mean_greedy":
            out = decode(model, mu, "greedy", max_len=max_len)
        else:
            # an L-tuple of draws for LSTM-VAE-AVG, whose decoder averages L decoders (vae_core.decoding)
            z = model.posterior.sample(mu, logvar, model.codes_per_sentence, generator=g)
            out = decode(model, z, "sample", max_len=max_len, generator=g)
        for j, ids in zip(idx, out):
            ref = [itos[i] for i in corpus.ids[j][:-1].tolist()]
            hyp = [itos[i] for i in ids]
            clean.append(bleu_score([ref], hyp, max_n=1, smooth=False))
            livne.append(livne_bleu1(hyp, ref, ended=len(ids) < max_len))
    n = max(len(clean), 1)
    return {"livne": sum(livne) / n, "clean": sum(clean) / n}


EVAL_KEYS = ("nll", "rec", "kl", "ppl", "ppl_excl_eos", "nll_excl_eos", "iw_nll", "iw_ppl", "melbo", "melbo_ppl",
             "bleu1", "bleu1_clean", "bleu1_mean_greedy", "active_units", "mutual_info", "mutual_info_batch", "nll_refined",
             "rec_refined", "kl_refined", "ppl_refined", "iw_nll_refined", "active_units_refined", "nll_avg_tuple",
             "iw_nll_avg")


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
        For "vae-avg" it is the tuple model's bound and iw_nll_avg the paper's convention (KL once, the
        counterpart of Kruengkrai's Table 3), both from the same samples; see `iw_nll_avg`.
    nll_excl_eos: the same bound with the `<eos>` term left out of rec, Livne et al. 2020's convention for
        their sVAE rows ("We remove the <EOS> token during evaluation", Sec. 4.3).
    melbo: the MELBO upper bound on NLL (Livne et al. 2020, Eq. 16) = rec + log N, N = sentences in the
        split, with rec over the words only (their test.py masks the `<eos>` target); melbo_ppl =
        exp(N melbo / (words + N)): the released code means to leave `<eos>` out of the count as well, but
        its loss_fn overwrites the `<eos>` targets with `<pad>` in place before the count subtracts them
        (SentenceMIM-demo, test.py: `target[eos_I] = pad_idx`, then `word_count -= (target == eos).sum()`,
        which is 0), so the published perplexities divide by words + one per sentence. Table 2's three sMIM
        rows all give melbo / log(ppl) = 22.70 tokens per PTB test sentence: their TweetTokenizer's 21.71
        tokens (it splits "'s" and "mr.") plus one. Our whitespace PTB tokens are 20.92 + 1 a sentence, so
        compare MELBO (nats per sentence), not its perplexity, with the paper.
    bleu1: Livne et al.'s BLEU-1 in their code's convention (`reconstruction_bleu1`, mode "posterior_sample",
        "livne"), the figure their Table 2 reports; bleu1_clean: the same decodes scored on their words alone;
        bleu1_mean_greedy: the clean score for greedy decodes from the posterior means.
    active_units (Burda et al. 2016); mutual_info over the whole split and mutual_info_batch as He et al.
        2019's code reports it (per batch of 32 equal-length sentences), see those functions.
    *_refined: the same after secondary optimisation of each posterior (Krishnan et al. 2018;
        `refine_steps` Adam steps at `refine_lr`; 0 = skip). The ELBO before and after uses common random
        numbers: batch b's noise is seeded with seed + b both times, so their difference is not sampling noise.
    Units: nats per sentence (means over sentences). ppl and iw_ppl count one `<eos>` per sentence, except
    for the bag-of-words model whose bag holds words only (all its perplexities are per word).
    """
    model.eval()
    latent = model.has_latent
    sequence = model.cfg.is_sequence
    avg = model.cfg.model == "vae-avg"
    keys = ("rec", "rec_eos", "kl", "iw_nll", "iw_nll_avg", "rec_refined", "kl_refined", "iw_nll_refined")
    sums = dict.fromkeys(keys, 0.0)
    N, n_lat = len(corpus), model.latent_dim
    mus, logvars, mus_refined = torch.empty((N, n_lat)), torch.empty((N, n_lat)), torch.empty((N, n_lat))
    for b, idx in enumerate(progress(corpus.batches(batch_size))):
        x, lengths = corpus.collate(idx)
        x, lengths = x.to(device), lengths.to(device)
        torch.manual_seed(seed + b)
        if latent:
            mu, logvar = model.encode(x, lengths)
            mus[idx], logvars[idx] = mu.float().cpu(), logvar.float().cpu()       # corpus order, for AU and MI
            t = elbo_at(model, x, lengths, mu, logvar, n_samples=elbo_samples)
        else:
            t = elbo(model, x, lengths)
        sums["rec"] += float(t.rec.sum())
        sums["rec_eos"] += float(t.rec_eos.sum())
        sums["kl"] += float(t.kl.sum())
        if iw_samples > 0 and avg:
            tup, paper = iw_nll_avg(model, x, lengths, iw_samples, mu, logvar)
            sums["iw_nll"] += float(tup.sum())
            sums["iw_nll_avg"] += float(paper.sum())
        elif iw_samples > 0:
            sums["iw_nll"] += float(iw_nll(model, x, lengths, iw_samples).sum())
        if latent and refine_steps > 0:
            mu_r, logvar_r = refine_posterior(model, x, lengths, mu, logvar, refine_steps, refine_lr)
            torch.manual_seed(seed + b)                   # common random numbers with the ELBO above
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
    out["nll_excl_eos"] = (nll_sum - sums["rec_eos"]) / n
    out["ppl"] = math.exp(nll_sum / denom)
    out["ppl_excl_eos"] = math.exp(nll_sum / n_words)
    if iw_samples > 0:
        out["iw_nll"] = sums["iw_nll"] / n
        out["iw_ppl"] = math.exp(sums["iw_nll"] / denom)
    if latent:
        out["melbo"] = (sums["rec"] - sums["rec_eos"]) / n + math.log(n)
        out["melbo_ppl"] = math.exp(n * out["melbo"] / denom)        # as the released code counts (above)
        fam = model.posterior
        out["active_units"], _ = active_units(fam.mean(mus, logvars))          # Cov_x(E_q[z]): A mu for a vMF
        out["mutual_info"] = mutual_info(mus, logvars, torch.Generator().manual_seed(seed), family=fam)
        out["mutual_info_batch"] = mutual_info_batch(mus, logvars, corpus.lengths, 32,
                                                     torch.Generator().manual_seed(seed), family=fam)
        if sequence and bleu:
            sampled = reconstruction_bleu1(model, corpus, "posterior_sample", device=device, seed=seed,
                                           progress=progress)
            out["bleu1"], out["bleu1_clean"] = sampled["livne"], sampled["clean"]
            out["bleu1_mean_greedy"] = reconstruction_bleu1(model, corpus, "mean_greedy", device=device,
                                                            progress=progress)["clean"]
        if avg:
            out["nll_avg_tuple"] = (sums["rec"] + model.cfg.avg_samples * sums["kl"]) / n
            if iw_samples > 0:
                out["iw_nll_avg"] = sums["iw_nll_avg"] / n
        if refine_steps > 0:
            out["rec_refined"], out["kl_refined"] = sums["rec_refined"] / n, sums["kl_refined"] / n
            out["nll_refined"] = out["rec_refined"] + out["kl_refined"]
            out["ppl_refined"] = math.exp(n * out["nll_refined"] / denom)
            if iw_samples > 0:
                out["iw_nll_refined"] = sums["iw_nll_refined"] / n
            out["active_units_refined"], _ = active_units(mus_refined)
    else:
        out["active_units"], out["mutual_info"], out["mutual_info_batch"] = 0, 0.0, 0.0
    out["ppl_convention"] = ("ppl and iw_ppl count one <eos> per sentence; ppl_excl_eos divides the same total by "
                             "words only; melbo and nll_excl_eos leave the <eos> term out, melbo_ppl divides melbo by "
                             "words + one per sentence (Livne et al.'s code)"
                             if sequence else "bag-of-words model: every perplexity is per word (no <eos>)")
    out["bleu_convention"] = ("bleu1: mean sentence BLEU-1, z ~ q(z|x) and sampled words, scored as Livne et al. "
                              "2020's test.py does (the reference's <eos> made <pad>, the decode's <eos> kept: their "
                              "Table 2's convention); bleu1_clean: the same decodes, words only; bleu1_mean_greedy: "
                              "words only, greedy decodes of the posterior mean")
    out.update(n_sentences=n, n_tokens=n_tok, n_words=n_words, iw_samples=iw_samples, elbo_samples=elbo_samples,
               refine_steps=refine_steps, refine_lr=refine_lr if refine_steps else None)
    return out
