"""Checkpoints: `weights.safetensors` + `config.json` in one directory, written atomically, never unpickled.

Layout of a checkpoint directory:
    config.json                 {"format": "vae_core", "format_version", "checkpoint_id", "model": ModelConfig,
                                 "train": TrainConfig, "vocab": [...], "history": [...], "progress": {...}}
    weights.safetensors         the model's state dict (float32, or float16 for export; loaded as float32)
    trainer_state.safetensors   optional, for --resume only: optimizer tensors, RNG states, and (in its
                                metadata) the scheduler and loop state
All files of one save share a `checkpoint_id`; loading checks they agree.

Atomicity: a save first writes every file into `DIR/.next/`, fsyncs them and marks the set complete with
`.next/COMPLETE`; only then are the files moved into place with os.replace (config.json last) and `.next`
removed. A process killed before COMPLETE leaves the previous checkpoint untouched (the partial `.next` is
ignored by loads and discarded by the next save); one killed while moving leaves a complete `.next`, whose
files a load reads in place of the ones not yet moved, and which the next save or `train --resume`
finishes moving (`recover`). Either way what loads is one whole checkpoint.

Loading is read-only and bounded: it never writes, moves or deletes a file (a link in the app may point it
at any directory), and every check is linear in the size of the files, made before a model is built.

Command line:
    python -m vae_core.checkpoint inspect DIR
    python -m vae_core.checkpoint export SRC DEST [--dtype float16]   # weights + config only, e.g. for the demo
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from .config import ModelConfig, TrainConfig
from .data import Vocab
from .tokenize import PTB_MIKOLOV, TokenizerRules
from .model import SentenceVAE, build_model

FORMAT = "vae_core"
FORMAT_VERSION = 1
WEIGHTS, CONFIG, TRAINER = "weights.safetensors", "config.json", "trainer_state.safetensors"
PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".bin", ".ckpt")
MAX_CONFIG_BYTES = 64 * 2**20     # config.json of a 150k-word vocabulary with a long history is a few MB
MAX_LAYERS = 64                   # num_layers / bow_decoder_layers: far above any model of the papers


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt, unsafe or inconsistent; the message names the file and the problem."""


@dataclass
class Checkpoint:
    """A loaded checkpoint: the model (eval mode, float32) and everything `config.json` describes."""

    model: SentenceVAE
    vocab: Vocab
    model_config: ModelConfig
    train_config: TrainConfig | None
    history: dict
    progress: dict
    path: Path
    meta: dict = field(default_factory=dict)


# --------------------------------------------------------------------------------------------- writing
def _fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _write_json(path: Path, obj: Any) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1)
        f.flush()
        os.fsync(f.fileno())


