"""What the benches share: timing, the machine's matrix-multiply rate, and the model's FLOP count."""
from __future__ import annotations

import statistics
import time

import torch


def timed(fn, repeat: int = 1):
    """(median seconds over `repeat` calls, the last result)."""
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def matmul_flops(dtype: torch.dtype = torch.float32, n: int = 2048, repeat: int = 7, device: str = "cpu") -> float:
    """Median FLOP/s of an n x n x n matrix multiply in `dtype` with the current thread count (on a GPU the
    product is 4n wide, to reach its rate)."""
    if device != "cpu":
        n *= 4
    a, b = torch.randn(n, n, device=device).to(dtype), torch.randn(n, n, device=device).to(dtype)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)

    def once():
        sync()
        a @ b
        sync()
    once()
    t, _ = timed(once, repeat)
    return 2 * n ** 3 / t


def flops_per_token(cfg, encoder: bool = True) -> float:
    """Forward FLOPs (multiply-add = 2) per target token of a sequence model: the encoder RNN (x 2 when
    bidirectional; left out with encoder=False, e.g. for decoder-only scoring), the decoder RNN (z concatenated
    to its first layer's input) and the |V|-wide output layer. g = 4 gate blocks for LSTM, 3 for GRU; layer
    l > 1 reads the H-wide output of layer l - 1. Per-sentence terms (heads, z -> h_0) are left out (< 1%)."""
    g = 4 if cfg.rnn == "lstm" else 3
    E, H, n, V, L = cfg.emb_dim, cfg.hidden_dim, cfg.latent_dim, cfg.vocab_size, cfg.num_layers
    deeper = (L - 1) * g * H * 2 * H
    enc = 0
    if encoder and cfg.has_latent:
        enc = (g * H * (E + H) + deeper) * (2 if cfg.encoder_bidirectional else 1)
    dec = g * H * (E + (n if cfg.z_concat and cfg.has_latent else 0) + H) + deeper
    return 2.0 * (enc + dec + H * V)
