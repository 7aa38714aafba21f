"""Scale-out on torchrun + DistributedDataParallel (gloo, 2 CPU processes) and the fused output loss."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from vae_core.fused import linear_cross_entropy

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------------ fused loss
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_fused_linear_cross_entropy_equals_the_unfused_path(dtype):
    g = torch.Generator().manual_seed(0)
    h = torch.randn(150, 16, generator=g, dtype=dtype, requires_grad=True)      # three blocks of fused.CHUNK rows
    w = (0.3 * torch.randn(50, 16, generator=g, dtype=dtype)).requires_grad_()
    b = torch.randn(50, generator=g, dtype=dtype, requires_grad=True)
    target = torch.randint(0, 50, (150,), generator=g)
    scale = torch.rand(150, generator=g, dtype=dtype)         # per-token upstream gradients, not all ones
    ref = F.cross_entropy(F.linear(h, w, b), target, reduction="none")
    (ref * scale).sum().backward()
    ref_grads = [t.grad.clone() for t in (h, w, b)]
    for t in (h, w, b):
        t.grad = None
    out = linear_cross_entropy(h, w, b, target)
    (out * scale).sum().backward()
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == torch.float64 else dict(rtol=1e-5, atol=1e-5)
    assert out.dtype == dtype
    torch.testing.assert_close(out, ref, **tol)
    for got, want in zip((h.grad, w.grad, b.grad), ref_grads):
        torch.testing.assert_close(got, want, **tol)


@pytest.mark.parametrize("n", [1, 64, 150])
def test_fused_scoring_without_gradients_equals_the_unfused_path_block_by_block(n):
    """The no-grad path (evaluation, IW-NLL, overlap) computes the loss block by block (fused.CHUNK rows):
    the same numbers as the unfused path for N below, at and above the block size."""
    g = torch.Generator().manual_seed(1)
    h, w, b = torch.randn(n, 16, generator=g), 0.3 * torch.randn(50, 16, generator=g), torch.randn(50, generator=g)
    target = torch.randint(0, 50, (n,), generator=g)
    with torch.no_grad():
        got = linear_cross_entropy(h, w, b, target)
    torch.testing.assert_close(got, F.cross_entropy(F.linear(h, w, b), target, reduction="none"), rtol=1e-5, atol=1e-5)


def test_fused_loss_under_bf16_autocast_keeps_a_float32_softmax():
    g = torch.Generator().manual_seed(1)
    h = torch.randn(64, 32, generator=g, requires_grad=True)
    w = (0.2 * torch.randn(1000, 32, generator=g)).requires_grad_()
    b = torch.zeros(1000, requires_grad=True)
    target = torch.randint(0, 1000, (64,), generator=g)
    ref = F.cross_entropy(F.linear(h, w, b), target, reduction="none")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = linear_cross_entropy(h, w, b, target)
    assert out.dtype == torch.float32 and w.dtype == torch.float32
    # bf16 matmul inputs: logits carry ~3 significant digits; the loss stays within a few hundredths of a nat
    assert (out - ref).abs().max() < 0.05
    out.sum().backward()
    assert w.grad.dtype == torch.float32 and torch.isfinite(w.grad).all()


# ------------------------------------------------------------------------------------------ torchrun
def _train(nproc: int, data: Path, out: Path, *flags: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "vae_core.train"] if nproc == 1 else \
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc),
         "-m", "vae_core.train"]
    cmd += ["--data", str(data), "--out", str(out), "--threads", "1", "--device", "cpu", "--save-every", "0",
            "--val-batch-size", "64", *flags]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc


def _weights(out: Path) -> dict[str, torch.Tensor]:
    return load_file(str(out / "weights.safetensors"))


TINY = ["--emb-dim", "24", "--hidden-dim", "32", "--latent-dim", "4", "--batch-size", "16", "--epochs", "1"]


def test_two_gloo_processes_equal_one_process_with_the_same_global_batch(tmp_path, tiny_ptb):
    """The LM has no sampling noise, so 2 x 8 sentences per step must give the parameters of 1 x 16."""
    flags = TINY + ["--model", "lm", "--max-steps", "6"]
    _train(1, tiny_ptb, tmp_path / "one", *flags)
    two = _train(2, tiny_ptb, tmp_path / "two", *flags)
    assert two.stdout.count("stopped (max_steps) at step 6") == 1        # only rank 0 speaks
    a, b = _weights(tmp_path / "one"), _weights(tmp_path / "two")
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=1e-5, atol=1e-6, msg=k)
    # the comparison can fail: one process with a different global batch ends elsewhere
    _train(1, tiny_ptb, tmp_path / "other", *flags, "--batch-size", "8")
    c = _weights(tmp_path / "other")
    assert max(float((a[k] - c[k]).abs().max()) for k in a) > 1e-3


def test_resume_under_torchrun_continues_exactly(tmp_path, tiny_ptb):
    """A VAE (word dropout, z noise on each rank) stopped at step 3 and resumed to 7 under torchrun gives the
    parameters of an uninterrupted 7-step run: every rank's RNG state is saved by rank 0 and restored."""
    flags = TINY + ["--model", "vae", "--word-keep", "0.8", "--kl-anneal-steps", "20"]
    _train(2, tiny_ptb, tmp_path / "straight", *flags, "--max-steps", "7")
    _train(2, tiny_ptb, tmp_path / "split", *flags, "--max-steps", "3")
    state = load_file(str(tmp_path / "split" / "trainer_state.safetensors"))
    assert "rng/cpu" in state and "rng/cpu/1" in state
    assert not torch.equal(state["rng/cpu"], state["rng/cpu/1"])          # the ranks draw different noise
    _train(2, tiny_ptb, tmp_path / "split", "--resume", "--max-steps", "7")
    a, b = _weights(tmp_path / "straight"), _weights(tmp_path / "split")
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=0, atol=0, msg=k)