def _untie(state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Split a state dict into the tensors to store and {alias: stored name} for entries that are the same
    tensor as an earlier one (a tied embedding, `ModelConfig.tie_embeddings`), so each is stored once."""
    first: dict[tuple, str] = {}
    tied: dict[str, str] = {}
    for k, v in state.items():
        key = (v.device, v.untyped_storage().data_ptr(), v.storage_offset(), tuple(v.shape), tuple(v.stride()))
        if key in first:
            tied[k] = first[key]
        else:
            first[key] = k
    return {k: v for k, v in state.items() if k not in tied}, tied


def _retie(weights: dict[str, torch.Tensor], meta: dict, path: Path) -> dict[str, torch.Tensor]:
    """The stored tensors plus the aliases `_untie` left out (safetensors metadata "tied", a JSON object).
    Raises CheckpointError for a malformed record."""
    if "tied" not in meta:
        return weights
    try:
        tied = json.loads(meta["tied"])
        ok = isinstance(tied, dict) and all(isinstance(a, str) and isinstance(b, str) and b in weights and a not in weights
                                            for a, b in tied.items())
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise CheckpointError(f"{path}: malformed record of tied tensors in its metadata")
    return weights | {a: weights[b] for a, b in tied.items()}


def _cpu_tensors(state: dict[str, torch.Tensor], dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
    """Detached, contiguous CPU copies (a CUDA state dict saves like a CPU one); floats cast to `dtype`."""
    out = {}
    for k, v in state.items():
        v = v.detach().to("cpu")
        if dtype is not None and v.is_floating_point():
            v = v.to(dtype)
        out[k] = v.contiguous().clone()
    return out


def recover(directory: str | os.PathLike) -> None:
    """Finish or discard an interrupted save in `directory` (see the module docstring). Idempotent.

    It writes: only the owner of a run directory calls it (`save_checkpoint`, `train --resume`), never a load."""
    d = Path(directory)
    nxt = d / ".next"
    if not nxt.is_dir():
        return
    if (nxt / "COMPLETE").is_file():
        for name in (TRAINER, WEIGHTS, CONFIG):      # config.json last: it is what names the set
            if (nxt / name).is_file():
                os.replace(nxt / name, d / name)
    shutil.rmtree(nxt, ignore_errors=True)


def save_checkpoint(directory: str | os.PathLike, model: torch.nn.Module, model_config: ModelConfig, vocab: Vocab,
                    train_config: TrainConfig | None = None, history: dict | None = None,
                    progress: dict | None = None, trainer_tensors: dict[str, torch.Tensor] | None = None,
                    trainer_meta: dict | None = None, dtype: torch.dtype | None = None) -> Path:
    """Write a checkpoint atomically into `directory` (created if needed); returns its path.

    `trainer_tensors`/`trainer_meta` (optimizer, RNG, loop state) go to trainer_state.safetensors; omit them
    for an inference-only checkpoint (a stale trainer state of an earlier save is then removed).
    `dtype=torch.float16` stores half-precision weights (they are loaded back as float32).
    Raises OSError (e.g. disk full) with the previous checkpoint left intact.
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    recover(d)
    if len(vocab) != model_config.vocab_size:
        raise CheckpointError(f"vocabulary has {len(vocab)} entries but the model config says vocab_size={model_config.vocab_size}")
    ckpt_id = uuid.uuid4().hex
    nxt = d / ".next"
    nxt.mkdir()
    try:
        stored, tied = _untie(model.state_dict())
        meta = {"format": FORMAT, "checkpoint_id": ckpt_id} | ({"tied": json.dumps(tied)} if tied else {})
        save_file(_cpu_tensors(stored, dtype), str(nxt / WEIGHTS), metadata=meta)
        _fsync_file(nxt / WEIGHTS)
        if trainer_tensors is not None:
            meta = {"format": FORMAT, "checkpoint_id": ckpt_id, "trainer": json.dumps(trainer_meta or {})}
            save_file(_cpu_tensors(trainer_tensors), str(nxt / TRAINER), metadata=meta)
            _fsync_file(nxt / TRAINER)
        config = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "checkpoint_id": ckpt_id,
            "weights_dtype": str(dtype or torch.float32).replace("torch.", ""),
            "has_trainer_state": trainer_tensors is not None,
            "model": model_config.to_dict(),
            "train": train_config.to_dict() if train_config is not None else None,
            "progress": progress or {}, "history": history or {"epochs": [], "steps": []}, "vocab": vocab.to_list(),
            "tokenizer": vocab.tokenizer.to_dict(),
        }
        _write_json(nxt / CONFIG, config)
        _write_json(nxt / "COMPLETE", {"checkpoint_id": ckpt_id})
    except BaseException:
        shutil.rmtree(nxt, ignore_errors=True)
        raise
    if trainer_tensors is None and (d / TRAINER).exists():
        os.remove(d / TRAINER)
    recover(d)
    return d


# --------------------------------------------------------------------------------------------- reading
def _refuse_pickles(d: Path) -> None:
    """Explain a directory that holds pickle files instead of safetensors. The message names the kinds of
    file, never the files (a directory's listing is not the caller's business)."""
    kinds = sorted({p.suffix for p in d.iterdir() if p.suffix in PICKLE_SUFFIXES}) if d.is_dir() else []
    if kinds:
        raise CheckpointError(
            f"{d}: holds pickle files ({', '.join(kinds)}) but no {WEIGHTS}. Pickle files are refused because "
            f"loading them can execute arbitrary code; convert the state dict to safetensors "
            f"(safetensors.torch.save_file) and add a {CONFIG}.")


def _staged(d: Path, name: str) -> Path:
    """The file `name` of the checkpoint in `d` as a reader must take it: from a complete staged save
    (`.next/COMPLETE`) while that save's move into place is unfinished, else from `d`. Reads only."""
    staged = d / ".next" / name
    return staged if (d / ".next" / "COMPLETE").is_file() and staged.is_file() else d / name


