"""Configuration dataclasses: what a model is (saved in every checkpoint) and how it is trained.

`ModelConfig` alone must be enough to rebuild the network from `config.json` (the app relies on it).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

MODEL_KINDS = ("vae", "lm")
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
    """Architecture of a sentence VAE (Bowman et al. 2016, Sec. 3) or of its LSTM-LM baseline.

    model:          "vae" (encoder + latent + decoder) or "lm" (the same decoder, no z).
    vocab_size:     |V| including the four specials.
    emb_dim, hidden_dim, latent_dim, num_layers: sizes (latent_dim is ignored for "lm").
    z_to_init:      map z to the decoder's initial state (Bowman et al. 2016, Fig. 1).
    z_concat:       concatenate z to every decoder input (Kruengkrai 2019, Sec. 4; Bowman's variant).
    emb_dropout, out_dropout: dropout on input embeddings and on the decoder output before the softmax.
    tie_embeddings: encoder and decoder share one embedding table.
    """

    model: str = "vae"
    vocab_size: int = 10004
    emb_dim: int = 256
    hidden_dim: int = 256
    latent_dim: int = 32
    num_layers: int = 1
    z_to_init: bool = True
    z_concat: bool = True
    emb_dropout: float = 0.0
    out_dropout: float = 0.0
    tie_embeddings: bool = False

    def __post_init__(self):
        check_types(self)
        if self.model not in MODEL_KINDS:
            raise ValueError(f"model must be one of {MODEL_KINDS}, got {self.model!r}")
        for name in ("vocab_size", "emb_dim", "hidden_dim", "num_layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.model == "vae":
            if self.latent_dim < 1:
                raise ValueError(f"latent_dim must be >= 1 for a VAE, got {self.latent_dim}")
            if not (self.z_to_init or self.z_concat):
                raise ValueError("a VAE decoder needs z somewhere: set z_to_init and/or z_concat")
        for name in ("emb_dropout", "out_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")

    @property
    def has_latent(self) -> bool:
        return self.model != "lm"

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
    kl_anneal: "linear" (0 -> 1 over `kl_anneal_steps`), "logistic" (1 / (1 + exp(-k (step - x0))) with
               k = `kl_logistic_k`, x0 = `kl_anneal_steps`), or "none" (weight 1 from the start).
    Budget: stops at the first of `epochs`, `max_steps`, `max_minutes` (0 = no limit for the last two).
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
    kl_anneal: str = "logistic"
    kl_anneal_steps: int = 2500
    kl_logistic_k: float = 0.0025
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

    def __post_init__(self):
        check_types(self)
        if self.optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be sgd or adam, got {self.optimizer!r}")
        if self.kl_anneal not in ("linear", "logistic", "none"):
            raise ValueError(f"kl_anneal must be linear, logistic or none, got {self.kl_anneal!r}")
        if not 0.0 <= self.word_keep <= 1.0:
            raise ValueError(f"word_keep must be in [0, 1], got {self.word_keep}")
        if self.amp not in ("auto", "off", "bf16", "fp16"):
            raise ValueError(f"amp must be auto, off, bf16 or fp16, got {self.amp!r}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})
