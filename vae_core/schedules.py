"""Step-indexed schedules: the KL weight of KL cost annealing (Bowman et al. 2016, Sec. 3.1, Fig. 2)."""
from __future__ import annotations

import math


def kl_weight(step: int, kind: str = "logistic", anneal_steps: int = 2500, logistic_k: float = 0.0025,
              start: float = 0.0) -> float:
    """KL weight beta at optimisation step `step` (0-based), in [0, 1].

    linear:   min(1, start + step / anneal_steps)                  (Kruengkrai 2019: 0 -> 1 over 10 epochs;
              Kim et al. 2018's code, harvardnlp/sa-vae train_text.py: start 0.1, the same slope, so 1 is
              reached after 9 of its 10 warm-up epochs)
    logistic: 1 / (1 + exp(-k (step - anneal_steps)))              (Bowman et al. 2016, Fig. 2; the midpoint
              is at `anneal_steps`, k sets the steepness)
    none:     1
    `start` is used by the linear schedule only. Raises ValueError for an unknown kind.
    """
    if kind == "none":
        return 1.0
    if kind == "linear":
        return 1.0 if anneal_steps <= 0 else min(1.0, start + step / anneal_steps)
    if kind == "logistic":
        t = -logistic_k * (step - anneal_steps)
        return 0.0 if t > 700 else 1.0 / (1.0 + math.exp(t))
    raise ValueError(f"unknown KL annealing schedule {kind!r} (linear, logistic, none)")


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
