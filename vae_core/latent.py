"""Latent-space operations on a loaded model: encode typed sentences, reconstruct, interpolate (homotopy).

These are the functions the app, notebooks and tests call; they take text, return plain Python/tensors,
and never touch a UI. The same operations from the shell (one JSON object on stdout):

    python -m vae_core.latent checkpoints/bowman-vae reconstruct "the market fell sharply" --samples 3
    python -m vae_core.latent checkpoints/bowman-vae homotopy "the market fell" "mr. smith resigned" --steps 7
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from typing import Callable, Iterable

import torch

from .data import EncodedText, Vocab, encode_text, pad_batch
from .decoding import decode
from .model import SentenceVAE
from .posterior import GaussianPosterior, posterior_family

INTERPOLATIONS = ("linear", "spherical")


@dataclass
class Posterior:
    """q(z|x) of B typed sentences: mu, logvar, each (B, n), the encoded inputs and the model's posterior
    family (`vae_core.posterior`; for a vMF mu is the mean direction and sigma its spread orthogonal to it)."""

    mu: torch.Tensor
    logvar: torch.Tensor
    inputs: list[EncodedText]
    family: object = field(default_factory=GaussianPosterior)

    @property
    def sigma(self) -> torch.Tensor:
        return torch.exp(0.5 * self.logvar)

    @property
    def kl_per_dim(self) -> torch.Tensor | None:
        """KL(q(z_d|x) || N(0, 1)) per dimension, (B, n) nats (Kingma & Welling 2014, App. B); None for a
        vMF posterior, whose KL does not split over dimensions."""
        return self.family.kl_per_dim(self.mu, self.logvar)

    @property
    def kl(self) -> torch.Tensor:
        """KL(q(z|x) || p(z)) per sentence, (B,) nats."""
        return self.family.kl(self.mu, self.logvar)

    def sample(self, n_samples: int, generator: torch.Generator | None = None, scale: float = 1.0) -> torch.Tensor:
        """(S, B, n) draws z ~ q(z|x) (`scale` k: the family's k-sigma perturbation, `vae_core.posterior`)."""
        return self.family.sample(self.mu, self.logvar, n_samples, generator, scale)

    def per_dimension(self, i: int = 0) -> dict[str, list]:
        """Sentence i's posterior as plain lists: dimension, mu, sigma, kl (nats; None entries for a vMF),
        each of length n."""
        n = self.mu.size(1)
        kl = self.kl_per_dim
        return {"dimension": list(range(n)), "mu": self.mu[i].tolist(), "sigma": self.sigma[i].tolist(),
                "kl": kl[i].tolist() if kl is not None else [None] * n}


def _device(model: SentenceVAE) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def encode_sentences(model: SentenceVAE, vocab: Vocab, texts: list[str], max_tokens: int = 100) -> Posterior:
    """Normalise and encode typed sentences (see `vae_core.data.encode_text`); `<eos>` is appended.

    Raises TextError for an empty sentence and RuntimeError for the "lm" model (it has no posterior).
    """
    if not model.has_latent:
        raise RuntimeError("the language-model baseline has no latent space to encode into")
    enc = [encode_text(t, vocab, max_tokens) for t in texts]
    x, lengths = pad_batch([torch.tensor(e.ids + [vocab.eos_id]) for e in enc])
    model.eval()
    dev = _device(model)
    mu, logvar = model.encode(x.to(dev), lengths.to(dev))
    return Posterior(mu.float().cpu(), logvar.float().cpu(), enc, posterior_family(model))


@torch.no_grad()
def posterior_of_corpus(model: SentenceVAE, vocab: Vocab, sentences: list[str], batch_size: int = 256,
                        max_tokens: int = 100, progress: Callable[[Iterable], Iterable] = lambda it: it,
                        cache_key: str | None = None) -> dict:
    """Encode many sentences in length-bucketed batches: {"mu", "logvar": (N, n) numpy float32, "kl": (N,)
    nats, "length": (N,) tokens}. Sentences that are empty after normalisation are encoded as `<unk>`.
    `progress` wraps the batches. With `cache_key` (which must name the checkpoint, the sentences and
    max_tokens) the result is read from, or written to, $VAE_CORE_CACHE/posteriors (`vae_core.diskcache`)."""
    import numpy as np
    from .data import corpus_from_text
    from .diskcache import cache_root, cached
    from .estimators import encode_corpus

    def compute():
        corpus = corpus_from_text(sentences, vocab, max_tokens)
        mu, logvar = encode_corpus(model, corpus, batch_size, _device(model), progress)
        return {"mu": mu.numpy(), "logvar": logvar.numpy(), "kl": posterior_family(model).kl(mu, logvar).numpy(),
                "length": np.array([len(t) for t in corpus.sentences])}
    if not cache_key:
        return compute()
    return cached(cache_root() / "posteriors", cache_key, len(sentences), compute, {"mu", "logvar", "kl", "length"})[0]


@torch.no_grad()
def nll_of_corpus(model: SentenceVAE, vocab: Vocab, sentences: list[str], batch_size: int = 128,
                  max_tokens: int = 100, seed: int = 0, progress: Callable[[Iterable], Iterable] = lambda it: it,
                  cache_key: str | None = None):
    """The NLL bound of each sentence, -ELBO = -log p(x|z) + KL with one z ~ q(z|x) (Bowman et al. 2016,
    Eq. 1; for the LM, -log p(x)), (N,) numpy, nats per sentence, in corpus order; batch b's noise is seeded
    with seed + b. Length-bucketed batches; `progress` wraps them. With `cache_key` (naming the checkpoint, the
    sentences, max_tokens and seed) it is kept on disk like `posterior_of_corpus`."""
    import numpy as np
    from .data import corpus_from_text
    from .diskcache import cache_root, cached
    from .objectives import elbo

    def compute():
        corpus = corpus_from_text(sentences, vocab, max_tokens)
        out = np.empty(len(corpus), dtype=np.float32)
        dev = _device(model)
        model.eval()
        for b, idx in enumerate(progress(corpus.batches(batch_size))):
            x, lengths = corpus.collate(idx)
            torch.manual_seed(seed + b)
            t = elbo(model, x.to(dev), lengths.to(dev))
            out[idx] = (t.rec + t.kl).float().cpu().numpy()
        return {"nll": out}
    if not cache_key:
        return compute()["nll"]
    return cached(cache_root() / "nll", cache_key, len(sentences), compute, {"nll"})[0]["nll"]


def ids_to_text(vocab: Vocab, ids: list[list[int]]) -> list[str]:
    """B token-id lists (as from `vae_core.decoding.decode`) -> B space-joined sentences, cut at `<eos>`."""
    return [" ".join(vocab.decode(s)) for s in ids]


@torch.no_grad()
def reconstruct(model: SentenceVAE, vocab: Vocab, text: str, n_samples: int = 3, strategy: str = "greedy",
                beam_size: int = 5, max_len: int = 50, seed: int = 0) -> dict:
    """Decode a sentence from its posterior mean and from `n_samples` posterior samples z ~ q(z|x) (for
    LSTM-VAE-AVG each sample is an L-tuple of draws, decoded by averaging L decoders, `vae_core.decoding`).

    Bowman et al. 2016, Table 7 (mean and samples, greedy). Returns {"input": EncodedText, "posterior":
    Posterior, "mean": str, "samples": [str]}.
    """
    post = encode_sentences(model, vocab, [text])
    g = torch.Generator().manual_seed(seed)
    L = model.codes_per_sentence                  # an AVG model's sample is an L-tuple (vae_core.decoding)
    draws = post.family.sample(post.mu.expand(n_samples, -1), post.logvar.expand(n_samples, -1), L, g)
    z = torch.cat([post.mu.expand(L, 1, -1), draws], 1)                             # (L, 1 + n_samples, n)
    out = ids_to_text(vocab, decode(model, z, strategy, max_len, beam_size=beam_size))
    return {"input": post.inputs[0], "posterior": post, "mean": out[0], "samples": out[1:]}


@torch.no_grad()
def reconstruct_many(model: SentenceVAE, vocab: Vocab, sentences: list[str], n_samples: int = 10, seed: int = 0,
                     max_tokens: int = 100) -> list[dict]:
    """For each sentence: its greedy decode from the posterior mean and its NLL bound, as rows
    {"reconstruction", "nll" (-ELBO, the reconstruction averaged over n_samples draws z ~ q(z|x) plus the
    analytic KL; nats per sentence), "kl"} (Bowman et al. 2016, Eq. 1). One batch; for a few hundred
    sentences (a selection on the corpus map). Sentences that are empty after normalisation are `<unk>`."""
    from .data import corpus_from_text
    from .objectives import elbo
    if not sentences:
        return []
    corpus = corpus_from_text(sentences, vocab, max_tokens)
    x, lengths = corpus.collate(range(len(sentences)))
    dev = _device(model)
    x, lengths = x.to(dev), lengths.to(dev)
    model.eval()
    torch.manual_seed(seed)
    t = elbo(model, x, lengths, n_samples=n_samples)
    mu, _ = model.encode(x, lengths)
    L = model.codes_per_sentence
    recon = ids_to_text(vocab, decode(model, mu.expand(L, -1, -1) if L > 1 else mu, "greedy"))
    return [{"reconstruction": r, "nll": float(rec + kl), "kl": float(kl)}
            for r, rec, kl in zip(recon, t.rec.float().cpu(), t.kl.float().cpu())]


def interpolate(z1: torch.Tensor, z2: torch.Tensor, steps: int, method: str = "linear") -> torch.Tensor:
    """Points on the path from z1 to z2 (each (n,)), endpoints included: (steps, n).

    linear:    z(t) = (1 - t) z1 + t z2, t in [0, 1]   (Bowman et al. 2016, Sec. 6.3)
    spherical: slerp, z(t) = sin((1-t) w)/sin(w) z1 + sin(t w)/sin(w) z2, w the angle between z1 and z2
               (keeps the norm typical of prior samples; falls back to linear for (anti)parallel codes).
    Raises ValueError for steps < 2 or an unknown method.
    """
    if steps < 2:
        raise ValueError(f"a homotopy needs at least 2 steps, got {steps}")
    t = torch.linspace(0, 1, steps, dtype=z1.dtype)[:, None]
    if method == "linear":
        return (1 - t) * z1 + t * z2
    if method != "spherical":
        raise ValueError(f"unknown interpolation {method!r}; expected one of {INTERPOLATIONS}")
    cos = torch.dot(z1, z2) / (z1.norm() * z2.norm()).clamp(min=1e-12)
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    if float(torch.sin(omega).abs()) < 1e-6:
        return (1 - t) * z1 + t * z2
    return (torch.sin((1 - t) * omega) * z1 + torch.sin(t * omega) * z2) / torch.sin(omega)


@torch.no_grad()
def homotopy(model: SentenceVAE, vocab: Vocab, text1: str, text2: str, steps: int = 7, method: str = "linear",
             strategy: str = "greedy", beam_size: int = 5, max_len: int = 50) -> dict:
    """Decode the path between the posterior means of two sentences (Bowman et al. 2016, Sec. 6.3, Table 8).

    Returns {"t": [float], "z": (steps, n) tensor, "sentences": [str], "changed": [bool] (True where the
    decoded sentence differs from the previous step's), "inputs": [EncodedText, EncodedText]}.
    """
    post = encode_sentences(model, vocab, [text1, text2])
    z = interpolate(post.mu[0], post.mu[1], steps, method)
    sents = ids_to_text(vocab, decode(model, z, strategy, max_len, beam_size=beam_size))
    changed = [False] + [a != b for a, b in zip(sents, sents[1:])]
    return {"t": torch.linspace(0, 1, steps).tolist(), "z": z, "sentences": sents, "changed": changed,
            "inputs": post.inputs}


def aggregate_posterior(mu: torch.Tensor, logvar: torch.Tensor, family=None) -> dict:
    """Moments of the aggregate posterior q(z) = (1/N) sum_j q(z | x_j) of a corpus, per dimension:
    {"mean": E[z] = mean_j E_q[z|x_j], "std": sqrt(Var_j(E_q[z_d|x_j]) + mean_j Var_q(z_d|x_j)), "kl":
    mean_j KL(q(z_d|x_j) || N(0,1)) in nats, or None for a vMF posterior}, each (n,), and "kl_total", the mean
    KL(q(z|x_j) || p(z)) per sentence in nats (for a vMF its constant). mu, logvar: (N, n)
    posterior parameters (e.g. `estimators.encode_corpus`); family: the model's (`vae_core.posterior`,
    None = Gaussian), whose exact per-dimension mean and variance are used."""
    fam = family or GaussianPosterior()
    mu, logvar = mu.double(), logvar.double()
    mean = fam.mean(mu, logvar)
    var = mean.var(0, unbiased=False) + fam.var_per_dim(mu, logvar).mean(0)
    kl = fam.kl_per_dim(mu, logvar)
    return {"mean": mean.mean(0).float(), "std": var.sqrt().float(), "kl": None if kl is None else kl.mean(0).float(),
            "kl_total": float(fam.kl(mu, logvar).mean())}


def units_by_activity(stats: dict) -> list[int]:
    """The latent dimensions of `aggregate_posterior` stats, most active first: by mean KL, or for a vMF
    posterior (no KL per dimension) by the aggregate posterior's standard deviation."""
    activity = stats["kl"] if stats["kl"] is not None else stats["std"]
    return sorted(range(len(activity)), key=lambda d: -float(activity[d]))


@torch.no_grad()
def traverse(model: SentenceVAE, vocab: Vocab, stats: dict, dims: list[int], text: str | None = None,
             steps: int = 7, span: float = 3.0, strategy: str = "greedy", max_len: int = 50) -> dict:
    """Latent traversal: for each dimension d in `dims`, sweep z_d in `steps` points over +- `span` standard
    deviations of the aggregate posterior (`aggregate_posterior` of a corpus: its "std"), around the
    sentence's own posterior mean mu_d when `text` is given (the other coordinates held at that mu), or around
    the aggregate mean with the other coordinates at 0 when `text` is None; decode every code (one batch).

    Returns {"dims", "offsets" (steps,) in standard deviations, "values" (len(dims), steps) of z_d,
    "sentences" [[str] * steps] per dimension, "reference": the decode of the unswept code (the sentence's
    reconstruction from mu, or the decode at the aggregate mean), "changes" [[int] * steps]: the word edit
    distance of each decode from the reference, "input": EncodedText or None}.
    Raises ValueError for steps < 2 or a dimension out of range, TextError for empty text.
    """
    n = model.latent_dim
    if steps < 2:
        raise ValueError(f"a traversal needs at least 2 steps, got {steps}")
    bad = [d for d in dims if not 0 <= d < n]
    if bad:
        raise ValueError(f"latent dimensions {bad} are out of range 0..{n - 1}")
    inp = None
    d_idx = torch.tensor(dims, dtype=torch.long)
    base = torch.zeros(n)
    if text is not None:
        post = encode_sentences(model, vocab, [text])
        base, inp = post.mu[0], post.inputs[0]
        centres = base[d_idx]                                   # the sentence's own mu_d: its +0 sigma row
    else:
        centres = stats["mean"][d_idx].to(base.dtype)
    offsets = torch.linspace(-span, span, steps)
    values = centres[:, None] + offsets[None, :] * stats["std"][d_idx, None].to(base.dtype)      # (D, S)
    z = base.repeat(len(dims), steps, 1)                                                          # (D, S, n)
    z[torch.arange(len(dims)), :, d_idx] = values
    unswept = base.clone()[None].repeat(len(dims), 1)                                             # (D, n)
    unswept[torch.arange(len(dims)), d_idx] = centres
    codes = torch.cat([z.reshape(-1, n), unswept])
    sents = ids_to_text(vocab, decode(model, codes, strategy, max_len))
    grid = [sents[i * steps:(i + 1) * steps] for i in range(len(dims))]
    refs = sents[len(dims) * steps:]
    changes = [[word_edit_distance(ref, s) for s in row] for row, ref in zip(grid, refs)]
    return {"dims": list(dims), "offsets": offsets.tolist(), "values": values, "sentences": grid,
            "reference": refs, "changes": changes, "input": inp}


def word_edit_distance(a: str, b: str) -> int:
    """Levenshtein distance between two sentences in words (insertions, deletions, substitutions)."""
    x, y = a.split(), b.split()
    prev = list(range(len(y) + 1))
    for i, wx in enumerate(x, 1):
        cur = [i]
        for j, wy in enumerate(y, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (wx != wy)))
        prev = cur
    return prev[-1]


