"""Diagnostics users of text-VAE code ask for when their samples all look alike: posterior collapse (does the
decoder use z?) and the quality of prior samples. Pure functions, batched, no UI.

    decoder_uses_z    reconstruction NLL with z from the sentence's own posterior, from another sentence's,
                      and from the prior (a decoder that ignores z scores them alike)
    collapse_verdict  one line from that test, the KL and the active units
    sample_quality    Self-BLEU, distinct-1/2 and the share of samples that copy a training sentence
"""
from __future__ import annotations

from typing import Iterable, Sequence

import torch

from .bleu import self_bleu
from .data import Corpus
from .model import SentenceVAE


@torch.no_grad()
def decoder_uses_z(model: SentenceVAE, corpus: Corpus, n: int = 200, seed: int = 0,
                   device: torch.device | str = "cpu") -> dict:
    """Does the decoder use z? -log p(x_i | z) for the first `n` sentences of `corpus` with z drawn from

        own:   q(z | x_i), the sentence's own posterior
        other: q(z | x_j), another sentence's posterior (a derangement of the same draws)
        prior: p(z) = N(0, I)

    (for LSTM-VAE-AVG, L-tuples of independent draws from each, as its decoder reads them, Kruengkrai
    2019, Eq. 7-8)

    each a mean in nats per sentence (and per token, `<eos>` counted), plus gap_other = other - own and
    gap_prior = prior - own. A decoder that ignores z (posterior collapse) gives gaps near 0; one that
    reads its sentence from z gives large ones. Raises ValueError for fewer than 2 sentences or a model
    without a sentence decoder.
    """
    if not (model.has_latent and model.cfg.is_sequence):
        raise ValueError("the test needs a latent variable and a sentence decoder")
    n = min(n, len(corpus))
    if n < 2:
        raise ValueError("the test needs at least 2 sentences")
    model.eval()
    g = torch.Generator().manual_seed(seed)
    x, lengths = corpus.collate(range(n))
    x, lengths = x.to(device), lengths.to(device)
    mu, logvar = model.encode(x, lengths)
    # (L, n, d) codes: L = 1 but for LSTM-VAE-AVG, whose decoder reads an L-tuple (vae_core.decoding)
    shape = (model.codes_per_sentence, *mu.shape)
    z_own = model.posterior.sample(mu, logvar, model.codes_per_sentence, generator=g)
    perm = torch.randperm(n, generator=g)
    other = torch.empty_like(perm)
    other[perm] = perm.roll(1)                   # every sentence gets some other sentence's code
    z_prior = model.posterior.sample_prior(shape, generator=g).to(mu)
    tokens = float(lengths.sum())
    out = {"n": n}
    for name, z in (("own", z_own), ("other", z_own[:, other.to(z_own.device)]), ("prior", z_prior)):
        nll = -model.reconstruction_avg(x, lengths, z)              # with L = 1, `reconstruction`
        out[name] = float(nll.mean())
        out[f"{name}_per_token"] = float(nll.sum()) / tokens
    out["gap_other"], out["gap_prior"] = out["other"] - out["own"], out["prior"] - out["own"]
    return out


def collapse_verdict(uses: dict, kl: float, active_units: int, latent_dim: int) -> tuple[str, str]:
    """(level, one-line verdict) from `decoder_uses_z`, the mean KL (nats per sentence) and the active
    units. level is "collapsed" (another sentence's code costs under 1 nat), "partial" (under 5 nats, or
    at most a quarter of the dimensions active) or "uses z". The thresholds are ours, chosen so that the
    verdict reads the same as the numbers beside it. The words say what was measured: "posterior collapse"
    (q(z|x) = p(z)) only when the KL is also under 0.5 nats a sentence; a decoder that ignores a posterior
    that does carry information is called that."""
    gap = uses["gap_other"]
    facts = (f"another sentence's code costs {gap:.2f} nats per sentence, the prior {uses['gap_prior']:.2f}; "
             f"KL {kl:.2f} nats; {active_units} of {latent_dim} dimensions active")
    if gap < 1.0:
        if kl < 0.5:
            return "collapsed", f"Posterior collapse: q(z|x) is close to the prior and the decoder barely uses z ({facts})."
        return "collapsed", f"The decoder ignores z, though the posterior carries {kl:.1f} nats ({facts})."
    if gap < 5.0 or active_units <= latent_dim // 4:
        return "partial", f"Partial collapse: the decoder uses z a little ({facts})."
    return "uses z", f"The decoder uses z ({facts})."


def distinct_n(samples: Sequence[str], n: int) -> float:
    """Distinct-n (Li et al. 2016, Sec. 4.3: "the number of distinct unigrams and bigrams divided by total
    number of generated words"): distinct n-grams over all the samples divided by their total number of
    tokens (whitespace tokens), 0-1; 0 when there is no token."""
    grams, words = set(), 0
    for s in samples:
        toks = s.split()
        words += len(toks)
        grams.update(tuple(toks[i:i + n]) for i in range(len(toks) - n + 1))
    return len(grams) / words if words else 0.0


def sample_quality(samples: Sequence[str], train: Iterable[str] | None = None) -> dict:
    """Quality of a set of generated sentences (token strings as the model writes them):
    {"n", "self_bleu" and "self_bleu_3" (Zhu et al. 2018's Self-BLEU at n = 4 and 3, Texygen's definition,
    `vae_core.bleu.self_bleu`, 0-100), "distinct_1", "distinct_2" (0-1, per generated token), "copied"
    (share of samples identical to a sentence of `train`, the corpus the model was trained on; None
    without it), "unique" (share of distinct samples)}. Self-BLEU grows with n: compare at equal n."""
    out = {"n": len(samples), "self_bleu": 100 * self_bleu(samples, 4), "self_bleu_3": 100 * self_bleu(samples, 3),
           "distinct_1": distinct_n(samples, 1), "distinct_2": distinct_n(samples, 2),
           "unique": len(set(samples)) / len(samples) if samples else 0.0, "copied": None}
    if train is not None:
        seen = {" ".join(t.split()) for t in train}
        out["copied"] = sum(" ".join(s.split()) in seen for s in samples) / len(samples) if samples else 0.0
    return out
