"""Jacobian introspection of the decoder (Krishnan, Liang & Hoffman 2018, Sec. 5 / poster "Jacobians").

For a bag-of-words decoder (`vae_core.bow.BowVAE`) the paper's object is J(z) = d log p(word | z) / dz, a
|V| x n matrix, computed here exactly as defined (`jacfwd` of `log_probs`). A sentence
decoder has no single distribution over words, so this project defines, for a latent code z and a token
path w_1..w_T (held fixed, not differentiated):

    f(z) = (1/T) sum_t log softmax(logits_t(z; w_<t))      in R^|V|
    J(z) = df/dz                                            |V| x n

i.e. the decoder's log-probabilities over the vocabulary averaged over the decoding positions of the path.
The path is the greedy decode of z itself for the expected Jacobian (an average of J over prior samples
z ~ N(0, I)), and the typed sentence for the contextual Jacobian (an average over z ~ q(z|x)).
Rows of the (expected or contextual) Jacobian are word embeddings, compared after their mean row is removed
by default (`word_embeddings`, which says why and how that default was chosen); its singular values show how
many latent directions the decoder responds to.

How it is computed. With h_t(z) the decoder state at position t and W the output matrix (|V| x H),
d log softmax(W h_t)_w / dz = (W_w - p_t^T W) dh_t/dz, p_t the softmax at t. Hence, exactly,

    J(z) = W A - 1 b^T,   A = (1/T) sum_t dh_t/dz  (H x n),   b^T = (1/T) sum_t p_t^T W dh_t/dz  (1 x n)

so forward-mode AD (`torch.func.jacfwd`, n tangents, vectorised over codes with `vmap`) is only needed
for the hidden states (T x H outputs), and the |V|-wide part is one |V| x H by H x n product. That is
exact, and far cheaper than pushing n tangents through the |V|-wide softmax (`_avg_logprobs` is the
direct definition, kept as the reference the tests compare against). The oneDNN LSTM kernel has no
forward-mode derivative, so it is switched off inside (stack notes).
"""
from __future__ import annotations

from typing import Callable, Iterable

import torch
from torch.func import jacfwd, vmap

from .data import Vocab, encode_text
from .decoding import decode
from .model import SentenceVAE, decoder_inputs


