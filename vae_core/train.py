"""Train a sentence VAE (Bowman et al. 2016) or its LSTM-LM baseline on a PTB-format corpus.

    # Bowman-style VAE on PTB: logistic KL annealing, word dropout keep rate 0.6, z to h_0 and every input
    python -m vae_core.train --data ../shared/data/ptb --out runs/vae --epochs 10 --word-keep 0.6

    # the LSTM language-model baseline
    python -m vae_core.train --data ../shared/data/ptb --out runs/lm --model lm --epochs 10

    # Kruengkrai 2019's optimiser setup: SGD lr 1, clip 5, halve lr on plateau, linear KL over 10 epochs
    python -m vae_core.train --data ../shared/data/ptb --out runs/k19 --optimizer sgd --lr 1 --clip 5 \
        --kl-anneal linear --kl-anneal-steps 13150 --emb-dim 100 --hidden-dim 400 --emb-dropout 0.5 \
        --out-dropout 0.5 --init-uniform 0.1 --epochs 30

    # the papers' models (presets in vae_core/presets.py; flags override them)
    python -m vae_core.train --data ../shared/data/ptb --out runs/avg5 --preset kruengkrai2019-avg
    python -m vae_core.train --data ../shared/data/ptb --out runs/mi --preset vani-mi --mi-weight 5
    python -m vae_core.train --data ../shared/data/ptb --out runs/smim --preset livne2020-smim
    python -m vae_core.train --data ../shared/data/ptb --out runs/bow --preset krishnan2018-bow
    python -m vae_core.train --data ../shared/data/ptb --out runs/fb --free-bits 0.5     # any KL model

    # continue an interrupted run exactly where its last checkpoint stopped (budget flags may be raised)
    python -m vae_core.train --out runs/vae --resume [--epochs 20]

    # all flags can come from a JSON file (keys as the flag names with underscores); flags override it
    python -m vae_core.train --config my_run.json

    # data-parallel on PyTorch's engine (gloo on CPU, NCCL on GPUs); --batch-size is the global batch
    torchrun --standalone --nproc_per_node 2 -m vae_core.train --data ../shared/data/ptb --out runs/ddp

Writes OUT/{weights.safetensors, config.json, trainer_state.safetensors} every --save-every steps, at every
epoch end and on SIGINT/SIGTERM (atomically, see vae_core.checkpoint), plus OUT/best/ (model only) whenever
the validation NLL improves. A non-finite loss stops the run and keeps the last good checkpoint.
Speed: see README "Performance" and bench/train_speed.py; distribution: vae_core/distributed.py.
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import os
import signal
import sys
import time
from dataclasses import fields
from pathlib import Path

import torch
from tqdm import tqdm

from .checkpoint import (CheckpointError, load_checkpoint, load_trainer_state, read_config, recover,
                         save_checkpoint)
from .config import ModelConfig, TrainConfig
from .data import CorpusError, load_splits, training_corpus_record
from .distributed import DistContext
from .estimators import active_units, encode_corpus, mutual_info, mutual_info_batch
from .model import build_model
from .objectives import amim, elbo_at, training_terms
from .presets import PRESETS, apply_preset
from .refine import refine_posterior
from .schedules import cosine_restart_lr, kl_weight, selection_metric, word_keep_rate
from .runtime import ThreadGovernor, auto_threads
from .tokenize import rules_named

# Flags that may change on --resume (the budget and bookkeeping); everything else comes from the checkpoint.
RESUMABLE_OVERRIDES = ("epochs", "max_steps", "max_minutes", "save_every", "threads", "device", "data",
                       "val_batch_size", "log_every")


class TrainingError(RuntimeError):
    """Training cannot go on (non-finite loss, unusable resume state); the message says why."""


# --------------------------------------------------------------------------------------------- devices
def select_device(name: str = "auto") -> torch.device:
    """"auto" -> CUDA when available, else CPU; otherwise the named device."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


AMP_NAMES = {None: "off", torch.bfloat16: "bf16", torch.float16: "fp16"}


def autocast_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """Mixed-precision dtype: "auto" is bf16 (or fp16 without bf16 support) on CUDA and off on CPU."""
    if amp == "off" or (amp == "auto" and device.type != "cuda"):
        return None
    if amp == "fp16":
        return torch.float16
    if amp == "bf16" or torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16


