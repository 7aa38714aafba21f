"""Secondary optimisation of the local variational parameters (Krishnan, Liang & Hoffman 2018, Sec. 3).

The inference network's (mu, logvar) for each example is only a starting point: a few gradient steps on
that example's ELBO with respect to (mu, logvar) (the authors: 100 steps, learning rate 0.01) close part of
the amortisation gap. At test time the bound is evaluated at the refined parameters; at training time the
decoder is updated there while the encoder keeps learning from its own ELBO (`vae_core.train`).
Works for every model with an ELBO (sequence models, "vae-avg" with its own objective, and the bag-of-words
model); the model's weights are not changed and receive no gradient.
"""
from __future__ import annotations

import torch

from .model import upcast
from .objectives import elbo_at


def refine_posterior(model, x: torch.Tensor, lengths: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
                     steps: int = 100, lr: float = 0.01, n_samples: int = 1,
                     logvar_range: tuple[float, float] = (-20.0, 10.0)) -> tuple[torch.Tensor, torch.Tensor]:
    """Refined (mu, logvar), each (B, n), detached: `steps` Adam steps with learning rate `lr` on the
    per-example negative ELBO (KL weight 1, no word dropout; `n_samples` reparameterised samples per step).

    The examples are optimised jointly but independently: the loss is a sum over examples and Adam's
    update is per coordinate, so each row follows its own ELBO. logvar is clamped to `logvar_range` after
    every step (a collapsing variance would otherwise overflow exp). The model is put in eval mode during
    the steps and restored. x: (B, T), lengths: (B,). Raises ValueError for steps < 0 or lr <= 0.
    """
    if steps < 0 or lr <= 0:
        raise ValueError(f"secondary optimisation needs steps >= 0 and lr > 0, got steps={steps}, lr={lr}")
    mu = upcast(mu.detach()).clone().requires_grad_(True)          # half precision (AMP) -> float32
    logvar = upcast(logvar.detach()).clone().requires_grad_(True)
    if steps == 0:
        return mu.detach(), logvar.detach()
    was_training = model.training
    model.eval()
    opt = torch.optim.Adam([mu, logvar], lr=lr)
    try:
        with torch.enable_grad():
            for _ in range(steps):
                loss = elbo_at(model, x, lengths, mu, logvar, n_samples=n_samples).loss.sum()
                opt.zero_grad(set_to_none=True)
                mu.grad, logvar.grad = torch.autograd.grad(loss, [mu, logvar])   # no parameter gradients
                opt.step()
                with torch.no_grad():
                    logvar.clamp_(*logvar_range)
    finally:
        model.train(was_training)
    return mu.detach(), logvar.detach()
