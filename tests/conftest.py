"""Shared fixtures: paths to the real corpora in ../shared/data and tiny models trained in-process."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import torch

from vae_core.config import ModelConfig, TrainConfig
from vae_core.train import Trainer

ROOT = Path(__file__).resolve().parents[1]
PTB = ROOT.parent / "shared" / "data" / "ptb"
DEMO = ROOT / "checkpoints" / "bowman-vae"
# the zoo's sentenceMIM (the app's shipped default), as the sidebar lists it: relative to ROOT
SMIM = "checkpoints/smim128-v2"
# The app's views are tested on the small demo VAE (fast); the shipped default (SMIM) has its
# own test in tests/test_app.py. Set before app.common is imported, and inherited by served apps.
os.environ["VAE_APP_CHECKPOINT"] = str(DEMO)

torch.set_num_threads(1)   # steady timings on 2 cores; tests are small


def require_ptb():
    if not (PTB / "ptb.train.txt").is_file():
        pytest.fail(f"the PTB corpus is expected at {PTB} (../shared/data/ptb beside the checkout)")
    return PTB


@pytest.fixture(scope="session")
def ptb_dir() -> Path:
    return require_ptb()


@pytest.fixture(scope="session")
def tiny_ptb(tmp_path_factory, ptb_dir) -> Path:
    """The first 400 / 80 / 80 sentences of the real PTB splits, in a temporary directory."""
    d = tmp_path_factory.mktemp("tiny_ptb")
    for split, n in (("train", 400), ("valid", 80), ("test", 80)):
        lines = (ptb_dir / f"ptb.{split}.txt").read_text().splitlines(keepends=True)[:n]
        (d / f"ptb.{split}.txt").write_text("".join(lines))
    return d


def tiny_configs(data, out, **train) -> tuple[ModelConfig, TrainConfig]:
    m = ModelConfig(emb_dim=24, hidden_dim=32, latent_dim=4)
    t = TrainConfig(data=str(data), out=str(out), batch_size=16, epochs=2, save_every=0, log_every=5,
                    kl_anneal_steps=20, kl_logistic_k=0.2, word_keep=0.8, val_batch_size=64)
    for k, v in train.items():
        setattr(t, k, v)
    return m, t


@pytest.fixture(scope="session")
def tiny_vae(tmp_path_factory, tiny_ptb):
    """A small VAE trained for two epochs on tiny_ptb; returns its checkpoint directory."""
    out = tmp_path_factory.mktemp("tiny_vae")
    m, t = tiny_configs(tiny_ptb, out)
    Trainer(m, t, quiet=True).run()
    return out


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    if not (DEMO / "config.json").is_file():
        pytest.fail(f"the committed demo checkpoint is missing at {DEMO}")
    return DEMO


def shown_markdown(markdown: str) -> str:
    """What a reader sees of Markdown escaped by app.figures.escape_markdown: the backslash escapes read, the
    invisible word joiners (U+2060) it adds left in (drop them to compare with the text typed)."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)
