"""Checkpoint round trips, safety (no unpickling) and atomic replacement."""
import json
import os

import pytest
import torch
from safetensors.torch import save_file

from vae_core.checkpoint import (CheckpointError, export_checkpoint, load_checkpoint, save_checkpoint)
from vae_core.config import ModelConfig
from vae_core.data import Vocab
from vae_core.model import SentenceVAE


def _model(vocab_size=12, seed=0):
    torch.manual_seed(seed)
    cfg = ModelConfig(vocab_size=vocab_size, emb_dim=4, hidden_dim=6, latent_dim=3)
    return SentenceVAE(cfg), cfg, Vocab(["<pad>", "<unk>", "<bos>", "<eos>"] + [f"w{i}" for i in range(vocab_size - 4)])


def _same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_round_trip(tmp_path):
    m, cfg, v = _model()
    hist = {"epochs": [{"epoch": 1, "val_nll": 3.5}], "steps": []}
    save_checkpoint(tmp_path / "ck", m, cfg, v, history=hist, progress={"step": 7})
    ck = load_checkpoint(tmp_path / "ck")
    assert _same_weights(ck.model, m)
    assert ck.vocab.itos == v.itos and ck.model_config == cfg and ck.history == hist and ck.progress["step"] == 7
    assert not ck.model.training
    assert sorted(os.listdir(tmp_path / "ck")) == ["config.json", "weights.safetensors"]


def test_half_precision_export_loads_as_float32(tmp_path):
    m, cfg, v = _model()
    save_checkpoint(tmp_path / "a", m, cfg, v)
    export_checkpoint(tmp_path / "a", tmp_path / "b", torch.float16)
    ck = load_checkpoint(tmp_path / "b")
    assert json.loads((tmp_path / "b" / "config.json").read_text())["weights_dtype"] == "float16"
    for (k, p), q in zip(ck.model.state_dict().items(), m.state_dict().values()):
        assert p.dtype == torch.float32
        torch.testing.assert_close(p, q, atol=1e-3, rtol=1e-3)


def test_weights_file_carries_no_device_so_gpu_saves_load_on_cpu(tmp_path):
    """A safetensors header records dtype, shape and offsets only: a file written from CUDA tensors is the
    same bytes as one written from CPU tensors, and the loader maps everything to the requested device.
    (The CUDA round trip itself is the next test, which runs where a GPU is present.)"""
    import struct
    m, cfg, v = _model()
    d = save_checkpoint(tmp_path / "ck", m, cfg, v)
    raw = (d / "weights.safetensors").read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    assert all(set(e) == {"dtype", "shape", "data_offsets"} for k, e in header.items() if k != "__metadata__")
    ck = load_checkpoint(d, device="cpu")
    assert all(p.device.type == "cpu" for p in ck.model.parameters()) and _same_weights(ck.model, m)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA to create CUDA tensors")
def test_cuda_state_dict_file_loads_on_cpu(tmp_path):
    m, cfg, v = _model()
    save_checkpoint(tmp_path / "ck", m.cuda(), cfg, v)
    assert load_checkpoint(tmp_path / "ck", "cpu").model.to_mu.weight.device.type == "cpu"


def test_corrupt_truncated_weights_are_named(tmp_path):
    m, cfg, v = _model()
    d = save_checkpoint(tmp_path / "ck", m, cfg, v)
    w = d / "weights.safetensors"
    w.write_bytes(w.read_bytes()[:200])
    with pytest.raises(CheckpointError, match=r"weights\.safetensors: corrupt or truncated"):
        load_checkpoint(d)


def test_mismatched_config_and_vocab_are_named(tmp_path):
    m, cfg, v = _model()
    d = save_checkpoint(tmp_path / "ck", m, cfg, v)
    c = json.loads((d / "config.json").read_text())
    c["model"]["hidden_dim"] = 7
    (d / "config.json").write_text(json.dumps(c))
    with pytest.raises(CheckpointError, match="shapes do not match"):
        load_checkpoint(d)
    c["model"]["hidden_dim"] = 6
    c["vocab"] = c["vocab"][:-1]
    (d / "config.json").write_text(json.dumps(c))
    with pytest.raises(CheckpointError, match="vocabulary has 11 words but model.vocab_size is 12"):
        load_checkpoint(d)


def test_weights_from_another_save_are_refused(tmp_path):
    m, cfg, v = _model()
    a = save_checkpoint(tmp_path / "a", m, cfg, v)
    b = save_checkpoint(tmp_path / "b", m, cfg, v)
    os.replace(b / "weights.safetensors", a / "weights.safetensors")
    with pytest.raises(CheckpointError, match="different saves"):
        load_checkpoint(a)


def test_pickles_refused_and_missing_files_named(tmp_path):
    d = tmp_path / "pk"
    d.mkdir()
    (d / "model.pt").write_bytes(b"\x80\x04not really")
    with pytest.raises(CheckpointError, match="refused because loading them can execute arbitrary code") as err:
        load_checkpoint(d)
    assert "model.pt" not in str(err.value)          # the kinds of file, never a directory's listing
    with pytest.raises(CheckpointError, match="pickle checkpoints are refused"):
        load_checkpoint(d / "model.pt")
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nowhere")
    (d / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match=r"config\.json: not valid JSON"):
        load_checkpoint(d)


