"""The posterior-collapse remedies the text-VAE papers compare against, each checked against its authors' code:
He et al. 2019's training loop and learning-rate rule (jxhe/vae-lagging-encoder and bohanli/vae-pretraining-
encoder, text.py) and aggressive inference-network training (He et al. 2019, Algorithm 1)."""
import math

import pytest
import torch

from tests.conftest import tiny_configs
from vae_core.config import ModelConfig
from vae_core.model import build_model
from vae_core.train import Trainer, build_parser, configs_from_args


def preset(name):
    return configs_from_args(build_parser().parse_args(["--preset", name, "--data", "d", "--out", "o"]))


def test_the_he2019_presets_are_their_code():
    m, t = preset("he2019-vae")
    assert (m.emb_dim, m.hidden_dim, m.latent_dim, m.rnn, m.init_state) == (256, 256, 32, "lstm", "tanh")
    assert (m.emb_dropout, m.out_dropout, m.encoder_emb_dropout, m.linear_bias) == (0.5, 0.5, False, False)
    assert (t.optimizer, t.lr, t.clip, t.batch_size, t.init_uniform, t.init_emb_uniform) == ("sgd", 1.0, 5.0, 32, 0.01, 0.1)
    assert (t.lr_schedule, t.lr_decay, t.lr_patience, t.lr_decay_start, t.max_lr_decays) == ("he2019", 0.5, 5, 15, 5)
    from vae_core.schedules import kl_weight
    # their anneal_rate = (1 - 0.1) / (10 * 42068 / 32): the weight is 1 after 10 epochs of 1315 steps
    assert kl_weight(0, t.kl_anneal, t.kl_anneal_steps, start=t.kl_start) == pytest.approx(0.1)
    assert kl_weight(5 * 1315, t.kl_anneal, t.kl_anneal_steps, start=t.kl_start) == pytest.approx(0.55, abs=1e-3)
    assert kl_weight(10 * 1315, t.kl_anneal, t.kl_anneal_steps, start=t.kl_start) == pytest.approx(1.0, abs=1e-4)
    assert preset("he2019-aggressive")[1].aggressive and preset("he2019-lm")[0].model == "lm"


def test_no_bias_where_their_code_has_none_and_their_init():
    cfg = ModelConfig(vocab_size=20, emb_dim=6, hidden_dim=7, latent_dim=3, linear_bias=False)
    m = build_model(cfg)
    assert m.to_mu.bias is None and m.to_logvar.bias is None and m.decoder.z_to_cell.bias is None
    assert m.decoder.out.bias is None
    m.init_uniform_(0.01, 0.1)
    emb = m.decoder.embedding.weight
    assert emb.abs().max() > 0.05 and m.decoder.rnn.weight_hh_l0.abs().max() <= 0.01


def test_he2019_schedule_decays_reloads_the_best_model_and_stops(tmp_path, tiny_ptb, monkeypatch):
    """text.py's opt_dict: a miss is a validation loss above the reference (the last epoch not above it, or the
    epoch of the last decay); `lr_patience` misses after epoch `lr_decay_start` halve the lr, load the best
    model back and make this epoch the reference; training ends after `max_lr_decays` decays."""
    vals = iter([10.0, 9.0, 9.5, 9.8, 9.7, 9.9, 9.95, 9.96, 9.97])
    monkeypatch.setattr(Trainer, "validate", lambda self: {"val_nll": next(vals), "val_rec": 0.0, "val_kl": 0.0,
                                                           "val_ppl": 1.0})
    kw = dict(epochs=9, optimizer="sgd", lr=1.0, lr_decay=0.5, lr_schedule="he2019", lr_patience=2,
              lr_decay_start=3, max_lr_decays=2, early_stop=0)
    m, t = tiny_configs(tiny_ptb, tmp_path, max_steps=3 * 25, **kw)        # 25 steps an epoch: stop after 3
    tr = Trainer(m, t, quiet=True)
    assert tr.run() == "max_steps"
    m, t = tiny_configs(tiny_ptb, tmp_path, **kw)
    tr = Trainer(m, t, resume=True, quiet=True)
    reloaded = []
    real = tr.model.load_state_dict
    monkeypatch.setattr(tr.model, "load_state_dict", lambda sd, *a, **k: reloaded.append(tr.epoch) or real(sd, *a, **k))
    assert tr.run() == "max_decays"
    # epochs 3, 4 miss against 9.0 (epoch 4 is past epoch 3: decay, reference 9.8); 5 is not above 9.8 (the new
    # reference); 6, 7 miss: the second decay, and training stops after epoch 7
    assert [e["lr"] for e in tr.history["epochs"]] == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5]
    assert tr.opt.param_groups[0]["lr"] == 0.25 and reloaded == [4, 7] and tr.epoch == 7
    assert tr.he_schedule == {"reference": 9.95, "misses": 0, "decays": 2}


