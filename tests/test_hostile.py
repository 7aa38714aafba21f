"""Hostile input: property-based tests of text encoding and of the checkpoint reader on mutated files, and
fault tests that really send signals to a training process (issue: nothing lost, nothing executed)."""
import json
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file

from tests.conftest import ROOT, tiny_configs
from vae_core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from vae_core.config import ModelConfig
from vae_core.data import TextError, Vocab, encode_text, normalise_text
from vae_core.latent import homotopy, reconstruct
from vae_core.model import SentenceVAE
from vae_core.tokenize import tokenize
from vae_core.train import Trainer, TrainingError

VOCAB = Vocab.build([["the", "market", "fell", "n't", "$", "N", "<unk>"]])

HOSTILE = {
    "empty": "",
    "whitespace": " \t\n\r\u00a0\u2003\u3000 ",
    "all_oov": "zorblax quuxified flimflam",
    "very_long": "the " * 10_000,
    "control": "the\x01market\x07fell\x1b[31m",
    "nul": "the\x00market\x00",
    "rtl": "\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627 \u202ethe market",
    "emoji": "the market 📉📉 fell 🙂",
    "mixed_case": "ThE MaRkEt FELL",
    "odd_whitespace": "the\u2028market\u2029fell\u00a0N\u200b",
}


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_encode_text_never_crashes_and_is_well_formed(text):
    tokens, _ = tokenize(text, VOCAB.tokenizer, VOCAB.stoi)
    try:
        e = encode_text(text, VOCAB, max_tokens=50)
    except TextError:
        assert tokens == []
        return
    assert 1 <= len(e.ids) <= 50 and len(e.ids) == len(e.tokens)
    assert all(0 <= i < len(VOCAB) for i in e.ids)
    assert all(t and not any(c.isspace() for c in t) for t in e.tokens)
    assert all(i == VOCAB.unk_id for t, i in zip(e.tokens, e.ids) if t == "<unk>")
    assert tokenize(" ".join(tokens), VOCAB.tokenizer, VOCAB.stoi)[0] == tokens    # corpus form is a fixed point
    assert normalise_text(normalise_text(text)) == normalise_text(text)     # normalisation is idempotent


@pytest.fixture(scope="module")
def small_ckpt(tmp_path_factory):
    torch.manual_seed(0)
    cfg = ModelConfig(vocab_size=len(VOCAB), emb_dim=4, hidden_dim=5, latent_dim=3)
    return save_checkpoint(tmp_path_factory.mktemp("small") / "ck", SentenceVAE(cfg), cfg, VOCAB)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_text_through_the_api(small_ckpt, name):
    ck = load_checkpoint(small_ckpt)
    text = HOSTILE[name]
    if name in ("empty", "whitespace"):
        with pytest.raises(TextError, match="empty"):
            reconstruct(ck.model, ck.vocab, text)
        return
    r = reconstruct(ck.model, ck.vocab, text, n_samples=1, max_len=5)
    assert len(r["input"].tokens) <= 100
    if name == "very_long":
        assert r["input"].truncated_from == 10_000
    if name in ("all_oov", "emoji", "rtl"):
        assert r["input"].unknown
    h = homotopy(ck.model, ck.vocab, text, "the market", steps=3, max_len=5)
    assert len(h["sentences"]) == 3


@pytest.mark.parametrize("name", ["empty", "nul", "rtl", "very_long"])
def test_hostile_text_through_the_cli(small_ckpt, name, capsys):
    from vae_core import latent
    rc = latent.main([str(small_ckpt), "reconstruct", HOSTILE[name], "--samples", "1"])
    out, err = capsys.readouterr()
    if name == "empty":
        assert rc == 1 and "empty" in err
    else:
        assert rc == 0 and json.loads(out)["input"]


def _mutate(src: Path, dst: Path, target: str, ops: list) -> None:
    shutil.copytree(src, dst)
    data = bytearray((dst / target).read_bytes())
    for kind, pos, val in ops:
        pos = pos % max(1, len(data))
        if kind == "flip":
            if data:
                data[pos] = val
        elif kind == "truncate":
            data = data[:pos]
        else:
            data[pos:pos] = bytes([val])
    (dst / target).write_bytes(bytes(data))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(target=st.sampled_from(["weights.safetensors", "config.json"]),
       ops=st.lists(st.tuples(st.sampled_from(["flip", "truncate", "insert"]), st.integers(0, 10 ** 6),
                              st.integers(0, 255)), min_size=1, max_size=4))
