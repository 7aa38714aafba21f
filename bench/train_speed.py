"""Training throughput on this machine, and how close it is to the hardware. Prints figures; asserts nothing.

    python bench/train_speed.py --data ../shared/data/ptb --threads 2            # the table (about 4 min)
    python bench/train_speed.py --data ../shared/data/ptb --quality-steps 400   # + is bf16 safe? (about 5 min)

For each configuration (the 256/256/32 LSTM VAE at batch 32; Kruengkrai 2019's PTB preset, 100/400/32;
Livne et al. 2020's sMIM preset, 300/512, z = 512, GRU, batch 20) in float32 and with bfloat16 autocast,
each in a fresh process (so the peak resident memory is that run's), the real training step
(`vae_core.train.Trainer.train_step`, PTB train in its length-bucketed shuffled order) is timed after a
warm-up. Printed per run:
  target tokens/s (words + <eos>, wall clock) and steps/s, tokens per CPU-second of the process / threads
  (insensitive to time stolen by the hypervisor), the achieved FLOP/s from an analytic FLOP count of the
  model (below) and its ratio to the matrix-multiply FLOP/s measured in the same run for that dtype, and
  the peak resident memory. A naive reference VAE of the same size (`NaiveVAE`: padded logits, unfused loss,
foreach Adam, a sync per step, glibc's default allocator) is timed first, so "ours / naive" holds
whatever the machine's speed.
The machine's state is printed first: threads, load average and the share of CPU time stolen by the
hypervisor while the bench ran (from /proc/stat); on a shared host, figures move with it.

FLOP count (`bench/common.flops_per_token`; multiply-add = 2 FLOP; backward = 2 x forward, so a training
step is 3 x forward), per target token: encoder RNN g H (E + H) (g = 4 gates for LSTM, 3 for GRU; x 2
directions if bidirectional), decoder RNN g H (E + n_concat + H), output layer H |V|; per-sentence terms
(heads, z -> h_0) are left out (< 1%).

--quality-steps K trains each configuration K steps in float32 and K steps in bf16 autocast from the same
seed and prints both validation NLLs (float32 evaluation; sMIM: its A-MIM loss) and their relative gap:
bf16 counts as allowed where the gap is within 0.5%.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import vae_core  # noqa: F401,E402  (its allocator setting applies before torch allocates)

import torch

from bench.common import flops_per_token, matmul_flops

CONFIGS = {     # name -> (preset or None, overrides); the three configurations
    "256/256/32 LSTM VAE": (None, {"model": "vae", "emb_dim": 256, "hidden_dim": 256, "latent_dim": 32,
                                   "batch_size": 32}),
    "100/400/32 Kruengkrai 2019": ("kruengkrai2019-vae", {}),
    "300/512 sMIM (z 512, GRU)": ("livne2020-smim", {}),
}


class NaiveVAE(torch.nn.Module):
    """The calibration reference: the textbook LSTM VAE at 256/256/32 (as in pytorch/examples-style code):
    padded batches, logits at every position (padding masked by ignore_index), unfused cross-entropy,
    foreach Adam. Timed in the same run as ours, so the ratio holds whatever the machine's state."""

    def __init__(self, V: int, E: int = 256, H: int = 256, n: int = 32):
        super().__init__()
        self.emb_enc, self.emb_dec = torch.nn.Embedding(V, E), torch.nn.Embedding(V, E)
        self.enc = torch.nn.LSTM(E, H, batch_first=True)
        self.mu, self.logvar, self.z_to_h = torch.nn.Linear(H, n), torch.nn.Linear(H, n), torch.nn.Linear(n, H)
        self.dec = torch.nn.LSTM(E + n, H, batch_first=True)
        self.out = torch.nn.Linear(H, V)

    def loss(self, x, lengths):
        _, (h, _) = self.enc(self.emb_enc(x))            # last padded state: what naive code does
        mu, logvar = self.mu(h[0]), self.logvar(h[0])
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        inp = torch.cat([torch.full_like(x[:, :1], 1), x[:, :-1]], 1)
        e = torch.cat([self.emb_dec(inp), z[:, None].expand(-1, x.size(1), -1)], -1)
        c0 = self.z_to_h(z)[None]
        out, _ = self.dec(e, (torch.tanh(c0), c0))
        logits = self.out(out)
        rec = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), x.reshape(-1),
                                                ignore_index=0, reduction="sum")
        kl = -0.5 * (1 + logvar - mu ** 2 - logvar.exp()).sum()
        return (rec + kl) / x.size(0)


