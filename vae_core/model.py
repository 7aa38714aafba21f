"""The LSTM sentence VAE of Bowman et al. (2016) and its LSTM language-model baseline.

    x --Encoder--> h_T --Linear--> (mu, logvar) --reparameterize--> z --Decoder--> log p(x | z)

Shapes: token batches are right-padded LongTensors (B, T) that end each sentence with `<eos>`, plus
lengths (B,) counting that `<eos>`. Log-probabilities are in nats per sentence, summed over the predicted
tokens (words + `<eos>`), unless a name says otherwise.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig
from .data import Vocab


def upcast(t: torch.Tensor) -> torch.Tensor:
    """Half-precision (autocast) logits -> float32 for the softmax; float32/float64 pass unchanged."""
    return t.float() if t.dtype in (torch.float16, torch.bfloat16) else t


def length_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """(B,) lengths -> (B, max_len) bool mask, True at real (non-pad) positions."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


class Encoder(nn.Module):
    """LSTM over the tokens; returns the top layer's hidden state at each sentence's last token, (B, H).

    Padded positions come after the last token, so a unidirectional LSTM's state there is untouched by
    padding and no packing is needed (packing was slower on CPU, ../shared/stack-notes.md).
    """

    def __init__(self, cfg: ModelConfig, embedding: nn.Embedding):
        super().__init__()
        self.embedding = embedding
        self.dropout = nn.Dropout(cfg.emb_dropout)
        self.rnn = nn.LSTM(cfg.emb_dim, cfg.hidden_dim, cfg.num_layers, batch_first=True)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(self.dropout(self.embedding(x)))                 # (B, T, H)
        last = (lengths - 1).clamp(min=0).to(out.device)
        return out[torch.arange(out.size(0), device=out.device), last]    # (B, H)


class Decoder(nn.Module):
    """Autoregressive LSTM decoder p(x | z); with latent_dim = 0 it is an LSTM language model.

    z enters through the initial state (c_0 = W z, h_0 = tanh(c_0), as in He et al. 2019's code) and/or by
    concatenation to every input embedding (Bowman et al. 2016 Sec. 3; Kruengkrai 2019 Sec. 4).
    """

    def __init__(self, cfg: ModelConfig, embedding: nn.Embedding, latent_dim: int):
        super().__init__()
        self.cfg = cfg
        self.latent_dim = latent_dim
        self.z_concat = latent_dim > 0 and cfg.z_concat
        self.z_to_init = latent_dim > 0 and cfg.z_to_init
        self.embedding = embedding
        self.emb_dropout = nn.Dropout(cfg.emb_dropout)
        in_dim = cfg.emb_dim + (latent_dim if self.z_concat else 0)
        self.rnn = nn.LSTM(in_dim, cfg.hidden_dim, cfg.num_layers, batch_first=True)
        if self.z_to_init:
            self.z_to_cell = nn.Linear(latent_dim, cfg.hidden_dim * cfg.num_layers)
        self.out_dropout = nn.Dropout(cfg.out_dropout)
        self.out = nn.Linear(cfg.hidden_dim, cfg.vocab_size)

    def initial_state(self, z: torch.Tensor | None, batch: int, device) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(h_0, c_0), each (num_layers, B, H), or None (zeros) when z does not set the state."""
        if not self.z_to_init:
            return None
        c0 = self.z_to_cell(z).view(batch, self.cfg.num_layers, self.cfg.hidden_dim).transpose(0, 1).contiguous()
        return torch.tanh(c0), c0

    def hidden(self, inputs: torch.Tensor, z: torch.Tensor | None, state=None):
        """Run the LSTM on input ids (B, T) given z (B, n) (or None); returns outputs (B, T, H) and the state.

        `state` continues from a previous call (step-by-step decoding); None starts from z's initial state.
        """
        emb = self.emb_dropout(self.embedding(inputs))
        if self.z_concat:
            emb = torch.cat([emb, z[:, None, :].expand(-1, emb.size(1), -1)], dim=-1)
        if state is None:
            state = self.initial_state(z, inputs.size(0), inputs.device)
        out, state = self.rnn(emb, state)
        return out.contiguous(), state    # contiguous: a Linear on a strided LSTM output is slow in bf16

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Decoder outputs (..., H) -> vocabulary logits (..., |V|)."""
        return self.out(self.out_dropout(hidden))


def decoder_inputs(x: torch.Tensor, bos_id: int, unk_id: int, word_keep: float = 1.0) -> torch.Tensor:
    """Teacher-forcing inputs: `<bos>` then x shifted right by one, (B, T).

    Word dropout (Bowman et al. 2016, Sec. 3.1): each input word after `<bos>` is replaced by `<unk>` with
    probability 1 - word_keep; word_keep = 0 gives the inputless decoder. Padding positions are left alone.
    """
    inp = torch.cat([torch.full_like(x[:, :1], bos_id), x[:, :-1]], dim=1)
    if word_keep < 1.0:
        drop = torch.rand(inp.shape, device=inp.device) >= word_keep
        drop[:, 0] = False
        drop &= inp != 0
        inp = inp.masked_fill(drop, unk_id)
    return inp