def test_mutated_checkpoints_load_or_fail_with_checkpoint_error(small_ckpt, tmp_path_factory, target, ops):
    dst = tmp_path_factory.mktemp("mut") / "ck"
    _mutate(small_ckpt, dst, target, ops)
    try:
        ck = load_checkpoint(dst)
    except CheckpointError as e:
        assert str(dst) in str(e)                  # the message names the file
        return
    assert all(bool(torch.isfinite(p).all()) for p in ck.model.parameters())


@pytest.mark.parametrize("edit", [
    {"model": {"hidden_dim": 10 ** 9}}, {"model": {"hidden_dim": "five"}}, {"model": {"z_concat": "yes"}},
    {"model": {"model": "gpt"}}, {"vocab": "abc"}, {"vocab": [1, 2, 3]}, {"format_version": "1"},
    {"history": [1, 2]}, {"checkpoint_id": 5}, {"model": []},
])
def test_hostile_config_values(small_ckpt, tmp_path, edit):
    dst = tmp_path / "ck"
    shutil.copytree(small_ckpt, dst)
    cfg = json.loads((dst / "config.json").read_text())
    for k, v in edit.items():
        if isinstance(v, dict) and isinstance(cfg.get(k), dict):
            cfg[k].update(v)
        else:
            cfg[k] = v
    (dst / "config.json").write_text(json.dumps(cfg))
    if "history" in edit:
        assert load_checkpoint(dst).history == {"epochs": [], "steps": []}    # informative only: dropped
    else:
        with pytest.raises(CheckpointError, match="config.json"):
            load_checkpoint(dst)


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, tiny_ptb, monkeypatch):
    import vae_core.train as train_mod
    real = train_mod.training_terms
    calls = {"n": 0}

    def poisoned(*a, **k):
        calls["n"] += 1
        t = real(*a, **k)
        if calls["n"] > 7:
            t.loss = t.loss * float("nan")
        return t
    monkeypatch.setattr(train_mod, "training_terms", poisoned)
    m, t = tiny_configs(tiny_ptb, tmp_path / "run", save_every=5, log_every=5)
    trainer = Trainer(m, t, quiet=True)
    with pytest.raises(TrainingError, match="non-finite loss at step 10"):
        trainer.run()
    ck = load_checkpoint(tmp_path / "run")
    assert ck.progress["step"] == 5 and all(bool(torch.isfinite(p).all()) for p in ck.model.parameters())


def test_failed_checkpoint_write_is_reported_by_the_cli(tmp_path, tiny_ptb, monkeypatch, capsys):
    import vae_core.checkpoint as ckmod
    from vae_core import train
    real, calls = ckmod._write_json, {"n": 0}

    def full_disk(*a, **k):
        calls["n"] += 1
        if calls["n"] > 2:               # the first save (config + COMPLETE) works, then the disk is full
            raise OSError(28, "No space left on device")
        return real(*a, **k)
    monkeypatch.setattr(ckmod, "_write_json", full_disk)
    args = ["--data", str(tiny_ptb), "--out", str(tmp_path / "run"), "--epochs", "1", "--emb-dim", "8",
            "--hidden-dim", "8", "--latent-dim", "2", "--save-every", "3"]
    assert train.main(args) == 1
    assert "No space left on device" in capsys.readouterr().err
    monkeypatch.undo()
    assert load_checkpoint(tmp_path / "run").progress["step"] == 3


def _train_cmd(data, out, epochs):
    return [sys.executable, "-m", "vae_core.train", "--data", str(data), "--out", str(out), "--epochs", str(epochs),
            "--emb-dim", "24", "--hidden-dim", "32", "--latent-dim", "4", "--batch-size", "16", "--log-every", "5",
            "--kl-anneal-steps", "20", "--kl-logistic-k", "0.2", "--word-keep", "0.8", "--save-every", "1",
            "--threads", "1"]


def _saved_step(out: Path) -> int:
    try:
        return json.loads((out / "config.json").read_text())["progress"]["step"]
    except (OSError, ValueError, KeyError):
        return -1