def run_naive(data: str, amp: str, threads: int, steps: int, warmup: int) -> dict:
    from vae_core.data import load_splits
    torch.manual_seed(0)
    train = load_splits(data, ("train",)).splits["train"]
    model = NaiveVAE(len(train.vocab))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    batches = train.batches(32, shuffle=True, seed=0)

    def step(idx):
        x, lengths = train.collate(idx)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp == "bf16"):
            loss = model.loss(x, lengths)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        return loss.item()                                  # naive code syncs every step
    for idx in batches[:warmup]:
        step(idx)
    tokens = sum(int(train.lengths[idx].sum()) for idx in batches[warmup: warmup + steps])
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for idx in batches[warmup: warmup + steps]:
        step(idx)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return {"config": NAIVE, "amp": amp, "threads": torch.get_num_threads(), "steps": steps,
            "tokens_per_s": tokens / wall, "steps_per_s": steps / wall,
            "tokens_per_cpu_s": tokens / (cpu / torch.get_num_threads()),
            "gflops_achieved": float("nan"), "gflops_matmul": float("nan"), "ratio": float("nan"),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "mflop_per_token": float("nan")}


NAIVE = "naive reference 256/256/32"


def cpu_times() -> tuple[float, float]:
    """(total, steal) jiffies of all CPUs from /proc/stat; zeros where it does not exist."""
    try:
        vals = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0.0, 0.0
    return float(sum(vals[:8])), float(vals[7]) if len(vals) > 7 else 0.0


def build_trainer(name: str, data: str, amp: str, threads: int, out: str, seed: int = 0, device: str = "cpu"):
    """A quiet Trainer for configuration `name`, through the training CLI's own settings merge."""
    from vae_core.train import Trainer, build_parser, configs_from_args
    preset, over = CONFIGS[name]
    argv = (["--preset", preset] if preset else []) + [f"--{k.replace('_', '-')}={v}" for k, v in over.items()]
    argv += ["--data", data, "--out", out, "--amp", amp, "--threads", str(threads), "--device", device,
             "--seed", str(seed)]
    return Trainer(*configs_from_args(build_parser().parse_args(argv)), quiet=True)


def run_one(name: str, data: str, amp: str, threads: int, steps: int, warmup: int, device: str = "cpu") -> dict:
    """Time `steps` training steps of one configuration in this process; returns the figures."""
    with tempfile.TemporaryDirectory() as out:
        tr = build_trainer(name, data, amp, threads, out, device=device)
        batches = tr.train.batches(tr.tcfg.batch_size, shuffle=True, seed=0)
        assert len(batches) >= warmup + steps
        for idx in batches[:warmup]:
            tr.train_step(*tr.train.collate(idx))
        tokens = sum(int(tr.train.lengths[idx].sum()) for idx in batches[warmup: warmup + steps])
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for idx in batches[warmup: warmup + steps]:
            sums = tr.train_step(*tr.train.collate(idx))
        sums.tolist()                                 # the only sync, after the loop
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        dtype = torch.bfloat16 if amp == "bf16" else torch.float32
        peak = matmul_flops(dtype, device=device)
        achieved = 3 * flops_per_token(tr.mcfg) * tokens / wall
    return {"config": name, "amp": amp, "threads": torch.get_num_threads(), "steps": steps,
            "tokens_per_s": tokens / wall, "steps_per_s": steps / wall,
            "tokens_per_cpu_s": tokens / (cpu / torch.get_num_threads()),
            "gflops_achieved": achieved / 1e9, "gflops_matmul": peak / 1e9, "ratio": achieved / peak,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "mflop_per_token": 3 * flops_per_token(tr.mcfg) / 1e6}