def _avg_logprobs(model: SentenceVAE, z: torch.Tensor, path: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """f(z) for one code z (n,), a padded path (T,) and its mask (T,): (|V|,) position-averaged log-probs."""
    inp = decoder_inputs(path[None], Vocab.bos_id, Vocab.unk_id)
    hidden, _ = model.decoder.hidden(inp, z[None])
    logp = torch.log_softmax(model.decoder.logits(hidden[0]), dim=-1)          # (T, |V|)
    return (logp * mask[:, None]).sum(0) / mask.sum()


def _hidden(model: SentenceVAE, z: torch.Tensor, path: torch.Tensor) -> torch.Tensor:
    """Decoder states h_1..h_T (T, H) for one code z (n,) along a fixed path (T,)."""
    inp = decoder_inputs(path[None], Vocab.bos_id, Vocab.unk_id)
    return model.decoder.hidden(inp, z[None])[0][0]


def jacobians(model: SentenceVAE, z: torch.Tensor, paths: list[list[int]], chunk: int = 16,
              progress: Callable[[Iterable], Iterable] = lambda it: it) -> torch.Tensor:
    """J(z_s) for each code: (S, |V|, n), float32. z: (S, n); paths: S token-id lists (an `<eos>` is appended).

    Uses the factorisation in the module docstring; memory is bounded by `chunk` codes at a time. For the
    bag-of-words model the paths are ignored and J(z) = d log p(word | z) / dz exactly (the paper's).
    """
    model.eval()
    if not model.cfg.is_sequence:
        jf = vmap(jacfwd(model.log_probs))
        with torch.no_grad():
            return torch.cat([jf(z[s:s + chunk].float()).detach() for s in progress(range(0, z.size(0), chunk))])
    seqs = [torch.tensor(p + [Vocab.eos_id]) for p in paths]
    T = max(len(s) for s in seqs)
    P = torch.zeros((len(seqs), T), dtype=torch.long)
    Mk = torch.zeros((len(seqs), T))
    for i, s in enumerate(seqs):
        P[i, :len(s)], Mk[i, :len(s)] = s, 1.0
    W = model.decoder.out.weight.detach().float()                          # (|V|, H)
    dh = vmap(jacfwd(lambda zz, pp: _hidden(model, zz, pp), argnums=0))
    out = []
    with torch.backends.mkldnn.flags(enabled=False), torch.no_grad():
        for s in progress(range(0, z.size(0), chunk)):
            zc, pc, mc = z[s:s + chunk].float(), P[s:s + chunk], Mk[s:s + chunk]
            w = mc / mc.sum(1, keepdim=True)                               # (c, T) position weights 1/T
            Hj = dh(zc, pc)                                                 # (c, T, H, n)
            h, _ = model.decoder.hidden(decoder_inputs(pc, Vocab.bos_id, Vocab.unk_id), zc)   # (c, T, H), one batch
            p = torch.softmax(model.decoder.logits(h).float(), -1)         # (c, T, |V|)
            A = torch.einsum("ct,cthn->chn", w, Hj)                        # (c, H, n)
            b = torch.einsum("ct,cth,cthn->cn", w, p @ W, Hj)              # (c, n)
            out.append(torch.einsum("vh,chn->cvn", W, A) - b[:, None, :])
    return torch.cat(out)


def expected_jacobian(model: SentenceVAE, n_samples: int = 64, seed: int = 0, max_len: int = 30,
                      progress: Callable[[Iterable], Iterable] = lambda it: it) -> torch.Tensor:
    """E_{z ~ p(z)}[J(z)] over `n_samples` prior samples (N(0, I); a vMF model's uniform prior on the sphere),
    each with its own greedy path: (|V|, n)."""
    from .posterior import posterior_family
    g = torch.Generator().manual_seed(seed)
    z = posterior_family(model).sample_prior((n_samples, model.latent_dim), g)
    paths = decode(model, z, "greedy", max_len=max_len) if model.cfg.is_sequence else [[]] * n_samples
    return jacobians(model, z, paths, progress=progress).mean(0)


def contextual_jacobian(model: SentenceVAE, vocab: Vocab, text: str, n_samples: int = 32, seed: int = 0) -> torch.Tensor:
    """E_{z ~ q(z|x)}[J(z)] with the typed sentence x as the path: (|V|, n). Raises TextError for empty text."""
    enc = encode_text(text, vocab)
    x = torch.tensor([enc.ids + [vocab.eos_id]])
    with torch.no_grad():
        mu, logvar = model.encode(x, torch.tensor([x.size(1)]))
    g = torch.Generator().manual_seed(seed)
    z = model.posterior.sample(mu, logvar, n_samples, generator=g)[:, 0]          # (S, n)
    return jacobians(model, z, [enc.ids] * n_samples).mean(0)


def singular_values(J: torch.Tensor) -> torch.Tensor:
    """Singular values of a |V| x n Jacobian, descending, (n,)."""
    return torch.linalg.svdvals(J.double()).float()


def effective_dims(sv: torch.Tensor, rel_threshold: float = 0.01) -> int:
    """Number of singular values above `rel_threshold` times the largest (directions the decoder uses)."""
    return int((sv > rel_threshold * sv.max()).sum()) if sv.numel() else 0


EMBEDDINGS = ("centred", "raw", "whitened")
DEFAULT_EMBEDDING = "centred"     # the best by neighbour agreement on the zoo (bench/jacobian_agreement.py, README)


def word_embeddings(J: torch.Tensor, kind: str = DEFAULT_EMBEDDING, rel_threshold: float = 0.01) -> torch.Tensor:
    """Word embeddings from a |V| x n Jacobian, one row a word:

    "raw"       the rows of J, as Krishnan et al. 2018 compare them;
    "centred"   the rows minus their mean over the vocabulary. Every row carries a large shared component
                (the softmax normaliser's -1 b^T, and the decoder's common response to z), so raw rows give
                cosines near 0.98 for almost any pair; removing the mean row leaves what tells words apart;
    "whitened"  the rows in J's principal latent directions divided by their singular values, J V_k S_k^-1 =
                U_k, k = `effective_dims` at `rel_threshold`: every direction the decoder uses weighs the same.

    Returns (|V|, n) float32 for "raw" and "centred", (|V|, k) for "whitened" (unitless: cosines are what
    neighbour lists compare). Which one neighbour lists should use is measured, not assumed:
    `bench/jacobian_agreement.py` scores each on every zoo model by agreement with co-occurrence vectors
    (`vae_core.wordsim.agreement_by_embedding`), and DEFAULT_EMBEDDING is the best there. Raises ValueError
    for an unknown kind."""
    if kind == "raw":
        return J.float()
    if kind == "centred":
        return (J.double() - J.double().mean(0, keepdim=True)).float()
    if kind == "whitened":
        U, S, _ = torch.linalg.svd(J.double(), full_matrices=False)
        k = max(1, effective_dims(S.float(), rel_threshold))
        return U[:, :k].float()
    raise ValueError(f"unknown embedding {kind!r}; expected one of {EMBEDDINGS}")


def nearest_words(J: torch.Tensor, vocab: Vocab, word: str, k: int = 10, embedding: str = DEFAULT_EMBEDDING,
                  rel_threshold: float = 0.01) -> list[tuple[str, float]]:
    """The k words whose embeddings (`word_embeddings(J, embedding)`) are closest by cosine to `word`'s (the
    word itself and the specials excluded), as (word, cosine). scikit-learn's brute-force cosine neighbours.
    Raises KeyError when `word` is not in the vocabulary."""
    from sklearn.neighbors import NearestNeighbors
    if word not in vocab:
        raise KeyError(f"{word!r} is not in the vocabulary")
    rows = word_embeddings(J, embedding, rel_threshold).double().numpy()
    nn_ = NearestNeighbors(n_neighbors=min(k + 5, len(vocab)), metric="cosine", algorithm="brute").fit(rows)
    dist, idx = nn_.kneighbors(rows[vocab.stoi[word]][None])
    out = [(vocab.itos[i], 1.0 - float(d)) for d, i in zip(dist[0], idx[0])
           if i >= 4 and vocab.itos[i] != word]
    return out[:k]
