"""Training: exact resume, the CLIs end to end, and a model that is known to reconstruct."""
import json
from pathlib import Path
import math

import pytest
import torch
from safetensors.torch import load_file

from tests.conftest import tiny_configs
from vae_core import evaluate, train
from vae_core.checkpoint import load_checkpoint
from vae_core.decoding import decode
from vae_core.latent import encode_sentences, homotopy, ids_to_text, reconstruct
from vae_core.train import Trainer

SENTENCES = [
    "the company said it expects to report a loss",
    "mr. smith is chairman of the board",
    "stock prices fell sharply in new york",
    "the bank will pay a dividend next year",
    "analysts expect the market to recover",
    "the dollar rose against the yen",
]


def _weights(d):
    return load_file(str(d / "weights.safetensors"))


def test_interrupted_then_resumed_equals_uninterrupted_bit_for_bit(tmp_path, tiny_ptb):
    m, t = tiny_configs(tiny_ptb, tmp_path / "straight", epochs=2)
    Trainer(m, t, quiet=True).run()
    m, t = tiny_configs(tiny_ptb, tmp_path / "cut", epochs=2, max_steps=31)   # stops mid-epoch 2 of 25 steps
    assert Trainer(m, t, quiet=True).run() == "max_steps"
    t.max_steps = 0
    resumed = Trainer(m, t, resume=True, quiet=True)
    assert resumed.step == 31 and resumed.epoch == 1 and resumed.batch_in_epoch == 6
    assert resumed.run() == "done"
    a, b = _weights(tmp_path / "straight"), _weights(tmp_path / "cut")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    ha = json.loads((tmp_path / "straight" / "config.json").read_text())["history"]
    hb = json.loads((tmp_path / "cut" / "config.json").read_text())["history"]
    drop = ("epoch_seconds", "tokens_per_s")
    strip = lambda h: [{k: v for k, v in e.items() if k not in drop} for e in h["epochs"] if not e.get("partial")]
    assert strip(ha) == strip(hb) and ha["steps"] == hb["steps"]


