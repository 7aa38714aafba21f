"""Configuration dataclasses: what a model is (saved in every checkpoint) and how it is trained.

`ModelConfig` alone must be enough to rebuild the network from `config.json` (the app relies on it).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

# vae: Bowman et al. 2016; lm: its z-less baseline; vae-avg: Kruengkrai 2019 (Eq. 7-8); mi-vae: Vani &
# Birodkar (Eq. 6-9); smim: Livne et al. 2020 (Algorithm 1); bow: Krishnan, Liang & Hoffman 2018.
MODEL_KINDS = ("vae", "lm", "vae-avg", "mi-vae", "smim", "bow")
SEQUENCE_KINDS = ("vae", "lm", "vae-avg", "mi-vae", "smim")
KL_SCHEDULES = ("linear", "logistic", "cyclical", "constant", "none")
LR_SCHEDULES = ("plateau", "sa-vae", "livne", "he2019", "cosine-restarts")
_TYPES = {"int": (int,), "float": (int, float), "bool": (bool,), "str": (str,)}


def check_types(obj) -> None:
    """Raise ValueError naming the first field whose value does not have its annotated type (configs are
    read from JSON that may come from anywhere; a wrong type must fail here, not deep inside torch)."""
    for f in fields(obj):
        v = getattr(obj, f.name)
        ok = _TYPES.get(str(f.type), (object,))
        if not isinstance(v, ok) or (isinstance(v, bool) and bool not in ok):
            raise ValueError(f"{f.name} must be {f.type}, got {v!r}")


@dataclass
class ModelConfig:
    """Architecture of one model family (see MODEL_KINDS); rebuilt from config.json by `model.build_model`.

    model:          "vae" (Bowman et al. 2016), "lm" (the same decoder, no z), "vae-avg" (Kruengkrai 2019,
                    LSTM-VAE-AVG), "mi-vae" (Vani & Birodkar, with the auxiliary q_MI network), "smim"
                    (Livne et al. 2020; the architecture is a VAE's, the objective differs), "bow" (bag-of-words
                    nonlinear factor analysis, Krishnan et al. 2018).
    vocab_size:     |V| including the four specials.
    emb_dim, hidden_dim, latent_dim, num_layers: sizes (latent_dim is ignored for "lm"; for "bow" hidden_dim
                    is the width of the encoder and decoder MLPs and emb_dim is unused).
    rnn:            "lstm" or "gru" for encoder and decoder (Vani & Birodkar and Livne et al. use GRUs).
    encoder_bidirectional, encoder_summary: a bidirectional encoder and how its states become one vector,
                    "last" | "mean" | "attention" (Vani & Birodkar, Sec. 4, the summarisation F).
    encoder_reverse: the encoder reads the sentence backwards (Livne et al. 2020, Sec. 4).
    encoder_bos:    the encoder reads `<bos> w_1 .. w_n` (the decoder's input sequence) instead of
                    `w_1 .. w_n <eos>`; with encoder_reverse its last input is then the constant `<bos>`. Livne
                    et al.'s released code does this (SentenceMIM-demo, model.py: the encoder reads
                    `input_sequence`, reversed). With random batches it matters at z = 512 (presets.py,
                    `_LIVNE`). Checkpoints written before the option existed load with False, as they were
                    trained.
    z_highway:      pass z through a highway layer before the decoder (Vani & Birodkar, Sec. 4).
    z_to_init:      map z to the decoder's initial state (Bowman et al. 2016, Fig. 1).
    init_state:     how z sets that state. "tanh": c_0 = W z + b, h_0 = tanh(c_0) for an LSTM, h_0 = tanh(W z + b)
                    for a GRU (He et al. 2019's code). "linear": h_0 = W z + b with c_0 = 0 (Kruengkrai 2019,
                    Eq. 5 and Sec. 5.1: "while setting the initial cell state to zero"); for a GRU h_0 = W z + b,
                    the `latent2hidden` layer of Livne et al.'s released code (SentenceMIM-demo, model.py).
    inputless:      the decoder never sees the previous words: every input after `<bos>` is `<unk>`, in
                    training, evaluation and decoding alike (Bowman et al. 2016, Sec. 6.1: "supply all words as
                    inputs at test time except in the 0% setting"). Set by the trainer for word_keep = 0.
    z_concat:       concatenate z to every decoder input (Kruengkrai 2019, Sec. 4; Bowman's variant).
    avg_samples:    L of LSTM-VAE-AVG: decoder hidden states of L posterior samples are averaged before the
                    softmax (Kruengkrai 2019, Eq. 7-8); only for "vae-avg".
    avg_shared_dropout: the L decoder runs of "vae-avg" share one dropout mask on their word inputs (True)
                    or draw one each (False). The paper is silent and its code is not public. With independent
                    masks the average of L runs sees nearly every input feature, so input dropout regularises the
                    decoder less; a shared mask keeps the dropout a single decoder sees.
    bow_features:   "counts" or "tfidf" input to the bag-of-words encoder (Krishnan et al. 2018).
    logvar_min:     floor on the posterior log-variance (clamped in `encode`). The A-MIM loss is unbounded
                    below as sigma -> 0 (its -1/2 log q(z|x) grows without limit), so sMIM needs a floor; at
                    -30 (sigma >= 3e-7) it never binds for a VAE.
    emb_dropout, out_dropout: dropout on input embeddings and on the decoder output before the softmax.
    encoder_emb_dropout: apply emb_dropout to the encoder's embeddings too (False: decoder only, as in Livne
                    et al.'s released code, where `embedding_dropout` is applied in the decoder pass only).
    bow_decoder_layers: hidden layers of the bag-of-words decoder MLP (the encoder always has 2). Krishnan et
                    al.'s runs use 2 (`-pl 2`, with `-ql 2` in the encoder; rahulk90/vae_sparse, expt/).
    tie_embeddings: encoder and decoder share one embedding table.
    linear_bias:    the posterior head (mu, logvar), z's map to the decoder state and the output layer have
                    biases. He et al. 2019's and Li et al. 2019's code has none there (jxhe/vae-lagging-encoder
                    and bohanli/vae-pretraining-encoder, modules/encoders/enc_lstm.py, decoders/dec_lstm.py:
                    `nn.Linear(..., bias=False)`); checkpoints written before the option load with True.
    mu_batchnorm_gamma: BN-VAE (Zhu et al. 2020): batch-normalise mu with this fixed scale gamma and a learnt
                    shift, which puts the floor n gamma^2 / 2 under the expected KL (0 = off).
    posterior, vmf_kappa: "gaussian" (every paper's diagonal Gaussian with prior N(0, I)) or "vmf": a von
                    Mises-Fisher posterior with fixed concentration vmf_kappa and a uniform prior on the unit
                    sphere (Xu & Durrett 2018; `vae_core.posterior`). vmf is for model "vae" only.
    init_state "linear-hc": h_0 = W_h z + b_h and c_0 = W_c z + b_c, two maps (Xu & Durrett's code,
                    NVLL/model/nvrnn.py `convert_z_to_hidden`); an LSTM only.
    """

    model: str = "vae"
    vocab_size: int = 10004
    emb_dim: int = 256
    hidden_dim: int = 256
    latent_dim: int = 32
    num_layers: int = 1
    rnn: str = "lstm"
    encoder_bidirectional: bool = False
    encoder_summary: str = "last"
    encoder_reverse: bool = False
    encoder_bos: bool = False
    z_highway: bool = False
    z_to_init: bool = True
    init_state: str = "tanh"
    inputless: bool = False
    z_concat: bool = True
    avg_samples: int = 1
    avg_shared_dropout: bool = False
    bow_features: str = "counts"
    logvar_min: float = -30.0
    emb_dropout: float = 0.0
    out_dropout: float = 0.0
    tie_embeddings: bool = False
    encoder_emb_dropout: bool = True
    bow_decoder_layers: int = 1
    linear_bias: bool = True
    mu_batchnorm_gamma: float = 0.0
    posterior: str = "gaussian"
    vmf_kappa: float = 0.0

    def __post_init__(self):
        check_types(self)
        if self.model not in MODEL_KINDS:
            raise ValueError(f"model must be one of {MODEL_KINDS}, got {self.model!r}")
        for name in ("vocab_size", "emb_dim", "hidden_dim", "num_layers", "bow_decoder_layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.rnn not in ("lstm", "gru"):
            raise ValueError(f"rnn must be lstm or gru, got {self.rnn!r}")
        if self.init_state not in ("tanh", "linear", "linear-hc"):
            raise ValueError(f"init_state must be tanh, linear or linear-hc, got {self.init_state!r}")
        if self.init_state == "linear-hc" and self.rnn != "lstm":
            raise ValueError("init_state linear-hc sets an LSTM's h_0 and c_0; it needs rnn lstm")
        if self.posterior not in ("gaussian", "vmf"):
            raise ValueError(f"posterior must be gaussian or vmf, got {self.posterior!r}")
        if self.posterior == "vmf" and (self.model != "vae" or not self.vmf_kappa > 0 or self.latent_dim < 2
                                        or self.mu_batchnorm_gamma > 0):
            raise ValueError(f"a vMF posterior is for model vae with vmf_kappa > 0, latent_dim >= 2 and no "
                             f"mu_batchnorm_gamma; got model {self.model!r}, vmf_kappa {self.vmf_kappa}, "
                             f"latent_dim {self.latent_dim}")
        if self.posterior == "gaussian" and self.vmf_kappa != 0:
            raise ValueError(f"vmf_kappa is for posterior vmf; got {self.vmf_kappa} with a Gaussian posterior")
        if self.encoder_summary not in ("last", "mean", "attention"):
            raise ValueError(f"encoder_summary must be last, mean or attention, got {self.encoder_summary!r}")
        if self.bow_features not in ("counts", "tfidf"):
            raise ValueError(f"bow_features must be counts or tfidf, got {self.bow_features!r}")
        if self.avg_samples < 1 or (self.model != "vae-avg" and self.avg_samples != 1):
            raise ValueError(f"avg_samples must be >= 1, and 1 unless model is vae-avg; got {self.avg_samples}")
        if self.avg_shared_dropout and self.model != "vae-avg":
            raise ValueError(f"avg_shared_dropout is for model vae-avg only, got model {self.model!r}")
        if self.has_latent:
            if self.latent_dim < 1:
                raise ValueError(f"latent_dim must be >= 1 for a VAE, got {self.latent_dim}")
            if not (self.z_to_init or self.z_concat):
                raise ValueError("a VAE decoder needs z somewhere: set z_to_init and/or z_concat")
        if self.mu_batchnorm_gamma < 0 or (self.mu_batchnorm_gamma > 0 and self.model not in ("vae", "vae-avg", "mi-vae")):
            raise ValueError(f"mu_batchnorm_gamma must be >= 0, and is for VAEs with a Gaussian posterior; got "
                             f"{self.mu_batchnorm_gamma} for model {self.model!r}")
        for name in ("emb_dropout", "out_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")

    @property
    def has_latent(self) -> bool:
        return self.model != "lm"

    @property
    def is_sequence(self) -> bool:
        """True for autoregressive sentence decoders (everything but the bag-of-words model)."""
        return self.model in SEQUENCE_KINDS

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"model config has unknown keys {unknown}")
        return cls(**d)


@dataclass
class TrainConfig:
    """Training settings (all saved in the checkpoint so a run can be resumed and reported).

    Objective: Bowman et al. 2016, Eq. (1) with a KL weight (Sec. 3.1, KL cost annealing) and word dropout
    with keep rate `word_keep` (Sec. 3.1; 0 = inputless decoder, 1 = no word dropout).
    kl_anneal: "linear" (`kl_start` -> 1 at a slope of 1 / `kl_anneal_steps` a step), "logistic"
               (1 / (1 + exp(-k (step - x0))) with k = `kl_logistic_k`, x0 = `kl_anneal_steps`), "cyclical"
               (the linear schedule again every `kl_cycle_steps` steps; Fu et al. 2019), "constant"
               (`kl_start` throughout: 0 trains an autoencoder, Li et al. 2019's pre-training) or "none"
               (weight 1 from the start). See `vae_core.schedules.kl_weight`.
    lr_schedule: "plateau": the lr is multiplied by `lr_decay` once validation has not improved for
               `lr_patience` + 1 epochs in a row (ReduceLROnPlateau, never below `min_lr`). "sa-vae": Kim et
               al. 2018's code (harvardnlp/sa-vae, train_text.py): from the first epoch after epoch
               `lr_decay_start` whose validation does not improve, the lr is multiplied by `lr_decay` after
               every epoch, and training stops once it falls below `min_lr` (their 0.02). "livne": Livne et
               al. 2020's code (SentenceMIM-demo, train.py): the lr is multiplied by `lr_decay` on the
               (`lr_patience` + 1)-th validation miss since the last decay, misses in a row or not. "he2019":
               He et al. 2019's and Li et al. 2019's code (jxhe/vae-lagging-encoder and
               bohanli/vae-pretraining-encoder, text.py): once `lr_patience` epochs after epoch
               `lr_decay_start` are worse than a reference loss (the last epoch that was not worse, or the
               epoch of the last decay), the lr is multiplied by `lr_decay`, the best model so far is loaded
               back and the optimizer's state cleared; training stops after `max_lr_decays` decays.
    aggressive: He et al. 2019's aggressive inference-network training (Algorithm 1; text.py
               `--aggressive 1`): before each decoder step the encoder alone is updated on fresh random
               batches until its loss stops improving (checked every 15 updates, at most 99); once the
               validation mutual information (per batch, their `calc_mi`) falls at an epoch's end, training
               goes on as a plain VAE.
    Budget: stops at the first of `epochs`, `max_steps`, `max_minutes` (0 = no limit for the last two).
    word_dropout_anneal: "none" or "linear": the word-dropout rate goes from 1.0 at `word_dropout_start`
               to 0.0 at `word_dropout_end` (Vani & Birodkar, Sec. 4: steps 2000 and 20000); replaces word_keep.
    z_samples: L posterior samples per step for the reconstruction term (Kruengkrai 2019, Eq. 3); for
               "vae-avg" the model's own avg_samples is used instead.
    free_bits: lambda nats per latent dimension: the KL term becomes sum_d max(lambda, batch-mean KL_d)
               (Kingma et al. 2016, Eq. 15; the baseline of Li et al. 2019); 0 = off. free_bits_mode
               "example" thresholds each sentence's KL_d instead (Li et al.'s code, `--fb 2`; see
               `objectives.free_bits_kl`).
    init_from, reset_decoder: start from the weights of another checkpoint (its encoder, posterior head and,
               unless reset_decoder, its decoder), the rest initialised as usual: Li et al. 2019's second
               stage (text_anneal_fb.py --load_path AE --reset_dec).
    lr_schedule "cosine-restarts": lr * (1 + cos(pi * (epoch mod lr_cycle_epochs) / lr_cycle_epochs)) / 2
               at the start of each epoch (Fu et al. 2019's PTB code, with its KL cycles).
    mi_weight: lambda of the mutual-information criterion, L = L_VAE + lambda L_MI (Vani & Birodkar, Eq. 9);
               "mi-vae" only. mi_max_len caps the sentences sampled for L_MI.
    tokenizer: the rules that bring typed text to the corpus' preprocessing, saved with the vocabulary:
               "ptb-mikolov", "whitespace", or a JSON file of `vae_core.tokenize.TokenizerRules`.
    early_stop: stop when the validation NLL has not improved for this many consecutive epochs (0 = off).
               Kruengkrai 2019, Sec. 5.1: "until the validation perplexity has not improved for 3 times"; the
               count is consecutive as in the code it builds on (Xu & Durrett 2018, vmf_vae_nlp: `dead_cnt` is
               reset by an improvement). The checkpoint in OUT/best is the one to evaluate.
    bucket: build training batches from sentences of about the same length (less padding, faster); false
               draws each batch at random from the whole split, as Livne et al.'s code does
               (seraphlabs-ca/SentenceMIM-demo, train.py: DataLoader(shuffle=True)).
    refine_steps, refine_lr: secondary optimisation of the local variational parameters at training time
               (Krishnan et al. 2018): the decoder is updated at the refined (mu, logvar), the encoder by its
               own ELBO; 0 = off.
    """

    data: str = ""
    out: str = ""
    seed: int = 0
    batch_size: int = 32
    epochs: int = 10
    max_steps: int = 0
    max_minutes: float = 0.0
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.0
    clip: float = 5.0
    lr_decay: float = 0.5
    lr_patience: int = 1
    min_lr: float = 1e-5
    lr_schedule: str = "plateau"
    lr_decay_start: int = 0
    early_stop: int = 0
    tokenizer: str = "ptb-mikolov"
    kl_anneal: str = "logistic"
    kl_anneal_steps: int = 2500
    kl_logistic_k: float = 0.0025
    kl_start: float = 0.0
    word_keep: float = 1.0
    max_tokens: int = 0
    max_vocab: int = 0
    log_every: int = 50
    save_every: int = 500
    val_batch_size: int = 128
    threads: int = 0
    device: str = "auto"
    amp: str = "auto"
    init_uniform: float = 0.0
    init_emb_uniform: float = 0.0
    max_lr_decays: int = 0
    aggressive: bool = False
    kl_cycle_steps: int = 0
    lr_cycle_epochs: int = 0
    free_bits_mode: str = "batch"
    init_from: str = ""
    reset_decoder: bool = False
    word_dropout_anneal: str = "none"
    word_dropout_start: int = 2000
    word_dropout_end: int = 20000
    z_samples: int = 1
    free_bits: float = 0.0
    mi_weight: float = 1.0
    mi_max_len: int = 40
    refine_steps: int = 0
    refine_lr: float = 0.01
    bucket: bool = True

    def __post_init__(self):
        check_types(self)
        if self.optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be sgd or adam, got {self.optimizer!r}")
        if self.kl_anneal not in KL_SCHEDULES:
            raise ValueError(f"kl_anneal must be one of {KL_SCHEDULES}, got {self.kl_anneal!r}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")
        if self.lr_schedule == "cosine-restarts" and self.lr_cycle_epochs < 1:
            raise ValueError("lr_schedule cosine-restarts needs lr_cycle_epochs >= 1")
        if self.kl_anneal == "cyclical" and self.kl_cycle_steps < 1:
            raise ValueError("kl_anneal cyclical needs kl_cycle_steps >= 1")
        if self.reset_decoder and not self.init_from:
            raise ValueError("reset_decoder needs init_from, the checkpoint whose encoder this run starts from")
        if self.free_bits_mode not in ("batch", "example"):
            raise ValueError(f"free_bits_mode must be batch or example, got {self.free_bits_mode!r}")
        if not 0.0 <= self.kl_start <= 1.0:
            raise ValueError(f"kl_start must be in [0, 1], got {self.kl_start}")
        if not 0.0 <= self.word_keep <= 1.0:
            raise ValueError(f"word_keep must be in [0, 1], got {self.word_keep}")
        if self.amp not in ("auto", "off", "bf16", "fp16"):
            raise ValueError(f"amp must be auto, off, bf16 or fp16, got {self.amp!r}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.word_dropout_anneal not in ("none", "linear"):
            raise ValueError(f"word_dropout_anneal must be none or linear, got {self.word_dropout_anneal!r}")
        if self.word_dropout_end <= self.word_dropout_start and self.word_dropout_anneal != "none":
            raise ValueError("word_dropout_end must be after word_dropout_start")
        for name in ("z_samples",):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("free_bits", "mi_weight", "refine_steps", "refine_lr", "mi_max_len", "early_stop",
                     "lr_decay_start", "max_lr_decays"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})