def test_a_constant_kl_weight_selects_by_its_own_weighted_loss(tmp_path, tiny_ptb, monkeypatch):
    """Li et al. 2019's autoencoder stage (text_beta.py --beta 0) validates with model.loss(batch, args.beta):
    rec + beta KL, so the autoencoder is selected, and its lr decayed, by reconstruction alone. The ELBO would
    pick the epoch whose KL happens to be low. Annealed runs are still selected by rec + KL (their test() weighs
    the KL by 1)."""
    recs, kls = iter([100.0, 95.0, 90.0]), iter([50.0, 70.0, 90.0])          # rec falls while KL grows
    monkeypatch.setattr(Trainer, "validate", lambda self: (lambda r, k: {"val_nll": r + k, "val_rec": r,
                                                                          "val_kl": k, "val_ppl": 1.0})(next(recs), next(kls)))
    m, t = tiny_configs(tiny_ptb, tmp_path / "ae", epochs=3, kl_anneal="constant", kl_start=0.0, early_stop=0)
    tr = Trainer(m, t, quiet=True)
    tr.run()
    assert tr.best_val == 90.0                           # the last epoch: the best reconstruction (its NLL, 180, is the worst)
    recs, kls = iter([100.0, 95.0, 90.0]), iter([50.0, 70.0, 90.0])
    m, t = tiny_configs(tiny_ptb, tmp_path / "vae", epochs=3, early_stop=0)
    tr = Trainer(m, t, quiet=True)
    tr.run()
    assert tr.best_val == 150.0                          # annealed: rec + KL


def test_aggressive_training_updates_the_encoder_alone_then_the_decoder_alone(tmp_path, tiny_ptb, monkeypatch):
    """He et al. 2019, Algorithm 1 as text.py runs it: encoder-only updates until the loss summed over 15 of
    them stops falling (at most 99), then one decoder-only update; the encoder's gradients never reach the
    decoder's parameters in the inner loop, nor the decoder's step the encoder."""
    m, t = tiny_configs(tiny_ptb, tmp_path, aggressive=True, epochs=1, max_steps=2)
    tr = Trainer(m, t, quiet=True)
    enc = set(map(id, tr.model.encoder_parameters()))
    steps = []
    real = tr.opt.step

    def step(*a, **k):
        with_grad = {id(p) for g in tr.opt.param_groups for p in g["params"] if p.grad is not None}
        steps.append(("encoder" if with_grad <= enc else "decoder" if not (with_grad & enc) else "both"))
        return real(*a, **k)
    monkeypatch.setattr(tr.opt, "step", step)
    x, lengths = tr.train.collate(tr._epoch_batches()[0])
    tr.train_step(x, lengths)
    inner = len(steps) - 1
    assert steps[-1] == "decoder" and set(steps[:-1]) == {"encoder"}
    assert inner % 15 == 0 or inner == 99                  # it stops only at a check (or the cap)
    assert inner >= 15


def test_the_aggressive_phase_ends_when_validation_mi_falls(tmp_path, tiny_ptb, monkeypatch):
    mis = iter([0.5, 0.9, 0.7, 1.2])
    monkeypatch.setattr(Trainer, "validate", lambda self: {"val_nll": 5.0, "val_rec": 0.0, "val_kl": 0.0, "val_ppl": 1.0,
                                                           "val_mutual_info_batch": next(mis)})
    monkeypatch.setattr(Trainer, "_aggressive_encoder_updates", lambda self, *a: None)   # the inner loop: above
    m, t = tiny_configs(tiny_ptb, tmp_path, aggressive=True, epochs=4, max_steps=4 * 25)
    tr = Trainer(m, t, quiet=True)
    on = []
    real = Trainer._end_epoch

    def end(self, *a):
        real(self, *a)
        on.append(self.aggressive_on)
    monkeypatch.setattr(Trainer, "_end_epoch", end)
    tr.run()
    assert on == [True, True, False, False]               # MI 0.5 >= 0, 0.9 >= 0.5, then 0.7 < 0.9: off for good
    assert math.isclose(tr.previous_mi, 0.7)


def test_cyclical_kl_and_cosine_lr_are_fu_et_als_code():
    """train_text_cyc_ptb.py: beta back to 0.1 at every 10th epoch, up by 1 / (5 epochs) a step to 1; the lr
    lr * (1 + cos(pi * ((epoch - 1) mod 10) / 10)) / 2 for their 1-based epoch."""
    from vae_core.schedules import cosine_restart_lr, kl_weight
    m, t = preset("fu2019-cyclical")
    w = lambda step: kl_weight(step, t.kl_anneal, t.kl_anneal_steps, start=t.kl_start, cycle_steps=t.kl_cycle_steps)
    E = 1315
    assert w(0) == pytest.approx(0.1) and w(E) == pytest.approx(0.3) and w(int(4.5 * E) + 1) == 1.0
    assert w(9 * E) == 1.0 and w(10 * E) == pytest.approx(0.1) and w(11 * E) == pytest.approx(0.3)
    assert [round(cosine_restart_lr(1e-3, e, 10) / 1e-3, 4) for e in (0, 5, 9, 10)] == [1.0, 0.5, 0.0245, 1.0]
    assert (m.init_state, m.z_concat, t.optimizer, t.epochs, t.init_uniform) == ("linear", True, "adam", 40, 0.1)