def test_train_then_evaluate_cli(tmp_path, tiny_ptb, capsys):
    out = tmp_path / "run"
    rc = train.main(["--data", str(tiny_ptb), "--out", str(out), "--epochs", "1", "--emb-dim", "16",
                     "--hidden-dim", "16", "--latent-dim", "4", "--kl-anneal", "none", "--batch-size", "20",
                     "--log-every", "5"])
    assert rc == 0
    capsys.readouterr()
    assert evaluate.main([str(out), "--data", str(tiny_ptb), "--split", "test", "--iw-samples", "5", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    for key in ("nll", "rec", "kl", "ppl", "iw_nll", "active_units", "mutual_info", "n_sentences", "n_tokens"):
        assert key in res
    assert res["n_sentences"] == 80 and math.isfinite(res["nll"]) and res["kl"] > 0 and res["ppl"] > 1
    assert res["nll"] == pytest.approx(res["rec"] + res["kl"])
    assert res["ppl"] == pytest.approx(math.exp(res["nll"] * res["n_sentences"] / res["n_tokens"]))
    hist = load_checkpoint(out).history
    assert len(hist["epochs"]) == 1 and "val_nll" in hist["epochs"][0] and hist["steps"]


def test_lm_baseline_trains_and_evaluates(tmp_path, tiny_ptb, capsys):
    out = tmp_path / "lm"
    assert train.main(["--data", str(tiny_ptb), "--out", str(out), "--model", "lm", "--epochs", "1",
                       "--emb-dim", "16", "--hidden-dim", "16"]) == 0
    capsys.readouterr()
    assert evaluate.main([str(out), "--data", str(tiny_ptb), "--iw-samples", "3", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["kl"] == 0 and res["iw_nll"] == pytest.approx(res["nll"]) and res["active_units"] == 0


def test_cli_errors_are_clear(tmp_path, capsys):
    assert train.main(["--data", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 1
    assert "data directory not found" in capsys.readouterr().err
    assert evaluate.main([str(tmp_path / "nockpt"), "--data", str(tmp_path)]) == 1
    assert "checkpoint directory not found" in capsys.readouterr().err
    assert train.main(["--data", "x", "--out", "y", "--word-keep", "2"]) == 1
    assert "word_keep must be in [0, 1]" in capsys.readouterr().err


@pytest.fixture(scope="module")
def memorised(tmp_path_factory):
    """A VAE trained until it reconstructs six sentences from their posterior means."""
    d = tmp_path_factory.mktemp("six")
    for split in ("train", "valid", "test"):
        (d / f"ptb.{split}.txt").write_text("".join(s + "\n" for s in SENTENCES * (16 if split == "train" else 1)))
    m, t = tiny_configs(d, d / "ck", epochs=40, word_keep=0.5, kl_anneal="linear", kl_anneal_steps=10 ** 6,
                        lr=0.01, lr_patience=10 ** 6)   # validation NLL rises with KL here: no lr decay
    m.hidden_dim, m.emb_dim = 64, 32
    Trainer(m, t, quiet=True).run()
    return load_checkpoint(d / "ck"), d


def test_known_model_reconstructs_greedy_and_beam(memorised):
    ck, _ = memorised
    post = encode_sentences(ck.model, ck.vocab, SENTENCES)
    assert ids_to_text(ck.vocab, decode(ck.model, post.mu, "greedy")) == SENTENCES
    assert ids_to_text(ck.vocab, decode(ck.model, post.mu, "beam", beam_size=4)) == SENTENCES
    r = reconstruct(ck.model, ck.vocab, SENTENCES[1].upper(), n_samples=2)
    assert r["mean"] == SENTENCES[1] and len(r["samples"]) == 2


def test_homotopy_endpoints_are_the_inputs(memorised):
    ck, _ = memorised
    for method in ("linear", "spherical"):
        h = homotopy(ck.model, ck.vocab, SENTENCES[0], SENTENCES[2], steps=6, method=method)
        assert h["sentences"][0] == SENTENCES[0] and h["sentences"][-1] == SENTENCES[2]
        assert h["z"].shape == (6, 4) and h["t"][0] == 0 and h["t"][-1] == 1


def test_sampling_temperature_and_batching(memorised):
    ck, _ = memorised
    z = torch.randn(5, 4, generator=torch.Generator().manual_seed(0))
    g = lambda: torch.Generator().manual_seed(1)
    assert decode(ck.model, z, "sample", generator=g()) == decode(ck.model, z, "sample", generator=g())
    # a near-zero temperature is greedy decoding
    assert decode(ck.model, z, "sample", temperature=1e-4, generator=g()) == decode(ck.model, z, "greedy")
    # batched decoding gives what decoding one at a time gives
    assert decode(ck.model, z, "beam", beam_size=3) == [decode(ck.model, z[i:i + 1], "beam", beam_size=3)[0] for i in range(5)]
    with pytest.raises(ValueError, match="temperature"):
        decode(ck.model, z, "sample", temperature=0)


def test_config_file_with_flag_override(tmp_path):
    cfg = tmp_path / "run.json"
    cfg.write_text(json.dumps({"data": "d", "out": "o", "hidden_dim": 40, "word_keep": 0.5, "kl_anneal": "linear"}))
    m, t = train.configs_from_args(train.build_parser().parse_args(["--config", str(cfg), "--word-keep", "0.75",
                                                                    "--z-to-init", "false"]))
    assert (m.hidden_dim, m.z_to_init, m.z_concat) == (40, False, True)
    assert (t.word_keep, t.kl_anneal, t.data) == (0.75, "linear", "d")


def test_sigint_saves_a_checkpoint_that_resumes(tmp_path, tiny_ptb):
    import signal
    import subprocess
    import sys
    import time
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "vae_core.train", "--data", str(tiny_ptb), "--out", str(out), "--epochs", "1000",
           "--emb-dim", "16", "--hidden-dim", "16", "--latent-dim", "4", "--save-every", "0", "--threads", "1"]
    proc = subprocess.Popen(cmd, cwd=Path(__file__).resolve().parents[1], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while not (out / "best" / "config.json").exists() and time.monotonic() < deadline:   # after epoch 1
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    log, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, log
    assert "stopped (signal)" in log
    ck = load_checkpoint(out)
    assert ck.progress["step"] >= 13 and (out / "trainer_state.safetensors").exists()
    resumed = Trainer(*train.configs_from_args(train.build_parser().parse_args(cmd[3:])), resume=True, quiet=True)
    assert resumed.step == ck.progress["step"]


def test_a_run_stopped_by_max_steps_records_history_and_keeps_best(tmp_path, tiny_ptb):
    from vae_core.checkpoint import read_config
    m, t = tiny_configs(tiny_ptb, tmp_path, epochs=3, max_steps=7)         # 25 batches an epoch
    tr = Trainer(m, t, quiet=True)
    assert tr.run() == "max_steps"
    (rec,) = tr.history["epochs"]
    assert rec["partial"] and rec["batches"] == 7 and rec["step"] == 7 and rec["val_nll"] > 0
    assert read_config(tmp_path / "best")["progress"]["step"] == 7          # evaluable: OUT/best exists
    m2, t2 = tiny_configs(tiny_ptb, tmp_path, epochs=1)
    tr2 = Trainer(m2, t2, resume=True, quiet=True)
    tr2.tcfg.max_steps = 0
    assert tr2.run() == "done" and [e.get("partial", False) for e in tr2.history["epochs"]] == [True, False]


def test_thread_governor_follows_other_processes(monkeypatch):
    """The thread count follows the cores other processes leave idle (vae_core.runtime.ThreadGovernor),
    from fake /proc/stat readings: a second process busy on one of 2 cores -> 1 thread; gone -> 2."""
    import vae_core.runtime as th
    monkeypatch.setattr(th.os, "cpu_count", lambda: 2)
    clock = {"busy": 0.0, "total": 0.0, "wall": 0.0, "own": 0.0}
    monkeypatch.setattr(th, "_cpu_times", lambda: (clock["busy"], clock["total"]))
    monkeypatch.setattr(th.time, "monotonic", lambda: clock["wall"])
    monkeypatch.setattr(th.os, "times", lambda: (clock["own"], 0.0, 0.0, 0.0, 0.0))
    torch.set_num_threads(2)
    gov = th.ThreadGovernor(2, min_interval=1.0)

    def advance(others_cores, own_cores, seconds=5.0):           # 100 jiffies per core-second
        clock["wall"] += seconds
        clock["total"] += 200 * seconds
        clock["busy"] += 100 * seconds * (others_cores + own_cores)
        clock["own"] += seconds * own_cores
    try:
        advance(0.0, 2.0)
        assert gov.check() is None and torch.get_num_threads() == 2     # free cores: keep 2
        advance(1.0, 1.0)
        assert gov.check() == 1 and torch.get_num_threads() == 1       # another process on a core
        advance(0.0, 1.0)
        assert gov.check() == 2                                          # it left
    finally:
        torch.set_num_threads(1)


def test_a_resumed_run_keeps_the_precision_it_trained_with(tmp_path, tiny_ptb, capsys):
    """`--amp auto` is resolved once, when the run starts, and recorded in the checkpoint's progress; `--resume`
    uses the recorded precision, so a change in what "auto" means never switches a run's dtype half-way."""
    from vae_core.checkpoint import read_config
    out = tmp_path / "run"
    flags = ["--data", str(tiny_ptb), "--out", str(out), "--emb-dim", "16", "--hidden-dim", "16", "--latent-dim", "4",
             "--batch-size", "16", "--save-every", "0", "--threads", "1", "--device", "cpu"]
    assert train.main(flags + ["--max-steps", "2"]) == 0
    cfg = read_config(out)
    assert cfg["train"]["amp"] == "auto" and cfg["progress"]["amp"] == "off"       # auto is float32 on the CPU
    cfg["progress"]["amp"] = "bf16"                  # as if "auto" had meant bf16 when the run started
    (out / "config.json").write_text(json.dumps(cfg))
    capsys.readouterr()
    assert train.main(["--out", str(out), "--resume", "--max-steps", "3", "--threads", "1"]) == 0
    assert "amp torch.bfloat16" in capsys.readouterr().out
    assert read_config(out)["progress"]["amp"] == "bf16"


def test_random_batches_reach_the_trainer_when_bucketing_is_off(tmp_path, tiny_ptb, monkeypatch):
    """--bucket false (sMIM's code draws batches at random) must change the batches the trainer sees:
    the median bucketed batch holds sentences of (nearly) one length, the median random one a wide range."""
    from vae_core import data
    spread = {}

    def spy(self, batch_size, shuffle=False, seed=0, epoch=0, bucket=True):
        out = data.bucket_batches(self.lengths, batch_size, shuffle, seed, epoch, bucket)
        if shuffle:                                                       # the training batches
            spread[bucket] = sorted(int(self.lengths[b].max() - self.lengths[b].min()) for b in out)[len(out) // 2]
        return out

    monkeypatch.setattr(data.Corpus, "batches", spy)
    for flag in ("true", "false"):
        m, t = train.configs_from_args(train.build_parser().parse_args(
            ["--data", str(tiny_ptb), "--out", str(tmp_path / flag), "--bucket", flag, "--epochs", "1",
             "--emb-dim", "8", "--hidden-dim", "8", "--latent-dim", "2", "--batch-size", "20"]))
        assert t.bucket is (flag == "true")
        Trainer(m, t, quiet=True).run()
    assert spread[True] <= 2 < 5 < spread[False]


def test_a_max_steps_run_names_the_epoch_it_records(tiny_ptb, tmp_path, capsys):
    """Issue 38: a --max-steps run said "epoch 0" while its history recorded epoch 1 (partial)."""
    out = tmp_path / "run"
    assert train.main(["--data", str(tiny_ptb), "--out", str(out), "--emb-dim", "8", "--hidden-dim", "8",
                       "--latent-dim", "2", "--batch-size", "16", "--max-steps", "3", "--threads", "1"]) == 0
    said = capsys.readouterr().out
    last = load_checkpoint(out).history["epochs"][-1]
    assert last["epoch"] == 1 and last["partial"]
    assert "stopped (max_steps) at step 3, in epoch 1 (3 of 25 batches)" in said