def _tree(d):
    """Every file under d with its bytes and modification time: what a read-only load must leave as it was."""
    return {str(p.relative_to(d)): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(d.rglob("*")) if p.is_file()}


def test_interrupted_save_leaves_a_whole_checkpoint_and_loading_never_writes(tmp_path):
    old, cfg, v = _model(seed=0)
    new, _, _ = _model(seed=1)
    d = save_checkpoint(tmp_path / "ck", old, cfg, v)
    # killed before the set was complete: a partial .next is ignored (and left where it is)
    (d / ".next").mkdir()
    save_file({"x": torch.zeros(1)}, str(d / ".next" / "weights.safetensors"))
    before = _tree(d)
    assert _same_weights(load_checkpoint(d).model, old)
    assert _tree(d) == before
    # killed while moving a complete set into place: the load reads the new set, half moved, without moving it
    staging = save_checkpoint(tmp_path / "staging", new, cfg, v)
    for f in (d / ".next").iterdir():
        f.unlink()
    os.replace(staging / "weights.safetensors", d / ".next" / "weights.safetensors")
    os.replace(staging / "config.json", d / ".next" / "config.json")
    (d / ".next" / "COMPLETE").write_text("{}")
    os.replace(d / ".next" / "weights.safetensors", d / "weights.safetensors")   # the move got this far
    with pytest.raises(CheckpointError, match="different saves"):
        _load_without_recovery(d)
    before = _tree(d)
    assert _same_weights(load_checkpoint(d).model, new)
    assert _tree(d) == before and (d / ".next" / "config.json").exists()
    # the owner's next save (or train --resume) finishes the move
    from vae_core.checkpoint import recover
    recover(d)
    assert not (d / ".next").exists() and _same_weights(load_checkpoint(d).model, new)


def _load_without_recovery(d):
    """What a reader that ignored .next would see: config of one save, weights of another."""
    import shutil
    probe = d.parent / "probe"
    shutil.copytree(d, probe, ignore=shutil.ignore_patterns(".next"))
    return load_checkpoint(probe)


def test_a_planted_next_folder_is_neither_deleted_nor_moved(tmp_path):
    """A link pointing at someone's project with a `.next/` build folder (or a complete-looking one) must not
    make the loader delete it or move its files over the project's."""
    d = tmp_path / "project"
    (d / ".next" / "static").mkdir(parents=True)
    (d / ".next" / "static" / "app.js").write_text("console.log(1)")
    (d / "config.json").write_text('{"name": "my project"}')
    before = _tree(d)
    with pytest.raises(CheckpointError):
        load_checkpoint(d)
    assert _tree(d) == before
    (d / ".next" / "COMPLETE").write_text("{}")
    (d / ".next" / "config.json").write_text('{"overwritten": true}')
    before = _tree(d)
    with pytest.raises(CheckpointError):
        load_checkpoint(d)
    assert _tree(d) == before


def test_failed_write_keeps_previous_checkpoint(tmp_path, monkeypatch):
    old, cfg, v = _model(seed=0)
    new, _, _ = _model(seed=1)
    d = save_checkpoint(tmp_path / "ck", old, cfg, v)
    import vae_core.checkpoint as ckmod

    def disk_full(*a, **k):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(ckmod, "_write_json", disk_full)
    with pytest.raises(OSError, match="No space left"):
        save_checkpoint(d, new, cfg, v)
    monkeypatch.undo()
    assert _same_weights(load_checkpoint(d).model, old) and not (d / ".next").exists()


def test_a_tied_embedding_is_stored_once_and_tied_again_on_load(tmp_path):
    """sMIM shares one embedding between encoder and decoder (Livne et al.'s code): the file holds it once,
    and the loaded model has one shared tensor again, equal to the saved one."""
    from safetensors import safe_open
    from vae_core.config import ModelConfig
    from vae_core.data import Vocab
    from vae_core.model import build_model
    words = [f"w{i}" for i in range(20)]
    vocab = Vocab.build([words])
    cfg = ModelConfig(model="smim", vocab_size=len(vocab), emb_dim=8, hidden_dim=8, latent_dim=4, rnn="gru",
                      tie_embeddings=True)
    model = build_model(cfg)
    assert model.encoder.embedding.weight is model.decoder.embedding.weight
    save_checkpoint(tmp_path / "ck", model, cfg, vocab)
    with safe_open(str(tmp_path / "ck" / "weights.safetensors"), "pt") as f:
        keys = set(f.keys())
    assert ("encoder.embedding.weight" in keys) != ("decoder.embedding.weight" in keys)
    ck = load_checkpoint(tmp_path / "ck")
    assert ck.model.encoder.embedding.weight is ck.model.decoder.embedding.weight
    assert torch.equal(ck.model.decoder.embedding.weight, model.decoder.embedding.weight)