def test_sigkill_during_checkpoint_writes_then_resume_is_exact(tmp_path, tiny_ptb):
    """Kill -9 a run that checkpoints every step, several times at random moments while it is saving; each
    time the directory must hold a whole loadable checkpoint, and resuming to the end must give exactly
    the weights of an uninterrupted run."""
    m, t = tiny_configs(tiny_ptb, tmp_path / "straight", epochs=3, save_every=1, threads=1)
    Trainer(m, t, quiet=True).run()
    out = tmp_path / "killed"
    rng = random.Random(0)
    cmd, killed_at = _train_cmd(tiny_ptb, out, 3), []
    for attempt in range(3):
        last = _saved_step(out)
        proc = subprocess.Popen(cmd if last < 0 else cmd[:3] + ["--out", str(out), "--resume"], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while _saved_step(out) <= last + 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.1))    # a save happens every step: this lands in or near one
        proc.send_signal(signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL, "the run finished before it could be killed"
        ck = load_checkpoint(out)             # always one whole checkpoint
        killed_at.append(ck.progress["step"])
    assert killed_at == sorted(set(killed_at)) and killed_at[-1] < 75      # each kill was mid-run, later
    subprocess.run(cmd[:3] + ["--out", str(out), "--resume"], cwd=ROOT, check=True, capture_output=True)
    a, b = load_file(str(tmp_path / "straight" / "weights.safetensors")), load_file(str(out / "weights.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_from_an_incomplete_trainer_state_is_refused_clearly(tmp_path, tiny_ptb):
    from safetensors.torch import save_file
    from vae_core.checkpoint import load_trainer_state
    m, t = tiny_configs(tiny_ptb, tmp_path / "run", max_steps=3)
    Trainer(m, t, quiet=True).run()
    tensors, meta = load_trainer_state(tmp_path / "run")
    ckpt_id = json.loads((tmp_path / "run" / "config.json").read_text())["checkpoint_id"]
    del tensors["rng/cpu"]
    save_file(tensors, str(tmp_path / "run" / "trainer_state.safetensors"),
              metadata={"format": "vae_core", "checkpoint_id": ckpt_id, "trainer": json.dumps(meta)})
    with pytest.raises(CheckpointError, match=r"trainer_state\.safetensors: cannot resume, missing \['rng/cpu'\]"):
        Trainer(m, t, resume=True, quiet=True)


def _edit_config(src, dst, edit):
    shutil.copytree(src, dst)
    cfg = json.loads((dst / "config.json").read_text())
    edit(cfg)
    (dst / "config.json").write_text(json.dumps(cfg))
    return dst


class _CountingWord(str):
    """A vocabulary word that counts the comparisons made with it: the duplicate check's work, measured
    without a clock."""
    comparisons = 0

    def __eq__(self, other):
        type(self).comparisons += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def test_a_vocabulary_with_a_duplicate_is_named_in_one_pass(small_ckpt, tmp_path):
    """A planted 150k-word vocabulary with one duplicate took over 60 s (`words.count` for every word: n^2
    comparisons). Now one pass: at 3,000 words the quadratic check made 9 million comparisons."""
    words = ["<pad>", "<unk>", "<bos>", "<eos>"] + [_CountingWord(f"w{i}") for i in range(3_000)] + [_CountingWord("w17")]
    _CountingWord.comparisons = 0
    with pytest.raises(ValueError, match="duplicate entries: \\['w17'\\]"):
        Vocab(words)
    assert _CountingWord.comparisons < 10_000
    def edit(cfg):                               # and through a checkpoint, named as the loader names it
        cfg["vocab"] = cfg["vocab"][:4] + [f"w{i}" for i in range(150_000)] + ["w17"]
        cfg["model"]["vocab_size"] = len(cfg["vocab"])
    with pytest.raises(CheckpointError, match="duplicate entries: \\['w17'\\]"):
        load_checkpoint(_edit_config(small_ckpt, tmp_path / "ck", edit))


def test_a_config_claiming_more_layers_than_the_weights_hold_is_refused_before_building(small_ckpt, tmp_path,
                                                                                       monkeypatch):
    """num_layers = 200000 built layers for over a minute before the shapes were compared; the sizes are now
    checked against the safetensors header first, so nothing is built."""
    import vae_core.checkpoint as ckmod
    dst = _edit_config(small_ckpt, tmp_path / "ck", lambda cfg: cfg["model"].update(num_layers=200_000))

    def no_build(*a, **k):
        raise AssertionError("a model was built for a config the weights cannot match")
    monkeypatch.setattr(ckmod, "build_model", no_build)
    with pytest.raises(CheckpointError, match="num_layers"):
        load_checkpoint(dst)


def test_a_deeply_nested_config_is_a_checkpoint_error_in_the_api_and_the_cli(small_ckpt, tmp_path, capsys):
    from vae_core import evaluate
    dst = tmp_path / "ck"
    shutil.copytree(small_ckpt, dst)
    (dst / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(CheckpointError, match="nested too deeply"):
        load_checkpoint(dst)
    assert evaluate.main([str(dst), "--data", str(ROOT.parent / "shared" / "data" / "ptb")]) == 1
    err = capsys.readouterr().err
    assert "nested too deeply" in err and "Traceback" not in err