# --------------------------------------------------------------------------------------------- trainer state
def _optimizer_tensors(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    sd = opt.state_dict()
    tensors, scalars = {}, {}
    for pid, st in sd["state"].items():
        for k, v in st.items():
            if isinstance(v, torch.Tensor):
                tensors[f"optim/{pid}/{k}"] = v
            elif v is not None:
                scalars[f"{pid}/{k}"] = v
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def _restore_optimizer(opt: torch.optim.Optimizer, tensors: dict, meta: dict) -> None:
    state: dict[int, dict] = {}
    for key, v in tensors.items():
        if key.startswith("optim/"):
            _, pid, name = key.split("/", 2)
            state.setdefault(int(pid), {})[name] = v
    for key, v in meta["scalars"].items():
        pid, name = key.split("/", 1)
        state.setdefault(int(pid), {})[name] = v
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


# --------------------------------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m vae_core.train", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--config", help="JSON file of settings (flag names with underscores); flags override it")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--preset", choices=sorted(PRESETS), help="a paper's configuration (vae_core/presets.py); "
                   "the config file and flags override it")
    helps = {
        "model": "vae | lm | vae-avg | mi-vae | smim | bow", "data": "directory with {ptb.,}{train,valid,test}.txt", "out": "checkpoint directory",
        "word_keep": "word dropout keep rate k (1 = none, 0 = inputless decoder)",
        "kl_anneal": "linear | logistic | cyclical | constant | none",
        "kl_anneal_steps": "linear, cyclical: 1 / the slope a step; logistic: midpoint",
        "kl_cycle_steps": "cyclical: steps of one KL cycle (Fu et al.'s PTB code: 10 epochs)",
        "lr_cycle_epochs": "cosine-restarts: epochs of one learning-rate cycle",
        "free_bits_mode": "batch (Kingma et al.: the batch-mean KL per dimension) | example (Li et al.'s code, --fb 2)",
        "init_from": "a checkpoint whose weights start this run (Li et al.'s second stage)",
        "reset_decoder": "with --init-from: keep the decoder freshly initialised (their --reset_dec)",
        "amp": "auto (bf16/fp16 on CUDA, off on CPU) | off | bf16 | fp16", "threads": "CPU threads (0 = the cores idle at the start)",
        "max_minutes": "wall-clock budget of this invocation (0 = none)", "max_steps": "total optimisation steps (0 = none)",
        "init_uniform": "U(-a, a) init of all parameters (0 = PyTorch defaults)",
        "init_emb_uniform": "U(-a, a) init of the embeddings instead (0 = as --init-uniform; He et al.'s code: 0.1)", "max_vocab": "0 = every train word",
        "max_tokens": "truncate longer sentences (0 = keep)", "lr_decay": "factor on plateau of validation NLL",
        "avg_samples": "L of vae-avg (Kruengkrai 2019, Eq. 7-8)", "z_samples": "posterior samples per step (Eq. 3)",
        "free_bits": "nats per latent dimension (0 = off)", "mi_weight": "lambda of L_MI (mi-vae)",
        "refine_steps": "secondary optimisation steps per update (0 = off)", "rnn": "lstm | gru",
        "encoder_summary": "last | mean | attention", "bow_features": "counts | tfidf",
        "word_dropout_anneal": "none | linear (rate 1 -> 0 from --word-dropout-start to --word-dropout-end)",
        "logvar_min": "floor on the posterior log-variance (sMIM needs one)",
        "init_state": "tanh (c0 = Wz, h0 = tanh(c0); He et al.) | linear (h0 = Wz, c0 = 0; Kruengkrai Eq. 5) | "
                      "linear-hc (h0 = W_h z, c0 = W_c z; Xu & Durrett's code)",
        "posterior": "gaussian | vmf (von Mises-Fisher with fixed --vmf-kappa, uniform prior; Xu & Durrett 2018)",
        "vmf_kappa": "concentration of the vMF posterior (their PTB run: 35 at z = 50)",
        "inputless": "decoder sees <unk> for every input word (set automatically for --word-keep 0)",
        "early_stop": "stop after this many epochs without a better validation NLL (0 = off)",
        "max_lr_decays": "he2019: stop after this many learning-rate decays (their max_decay 5; 0 = no limit)",
        "aggressive": "He et al. 2019's aggressive inference-network training until validation MI falls",
        "lr_schedule": "plateau (halve on a validation plateau) | sa-vae (Kim et al. 2018's code: decay every "
                       "epoch from the first miss after --lr-decay-start, stop below --min-lr) | livne (Livne et "
                       "al.'s code: decay on the (--lr-patience + 1)-th miss since the last decay)",
        "lr_decay_start": "sa-vae: epochs before a validation miss starts the decay (their 15)",
        "kl_start": "KL weight at step 0 of the linear schedule (Kim et al. 2018's code: 0.1)",
        "encoder_bos": "the encoder reads <bos> w1..wn instead of w1..wn <eos> (sMIM's code)",
        "encoder_emb_dropout": "apply --emb-dropout in the encoder too (false: decoder only, as in sMIM's and sa-vae's code)",
        "avg_shared_dropout": "vae-avg: the L decoder runs share one dropout mask on their inputs (false: one each)",
        "bucket": "length-bucketed training batches (false: random batches, as sMIM's code)",
        "bow_decoder_layers": "hidden layers of the bag-of-words decoder",
        "tokenizer": "how typed text is tokenised, saved with the model: ptb-mikolov | whitespace | FILE.json",
    }
    for cls in (ModelConfig, TrainConfig):
        for f in fields(cls):
            if f.name in ("vocab_size",):
                continue
            flag = "--" + f.name.replace("_", "-")
            if f.type in ("bool", bool):
                p.add_argument(flag, type=lambda s: s.lower() in ("1", "true", "yes", "on"), default=None,
                               metavar="{true,false}", help=helps.get(f.name))
            else:
                typ = {"int": int, "float": float, "str": str}.get(str(f.type), str)
                p.add_argument(flag, type=typ, default=None, help=helps.get(f.name))
    return p


def configs_from_args(args: argparse.Namespace) -> tuple[ModelConfig, TrainConfig]:
    """Merge defaults < --preset < --config file < explicit flags into (ModelConfig, TrainConfig)."""
    settings: dict = apply_preset(args.preset) if getattr(args, "preset", None) else {}
    if args.config:
        try:
            settings.update(json.loads(Path(args.config).read_text()))
        except (OSError, json.JSONDecodeError) as e:
            raise SystemExit(f"error: cannot read config file {args.config}: {e}")
    settings.update({k: v for k, v in vars(args).items() if v is not None and k not in ("config", "resume", "preset")})
    mnames = {f.name for f in fields(ModelConfig)}
    tnames = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(settings) - mnames - tnames)
    if unknown:
        raise SystemExit(f"error: unknown settings {unknown}")
    return (ModelConfig(**{k: v for k, v in settings.items() if k in mnames}),
            TrainConfig(**{k: v for k, v in settings.items() if k in tnames}))


# --------------------------------------------------------------------------------------------- training
class TrainingStep(torch.nn.Module):
    """The training objective as a module, so DistributedDataParallel can wrap it: forward(x, lengths,
    kl_weight, word_keep) -> the (loss, rec, kl) per-sentence tensors of `objectives.training_terms`."""

    def __init__(self, model: torch.nn.Module, tcfg: TrainConfig):
        super().__init__()
        self.model, self.tcfg = model, tcfg

    def forward(self, x, lengths, kl_weight: float, word_keep: float):
        t = training_terms(self.model, x, lengths, kl_weight, word_keep, self.tcfg)
        return t.loss, t.rec, t.kl


