"""Named settings that reproduce each paper's PTB configuration (`python -m vae_core.train --preset NAME`).

A preset is a dict of ModelConfig / TrainConfig fields. Precedence: dataclass defaults < preset < --config
file < explicit flags, so `--preset kruengkrai2019-avg --avg-samples 10` is the L = 10 model.
Steps are counted in batches: one PTB epoch is 42068 / 32 = 1315 steps at batch 32, 2104 at batch 20.
"""
from __future__ import annotations

PTB_STEPS_PER_EPOCH_32 = 1315

_KRUENGKRAI = {     # Kruengkrai 2019, Table 1 (PTB) and Sec. 4
    "emb_dim": 100, "hidden_dim": 400, "latent_dim": 32, "z_concat": True, "z_to_init": True,
    "emb_dropout": 0.5, "out_dropout": 0.5, "init_uniform": 0.1, "optimizer": "sgd", "lr": 1.0,
    "batch_size": 32, "clip": 5.0, "lr_decay": 0.5, "lr_patience": 0, "epochs": 30,
    "kl_anneal": "linear", "kl_anneal_steps": 10 * PTB_STEPS_PER_EPOCH_32, "word_keep": 1.0,
}

PRESETS: dict[str, dict] = {
    # Bowman et al. 2016 style (the demo checkpoint's settings): logistic KL annealing, word dropout.
    "bowman2016": {"model": "vae", "emb_dim": 256, "hidden_dim": 256, "latent_dim": 32, "word_keep": 0.6,
                   "kl_anneal": "logistic", "kl_anneal_steps": 2500, "kl_logistic_k": 0.0025, "epochs": 10},
    "lstm-lm": {"model": "lm", "emb_dim": 256, "hidden_dim": 256, "epochs": 10},
    "kruengkrai2019-lm": {**_KRUENGKRAI, "model": "lm"},
    "kruengkrai2019-vae": {**_KRUENGKRAI, "model": "vae"},
    "kruengkrai2019-avg": {**_KRUENGKRAI, "model": "vae-avg", "avg_samples": 5},
    # Vani & Birodkar, Sec. 4: bi-GRU encoder with attention summary, highway on z concatenated to the
    # decoder inputs, shared embeddings, logistic KL annealing, word-dropout annealing 2000 -> 20000, lambda 1.
    "vani-mi": {"model": "mi-vae", "rnn": "gru", "encoder_bidirectional": True, "encoder_summary": "attention",
                "z_highway": True, "z_concat": True, "z_to_init": False, "tie_embeddings": True,
                "emb_dim": 256, "hidden_dim": 256, "latent_dim": 32, "kl_anneal": "logistic",
                "word_dropout_anneal": "linear", "word_dropout_start": 2000, "word_dropout_end": 20000,
                "mi_weight": 1.0, "epochs": 20},
    # Livne et al. 2020, Sec. 5 (PTB): 1-layer GRU, 512 hidden, 300 embeddings, z in {16, 128, 512}, 50%
    # embedding dropout, Adam 1e-3, batch 20, lr x0.25 after 2 epochs without improvement, reversed input.
    "livne2020-smim": {"model": "smim", "rnn": "gru", "encoder_reverse": True, "z_concat": True,
                       "z_to_init": False, "emb_dim": 300, "hidden_dim": 512, "latent_dim": 512,
                       "emb_dropout": 0.5, "optimizer": "adam", "lr": 1e-3, "batch_size": 20,
                       "lr_decay": 0.25, "lr_patience": 2, "kl_anneal": "none", "epochs": 20,
                       "logvar_min": -10.0},     # our floor (sigma >= 6.7e-3): A-MIM is unbounded as sigma -> 0
    # Krishnan, Liang & Hoffman 2018: MLP encoder on TF-IDF, multinomial decoder, secondary optimisation
    # with 100 steps at learning rate 0.01 (training time; use evaluate --refine-steps at test time).
    "krishnan2018-bow": {"model": "bow", "bow_features": "tfidf", "hidden_dim": 400, "latent_dim": 100,
                         "optimizer": "adam", "lr": 1e-3, "kl_anneal": "none", "refine_steps": 100,
                         "refine_lr": 0.01, "epochs": 20},
}


def apply_preset(name: str) -> dict:
    """The settings of preset `name` (a copy). Raises ValueError naming the known presets."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; known: {sorted(PRESETS)}")
    return dict(PRESETS[name])
