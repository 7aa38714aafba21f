"""One latent unit (dimension d of z) across a corpus: the page per unit of interpretability dashboards.

    unit_summary(mu, sentences, d, kl_per_dim)   # its KL, whether it is active, mu_d's spread and extremes
    aligned_words(J, vocab, d)                   # the words whose Jacobian rows point along e_d

Activity is Burda et al. 2016's (Sec. 5.2): d is active when Cov_x(E_q[z_d]) > 0.01 over the corpus.
"""
from __future__ import annotations

import numpy as np
import torch

from .data import Vocab


def unit_summary(mu: np.ndarray, sentences: list[str], d: int, kl_per_dim: np.ndarray | None = None,
                 k: int = 10, threshold: float = 0.01) -> dict:
    """Unit d over a corpus. mu: (N, n) posterior means E_q[z|x] (a vMF model's A(kappa) mu); sentences: (N,);
    kl_per_dim: (n,) mean KL per dimension in nats, or None (a vMF posterior's KL does not split).

    Returns {"dim", "kl" (nats or None), "variance" (Var_x of mu_d), "active" (variance > threshold), "values"
    (N,) mu_d, "top" and "bottom": the k sentences of highest and lowest mu_d as [(index, sentence, mu_d)]}.
    Raises ValueError for d out of range."""
    mu = np.asarray(mu, dtype=np.float64)
    n = mu.shape[1]
    if not 0 <= d < n:
        raise ValueError(f"latent dimension {d} is out of range 0..{n - 1}")
    v = mu[:, d]
    var = float(v.var(ddof=1)) if len(v) > 1 else 0.0
    order = np.argsort(v, kind="stable")
    rows = lambda idx: [(int(i), sentences[i], float(v[i])) for i in idx]      # noqa: E731
    return {"dim": d, "kl": None if kl_per_dim is None else float(kl_per_dim[d]), "variance": var,
            "active": var > threshold, "values": v, "top": rows(order[::-1][:k]), "bottom": rows(order[:k])}


def aligned_words(J: torch.Tensor, vocab: Vocab, d: int, k: int = 10) -> list[tuple[str, float]]:
    """The k words whose Jacobian rows J_w (|V|, n; `vae_core.jacobian.expected_jacobian`) point most along
    +e_d: highest cos(J_w, e_d) = J_w[d] / |J_w|, special tokens left out, and so are words whose row is
    shorter than a tenth of the median word's row (the direction of a near-zero row is noise). Returns
    [(word, cosine)], best first."""
    norms = J.norm(dim=1)
    cos = J[:, d] / norms.clamp(min=1e-12)
    ok = torch.ones(len(J), dtype=torch.bool)
    for t in (vocab.pad_id, vocab.bos_id, vocab.eos_id, vocab.unk_id):
        ok[t] = False
    ok &= norms >= 0.1 * norms[ok].median()
    cos = torch.where(ok, cos, torch.full_like(cos, -2.0))
    best = torch.argsort(cos, descending=True, stable=True)[:k]
    return [(vocab.itos[int(i)], float(cos[i])) for i in best if ok[i]]
