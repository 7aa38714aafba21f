"""Step- and epoch-indexed schedules: the KL weight of KL cost annealing (Bowman et al. 2016, Sec. 3.1, Fig. 2;
cyclical, Fu et al. 2019), the word keep rate, the cosine learning rate of Fu et al.'s code, and the validation
loss that the epoch-end schedules (lr decay, early stopping, OUT/best) compare, which the KL schedule decides."""
from __future__ import annotations

import math


def kl_weight(step: int, kind: str = "logistic", anneal_steps: int = 2500, logistic_k: float = 0.0025,
              start: float = 0.0, cycle_steps: int = 0) -> float:
    """KL weight beta at optimisation step `step` (0-based), in [0, 1].

    linear:   min(1, start + step / anneal_steps)                  (Kruengkrai 2019: 0 -> 1 over 10 epochs;
              Kim et al. 2018's code, harvardnlp/sa-vae train_text.py: start 0.1, the same slope, so 1 is
              reached after 9 of its 10 warm-up epochs)
    logistic: 1 / (1 + exp(-k (step - anneal_steps)))              (Bowman et al. 2016, Fig. 2; the midpoint
              is at `anneal_steps`, k sets the steepness)
    cyclical: the linear schedule started again every `cycle_steps` steps (Fu et al. 2019, Eq. 7-8, as their
              PTB code runs it: haofuml/cyclical_annealing, language_model/train_text_cyc_ptb.py, beta back to
              0.1 every 10 epochs and up by 1 / (5 epochs) a step, then 1 for the rest of the cycle)
    constant: `start` throughout (a beta-VAE; beta = 0 is Li et al. 2019's autoencoder pre-training,
              bohanli/vae-pretraining-encoder text_beta.py --beta 0)
    none:     1
    `start` is used by the linear, cyclical and constant schedules only. Raises ValueError for an unknown kind.
    """
    if kind == "none":
        return 1.0
    if kind == "constant":
        return start
    if kind == "cyclical":
        if cycle_steps <= 0:
            raise ValueError("the cyclical schedule needs cycle_steps > 0")
        return kl_weight(step % cycle_steps, "linear", anneal_steps, start=start)
    if kind == "linear":
        return 1.0 if anneal_steps <= 0 else min(1.0, start + step / anneal_steps)
    if kind == "logistic":
        t = -logistic_k * (step - anneal_steps)
        return 0.0 if t > 700 else 1.0 / (1.0 + math.exp(t))
    raise ValueError(f"unknown KL annealing schedule {kind!r} (linear, logistic, cyclical, constant, none)")


def word_keep_rate(step: int, kind: str = "none", keep: float = 1.0, start: int = 2000, end: int = 20000) -> float:
    """Word-dropout keep rate k at step `step`, in [0, 1] (1 - k is the rate of replacing inputs by `<unk>`).

    none:   the constant `keep` (Bowman et al. 2016, Sec. 3.1).
    linear: word-dropout annealing of Vani & Birodkar (Sec. 4): dropout rate 1.0 (inputless decoder) until
            `start`, falling linearly to 0.0 at `end`, i.e. k = clamp((step - start) / (end - start), 0, 1).
    Raises ValueError for an unknown kind.
    """
    if kind == "none":
        return keep
    if kind == "linear":
        return min(1.0, max(0.0, (step - start) / (end - start)))
    raise ValueError(f"unknown word-dropout schedule {kind!r} (none, linear)")


def cosine_restart_lr(lr: float, epoch: int, cycle_epochs: int) -> float:
    """The learning rate of epoch `epoch` (0-based) under Fu et al. 2019's PTB code (haofuml/cyclical_annealing,
    language_model/train_text_cyc_ptb.py): lr * (1 + cos(pi * (epoch mod cycle) / cycle)) / 2, restarting with
    every KL cycle. Raises ValueError for cycle_epochs < 1."""
    if cycle_epochs < 1:
        raise ValueError(f"cycle_epochs must be >= 1, got {cycle_epochs}")
    return lr * 0.5 * (1 + math.cos(math.pi * (epoch % cycle_epochs) / cycle_epochs))


def selection_metric(record: dict, kl_anneal: str = "linear", kl_start: float = 1.0) -> float:
    """The validation loss of an epoch record that picks OUT/best and drives the lr schedule and early stopping,
    in nats per sentence: sMIM's own objective (A-MIM); under a constant KL weight beta (`kl_anneal` "constant",
    beta = `kl_start`), rec + beta KL, the loss Li et al. 2019's text_beta.py validates with (`model.loss(batch,
    args.beta)`: their autoencoder stage, beta = 0, is selected by reconstruction alone); otherwise the negative
    ELBO rec + KL, as He et al. 2019's text.py and Li et al.'s text_anneal_fb.py (whose test() weighs the KL by
    1.0) and the papers' other code select. The trainer uses it (`vae_core.train`), and `bench/reproduce.py`
    reads run histories with it."""
    if "val_amim" in record:
        return record["val_amim"]
    if kl_anneal == "constant" and "val_rec" in record and "val_kl" in record:
        return record["val_rec"] + kl_start * record["val_kl"]
    return record["val_nll"]
