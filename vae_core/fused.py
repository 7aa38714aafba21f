"""Fused output layer + cross-entropy: -log softmax(h W^T + b)[target] per token, in one autograd node.

Why: on a 10k vocabulary the output layer dominates a sentence-VAE step. The unfused path (Linear, upcast
to float32, log_softmax, gather; then their four backwards) writes and reads the (N, |V|) logits about ten
times and, under bf16 autocast, keeps a float32 and a bf16 copy alive. Here the forward computes the logits
block by block (CHUNK rows, small enough to stay in cache), turns each block *in place* into the softmax
minus the one-hot target (which is exactly d nll / d logits) and stores it, in the matmul dtype; the
backward is one scale and two matrix multiplies. Scoring without gradients keeps nothing of size N x |V|.

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


# Rows per block: a block's logits (CHUNK x |V|, 2.5 MB in float32 at |V| = 10k) stay in cache while they
# are turned into log-sum-exp, loss and softmax-minus-one-hot, instead of several passes over all N x |V|.
CHUNK = 64
# Rows per matrix multiply when only scoring (no gradient): 2048 x 10k float32 logits are 80 MB at most,
# whatever the number of sequences scored at once (IW-NLL, overlap matrices).
SCORE_ROWS = 2048


def _loss_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype of the softmax: float32 at least (float64 stays float64)."""
    return torch.promote_types(dtype, torch.float32)


def fused_nll(hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, target: torch.Tensor,
              grad_out: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """-log softmax(hidden @ weight.T + bias)[target] per row, (N,) in the loss dtype (float32 at least), and
    with `grad_out` also d nll / d logits = softmax - one-hot, (N, |V|) in hidden's dtype (else None).

    The logits are one matrix multiply in hidden's dtype (a full-size product: 64-row pieces ran at 40% of
    its speed). The softmax then goes block by block, CHUNK rows at a time, in the loss dtype and in cache:
    the max in the logits' dtype (exact), the block copied to float32, and the gradient written over the
    logits in place.
    """
    N = hidden.size(0)
    if not grad_out and N > SCORE_ROWS:          # scoring: bounded memory for any N, pieces still large
        return torch.cat([fused_nll(hidden[s:s + SCORE_ROWS], weight, bias, target[s:s + SCORE_ROWS])[0]
                          for s in range(0, N, SCORE_ROWS)]), None
    logits = hidden @ weight.t()      # (N, |V|); the bias is added per block (addmm first copies it to all rows)
    ldt = _loss_dtype(logits.dtype)
    nll = torch.empty(N, dtype=ldt, device=logits.device)
    buf = None if logits.dtype == ldt else torch.empty((min(CHUNK, N), logits.size(1)), dtype=ldt, device=logits.device)
    for s in range(0, N, CHUNK):
        e = min(s + CHUNK, N)
        block, tgt = logits[s:e], target[s:e]
        if bias is not None:
            block.add_(bias)
        rows = torch.arange(e - s, device=logits.device)
        picked = block[rows, tgt].to(ldt)
        top = block.amax(1, keepdim=True)
        # a plain copy into the float32 buffer, then float32 ops in place (faster than a mixed-dtype subtract,
        # and than logsumexp, which copies its input): exp(logits - max), its sum, and from them the loss
        shifted = block if buf is None else buf[: e - s].copy_(block)
        total = shifted.sub_(top).exp_().sum(1, keepdim=True)
        nll[s:e] = (top.to(ldt) + total.log()).squeeze(1) - picked
        if grad_out:
            shifted.div_(total)                                                      # the softmax
            shifted[rows, tgt] -= 1.0
            if buf is not None:
                block.copy_(shifted)                                                 # back in the matmul dtype
    return nll, (logits if grad_out else None)


class _LinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, hidden, weight, bias, target):
        dtype = _compute_dtype(hidden)
        with torch.autocast(hidden.device.type, enabled=False):
            h, w = hidden.to(dtype), weight.to(dtype)
            b = bias.to(dtype) if bias is not None else None
            nll, grad = fused_nll(h, w, b, target, grad_out=True)       # (N,) nats; grad (N, |V|) in dtype
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
    the backward; without gradients (scoring) nothing of size N x V is kept, only one block at a time.
    """
    if not (torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (hidden, weight, bias))):
        # scoring only (evaluation, IW-NLL, overlap matrices): no softmax-minus-one-hot to build and keep
        dtype = _compute_dtype(hidden)
        with torch.autocast(hidden.device.type, enabled=False):
            return fused_nll(hidden.to(dtype), weight.to(dtype), bias.to(dtype) if bias is not None else None, target)[0]
    return _LinearCrossEntropy.apply(hidden, weight, bias, target)
