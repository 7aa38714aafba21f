"""Bag-of-words nonlinear factor analysis (Krishnan, Liang & Hoffman 2018, Sec. 2 and 5).

    x (word counts, |V|) --MLP encoder--> (mu, logvar) --> z --MLP--> softmax over |V| = p(word | z)
    log p(x | z) = sum_w count_w(x) log softmax(MLP(z))_w           (multinomial, coefficient dropped)

The model takes the same token batches as the sentence models ((B, T) ids and lengths) and counts words
itself, so data loading, training, evaluation and checkpoints are shared. The bag holds the words of the
sentence (including `<unk>`), not `<pad>`, `<bos>` or `<eos>`; its log-likelihood is in nats per sentence
and its perplexity counts words only. The encoder reads raw counts or TF-IDF features ("TF-IDF often
helps, never hurts"), the latter as the authors' code computes them (rahulk90/vae_sparse,
optvaemodels/vae.py `_inference`): counts times scikit-learn's smoothed idf (`TfidfTransformer(norm=None)`
fitted on the training split, stored as a buffer in the weights), then L2-normalised per document.
Secondary optimisation of (mu, logvar) is in `vae_core.refine`; the Jacobian of `log_probs` is exactly the
paper's J(z) = d log p(word | z) / dz (`vae_core.jacobian`).
"""
from __future__ import annotations

import torch
from torch import nn

from .config import ModelConfig
from .data import Corpus, Vocab
from .model import SentenceVAE, length_mask, upcast
from .posterior import posterior_family


def word_mask(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """(B, T) bool: the positions that belong to the bag (real tokens other than `<bos>` / `<eos>`)."""
    mask = length_mask(lengths.to(x.device), x.size(1))
    return mask & (x != Vocab.eos_id) & (x != Vocab.bos_id) & (x != Vocab.pad_id)


def bag_of_words(x: torch.Tensor, lengths: torch.Tensor, vocab_size: int,
                 dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Word counts (B, |V|) from padded ids (B, T) and lengths (B,)."""
    counts = torch.zeros((x.size(0), vocab_size), device=x.device, dtype=dtype)
    return counts.scatter_add_(1, x, word_mask(x, lengths).to(dtype))


class BowVAE(nn.Module):
    """Bag-of-words VAE with MLP encoder and multinomial softmax decoder (Krishnan et al. 2018).

    Same interface as `SentenceVAE` where it is defined:
      encode(x, lengths) -> mu, logvar (B, n);  reparameterize(mu, logvar, S) -> (S, B, n)
      reconstruction(x, lengths, z) -> log p(bag | z), (B,) for z (B, n), (S, B) for z (S, B, n)
      log_probs(z) -> log p(word | z), (..., |V|)
    """

    has_latent = True

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        V, H, n = cfg.vocab_size, cfg.hidden_dim, cfg.latent_dim
        self.register_buffer("idf", torch.ones(V))
        self.encoder = nn.Sequential(nn.Linear(V, H), nn.ReLU(), nn.Linear(H, H), nn.ReLU())
        self.to_mu, self.to_logvar = nn.Linear(H, n), nn.Linear(H, n)
        hidden: list[nn.Module] = [nn.Linear(n, H), nn.ReLU()]
        for _ in range(cfg.bow_decoder_layers - 1):
            hidden += [nn.Linear(H, H), nn.ReLU()]
        self.decoder = nn.Sequential(*hidden, nn.Dropout(cfg.out_dropout), nn.Linear(H, V))

    @property
    def latent_dim(self) -> int:
        return self.cfg.latent_dim

    posterior = posterior_family(None)                  # the Gaussian
    reparameterize = SentenceVAE.reparameterize

    def set_idf(self, corpus: Corpus) -> None:
        """idf from a (training) corpus, used when bow_features == "tfidf": scikit-learn's smoothed
        idf_w = ln((1 + N) / (1 + df_w)) + 1 (`TfidfTransformer`), what Krishnan et al.'s code fits."""
        import numpy as np
        from scipy.sparse import csr_matrix
        from sklearn.feature_extraction.text import TfidfTransformer
        rows = np.concatenate([np.full(len(ids), i) for i, ids in enumerate(corpus.ids)])
        cols = torch.cat(list(corpus.ids)).numpy()
        counts = csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(len(corpus), self.cfg.vocab_size))
        idf = TfidfTransformer(norm=None).fit(counts).idf_
        self.idf.copy_(torch.from_numpy(idf).to(self.idf.dtype))

    def init_uniform_(self, scale: float, emb_scale: float = 0.0) -> None:
        """U(-scale, scale) initialisation of every parameter (the idf buffer is not a parameter; the model has
        no embeddings, so `emb_scale` changes nothing)."""
        for p in self.parameters():
            nn.init.uniform_(p, -scale, scale)

    def encoder_parameters(self) -> list[nn.Parameter]:
        return [p for m in (self.encoder, self.to_mu, self.to_logvar) for p in m.parameters()]

    def features(self, counts: torch.Tensor) -> torch.Tensor:
        """Encoder input from word counts (B, |V|): the counts, or TF-IDF L2-normalised per row."""
        if self.cfg.bow_features != "tfidf":
            return counts
        tfidf = counts * self.idf
        return tfidf / tfidf.norm(dim=-1, keepdim=True).clamp(min=1e-12)

    def encode(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z | bag(x)): mu, logvar, each (B, n)."""
        h = self.encoder(self.features(bag_of_words(x, lengths, self.cfg.vocab_size, self.idf.dtype)))
        return self.to_mu(h), self.to_logvar(h).clamp(min=self.cfg.logvar_min)

    def log_probs(self, z: torch.Tensor) -> torch.Tensor:
        """log p(word | z) = log softmax(MLP(z)), (..., |V|) for z (..., n)."""
        return torch.log_softmax(upcast(self.decoder(z)), dim=-1)

    def reconstruction(self, x: torch.Tensor, lengths: torch.Tensor, z: torch.Tensor,
                       word_keep: float = 1.0) -> torch.Tensor:
        """log p(bag(x) | z) = sum_w count_w log p(w | z), nats per sentence: (B,) or (S, B) for z (S, B, n).
        `word_keep` is accepted for interface compatibility and ignored (no decoder inputs to drop)."""
        counts = bag_of_words(x, lengths, self.cfg.vocab_size, self.idf.dtype)                # (B, |V|)
        return (self.log_probs(z) * counts).sum(-1)