def read_config(directory: str | os.PathLike) -> dict:
    """Parse and check `config.json` of a checkpoint directory (read-only; at most MAX_CONFIG_BYTES).
    Raises CheckpointError naming the problem."""
    d = Path(directory)
    if not d.exists():
        raise CheckpointError(f"{d}: checkpoint directory not found")
    if d.is_file():
        if d.suffix in PICKLE_SUFFIXES:
            raise CheckpointError(f"{d}: pickle checkpoints are refused (loading them can execute code); "
                                  f"use a directory with {WEIGHTS} and {CONFIG}")
        raise CheckpointError(f"{d}: expected a checkpoint directory holding {WEIGHTS} and {CONFIG}")
    path = _staged(d, CONFIG)
    if not path.is_file():
        _refuse_pickles(d)
        raise CheckpointError(f"{path}: missing (a checkpoint directory holds {WEIGHTS} and {CONFIG})")
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except OSError as e:
        raise CheckpointError(f"{path}: cannot be read ({e.strerror})") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise CheckpointError(f"{path}: larger than {MAX_CONFIG_BYTES >> 20} MB, far above any checkpoint's")
    try:
        cfg = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: not valid JSON ({e})") from None
    except RecursionError:
        raise CheckpointError(f"{path}: not a checkpoint config (JSON nested too deeply)") from None
    if not isinstance(cfg, dict) or cfg.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a {FORMAT} checkpoint config (missing \"format\": \"{FORMAT}\")")
    version = cfg.get("format_version", 0)
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(f"{path}: format_version {version!r} is not one this code reads (<= {FORMAT_VERSION})")
    for key, typ in (("model", dict), ("vocab", list), ("checkpoint_id", str)):
        if not isinstance(cfg.get(key), typ):
            raise CheckpointError(f"{path}: key {key!r} is missing or not a {typ.__name__}")
    return cfg


