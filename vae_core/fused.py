"""Fused output layer + cross-entropy: -log softmax(h W^T + b)[target] per token, in one autograd node.

Why: on a 10k vocabulary the output layer dominates a sentence-VAE step. The unfused path (Linear, upcast
to float32, log_softmax, gather; then their four backwards) writes and reads the (N, |V|) logits about ten
times and, under bf16 autocast, keeps a float32 and a bf16 copy alive. Here the forward computes the logits
once, turns them *in place* into the softmax minus the one-hot target (which is exactly d nll / d logits),
and keeps only that, in the matmul dtype; the backward is one scale and two matrix multiplies.

Numbers are those of `F.cross_entropy(F.linear(h, W, b).float(), target, reduction="none")`: the
log-sum-exp is always taken in float32 (tests compare values and gradients with the unfused path).
"""
from __future__ import annotations

import torch


def _compute_dtype(t: torch.Tensor) -> torch.dtype:
    """The matmul dtype: the autocast dtype when autocast is on for t's device, else t's own dtype."""
    dev = t.device.type
    if torch.is_autocast_enabled(dev):
        return torch.get_autocast_dtype(dev)
    return t.dtype


def _log_probs(logits: torch.Tensor) -> torch.Tensor:
    """log softmax over the last dimension in one row-wise kernel, in float32 at least (float64 stays)."""
    return torch.log_softmax(logits, dim=1, dtype=torch.promote_types(logits.dtype, torch.float32))


class _LinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, hidden, weight, bias, target):
        dtype = _compute_dtype(hidden)
        with torch.autocast(hidden.device.type, enabled=False):
            h, w = hidden.to(dtype), weight.to(dtype)
            logits = torch.addmm(bias.to(dtype), h, w.t()) if bias is not None else h @ w.t()
            logp = _log_probs(logits)                                             # (N, V)
            nll = -logp.gather(1, target[:, None]).squeeze(1)                     # (N,) nats
            grad = logp.exp_()                                                    # softmax, in place
            grad[torch.arange(len(target), device=grad.device), target] -= 1.0   # d nll / d logits
            grad = grad.to(dtype)                                                 # the matmul dtype
        ctx.save_for_backward(grad, h, w)
        ctx.has_bias = bias is not None
        ctx.dtypes = (hidden.dtype, weight.dtype, bias.dtype if bias is not None else None)
        return nll

    @staticmethod
    def backward(ctx, grad_nll):
        grad, h, w = ctx.saved_tensors               # grad: (N, V) = softmax - one-hot, unscaled
        # The upstream gradient scales rows of `grad`; it is applied on the small side of each product
        # (h for the weight, the (N, H) result for the input), never to the (N, V) tensor itself.
        s = grad_nll.to(grad.dtype)[:, None]          # (N, 1)
        d_hidden = d_weight = d_bias = None
        if ctx.needs_input_grad[0]:
            d_hidden = ((grad @ w) * s).to(ctx.dtypes[0])
        if ctx.needs_input_grad[1]:
            d_weight = (grad.t() @ (h * s)).to(ctx.dtypes[1])
        if ctx.has_bias and ctx.needs_input_grad[2]:
            d_bias = (s.t() @ grad).squeeze(0).to(ctx.dtypes[2])     # a (1, N) @ (N, V) product: one pass
        return d_hidden, d_weight, d_bias, None


def linear_cross_entropy(hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                         target: torch.Tensor) -> torch.Tensor:
    """-log softmax(hidden @ weight.T + bias)[target] for each row, in nats.

    hidden: (N, H); weight: (V, H); bias: (V,) or None; target: (N,) ids in [0, V).
    Returns (N,) float32 (float64 for a float64 model). Under autocast the matrix multiplies run in the
    autocast dtype and the softmax in float32. Memory: one (N, V) tensor in the matmul dtype is kept for
    the backward; without gradients (scoring) nothing is kept.
    """
    if not (torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (hidden, weight, bias))):
        # scoring only (evaluation, overlap matrices): no softmax-minus-one-hot to build and keep
        logp = _log_probs(torch.nn.functional.linear(hidden, weight, bias))
        return -logp.gather(1, target[:, None]).squeeze(1)
    return _LinearCrossEntropy.apply(hidden, weight, bias, target)