def quality(data: str, threads: int, steps: int, config: str = "256/256/32 LSTM VAE") -> dict:
    """Validation NLL (float32 evaluation) after `steps` steps of `config` trained in float32 and in bf16
    autocast from the same seed; sMIM is compared on its own objective (the A-MIM loss)."""
    out = {}
    for amp in ("off", "bf16"):
        with tempfile.TemporaryDirectory() as d:
            tr = build_trainer(config, data, amp, threads, d)
            tr.tcfg.max_steps, tr.tcfg.epochs = steps, 1
            tr.tcfg.save_every = tr.tcfg.log_every = 10 ** 9
            t0 = time.perf_counter()
            tr.run()
            val = tr.validate()
            out[amp] = {"val_nll": val.get("val_amim", val["val_nll"]), "seconds": time.perf_counter() - t0}
    out["relative_gap"] = (out["bf16"]["val_nll"] - out["off"]["val_nll"]) / out["off"]["val_nll"]
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default="../shared/data/ptb")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu", help="cpu | cuda (the naive reference runs on the CPU only)")
    p.add_argument("--steps", type=int, default=40, help="timed steps per run (after --warmup)")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--configs", nargs="*", default=[NAIVE, *CONFIGS], help="subset of: " + "; ".join([NAIVE, *CONFIGS]))
    p.add_argument("--amp", nargs="*", default=["off", "bf16"])
    p.add_argument("--busy-core", action="store_true", help="also time 256/256/32 fp32 while another process "
                   "keeps one core busy: 2 threads with OpenMP's default (spinning) and passive waiting, 1 thread, "
                   "and --threads 0 (the trainer's default: the idle cores)")
    p.add_argument("--quality-steps", type=int, default=0, help="also run the bf16 quality check (0 = no)")
    p.add_argument("--json", help="also write the figures to this file")
    p.add_argument("--one", nargs=2, metavar=("CONFIG", "AMP"), help=argparse.SUPPRESS)   # child process
    args = p.parse_args()
    if args.threads > 0:                              # 0: the trainer's own choice (the idle cores)
        torch.set_num_threads(args.threads)
    if args.one:
        fn = run_naive if args.one[0] == NAIVE else (lambda *a: run_one(args.one[0], *a, device=args.device))
        print(json.dumps(fn(args.data, args.one[1], args.threads, args.steps, args.warmup)))
        return

    total0, steal0 = cpu_times()
    print(f"torch {torch.__version__}, threads {args.threads}, load average {os.getloadavg()[0]:.2f}")
    print(f"matmul (this process, {args.device}): float32 {matmul_flops(torch.float32, device=args.device) / 1e9:.0f} "
          f"GFLOP/s, bfloat16 {matmul_flops(torch.bfloat16, device=args.device) / 1e9:.0f} GFLOP/s")
    rows = []
    head = (f"{'configuration':28} {'dtype':6} {'tok/s':>7} {'steps/s':>7} {'tok/CPU-s':>9} {'MFLOP/tok':>9} "
            f"{'GFLOP/s':>7} {'matmul':>7} {'ratio':>6} {'peak RSS':>9}")
    print(head)
    for name in args.configs:
        for amp in args.amp:
            if name == NAIVE and args.device != "cpu":
                continue
            cmd = [sys.executable, __file__, "--one", name, amp, "--data", args.data, "--threads", str(args.threads),
                   "--steps", str(args.steps), "--warmup", str(args.warmup), "--device", args.device]
            # the naive reference is textbook code: glibc's own allocator, not vae_core's (vae_core.runtime)
            env = {**os.environ, "VAE_CORE_MALLOC": "system"} if name == NAIVE else None
            r = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True,
                                          env=env).stdout.strip().splitlines()[-1])
            rows.append(r)
            print(f"{name:28} {'bf16' if amp == 'bf16' else 'fp32':6} {r['tokens_per_s']:7.0f} {r['steps_per_s']:7.2f} "
                  f"{r['tokens_per_cpu_s']:9.0f} {r['mflop_per_token']:9.1f} {r['gflops_achieved']:7.0f} "
                  f"{r['gflops_matmul']:7.0f} {100 * r['ratio']:5.0f}% {r['peak_rss_mb']:7.0f} MB", flush=True)
    if args.busy_core:
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            for threads, policy in ((2, "default"), (2, "PASSIVE"), (1, "default"), (0, "default")):
                cmd = [sys.executable, __file__, "--one", "256/256/32 LSTM VAE", "off", "--data", args.data,
                       "--threads", str(threads), "--steps", str(args.steps), "--warmup", str(args.warmup)]
                env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
                if policy != "default":
                    env["OMP_WAIT_POLICY"] = policy
                out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout
                r = json.loads(out.strip().splitlines()[-1])
                rows.append({**r, "busy_core": True, "omp_wait_policy": policy})
                what = f"{threads} thread(s)" if threads else f"--threads 0 (chose {r['threads']})"
                print(f"256/256/32 fp32, other core busy, {what}, OMP_WAIT_POLICY {policy}: "
                      f"{r['tokens_per_s']:.0f} tok/s", flush=True)
        finally:
            busy.kill()
    total1, steal1 = cpu_times()
    stolen = (steal1 - steal0) / max(total1 - total0, 1)
    print(f"CPU time stolen by the hypervisor during the runs: {100 * stolen:.0f}%   "
          f"[targets at 256/256/32: >= 14,000 tok/s; ratio >= 50%]")
    by = {(r["config"], r["amp"]): r["tokens_per_s"] for r in rows if not r.get("busy_core")}
    ours = "256/256/32 LSTM VAE"
    for amp in args.amp:
        if (NAIVE, amp) in by and (ours, amp) in by:
            print(f"ours / naive reference at 256/256/32, {'bf16' if amp == 'bf16' else 'fp32'}: "
                  f"{by[(ours, amp)] / by[(NAIVE, amp)]:.2f}x")
    result = {"rows": rows, "steal": stolen, "threads": args.threads, "torch": torch.__version__}
    if args.quality_steps:
        result["quality"] = {}
        for name in [c for c in args.configs if c != NAIVE]:
            q = quality(args.data, args.threads, args.quality_steps, name)
            result["quality"][name] = q
            print(f"validation {'A-MIM loss' if 'sMIM' in name else 'NLL'} after {args.quality_steps} steps, {name}: "
                  f"float32 {q['off']['val_nll']:.3f}, bf16 autocast {q['bf16']['val_nll']:.3f}, gap "
                  f"{100 * q['relative_gap']:+.2f}%   [allowed within 0.5%]", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