def test_per_example_free_bits_are_li_et_als_mask():
    """text_anneal_fb.py --fb 2: kl_mask = (loss_kl > target_kl / nz) per sentence and dimension."""
    from vae_core.objectives import free_bits_kl
    kl = torch.tensor([[0.1, 0.3, 0.0], [0.5, 0.05, 0.2]])
    assert torch.allclose(free_bits_kl(kl, 0.15, "example"), torch.tensor([0.3, 0.7]))
    # Kingma's batch form: dimension 0's mean 0.3 counts, 1's (0.175) counts, 2's (0.1) costs 0.15
    assert torch.allclose(free_bits_kl(kl, 0.15, "batch"), torch.tensor([0.1 + 0.3 + 0.15, 0.5 + 0.05 + 0.15]))
    with pytest.raises(ValueError, match="free-bits mode"):
        free_bits_kl(kl, 0.15, "sentence")


def test_the_second_stage_starts_from_the_autoencoders_encoder_with_a_fresh_decoder(tmp_path, tiny_ptb):
    m, t = tiny_configs(tiny_ptb, tmp_path / "ae", kl_anneal="constant", kl_start=0.0, epochs=1, max_steps=3)
    ae = Trainer(m, t, quiet=True)
    ae.run()
    m, t = tiny_configs(tiny_ptb, tmp_path / "fb", init_from=str(tmp_path / "ae"), reset_decoder=True,
                        free_bits=0.1, free_bits_mode="example", epochs=1, max_steps=1, seed=5)
    fb = Trainer(m, t, quiet=True)
    a, b = ae.model.state_dict(), fb.model.state_dict()
    enc = [k for k in a if not k.startswith("decoder.")]
    assert enc and all(torch.equal(a[k], b[k]) for k in enc)
    assert not torch.equal(a["decoder.rnn.weight_hh_l0"], b["decoder.rnn.weight_hh_l0"])
    with pytest.raises(ValueError, match="reset_decoder needs init_from"):
        tiny_configs(tiny_ptb, tmp_path / "x", reset_decoder=True)[1].__post_init__()


def test_bn_vae_fixes_the_scale_of_mu_and_so_floors_the_kl(tmp_path, tiny_ptb):
    """Zhu et al. 2020 (valdersoul/bn-vae, enc_lstm.py): mu = BatchNorm1d(mu) with weight gamma frozen. In
    training each dimension's batch mean of mu_d^2 is gamma^2 + beta_d^2, so the batch's mean KL is at least
    n gamma^2 / 2; gamma does not move in training; evaluation uses the running statistics."""
    from vae_core.objectives import gaussian_kl
    m, t = tiny_configs(tiny_ptb, tmp_path, epochs=1, max_steps=5)
    m.mu_batchnorm_gamma = 0.5
    tr = Trainer(m, t, quiet=True)
    tr.run()
    model = tr.model
    assert torch.all(model.mu_bn.weight == 0.5) and not model.mu_bn.weight.requires_grad
    x, lengths = tr.train.collate(tr._epoch_batches()[0])
    model.train()
    mu, logvar = model.encode(x, lengths)
    beta = model.mu_bn.bias.detach()
    with torch.no_grad():                                   # BatchNorm divides by sqrt(var + eps), eps = 1e-5
        var = model.to_mu(model.encoder(model.encoder_tokens(x), lengths)).var(0, unbiased=False)
    torch.testing.assert_close(mu.pow(2).mean(0), 0.25 * var / (var + 1e-5) + beta ** 2, atol=1e-5, rtol=1e-4)
    assert float(gaussian_kl(mu, logvar).detach().sum(-1).mean()) >= m.latent_dim * 0.25 / 2 - 1e-3
    model.eval()
    mu_eval, _ = model.encode(x, lengths)
    assert not torch.allclose(mu_eval, mu)                  # the running statistics, not the batch's
    with pytest.raises(ValueError, match="mu_batchnorm_gamma"):
        ModelConfig(model="smim", mu_batchnorm_gamma=0.5)
    m, t = preset("zhu2020-bnvae")
    assert (m.mu_batchnorm_gamma, t.kl_start, t.kl_anneal_steps, t.free_bits) == (0.5, 0.0, 13150, 0.0)
