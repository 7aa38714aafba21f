"""The sentence VAE of Bowman et al. (2016), its language-model baseline, and the sequence variants of the
other papers (one class, switched by ModelConfig):

    x --Encoder--> summary --Linear--> (mu, logvar) --reparameterize--> z --Decoder--> log p(x | z)

- rnn = lstm | gru; a bidirectional encoder summarised by last state, mean or attention, and z through a
  highway layer (Vani & Birodkar, Sec. 4); the encoder reading the sentence reversed (Livne et al. 2020).
- "vae-avg": `reconstruction_avg` averages decoder states over L samples (Kruengkrai 2019, Eq. 7-8).
- "mi-vae": an auxiliary q_MI(z | decoder states) (`MIPosterior`, Vani & Birodkar, Eq. 6-8).
The bag-of-words model of Krishnan et al. (2018) lives in `vae_core.bow`; `build_model` picks the class.

Shapes: token batches are right-padded LongTensors (B, T) that end each sentence with `<eos>`, plus
lengths (B,) counting that `<eos>`. Log-probabilities are in nats per sentence, summed over the predicted
tokens (words + `<eos>`), unless a name says otherwise.
"""
from __future__ import annotations

import torch
from torch import nn

from .config import ModelConfig
from .data import Vocab
from .fused import linear_cross_entropy
from .posterior import posterior_family


def upcast(t: torch.Tensor) -> torch.Tensor:
    """Half-precision (autocast) logits -> float32 for the softmax; float32/float64 pass unchanged."""
    return t.float() if t.dtype in (torch.float16, torch.bfloat16) else t


def length_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """(B,) lengths -> (B, max_len) bool mask, True at real (non-pad) positions."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


def rnn_class(kind: str) -> type[nn.RNNBase]:
    return nn.GRU if kind == "gru" else nn.LSTM


def run_rnn(rnn: nn.RNNBase, inputs: torch.Tensor, state=None):
    """rnn(inputs, state) with the recurrence in float32 even under autocast.

    Under CPU bf16 autocast PyTorch runs the whole LSTM/GRU (cell state included) in bf16; after 400 steps
    of the 256/256/32 VAE on PTB that cost 2.4% in validation NLL (bench/train_speed.py --quality-steps).
    The output layer, where most FLOPs are, still runs in the autocast dtype.
    """
    dev = inputs.device.type
    if not torch.is_autocast_enabled(dev):
        return rnn(inputs, state)
    with torch.autocast(dev, enabled=False):
        if state is not None:
            state = tuple(s.float() for s in state) if isinstance(state, tuple) else state.float()
        return rnn(inputs.float(), state)


def reverse_padded(t: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each row's first `lengths[b]` positions, leaving the padding in place: (B, T, ...) -> same.

    With it a right-padded batch can be read backwards by an ordinary forward RNN (padding still comes last,
    so nothing is packed); applying it twice is the identity.
    """
    B, T = t.shape[:2]
    pos = torch.arange(T, device=t.device)[None, :]
    L = lengths.to(t.device)[:, None]
    idx = torch.where(pos < L, L - 1 - pos, pos)                          # (B, T)
    if t.dim() > 2:
        idx = idx.view(B, T, *([1] * (t.dim() - 2))).expand_as(t)
    return t.gather(1, idx)