def _header(path: Path) -> dict[str, list[int]]:
    """Tensor names and shapes from a safetensors header, without reading the tensors (the format caps the
    header at 100 MB). Raises CheckpointError for a missing or unreadable file."""
    if not path.is_file():
        raise CheckpointError(f"{path}: missing")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            return {k: list(f.get_slice(k).get_shape()) for k in f.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{path}: corrupt or truncated safetensors file ({e})") from None


def _check_sizes_against_header(model_config: ModelConfig, header: dict[str, list[int]], path: Path) -> None:
    """Refuse, before any model is built, a config whose layer counts no weights file of this size can hold:
    building is linear in num_layers (a planted num_layers = 200000 built for over a minute), and each
    layer stores at least one tensor, so the counts are bounded by the header's tensor count."""
    for name in ("num_layers", "bow_decoder_layers"):
        n = getattr(model_config, name)
        if n > MAX_LAYERS or n > len(header):
            raise CheckpointError(f"{path}: the config's {name} = {n} cannot match {len(header)} stored tensors "
                                  f"(and this code builds at most {MAX_LAYERS} layers)")


def _read_safetensors(path: Path, ckpt_id: str) -> tuple[dict[str, torch.Tensor], dict]:
    if not path.is_file():
        raise CheckpointError(f"{path}: missing")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = f.metadata() or {}
        tensors = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{path}: corrupt or truncated safetensors file ({e})") from None
    if meta.get("checkpoint_id") != ckpt_id:
        raise CheckpointError(f"{path}: checkpoint_id {meta.get('checkpoint_id')!r} does not match {CONFIG} "
                              f"({ckpt_id!r}); the files come from different saves")
    return tensors, meta


def load_checkpoint(directory: str | os.PathLike, device: torch.device | str = "cpu") -> Checkpoint:
    """Load a checkpoint directory onto `device` (CPU by default, whatever device it was trained on).

    The model is rebuilt from config.json alone, its weights cast to float32, and put in eval mode.
    Read-only: nothing under `directory` is written, moved or deleted (an unfinished save is read from its
    staging folder, see the module docstring). Every check is linear in the files' sizes and comes before
    the model is built.
    Raises CheckpointError naming the file for: a missing directory or file, pickle files, invalid or
    oversized JSON, a vocabulary whose size differs from the config or that repeats a word, layer counts
    the weights cannot hold, corrupt or truncated weights, weights from another save, missing, unexpected or
    mis-shaped tensors, and non-float or non-finite weights.
    """
    d = Path(directory)
    cfg = read_config(d)
    try:
        model_config = ModelConfig.from_dict(cfg["model"])
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{d / CONFIG}: invalid model config ({e})") from None
    try:
        # written before tokenizer rules were stored: every such checkpoint was trained on PTB
        rules = TokenizerRules.from_dict(cfg["tokenizer"]) if "tokenizer" in cfg else PTB_MIKOLOV
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{d / CONFIG}: invalid tokenizer rules ({e})") from None
    try:
        vocab = Vocab(cfg["vocab"], rules)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{d / CONFIG}: invalid vocabulary ({e})") from None
    if len(vocab) != model_config.vocab_size:
        raise CheckpointError(f"{d / CONFIG}: vocabulary has {len(vocab)} words but model.vocab_size is "
                              f"{model_config.vocab_size}")
    weights_path = _staged(d, WEIGHTS)
    _check_sizes_against_header(model_config, _header(weights_path), weights_path)
    weights, meta = _read_safetensors(weights_path, cfg["checkpoint_id"])
    weights = _retie(weights, meta, weights_path)
    # Compare shapes on the meta device first: a hostile config (say hidden_dim = 10**9) allocates nothing.
    try:
        with torch.device("meta"):
            expected = build_model(model_config).state_dict()
    except (RuntimeError, ValueError, TypeError, OverflowError) as e:
        raise CheckpointError(f"{d / CONFIG}: the model config cannot be built ({e})") from None
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    if missing or unexpected:
        raise CheckpointError(f"{d / WEIGHTS}: does not match {CONFIG}: missing tensors {missing[:5]}, "
                              f"unexpected tensors {unexpected[:5]}")
    bad = [f"{k} {tuple(weights[k].shape)} vs {tuple(v.shape)}" for k, v in expected.items() if weights[k].shape != v.shape]
    if bad:
        raise CheckpointError(f"{d / WEIGHTS}: tensor shapes do not match {CONFIG}: " + "; ".join(bad[:5]))
    not_float = [k for k, v in weights.items() if not v.is_floating_point()]
    if not_float:
        raise CheckpointError(f"{d / WEIGHTS}: tensors {not_float[:5]} are not floating point")
    non_finite = [k for k, v in weights.items() if not bool(torch.isfinite(v).all())]
    if non_finite:
        raise CheckpointError(f"{d / WEIGHTS}: tensors {non_finite[:5]} hold NaN or infinite values")
    model = build_model(model_config)
    model.load_state_dict({k: v.float() for k, v in weights.items()})
    model.to(device).eval()
    train_config = None
    if isinstance(cfg.get("train"), dict):
        try:
            train_config = TrainConfig.from_dict(cfg["train"])
        except (TypeError, ValueError):
            train_config = None   # an unknown training setup does not stop inference
    history = cfg.get("history")
    if not (isinstance(history, dict) and all(isinstance(history.get(k, []), list) for k in ("epochs", "steps"))):
        history = {"epochs": [], "steps": []}     # history is informative only: a malformed one is dropped
    progress = cfg.get("progress") if isinstance(cfg.get("progress"), dict) else {}
    return Checkpoint(model, vocab, model_config, train_config, history, progress, d,
                      {k: cfg.get(k) for k in ("checkpoint_id", "weights_dtype", "format_version")})


def load_trainer_state(directory: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict]:
    """The resume state of a training checkpoint: tensors and the decoded JSON metadata."""
    d = Path(directory)
    cfg = read_config(d)
    tensors, meta = _read_safetensors(_staged(d, TRAINER), cfg["checkpoint_id"])
    return tensors, json.loads(meta.get("trainer", "{}"))


def export_checkpoint(src, dest, dtype: torch.dtype = torch.float16) -> Path:
    """Copy a checkpoint's model, config and history (no trainer state) to `dest`, weights stored as `dtype`."""
    ck = load_checkpoint(src)
    return save_checkpoint(dest, ck.model, ck.model_config, ck.vocab, ck.train_config, ck.history, ck.progress,
                           dtype=dtype)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m vae_core.checkpoint", description="Inspect or export checkpoints.")
    sub = p.add_subparsers(dest="cmd", required=True)
    i = sub.add_parser("inspect")
    i.add_argument("directory")
    e = sub.add_parser("export")
    e.add_argument("src")
    e.add_argument("dest")
    e.add_argument("--dtype", choices=["float16", "float32", "bfloat16"], default="float16")
    args = p.parse_args(argv)
    try:
        if args.cmd == "inspect":
            ck = load_checkpoint(args.directory)
            n = sum(p.numel() for p in ck.model.parameters())
            print(json.dumps({"model": ck.model_config.to_dict(), "parameters": n, "progress": ck.progress,
                              "epochs_in_history": len(ck.history.get("epochs", [])), **ck.meta}, indent=1))
        else:
            out = export_checkpoint(args.src, args.dest, getattr(torch, args.dtype))
            size = sum(f.stat().st_size for f in out.iterdir() if f.is_file())
            print(f"wrote {out} ({size / 1e6:.1f} MB)")
    except CheckpointError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