class Trainer:
    """One training run: model, optimiser, schedules and loop state; `run()` trains until the budget ends.

    Under torchrun it is one rank of a data-parallel job (see `vae_core.distributed`): same code path,
    the global batch shared out, gradients averaged by DistributedDataParallel, rank 0 writing checkpoints.
    """

    def __init__(self, mcfg: ModelConfig, tcfg: TrainConfig, resume: bool = False, quiet: bool = False):
        self.tcfg = tcfg
        self.device = select_device(tcfg.device)
        self.dist = DistContext.from_env(self.device)
        self.governor = None
        if tcfg.threads > 0:
            torch.set_num_threads(tcfg.threads)
        elif self.device.type == "cpu":        # the idle cores, shared among this machine's ranks, kept so
            share = max(1, (os.cpu_count() or 1) // max(1, self.dist.local_world))
            torch.set_num_threads(max(1, min(share, auto_threads())))
            if not self.dist.enabled:
                self.governor = ThreadGovernor(share)     # ... as other processes come and go
        if self.dist.enabled and self.device.type == "cuda":
            self.device = torch.device("cuda", self.dist.local_rank)
            torch.cuda.set_device(self.device)
        self.quiet = quiet or not self.dist.is_main
        self.amp_dtype = autocast_dtype(tcfg.amp, self.device)
        self.out = Path(tcfg.out)
        if resume:        # finish a save that was interrupted while moving into place (loading never writes)
            if self.dist.is_main:
                recover(self.out)
            self.dist.broadcast(None)        # the other ranks read only after rank 0 has finished
        prev = load_checkpoint(self.out) if resume else None
        vocab = prev.vocab if prev else None
        ds = load_splits(tcfg.data, ("train", "valid"), vocab=vocab, max_tokens=tcfg.max_tokens or None,
                         max_vocab=tcfg.max_vocab or None)
        self.vocab, self.train, self.valid = ds.vocab, ds.splits["train"], ds.splits["valid"]
        # what the model was trained on, so its samples can be checked for copies of it (vae_core.data.
        # find_training_split); a resumed run keeps the record of its start
        self.train_corpus = (prev.progress.get("train_corpus") if prev else None) or training_corpus_record(tcfg.data)
        for name, split in ds.splits.items():           # --max-tokens cut these: say which, once
            cut = split.stats.truncated if split.stats else []
            if cut and not self.quiet:
                shown = ", ".join(map(str, cut[:10])) + (f" and {len(cut) - 10} more" if len(cut) > 10 else "")
                print(f"warning: {len(cut)} line{'s' if len(cut) > 1 else ''} of {name} cut to {tcfg.max_tokens} "
                      f"tokens (line{'s' if len(cut) > 1 else ''} {shown})", file=sys.stderr)
        if not prev:
            self.vocab.tokenizer = rules_named(tcfg.tokenizer)   # how typed text is tokenised for this model
        mcfg.vocab_size = len(self.vocab)
        if not prev and tcfg.word_keep == 0.0 and tcfg.word_dropout_anneal == "none":
            mcfg.inputless = True          # Bowman et al. 2016, Sec. 6.1: inputless at test time too
        self.mcfg = mcfg
        torch.manual_seed(tcfg.seed)
        self.model = build_model(mcfg)
        if tcfg.init_uniform > 0:
            self.model.init_uniform_(tcfg.init_uniform, tcfg.init_emb_uniform)
        if mcfg.model == "bow" and not prev:
            self.model.set_idf(self.train)
        if tcfg.refine_steps and self.amp_dtype == torch.float16:
            raise ValueError("secondary optimisation (refine_steps) is not supported with fp16 AMP; use --amp bf16")
        if tcfg.refine_steps and self.dist.enabled:
            raise ValueError("secondary optimisation (refine_steps) is not supported under torchrun yet")
        if mcfg.posterior == "vmf" and (tcfg.free_bits > 0 or tcfg.refine_steps):
            raise ValueError("a vMF posterior has one constant KL, not one per dimension: free_bits and "
                             "refine_steps do not apply to it")
        if tcfg.aggressive and (self.dist.enabled or tcfg.refine_steps or not mcfg.has_latent):
            raise ValueError("aggressive training needs a latent variable, one process and no refine_steps")
        if prev:
            self.model.load_state_dict(prev.model.state_dict())
        elif tcfg.init_from:
            self._init_from(tcfg.init_from, tcfg.reset_decoder)
        self.model.to(self.device)
        self.step_module: torch.nn.Module = TrainingStep(self.model, tcfg)
        if self.dist.enabled:       # broadcasts rank 0's parameters; averages gradients in backward
            self.step_module = torch.nn.parallel.DistributedDataParallel(
                self.step_module, device_ids=[self.device.index] if self.device.type == "cuda" else None)
            torch.manual_seed(tcfg.seed + 7919 * self.dist.rank)     # each rank its own dropout / z noise
        params = list(self.model.parameters())
        if tcfg.optimizer == "sgd":
            self.opt = torch.optim.SGD(params, lr=tcfg.lr, momentum=tcfg.momentum)
        else:
            # fused: one kernel over all parameters (the foreach Adam took 20% of a CPU step at 256/256/32)
            self.opt = torch.optim.Adam(params, lr=tcfg.lr, fused=self.device.type in ("cpu", "cuda"))
        self.plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(self.opt, factor=tcfg.lr_decay,
                                                                  patience=tcfg.lr_patience, min_lr=tcfg.min_lr)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        self.step = self.epoch = self.batch_in_epoch = 0
        self._batches_of: tuple[int | None, list[list[int]]] = (None, [])     # (epoch, its batches)
        self.best_val = math.inf
        self.bad_epochs = 0                                       # consecutive epochs without improvement
        self.lr_counter = tcfg.lr_patience                        # the "livne" schedule's scheduler_counter
        # the "he2019" schedule: the reference loss, misses against it, decays so far (their opt_dict)
        self.he_schedule = {"reference": math.inf, "misses": 0, "decays": 0}
        self.aggressive_on = tcfg.aggressive                      # He et al.'s aggressive phase, until MI falls
        self.previous_mi = 0.0
        self.history: dict = {"epochs": [], "steps": []}
        self.train_seconds = 0.0
        self.tokens_seen = 0                                      # target tokens trained on, all invocations
        # Running sums stay on the device (no host sync per step): this rank's (loss, rec, kl) since the epoch
        # start and since the last log; token and sentence counts are of the global batch, on the host.
        self.epoch_acc = torch.zeros(3, dtype=torch.float64, device=self.device)
        self.log_acc = torch.zeros(3, dtype=torch.float64, device=self.device)
        self.epoch_tokens = 0
        self.log_tokens = self.log_sentences = 0
        if prev:
            self._restore(prev)

    # ----- state
    def _restore(self, prev) -> None:
        tensors, meta = load_trainer_state(self.out)
        missing = [k for k in ("rng/cpu", "epoch_sums") if k not in tensors]
        missing += [k for k in ("optimizer", "plateau", "loop") if k not in meta]
        if missing:
            raise CheckpointError(f"{self.out / 'trainer_state.safetensors'}: cannot resume, missing {missing}")
        _restore_optimizer(self.opt, tensors, meta["optimizer"])
        self.plateau.load_state_dict(meta["plateau"])
        if meta.get("scaler"):
            self.scaler.load_state_dict(meta["scaler"])
        suffix = f"/{self.dist.rank}" if self.dist.rank else ""
        if f"rng/cpu{suffix}" in tensors:
            torch.set_rng_state(tensors[f"rng/cpu{suffix}"])
        else:
            print(f"note: no saved RNG state for rank {self.dist.rank} (the world size changed); it starts a "
                  f"fresh noise stream", file=sys.stderr)
        if self.device.type == "cuda" and f"rng/cuda{suffix}" in tensors:
            torch.cuda.set_rng_state(tensors[f"rng/cuda{suffix}"])
        # The saved sums are global; rank 0 carries them, the other ranks start from zero.
        if self.dist.is_main:
            sums = tensors["epoch_sums"].to(torch.float64)
            self.epoch_acc = sums[:3].to(self.device)
            self.epoch_tokens = int(sums[3])
            if "log_window" in tensors:          # absent in states written before it existed: logging only
                win = tensors["log_window"].to(torch.float64)
                self.log_acc = win[:3].to(self.device)
                self.log_tokens, self.log_sentences = int(win[3]), int(win[4])
        lp = meta["loop"]
        self.step, self.epoch, self.batch_in_epoch = lp["step"], lp["epoch"], lp["batch_in_epoch"]
        self.best_val, self.train_seconds = lp["best_val"], lp["train_seconds"]
        self.tokens_seen = lp.get("tokens_seen", 0)        # absent in states written before it existed
        self.bad_epochs = lp.get("bad_epochs", 0)
        self.lr_counter = lp.get("lr_counter", self.tcfg.lr_patience)
        self.he_schedule = lp.get("he_schedule", self.he_schedule)
        self.aggressive_on = lp.get("aggressive_on", self.aggressive_on)
        self.previous_mi = lp.get("previous_mi", self.previous_mi)
        self.history = prev.history

    def progress(self) -> dict:
        return {"step": self.step, "epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch,
                "best_val_nll": self.best_val, "train_seconds": round(self.train_seconds, 3),
                "tokens_seen": self.tokens_seen, "amp": AMP_NAMES[self.amp_dtype], "bad_epochs": self.bad_epochs,
                "train_corpus": self.train_corpus,
                "stopped_early": self._early_stop_reason() is not None,
                "tokens_per_s": round(self.tokens_seen / self.train_seconds, 1) if self.train_seconds else None}

    def global_sums(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss, rec, kl, tokens) of the epoch so far and (loss, rec, kl, tokens, sentences) of the log
        window, summed over ranks, as float64 CPU tensors (a collective: every rank calls it)."""
        acc = self.dist.all_reduce_sum(torch.cat([self.epoch_acc, self.log_acc]).cpu())
        epoch = torch.cat([acc[:3], torch.tensor([self.epoch_tokens], dtype=torch.float64)])
        window = torch.cat([acc[3:], torch.tensor([self.log_tokens, self.log_sentences], dtype=torch.float64)])
        return epoch, window

    def save(self) -> None:
        """Checkpoint everything needed to continue exactly (atomic; see vae_core.checkpoint). Every rank
        calls it (the sums and RNG states are collected); only rank 0 writes. Raises TrainingError, writing
        nothing, when the loss sums are not finite: a good checkpoint is never replaced by a diverged one."""
        epoch_sums, log_window = self.global_sums()
        self._check_finite(epoch_sums)
        rng = self.dist.gather({"cpu": torch.get_rng_state(),
                                "cuda": torch.cuda.get_rng_state() if self.device.type == "cuda" else None})
        if not self.dist.is_main:
            return
        tensors, opt_meta = _optimizer_tensors(self.opt)
        for rank, states in enumerate(rng):
            suffix = f"/{rank}" if rank else ""
            tensors[f"rng/cpu{suffix}"] = states["cpu"]
            if states["cuda"] is not None:
                tensors[f"rng/cuda{suffix}"] = states["cuda"]
        tensors["epoch_sums"] = epoch_sums
        tensors["log_window"] = log_window
        meta = {"optimizer": opt_meta, "plateau": self.plateau.state_dict(),
                "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
                "loop": {"step": self.step, "epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch,
                         "best_val": self.best_val, "train_seconds": self.train_seconds,
                         "tokens_seen": self.tokens_seen, "bad_epochs": self.bad_epochs,
                         "lr_counter": self.lr_counter, "he_schedule": self.he_schedule,
                         "aggressive_on": self.aggressive_on, "previous_mi": self.previous_mi}}
        save_checkpoint(self.out, self.model, self.mcfg, self.vocab, self.tcfg, self.history, self.progress(),
                        tensors, meta)

    # ----- one step
    def kl_weight(self) -> float:
        t = self.tcfg
        return kl_weight(self.step, t.kl_anneal, t.kl_anneal_steps, t.kl_logistic_k, t.kl_start, t.kl_cycle_steps)

    def _init_from(self, path: str, reset_decoder: bool) -> None:
        """Start from another checkpoint's weights: every tensor whose name and shape match, except the
        decoder's when `reset_decoder` (those keep this run's initialisation), as Li et al. 2019's second stage
        loads their autoencoder and resets its decoder (text_anneal_fb.py --load_path --reset_dec). Raises
        CheckpointError when the checkpoint cannot be read or shares no tensor with this model."""
        src = load_checkpoint(path).model.state_dict()
        own = self.model.state_dict()
        take = {k: v for k, v in src.items() if k in own and own[k].shape == v.shape
                and not (reset_decoder and k.startswith("decoder."))}
        if not take:
            raise CheckpointError(f"{path}: no tensor of it matches this model")
        self.model.load_state_dict(take, strict=False)

    def word_keep(self) -> float:
        t = self.tcfg
        return word_keep_rate(self.step, t.word_dropout_anneal, t.word_keep, t.word_dropout_start, t.word_dropout_end)

    def train_step(self, x: torch.Tensor, lengths: torch.Tensor, global_batch: int | None = None) -> torch.Tensor:
        """One optimisation step on this rank's sentences; returns their detached (loss, rec, kl) sums (3,),
        without a host sync. `global_batch`: sentences in the whole step over all ranks (default: len(x))."""
        self.model.train()
        if self.device.type == "cuda":          # pinned host memory lets the copy overlap with compute
            x, lengths = x.pin_memory(), lengths.pin_memory()
        x, lengths = x.to(self.device, non_blocking=True), lengths.to(self.device, non_blocking=True)
        ctx = (torch.autocast(self.device.type, dtype=self.amp_dtype) if self.amp_dtype else contextlib.nullcontext())
        if self.aggressive_on and self.model.has_latent:
            self._aggressive_encoder_updates(x, lengths, ctx)
        self.opt.zero_grad(set_to_none=True)
        with ctx:
            if self.tcfg.refine_steps:
                t = self._refined_terms(x, lengths)
                loss_i, rec_i, kl_i = t.loss, t.rec, t.kl
            else:
                loss_i, rec_i, kl_i = self.step_module(x, lengths, self.kl_weight(), self.word_keep())
        # DDP averages gradients over ranks; scaling by world / global batch makes that the global batch mean.
        loss = loss_i.sum() * (self.dist.world / (global_batch or len(x)))
        self.scaler.scale(loss).backward()
        if self.tcfg.refine_steps:          # the encoder learns from its own ELBO (Krishnan et al. 2018)
            for p, g in zip(self.model.encoder_parameters(), self._encoder_grads):
                p.grad = g if p.grad is None else p.grad + g
        if self.tcfg.clip > 0:
            self.scaler.unscale_(self.opt)
            self._clip_gradients()
        if self.aggressive_on and self.model.has_latent:
            for p in self.model.encoder_parameters():       # the aggressive phase's step is the decoder's only
                p.grad = None
        self.scaler.step(self.opt)
        self.scaler.update()
        self.step += 1
        return torch.stack([loss_i.sum(), rec_i.sum(), kl_i.sum()]).detach()

    def _aggressive_encoder_updates(self, x: torch.Tensor, lengths: torch.Tensor, ctx) -> None:
        """He et al. 2019's inner loop (Algorithm 1; jxhe/vae-lagging-encoder, text.py, `while aggressive_flag
        and sub_iter < 100`): update the encoder alone, first on this batch, then on random training batches,
        until its loss per token, summed over each 15 updates, stops falling (or 99 updates). As in their code
        the gradient is clipped over every parameter and the decoder's part discarded."""
        enc = set(map(id, self.model.encoder_parameters()))
        batches = self._epoch_batches()
        previous, total, words = 1e4, 0.0, 0
        for sub_iter in range(1, 100):
            self.opt.zero_grad(set_to_none=True)
            with ctx:
                loss_i, _, _ = self.step_module(x, lengths, self.kl_weight(), self.word_keep())
            total += float(loss_i.detach().sum())
            words += int(lengths.sum())
            self.scaler.scale(loss_i.mean()).backward()
            if self.tcfg.clip > 0:
                self.scaler.unscale_(self.opt)
                self._clip_gradients()
            for p in self.model.parameters():
                if id(p) not in enc:
                    p.grad = None
            self.scaler.step(self.opt)
            self.scaler.update()
            pick = batches[int(torch.randint(len(batches), (1,)))]          # the global RNG: resumable
            x, lengths = self.train.collate(pick)
            x, lengths = x.to(self.device), lengths.to(self.device)
            if sub_iter % 15 == 0:
                if previous - total / words < 0:
                    break
                previous, total, words = total / words, 0.0, 0

    def _clip_gradients(self) -> None:
        """Scale the gradients to norm --clip when their norm is larger. On CUDA torch's clip_grad_norm_
        (it always multiplies, by a factor clamped at 1, to avoid a host sync); on the CPU a sync is free,
        so the multiply is skipped when nothing needs clipping, which is most steps (it touched every
        parameter, 2% of a 256/256/32 step)."""
        params = [p for p in self.model.parameters() if p.grad is not None]
        if self.device.type != "cpu":
            torch.nn.utils.clip_grad_norm_(params, self.tcfg.clip, foreach=True)
            return
        norm = torch.nn.utils.get_total_norm([p.grad for p in params], foreach=True)
        if float(norm) > self.tcfg.clip:
            torch.nn.utils.clip_grads_with_norm_(params, self.tcfg.clip, norm, foreach=True)

    def _refined_terms(self, x: torch.Tensor, lengths: torch.Tensor):
        """Secondary optimisation at training time (Krishnan et al. 2018, Sec. 3): the encoder's gradient comes
        from the ELBO at its own (mu, logvar) (kept in self._encoder_grads); the returned terms are the ELBO at
        the refined parameters, whose backward reaches the decoder only (the refined mu, logvar are leaves)."""
        t = self.tcfg
        mu0, logvar0 = self.model.encode(x, lengths)
        own = elbo_at(self.model, x, lengths, mu0, logvar0, self.kl_weight(), self.word_keep(), t.z_samples, t.free_bits,
                      t.free_bits_mode)
        self._encoder_grads = torch.autograd.grad(own.loss.mean(), self.model.encoder_parameters(), allow_unused=True)
        self._encoder_grads = [g if g is not None else torch.zeros_like(p)
                               for g, p in zip(self._encoder_grads, self.model.encoder_parameters())]
        mu, logvar = refine_posterior(self.model, x, lengths, mu0, logvar0, t.refine_steps, t.refine_lr)
        return elbo_at(self.model, x, lengths, mu, logvar, self.kl_weight(), self.word_keep(), t.z_samples, t.free_bits,
                       t.free_bits_mode)

    @torch.no_grad()
    def validate(self) -> dict:
        """ELBO on the validation split (one z sample, fixed seed), plus active units and mutual information."""
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):     # validation noise never shifts the training RNG stream
            torch.manual_seed(self.tcfg.seed + 1)
            self.model.eval()
            rec = kl = mim = 0.0
            smim = self.mcfg.model == "smim"
            for idx in self.valid.batches(self.tcfg.val_batch_size):
                x, lengths = self.valid.collate(idx)
                x, lengths = x.to(self.device), lengths.to(self.device)
                if self.model.has_latent:
                    mu, logvar = self.model.encode(x, lengths)
                    t = elbo_at(self.model, x, lengths, mu, logvar)
                else:
                    t = training_terms(self.model, x, lengths, 1.0, 1.0)
                rec += float(t.rec.sum())
                kl += float(t.kl.sum())
                if smim:
                    mim += float(amim(self.model, x, lengths).loss.sum())
            n, ntok = len(self.valid), self.valid.n_tokens
            out = {"val_nll": (rec + kl) / n, "val_rec": rec / n, "val_kl": kl / n,
                   "val_ppl": math.exp((rec + kl) / ntok)}
            if smim:
                out["val_amim"] = mim / n
            if self.model.has_latent:
                mu, logvar = encode_corpus(self.model, self.valid, device=self.device)
                fam = self.model.posterior
                out["val_active_units"] = active_units(fam.mean(mu, logvar))[0]
                out["val_mutual_info"] = mutual_info(mu, logvar, torch.Generator().manual_seed(self.tcfg.seed),
                                                     family=fam)
                out["val_mutual_info_batch"] = mutual_info_batch(mu, logvar, self.valid.lengths, 32,
                                                                 torch.Generator().manual_seed(self.tcfg.seed),
                                                                 family=fam)
                # per dimension, for the collapse diagnostics (which dimensions carry information, and when);
                # a vMF's KL does not split over dimensions
                if fam.per_dimension_kl:
                    out["val_kl_per_dim"] = [round(v, 5) for v in fam.kl_per_dim(mu, logvar).mean(0).tolist()]
        return out

    # ----- loop
    def progress_text(self) -> str:
        """Where training stands, counted as the history records it (epochs from 1): "after epoch 3", or
        "in epoch 4 (120 of 1315 batches)" when it stopped inside one."""
        if self.batch_in_epoch:
            return f"in epoch {self.epoch + 1} ({self.batch_in_epoch} of {len(self._epoch_batches())} batches)"
        return f"after epoch {self.epoch}"

    def run(self) -> str:
        """Train until the budget ends; returns why it stopped ("done", "early_stop", "lr_floor", "max_decays",
        "max_steps", "max_minutes", "signal")."""
        stop = {"flag": None}

        def on_signal(signum, frame):
            if stop["flag"] == "signal":
                raise KeyboardInterrupt          # second signal: stop at once
            stop["flag"] = "signal"

        old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            return self._loop(stop)
        finally:
            for s, h in old.items():
                signal.signal(s, h)

    def _loop(self, stop: dict) -> str:
        t = self.tcfg
        start = time.monotonic()
        seconds_before = self.train_seconds
        while self.epoch < t.epochs:
            if (reason := self._early_stop_reason()) is not None:
                return reason
            if t.lr_schedule == "cosine-restarts":        # Fu et al.'s code sets each epoch's lr at its start
                for group in self.opt.param_groups:
                    group["lr"] = cosine_restart_lr(t.lr, self.epoch, t.lr_cycle_epochs)
            # the global batches; every rank builds the same list and trains on its share of each
            batches = self._epoch_batches()
            bar = tqdm(total=len(batches), initial=self.batch_in_epoch, desc=f"epoch {self.epoch + 1}/{t.epochs}",
                       disable=self.quiet, dynamic_ncols=True, leave=True)
            epoch_start_time, tokens_this_run = time.monotonic(), 0
            while self.batch_in_epoch < len(batches):
                reason = self._budget_exhausted(start, stop)
                if reason:
                    bar.close()
                    self.train_seconds = seconds_before + time.monotonic() - start
                    if reason == "max_steps" and self.batch_in_epoch > 0:
                        self._record_partial_epoch(time.monotonic() - epoch_start_time, tokens_this_run)
                    self.save()
                    return reason
                batch = batches[self.batch_in_epoch]
                self.batch_in_epoch += 1
                bar.update(1)
                if len(batch) < self.dist.world:      # a last batch too small to share: skipped by every rank
                    continue
                x, lengths = self.train.collate(self.dist.shard(batch))
                sums = self.train_step(x, lengths, len(batch)).double()
                self.epoch_acc += sums
                self.log_acc += sums
                ntok = int(self.train.lengths[batch].sum())           # target tokens of the global batch
                tokens_this_run += ntok
                self.tokens_seen += ntok
                self.epoch_tokens += ntok
                self.log_tokens += ntok
                self.log_sentences += len(batch)
                if self.step % t.log_every == 0:
                    self._log(bar)
                    if self.governor is not None and (n := self.governor.check()) is not None and not self.quiet:
                        tqdm.write(f"threads: {n} (other processes use {'some' if n < self.governor.max_threads else 'no'} "
                                   f"of the cores)")
                if t.save_every and self.step % t.save_every == 0:
                    self.train_seconds = seconds_before + time.monotonic() - start
                    self.save()
            bar.close()
            self._check_finite(self.global_sums()[0])
            self._end_epoch(time.monotonic() - epoch_start_time, tokens_this_run)
            self.train_seconds = seconds_before + time.monotonic() - start
            self.save()
        return self._early_stop_reason() or "done"

    def _early_stop_reason(self) -> str | None:
        """Why training stops before its epochs end: "early_stop" after `early_stop` epochs in a row without a
        better validation NLL, "lr_floor" once the "sa-vae" schedule has brought the lr below `min_lr`,
        "max_decays" once the "he2019" schedule has decayed `max_lr_decays` times; None while training goes on."""
        t = self.tcfg
        if t.early_stop and self.bad_epochs >= t.early_stop:
            return "early_stop"
        if t.lr_schedule == "sa-vae" and self.opt.param_groups[0]["lr"] < t.min_lr:
            return "lr_floor"
        if t.lr_schedule == "he2019" and t.max_lr_decays and self.he_schedule["decays"] >= t.max_lr_decays:
            return "max_decays"
        return None

    def _budget_exhausted(self, start: float, stop: dict) -> str | None:
        """Why to stop now, or None; under torchrun every rank agrees (the most urgent reason wins)."""
        t = self.tcfg
        reasons = (None, "max_steps", "max_minutes", "signal")
        reason = "signal" if stop["flag"] else None
        if reason is None and t.max_steps and self.step >= t.max_steps:
            reason = "max_steps"
        if reason is None and t.max_minutes and time.monotonic() - start >= 60 * t.max_minutes:
            reason = "max_minutes"
        return reasons[self.dist.max_int(reasons.index(reason))]

    def _check_finite(self, sums: torch.Tensor) -> None:
        if not bool(torch.isfinite(sums).all()):
            raise TrainingError(f"non-finite loss at step {self.step} (epoch {self.epoch + 1}); stopped, and the last "
                                f"good checkpoint in {self.out} was kept. Try a lower --lr or --clip.")

    def _log(self, bar) -> None:
        """Append the window since the last log to the history (global over ranks) and reset it."""
        window = self.global_sums()[1]
        self.log_acc.zero_()
        self.log_tokens = self.log_sentences = 0
        loss, rec, kl, ntok, n = window.tolist()
        n = max(n, 1)
        self._check_finite(window)
        rec_tok = rec / max(ntok, 1)
        entry = {"step": self.step, "kl_weight": round(self.kl_weight(), 6), "word_keep": round(self.word_keep(), 4),
                 "loss": loss / n, "rec": rec / n, "kl": kl / n,
                 "ppl": math.exp(min(rec_tok + kl / max(ntok, 1), 50.0)), "lr": self.opt.param_groups[0]["lr"]}
        self.history["steps"].append(entry)
        # sMIM's posteriors sit near the log-variance floor, so its KL is hundreds of nats and the ELBO
        # perplexity is meaningless to watch; it shows the reconstruction's perplexity instead (and no KL weight).
        watch = ({"rec_ppl": f"{math.exp(min(rec_tok, 50.0)):.1f}"} if self.mcfg.model == "smim" else
                 {"ppl": f"{entry['ppl']:.1f}", "beta": f"{entry['kl_weight']:.2f}"})
        bar.set_postfix(loss=f"{loss / n:.2f}", kl=f"{entry['kl']:.2f}", **watch)

    def _epoch_record(self, seconds: float, tokens: float, sentences: int) -> dict:
        """Validate (rank 0; every rank gets the result) and build the history record of the epoch so far."""
        loss, rec, kl, ntok = self.global_sums()[0].tolist()
        n = max(sentences, 1)
        val = self.dist.broadcast(self.validate() if self.dist.is_main else None)
        record = {"epoch": self.epoch + 1, "step": self.step, "kl_weight": self.kl_weight(),
                  "lr": self.opt.param_groups[0]["lr"], "train_loss": loss / n, "train_rec": rec / n,
                  "train_kl": kl / n, "train_ppl": math.exp(min((rec + kl) / max(ntok, 1), 50.0)),
                  "epoch_seconds": round(seconds, 2), "tokens_per_s": round(tokens / max(seconds, 1e-9), 1), **val}
        self.history["epochs"].append(record)
        if not self.quiet:
            print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in record.items()}), flush=True)
        return record

    def _save_best_if_improved(self, metric: float) -> bool:
        improved = metric < self.best_val
        if improved:
            self.best_val = metric
            if self.dist.is_main:
                save_checkpoint(self.out / "best", self.model, self.mcfg, self.vocab, self.tcfg, self.history,
                                self.progress())
        return improved

    def _epoch_batches(self) -> list[list[int]]:
        """The current epoch's global training batches (sentence indices), the same on every rank and after a
        resume: shuffled with (seed, epoch), length-bucketed unless --bucket false. Made once an epoch (the
        aggressive inner loop draws from them at every step)."""
        t = self.tcfg
        if self._batches_of[0] != self.epoch:
            self._batches_of = (self.epoch, self.train.batches(t.batch_size, shuffle=True, seed=t.seed,
                                                               epoch=self.epoch, bucket=t.bucket))
        return self._batches_of[1]

    def _record_partial_epoch(self, seconds: float, tokens: float) -> None:
        """A run that reaches --max-steps inside an epoch still validates and records the epoch so far (marked
        "partial", with the batches done). It writes OUT/best only when there is none yet, so the run can be
        evaluated and shown, and leaves `best_val` alone: the learning-rate schedule, early stopping and
        OUT/best compare whole epochs with whole epochs (a partial epoch's validation set best_val, and the
        next whole epoch could count as a miss against it). A resumed run finishes the epoch."""
        sentences = sum(len(b) for b in self._epoch_batches()[: self.batch_in_epoch])
        record = self._epoch_record(seconds, tokens, sentences)
        record.update(partial=True, batches=self.batch_in_epoch)
        if self.dist.is_main and not (self.out / "best" / "config.json").is_file():
            save_checkpoint(self.out / "best", self.model, self.mcfg, self.vocab, self.tcfg, self.history,
                            self.progress())

    def _end_epoch(self, seconds: float, tokens: float) -> None:
        """Validate, record the epoch, step the plateau schedule, save OUT/best when validation improves.

        `seconds`/`tokens`: time and target tokens of this invocation's part of the epoch (for tokens/s).
        """
        record = self._epoch_record(seconds, tokens, len(self.train))
        metric = selection_metric(record, self.tcfg.kl_anneal, self.tcfg.kl_start)
        self.epoch += 1
        self.batch_in_epoch = 0
        self.epoch_acc.zero_()
        self.epoch_tokens = 0
        improved = self._save_best_if_improved(metric)
        self.bad_epochs = 0 if improved else self.bad_epochs + 1
        if self.tcfg.lr_schedule == "plateau":
            self.plateau.step(metric)
        elif self.tcfg.lr_schedule == "livne":
            self._livne_decay(improved)
        elif self.tcfg.lr_schedule == "he2019":
            self._he_decay(metric)
        else:
            self._sa_vae_decay(improved)
        if self.aggressive_on and "val_mutual_info_batch" in record:
            # He et al.: the aggressive phase ends once the validation MI falls (text.py, `cur_mi - pre_mi < 0`)
            mi = record["val_mutual_info_batch"]
            self.aggressive_on = mi - self.previous_mi >= 0
            self.previous_mi = mi
            record["aggressive"] = True

    def _he_decay(self, metric: float) -> None:
        """He et al. 2019's and Li et al. 2019's learning-rate rule (text.py, `opt_dict`): an epoch whose
        validation loss is above the reference counts a miss; `lr_patience` misses (their decay_epoch: 2 in
        jxhe's code, 5 in bohanli's) once more than `lr_decay_start` epochs are done (their load_best_epoch,
        15) multiply the lr by `lr_decay`, load the best model back (OUT/best), clear the optimizer's state and
        make this epoch's loss the reference; an epoch not above it becomes the reference and clears the
        misses. `_early_stop_reason` ends training after `max_lr_decays` decays."""
        t, h = self.tcfg, self.he_schedule
        if metric <= h["reference"]:
            h.update(reference=metric, misses=0)
            return
        h["misses"] += 1
        if h["misses"] >= t.lr_patience and self.epoch - 1 >= t.lr_decay_start:
            h.update(reference=metric, misses=0, decays=h["decays"] + 1)
            if (self.out / "best" / "config.json").is_file():
                best = load_checkpoint(self.out / "best", device=self.device)
                self.model.load_state_dict(best.model.state_dict())
            self.opt.state.clear()
            for group in self.opt.param_groups:
                group["lr"] *= t.lr_decay

    def _livne_decay(self, improved: bool) -> None:
        """Livne et al. 2020's learning-rate rule (seraphlabs-ca/SentenceMIM-demo, train.py,
        `scheduler_counter`): the counter starts at `lr_patience` (their 2); a miss with the counter above 0
        lowers it, a miss at 0 multiplies the lr by `lr_decay` (their StepLR gamma 0.25) and resets the
        counter; an improvement (a strictly lower validation loss, the rule early stopping uses too) leaves
        the counter as it is. So the lr drops on the third miss since the last drop, in a row or not. No
        floor: their run stops once the lr is below 1e-8, ours by `early_stop`."""
        if improved:
            return
        if self.lr_counter > 0:
            self.lr_counter -= 1
            return
        for group in self.opt.param_groups:
            group["lr"] *= self.tcfg.lr_decay
        self.lr_counter = self.tcfg.lr_patience

    def _sa_vae_decay(self, improved: bool) -> None:
        """Kim et al. 2018's learning-rate rule (harvardnlp/sa-vae, train_text.py): a validation miss after epoch
        `lr_decay_start` starts the decay, and from then on the lr is multiplied by `lr_decay` after every
        epoch, improved or not (their `args.decay` stays set). `self.epoch` counts the finished epochs, 1-based
        like theirs. Nothing else changes the lr under this schedule, so "the decay has started" is "the lr is
        below its start", which the optimizer's saved state carries through a resume."""
        t = self.tcfg
        started = self.opt.param_groups[0]["lr"] < t.lr
        if started or (not improved and self.epoch > t.lr_decay_start):
            for group in self.opt.param_groups:
                group["lr"] *= t.lr_decay


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.resume:
            if not args.out:
                raise SystemExit("error: --resume needs --out (the run's checkpoint directory)")
            saved = read_config(args.out)
            mcfg = ModelConfig.from_dict(saved["model"])
            tdict = saved["train"]
            # A resumed run keeps the precision it trained with, even if what "auto" means changes.
            if tdict.get("amp") == "auto" and saved.get("progress", {}).get("amp") in AMP_NAMES.values():
                tdict["amp"] = saved["progress"]["amp"]
            for k in RESUMABLE_OVERRIDES:
                if getattr(args, k, None) is not None:
                    tdict[k] = getattr(args, k)
            tcfg = TrainConfig.from_dict(tdict)
            tcfg.out = args.out
        else:
            mcfg, tcfg = configs_from_args(args)
            if not tcfg.data or not tcfg.out:
                raise SystemExit("error: --data and --out are required (or --resume with --out)")
        trainer = Trainer(mcfg, tcfg, resume=args.resume)
        n_params = sum(p.numel() for p in trainer.model.parameters())
        say = print if trainer.dist.is_main else (lambda *a, **k: None)
        world = f", {trainer.dist.world} processes (torchrun)" if trainer.dist.enabled else ""
        say(f"model {mcfg.model}: {n_params / 1e6:.2f}M parameters, vocabulary {len(trainer.vocab)}, "
            f"device {trainer.device}, amp {trainer.amp_dtype}, threads {torch.get_num_threads()}{world}, "
            f"start step {trainer.step}", flush=True)
        reason = trainer.run()
        say(f"stopped ({reason}) at step {trainer.step}, {trainer.progress_text()}; checkpoint in {tcfg.out}", flush=True)
        dist_ctx = trainer.dist
        del trainer                  # the DDP reducer lets go of the process group before the group is destroyed
        gc.collect()
        dist_ctx.close()
    except (CorpusError, CheckpointError, TrainingError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except OSError as e:      # e.g. a full disk while saving: the previous checkpoint is intact (atomic save)
        print(f"error: {e}. The last complete checkpoint in {tcfg.out} was kept.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    code = main()
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        # A torchrun worker has saved, left its process group and has nothing left to do. Interpreter
        # finalisation can still destroy gloo's C++ worker threads in an order that aborts the process
        # ("terminate called without an active exception", seen rarely under load): skip it.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