class Encoder(nn.Module):
    """RNN over the tokens, summarised into one vector per sentence: (B, D), D = H (or 2H bidirectional).

    Summaries (Vani & Birodkar, Sec. 4, "F"): "last" = the state at each sentence's last token (both
    directions' final states when bidirectional); "mean" = the mean of the states over real positions;
    "attention" = a softmax-weighted mean with scores v^T tanh(W h_t). Padded positions come after the last
    token, so a forward RNN's states there are untouched by padding; the backward direction is a second
    forward RNN over the sentence reversed in place (`reverse_padded`), so no packing is needed (packing was
    slower on CPU, ../shared/stack-notes.md). `reverse` makes the (forward) encoder read x backwards
    (Livne et al. 2020).
    """

    def __init__(self, cfg: ModelConfig, embedding: nn.Embedding):
        super().__init__()
        self.embedding = embedding
        self.dropout = nn.Dropout(cfg.emb_dropout if cfg.encoder_emb_dropout else 0.0)
        self.summary, self.reverse, self.bidirectional = cfg.encoder_summary, cfg.encoder_reverse, cfg.encoder_bidirectional
        RNN = rnn_class(cfg.rnn)
        self.rnn = RNN(cfg.emb_dim, cfg.hidden_dim, cfg.num_layers, batch_first=True)
        if self.bidirectional:
            self.rnn_backward = RNN(cfg.emb_dim, cfg.hidden_dim, cfg.num_layers, batch_first=True)
        self.out_dim = cfg.hidden_dim * (2 if self.bidirectional else 1)
        if self.summary == "attention":
            self.attention = nn.Sequential(nn.Linear(self.out_dim, self.out_dim), nn.Tanh(),
                                           nn.Linear(self.out_dim, 1, bias=False))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        lengths = lengths.to(x.device)
        emb = self.dropout(self.embedding(x))                                 # (B, T, E)
        if self.reverse:
            emb = reverse_padded(emb, lengths)
        out, _ = run_rnn(self.rnn, emb)                                       # (B, T, H)
        rows = torch.arange(out.size(0), device=out.device)
        last = (lengths - 1).clamp(min=0)
        if self.bidirectional:
            back, _ = run_rnn(self.rnn_backward, reverse_padded(emb, lengths))
            if self.summary == "last":                                        # both directions' final states
                return torch.cat([out[rows, last], back[rows, last]], -1)
            out = torch.cat([out, reverse_padded(back, lengths)], -1)         # (B, T, 2H), aligned by position
        if self.summary == "last":
            return out[rows, last]
        mask = length_mask(lengths, x.size(1))
        if self.summary == "mean":
            return (out * mask[..., None]).sum(1) / lengths.clamp(min=1)[:, None].to(out.dtype)
        scores = self.attention(out).squeeze(-1).masked_fill(~mask, float("-inf"))
        return (torch.softmax(scores.float(), -1).to(out.dtype)[..., None] * out).sum(1)


class Highway(nn.Module):
    """One highway layer (Srivastava et al. 2015) on z: y = t * relu(W_h z) + (1 - t) * z, t = sigmoid(W_t z).
    Vani & Birodkar pass z through it before the decoder."""

    def __init__(self, dim: int):
        super().__init__()
        self.transform, self.gate = nn.Linear(dim, dim), nn.Linear(dim, dim)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        t = torch.sigmoid(self.gate(z))
        return t * torch.relu(self.transform(z)) + (1 - t) * z