class SentenceVAE(nn.Module):
    """Bowman et al. (2016) sentence VAE; with `cfg.model == "lm"` the z-less LSTM-LM baseline.

    Methods (B = batch, T = padded length, n = latent_dim, S = samples):
      encode(x, lengths)            -> mu, logvar, each (B, n)
      reparameterize(mu, logvar, S) -> z (S, B, n)                     (Kingma & Welling 2014, Sec. 2.4)
      reconstruction(x, lengths, z) -> log p(x | z), (B,) nats per sentence; z (B, n) or (S, B, n) -> (S, B)
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        dec_emb = nn.Embedding(cfg.vocab_size, cfg.emb_dim, padding_idx=Vocab.pad_id)
        latent = cfg.latent_dim if cfg.has_latent else 0
        self.decoder = Decoder(cfg, dec_emb, latent)
        if cfg.has_latent:
            enc_emb = dec_emb if cfg.tie_embeddings else nn.Embedding(cfg.vocab_size, cfg.emb_dim, padding_idx=Vocab.pad_id)
            self.encoder = Encoder(cfg, enc_emb)
            self.to_mu = nn.Linear(cfg.hidden_dim, cfg.latent_dim)
            self.to_logvar = nn.Linear(cfg.hidden_dim, cfg.latent_dim)

    @property
    def has_latent(self) -> bool:
        return self.cfg.has_latent

    @property
    def latent_dim(self) -> int:
        return self.cfg.latent_dim if self.has_latent else 0

    def init_uniform_(self, scale: float) -> None:
        """U(-scale, scale) initialisation of every parameter (Kruengkrai 2019, Table 1 uses 0.1)."""
        for p in self.parameters():
            nn.init.uniform_(p, -scale, scale)

    def encode(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior q(z|x) = N(mu, diag exp(logvar)): mu and logvar, each (B, n).

        Raises RuntimeError for the "lm" model, which has no posterior.
        """
        if not self.has_latent:
            raise RuntimeError("the language-model baseline has no encoder / posterior")
        h = self.encoder(x, lengths)
        return self.to_mu(h), self.to_logvar(h)

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, n_samples: int = 1) -> torch.Tensor:
        """z = mu + sigma * eps, eps ~ N(0, I): (S, B, n) from mu, logvar (B, n)."""
        eps = torch.randn((n_samples,) + tuple(mu.shape), device=mu.device, dtype=mu.dtype)
        return mu + torch.exp(0.5 * logvar) * eps

    def reconstruction(self, x: torch.Tensor, lengths: torch.Tensor, z: torch.Tensor | None,
                       word_keep: float = 1.0) -> torch.Tensor:
        """log p(x | z) in nats per sentence (sum over words and `<eos>`).

        x: (B, T) ids ending in `<eos>`; lengths: (B,); z: (B, n), (S, B, n) or None for the LM.
        Returns (B,) for 2-D z or None, (S, B) for 3-D z. Word dropout (`word_keep` < 1) is for training only.
        """
        if z is not None and z.dim() == 3:
            S, B = z.shape[:2]
            rep = lambda t: t.unsqueeze(0).expand(S, *t.shape).reshape(S * B, *t.shape[1:])
            return self.reconstruction(rep(x), rep(lengths), z.reshape(S * B, -1), word_keep).view(S, B)
        inp = decoder_inputs(x, Vocab.bos_id, Vocab.unk_id, word_keep if self.training else 1.0)
        hidden, _ = self.decoder.hidden(inp, z)
        mask = length_mask(lengths.to(x.device), x.size(1))
        # Project only real positions: padding never reaches the |V|-sized softmax.
        logits = self.decoder.logits(hidden[mask])
        nll = F.cross_entropy(upcast(logits), x[mask], reduction="none")
        per_token = torch.zeros(x.shape, dtype=nll.dtype, device=x.device).masked_scatter(mask, nll)
        return -per_token.sum(dim=1)

    def token_logprobs(self, x: torch.Tensor, lengths: torch.Tensor, z: torch.Tensor | None) -> torch.Tensor:
        """log p(x_t | x_<t, z) for each position, (B, T), zero at padding (for per-word inspection)."""
        inp = decoder_inputs(x, Vocab.bos_id, Vocab.unk_id)
        hidden, _ = self.decoder.hidden(inp, z)
        logp = torch.log_softmax(upcast(self.decoder.logits(hidden)), dim=-1)
        out = logp.gather(-1, x.unsqueeze(-1)).squeeze(-1)
        return out * length_mask(lengths.to(x.device), x.size(1))