def main(argv=None) -> int:
    from .checkpoint import CheckpointError, load_checkpoint
    from .data import TextError

    p = argparse.ArgumentParser(prog="python -m vae_core.latent", description="Reconstruct or interpolate sentences.")
    p.add_argument("checkpoint")
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("reconstruct", help="decode from the posterior mean and posterior samples")
    r.add_argument("text")
    r.add_argument("--samples", type=int, default=3)
    h = sub.add_parser("homotopy", help="decode the path between two sentences' posterior means")
    h.add_argument("text1")
    h.add_argument("text2")
    h.add_argument("--steps", type=int, default=7)
    h.add_argument("--method", choices=INTERPOLATIONS, default="linear")
    for q in (r, h):
        q.add_argument("--strategy", choices=["greedy", "beam"], default="greedy")
    args = p.parse_args(argv)
    try:
        ck = load_checkpoint(args.checkpoint)
        if args.cmd == "reconstruct":
            res = reconstruct(ck.model, ck.vocab, args.text, args.samples, args.strategy)
            out = {"input": " ".join(res["input"].tokens), "notices": res["input"].notices, "mean": res["mean"],
                   "samples": res["samples"], "kl": float(res["posterior"].kl[0])}
        else:
            res = homotopy(ck.model, ck.vocab, args.text1, args.text2, args.steps, args.method, args.strategy)
            out = {"inputs": [" ".join(e.tokens) for e in res["inputs"]],
                   "notices": [m for e in res["inputs"] for m in e.notices], "t": res["t"],
                   "sentences": res["sentences"]}
    except (CheckpointError, TextError, RuntimeError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