class MIPosterior(nn.Module):
    """q_MI(z | x') of Vani & Birodkar (Eq. 6-8): a diagonal Gaussian over z read from the decoder's hidden
    states (not the tokens, which are discrete): masked mean of the states -> tanh layer -> (mu, logvar)."""

    def __init__(self, hidden_dim: int, latent_dim: int):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(hidden_dim, hidden_dim), nn.Tanh())
        self.to_mu, self.to_logvar = nn.Linear(hidden_dim, latent_dim), nn.Linear(hidden_dim, latent_dim)

    def forward(self, hidden: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """hidden (B, T, H), lengths (B,) -> mu, logvar, each (B, n)."""
        mask = length_mask(lengths.to(hidden.device), hidden.size(1))
        pooled = (hidden * mask[..., None]).sum(1) / lengths.clamp(min=1)[:, None].to(hidden.dtype)
        h = self.body(pooled)
        return self.to_mu(h), self.to_logvar(h)


class Decoder(nn.Module):
    """Autoregressive RNN decoder p(x | z); with latent_dim = 0 it is an RNN language model.

    z enters through the initial state (`cfg.init_state`: "tanh", LSTM c_0 = W z + b, h_0 = tanh(c_0) as in
    He et al. 2019's code, GRU h_0 = tanh(W z + b); "linear", h_0 = W z + b and c_0 = 0 as in Kruengkrai
    2019, Eq. 5; "linear-hc", h_0 = W_h z + b_h and c_0 = W_c z + b_c as in Xu & Durrett's code) and/or by concatenation to every input embedding (Bowman et al. 2016 Sec. 3; Kruengkrai
    2019 Sec. 4), optionally after a highway layer (Vani & Birodkar). With `cfg.inputless` every input
    after `<bos>` is replaced by `<unk>` (Bowman et al.'s 0% word-keep decoder), in every mode.
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
        self.is_lstm = cfg.rnn == "lstm"
        self.rnn = rnn_class(cfg.rnn)(in_dim, cfg.hidden_dim, cfg.num_layers, batch_first=True)
        if latent_dim > 0 and cfg.z_highway:
            self.highway = Highway(latent_dim)
        if self.z_to_init:
            self.z_to_cell = nn.Linear(latent_dim, cfg.hidden_dim * cfg.num_layers, bias=cfg.linear_bias)
            if cfg.init_state == "linear-hc":                     # Xu & Durrett's z_to_h beside z_to_c
                self.z_to_hidden = nn.Linear(latent_dim, cfg.hidden_dim * cfg.num_layers, bias=cfg.linear_bias)
        self.out_dropout = nn.Dropout(cfg.out_dropout)
        self.out = nn.Linear(cfg.hidden_dim, cfg.vocab_size, bias=cfg.linear_bias)

    def initial_state(self, z: torch.Tensor | None, batch: int, device):
        """LSTM (h_0, c_0) or GRU h_0, each (num_layers, B, H), or None (zeros) when z does not set the state.
        z is the decoder-side code (after the highway layer, if any)."""
        if not self.z_to_init:
            return None
        s0 = self.z_to_cell(z).view(batch, self.cfg.num_layers, self.cfg.hidden_dim).transpose(0, 1).contiguous()
        if self.cfg.init_state == "linear":                       # Kruengkrai 2019, Eq. 5: h_0 = M2 z, c_0 = 0
            return (s0, torch.zeros_like(s0)) if self.is_lstm else s0
        if self.cfg.init_state == "linear-hc":                    # Xu & Durrett: h_0 = W_h z, c_0 = W_c z
            h0 = self.z_to_hidden(z).view(batch, self.cfg.num_layers, self.cfg.hidden_dim).transpose(0, 1)
            return h0.contiguous(), s0
        return (torch.tanh(s0), s0) if self.is_lstm else torch.tanh(s0)

    def _zero_state(self, like: torch.Tensor):
        """The zero initial state, (num_layers, B, H) (an (h, c) pair for an LSTM), made from `like` (B, T, E)
        so that under torch.func.vmap it is batched as the inputs are: the RNN's own zeros are not, and the
        Jacobian of a decoder whose state z does not set failed with a shape error (vani-mi1)."""
        h = torch.zeros_like(like[:, 0, :1]).expand(-1, self.cfg.hidden_dim)            # (B, H)
        h = h.unsqueeze(0).expand(self.cfg.num_layers, -1, -1).contiguous()
        return (h, h.clone()) if self.is_lstm else h

    @staticmethod
    def select_state(state, rows: torch.Tensor):
        """Pick batch rows (e.g. surviving beams) of an LSTM (h, c) or GRU h state."""
        if isinstance(state, tuple):
            return tuple(s.index_select(1, rows) for s in state)
        return state.index_select(1, rows)

    def hidden(self, inputs: torch.Tensor, z: torch.Tensor | None, state=None, copies: int = 1):
        """Run the RNN on input ids (B, T) given z (B, n) (or None); returns outputs (B, T, H) and the state.

        `state` continues from a previous call (step-by-step decoding); None starts from z's initial state.
        An inputless decoder (`cfg.inputless`) sees `<unk>` for every real input except a sequence's first
        (`<bos>`) one. copies = L > 1 runs L decoders on the same inputs (LSTM-VAE-AVG, Kruengkrai 2019,
        Eq. 7-8): z is (L*B, n) stacked copy-major, the outputs and state cover L*B rows, and the embeddings
        are looked up once; the L runs draw a dropout mask each, or share one with
        `ModelConfig.avg_shared_dropout`.
        """
        if z is not None and hasattr(self, "highway"):
            z = self.highway(z)
        if self.cfg.inputless:
            keep = inputs == Vocab.pad_id
            if state is None:
                keep[:, 0] = True                                 # the <bos> that starts each sequence
            inputs = torch.where(keep, inputs, torch.full_like(inputs, Vocab.unk_id))
        emb = self.embedding(inputs)                                            # (B, T, E)
        shared = self.cfg.avg_shared_dropout
        if copies > 1 and not shared:
            emb = emb.repeat(copies, 1, 1)                              # a dropout mask per decoder run
        emb = self.emb_dropout(emb)
        if copies > 1 and shared:
            emb = emb.repeat(copies, 1, 1)                              # one mask for the L runs
        if self.z_concat:
            emb = torch.cat([emb, z[:, None, :].expand(-1, emb.size(1), -1)], dim=-1)
        if state is None:
            state = self.initial_state(z, inputs.size(0) * copies, inputs.device)
        if state is None:
            state = self._zero_state(emb)
        out, state = run_rnn(self.rnn, emb, state)
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
    """Bowman et al. (2016) sentence VAE and its sequence variants; with `cfg.model == "lm"` the z-less
    RNN-LM baseline.

    Methods (B = batch, T = padded length, n = latent_dim, S = samples):
      encode(x, lengths)            -> mu, logvar, each (B, n)
      reparameterize(mu, logvar, S) -> z (S, B, n)                     (Kingma & Welling 2014, Sec. 2.4)
      reconstruction(x, lengths, z) -> log p(x | z), (B,) nats per sentence; z (B, n) or (S, B, n) -> (S, B)
      reconstruction_avg(x, lengths, z (L, B, n)) -> log p(x | z^(1..L)) of LSTM-VAE-AVG, (B,)
      codes_per_sentence            -> L of those tuples (1 unless "vae-avg")
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
            self.to_mu = nn.Linear(self.encoder.out_dim, cfg.latent_dim, bias=cfg.linear_bias)
            self.posterior = posterior_family(cfg)
            if self.posterior.name == "gaussian":     # a vMF's concentration is fixed: no variance head
                self.to_logvar = nn.Linear(self.encoder.out_dim, cfg.latent_dim, bias=cfg.linear_bias)
            if cfg.mu_batchnorm_gamma > 0:
                # BN-VAE (Zhu et al. 2020, Sec. 4; valdersoul/bn-vae, modules/encoders/enc_lstm.py `mu_bn`):
                # batch normalisation of mu with its scale fixed at gamma and a learnt shift
                self.mu_bn = nn.BatchNorm1d(cfg.latent_dim)
                self.mu_bn.weight.requires_grad_(False)
                self._reset_mu_bn()
        if cfg.model == "mi-vae":
            self.mi_posterior = MIPosterior(cfg.hidden_dim, cfg.latent_dim)

    def encoder_parameters(self) -> list[nn.Parameter]:
        """Parameters of q(z|x): the encoder and the mu / logvar heads (for secondary optimisation)."""
        if not self.has_latent:
            return []
        mods = [self.encoder, self.to_mu] + [getattr(self, m) for m in ("to_logvar", "mu_bn") if hasattr(self, m)]
        return [p for m in mods for p in m.parameters()]

    @property
    def has_latent(self) -> bool:
        return self.cfg.has_latent

    @property
    def latent_dim(self) -> int:
        return self.cfg.latent_dim if self.has_latent else 0

    @property
    def codes_per_sentence(self) -> int:
        """L, how many codes the decoder reads per sentence: `avg_samples` for "vae-avg", whose decoder
        averages the states of L decoders, one per posterior sample (Kruengkrai 2019, Eq. 7-8); 1 otherwise.
        A draw from q(z|x) that the decoder was trained on is an L-tuple (L, B, n) (`vae_core.decoding`)."""
        return self.cfg.avg_samples

    def init_uniform_(self, scale: float, emb_scale: float = 0.0) -> None:
        """U(-scale, scale) initialisation of every parameter (Kruengkrai 2019, Table 1 uses 0.1); with
        `emb_scale` > 0 the embeddings get U(-emb_scale, emb_scale) instead (He et al. 2019's and Li et al.
        2019's code: 0.01 for the weights, 0.1 for the embeddings, text.py `uniform_initializer`)."""
        for p in self.parameters():
            nn.init.uniform_(p, -scale, scale)
        if emb_scale > 0:
            for m in self.modules():
                if isinstance(m, nn.Embedding):
                    nn.init.uniform_(m.weight, -emb_scale, emb_scale)
        if hasattr(self, "mu_bn"):
            self._reset_mu_bn()

    def _reset_mu_bn(self) -> None:
        """BN-VAE's batch normalisation of mu: scale gamma (fixed), shift 0 (learnt)."""
        with torch.no_grad():
            self.mu_bn.weight.fill_(self.cfg.mu_batchnorm_gamma)
            self.mu_bn.bias.zero_()

    def encode(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior q(z|x) = N(mu, diag exp(logvar)): mu and logvar, each (B, n).

        With a vMF posterior (cfg.posterior "vmf", Xu & Durrett 2018) mu is the unit mean direction (the
        head's output normalised, their vmf_batch.py `estimate_param`) and logvar the constant
        log(A_n(kappa) / kappa) (`VonMisesFisherPosterior.logvar_value`); sample, score and take the KL
        through `self.posterior` (`vae_core.posterior`), never with Gaussian formulas.
        Raises RuntimeError for the "lm" model, which has no posterior.
        """
        if not self.has_latent:
            raise RuntimeError("the language-model baseline has no encoder / posterior")
        h = self.encoder(self.encoder_tokens(x), lengths)
        mu = self.to_mu(h)
        if self.posterior.name == "vmf":
            mu = mu / mu.norm(dim=-1, keepdim=True).clamp(min=1e-12)
            return mu, torch.full_like(mu, self.posterior.logvar_value)
        if hasattr(self, "mu_bn"):
            mu = self._batch_norm_mu(mu)
        return mu, self.to_logvar(h).clamp(min=self.cfg.logvar_min)

    def _batch_norm_mu(self, mu: torch.Tensor) -> torch.Tensor:
        """BN-VAE (Zhu et al. 2020, Eq. 7): mu_d = gamma (m_d - mean_b m_d) / std_b m_d + beta_d over the batch
        in training, with the running statistics in evaluation (as their model's eval mode). So each
        dimension's batch mean of mu_d^2 is gamma^2 + beta_d^2, and the expected KL has the floor
        n gamma^2 / 2 that gamma sets. A training batch of one sentence, which has no batch statistics,
        uses the running ones."""
        if self.training and mu.size(0) < 2:
            return nn.functional.batch_norm(mu, self.mu_bn.running_mean, self.mu_bn.running_var, self.mu_bn.weight,
                                            self.mu_bn.bias, False, 0.0, self.mu_bn.eps)
        return self.mu_bn(mu)

    def encoder_tokens(self, x: torch.Tensor) -> torch.Tensor:
        """The ids the encoder reads for x (B, T): x itself (`w_1 .. w_n <eos>`), or with `cfg.encoder_bos`
        `<bos> w_1 .. w_n`, the decoder's teacher-forcing inputs without word dropout (Livne et al.'s code).
        Same shape and lengths as x."""
        return decoder_inputs(x, Vocab.bos_id, Vocab.unk_id) if self.cfg.encoder_bos else x

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor, n_samples: int = 1) -> torch.Tensor:
        """(S, B, n) reparameterised draws z ~ q(z|x) from mu, logvar (B, n): z = mu + sigma * eps for the
        Gaussian (Kingma & Welling 2014, Sec. 2.4), Wood's sampler for the vMF (`vae_core.posterior`)."""
        return self.posterior.sample(mu, logvar, n_samples)

    def reconstruction(self, x: torch.Tensor, lengths: torch.Tensor, z: torch.Tensor | None,
                       word_keep: float = 1.0, split: bool = False) -> torch.Tensor:
        """log p(x | z) in nats per sentence (sum over words and `<eos>`).

        x: (B, T) ids ending in `<eos>`; lengths: (B,); z: (B, n), (S, B, n) or None for the LM.
        Returns (B,) for 2-D z or None, (S, B) for 3-D z. Word dropout (`word_keep` < 1) is for training only.
        split=True returns the two parts instead, with a trailing dimension of 2: [..., 0] the words and
        [..., 1] the final `<eos>`. The words-only part is what Livne et al. 2020 evaluate ("We remove the
        <EOS> token during evaluation", Sec. 4.3; their test.py masks the `<eos>` target).
        """
        if z is not None and z.dim() == 3:
            S, B = z.shape[:2]
            rep = lambda t: t.unsqueeze(0).expand(S, *t.shape).reshape(S * B, *t.shape[1:])
            out = self.reconstruction(rep(x), rep(lengths), z.reshape(S * B, -1), word_keep, split)
            return out.view(S, B, *out.shape[1:])
        inp = decoder_inputs(x, Vocab.bos_id, Vocab.unk_id, word_keep if self.training else 1.0)
        hidden, _ = self.decoder.hidden(inp, z)
        parts = -self._token_nll(hidden, x, lengths)
        return parts if split else parts.sum(-1)

    def _token_nll(self, hidden: torch.Tensor, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """-log p(x_t | ...) per sentence from decoder states (B, T, H): (B, 2), summed over the real
        positions before the last one ([:, 0], the words) and the last one ([:, 1], the `<eos>`)."""
        lengths = lengths.to(x.device)
        mask = length_mask(lengths, x.size(1))
        # Project only real positions: padding never reaches the |V|-sized softmax. The output layer and the
        # cross-entropy are one fused node (vae_core.fused): the (N, |V|) logits are written once.
        out = self.decoder.out
        nll = linear_cross_entropy(self.decoder.out_dropout(hidden[mask]), out.weight, out.bias, x[mask])
        # Each real token goes to slot 2 b (words of sentence b) or 2 b + 1 (its last token, the <eos>).
        # output_size: known from nll's shape, so no second device-to-host sync on CUDA.
        slot = 2 * torch.repeat_interleave(torch.arange(len(lengths), device=x.device), lengths, output_size=len(nll))
        last = torch.cumsum(lengths, 0) - 1
        slot[last] += 1
        return torch.zeros(2 * len(lengths), dtype=nll.dtype, device=x.device).index_add_(0, slot, nll).view(-1, 2)

    def reconstruction_avg(self, x: torch.Tensor, lengths: torch.Tensor, z: torch.Tensor,
                           word_keep: float = 1.0, split: bool = False) -> torch.Tensor:
        """LSTM-VAE-AVG likelihood (Kruengkrai 2019, Eq. 7-8): log p(x | z^(1..L)), (B,) nats per sentence.

        The decoder runs once per z^(l) (z: (L, B, n); h_0^(l) from z^(l)), the hidden states are averaged,
        h~_t = (1/L) sum_l h_t^(l), and one softmax is taken over h~_t. With L = 1 this is `reconstruction`.
        The same word-dropped inputs are used for all L runs (their embedding dropout: `Decoder.hidden`).
        split=True: (B, 2), words and `<eos>` parts.
        """
        L, B = z.shape[:2]
        inp = decoder_inputs(x, Vocab.bos_id, Vocab.unk_id, word_keep if self.training else 1.0)
        hidden, _ = self.decoder.hidden(inp, z.reshape(L * B, -1), copies=L)            # (L*B, T, H)
        hidden = hidden.view(L, B, *hidden.shape[1:]).mean(0)
        parts = -self._token_nll(hidden, x, lengths)
        return parts if split else parts.sum(-1)

    def token_logprobs(self, x: torch.Tensor, lengths: torch.Tensor, z: torch.Tensor | None) -> torch.Tensor:
        """log p(x_t | x_<t, z) for each position, (B, T), zero at padding (for per-word inspection)."""
        inp = decoder_inputs(x, Vocab.bos_id, Vocab.unk_id)
        hidden, _ = self.decoder.hidden(inp, z)
        logp = torch.log_softmax(upcast(self.decoder.logits(hidden)), dim=-1)
        out = logp.gather(-1, x.unsqueeze(-1)).squeeze(-1)
        return out * length_mask(lengths.to(x.device), x.size(1))


def build_model(cfg: ModelConfig) -> nn.Module:
    """The network for a config: `SentenceVAE` for the sequence kinds, `bow.BowVAE` for "bow"."""
    if cfg.model == "bow":
        from .bow import BowVAE
        return BowVAE(cfg)
    return SentenceVAE(cfg)
