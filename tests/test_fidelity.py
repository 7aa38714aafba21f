"""Paper fidelity: each point where the code must follow a paper (or its authors' code) exactly, against a
known answer. Bowman et al. 2016 (inputless decoder, stretched prior samples), Kruengkrai 2019 (h_0 = M2 z with
c_0 = 0, early stopping), Livne et al. 2020 (MELBO and BLEU-1 without <eos>, the sMIM preset), He et al.
2019's per-batch mutual information, Krishnan et al. 2018 (TF-IDF input, decoder depth, common random
numbers for the secondary-optimisation comparison).
"""
import math

import pytest
import torch

from vae_core import estimators
from vae_core.analysis import stretch_matrix
from vae_core.bow import BowVAE
from vae_core.config import ModelConfig, TrainConfig
from vae_core.data import Corpus, Vocab, load_splits, split_path
from vae_core.decoding import decode
from vae_core.estimators import evaluate_corpus, mutual_info_batch, reconstruction_bleu1, sentence_bleu1
from vae_core.model import build_model
from vae_core.train import Trainer, build_parser, configs_from_args

from conftest import tiny_configs

V = 12


def batch():
    x = torch.tensor([[4, 5, 6, 7, Vocab.eos_id], [8, 9, Vocab.eos_id, 0, 0], [10, Vocab.eos_id, 0, 0, 0]])
    return x, torch.tensor([5, 3, 2])


def tiny(**kw):
    torch.manual_seed(0)
    return build_model(ModelConfig(vocab_size=V, emb_dim=6, hidden_dim=7, latent_dim=3, **kw)).double().eval()


def preset(name, *flags):
    return configs_from_args(build_parser().parse_args(["--preset", name, "--data", "d", "--out", "o", *flags]))


# ------------------------------------------------------------------------------ Bowman et al. 2016, Sec. 6.1
def test_inputless_decoder_sees_only_unk_in_evaluation_and_decoding():
    m = tiny(inputless=True)
    x, lengths = batch()
    z = torch.randn(3, 3, dtype=torch.float64)
    got = m.reconstruction(x, lengths, z)
    # by hand: the RNN run on <bos>, <unk>, <unk>, ... whatever the words are
    unk_inputs = torch.full_like(x, Vocab.unk_id)
    unk_inputs[:, 0] = Vocab.bos_id
    plain = tiny()                                               # same weights (same seed), not inputless
    assert torch.allclose(plain.reconstruction(x, lengths, z), got) is False
    hidden, _ = plain.decoder.hidden(unk_inputs, z)
    logp = torch.log_softmax(plain.decoder.logits(hidden), -1).gather(-1, x[..., None]).squeeze(-1)
    mask = torch.arange(x.size(1))[None] < lengths[:, None]
    torch.testing.assert_close(got, (logp * mask).sum(1))
    # greedy decoding feeds <unk> too: its output is the argmax of the teacher-forced all-<unk> logits
    T = 6
    hidden, _ = plain.decoder.hidden(torch.cat([unk_inputs[:, :1], torch.full((3, T - 1), Vocab.unk_id)], 1), z)
    argmax = plain.decoder.logits(hidden).argmax(-1).tolist()
    expect = [row[: row.index(Vocab.eos_id)] if Vocab.eos_id in row else row for row in argmax]
    assert decode(m, z, "greedy", max_len=T) == expect


@pytest.mark.parametrize("inputless", [True, False])
def test_every_path_through_an_inputless_decoder_ignores_the_words_it_is_fed(inputless):
    """An inputless decoder (Bowman et al. 2016, Sec. 6.1: the 0% keep rate, "at test time too") sees only
    <bos> and <unk>. So changing the decoder's embeddings of every other word must change nothing in any
    estimator or decoding path: IW-NLL, BLEU-1 (both conventions), beam search, sampling and the Jacobian.
    The control (an ordinary decoder, same weights) shows the change is felt where words are fed."""
    import copy
    from vae_core import jacobian
    a = tiny(inputless=inputless)
    b = copy.deepcopy(a)
    with torch.no_grad():
        w = b.decoder.embedding.weight
        keep = torch.zeros(V, dtype=torch.bool)
        keep[[Vocab.pad_id, Vocab.unk_id, Vocab.bos_id]] = True
        w[~keep] = torch.randn(int((~keep).sum()), w.size(1), generator=torch.Generator().manual_seed(5),
                               dtype=w.dtype)
    x, lengths = batch()
    z = torch.randn(3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    vocab = Vocab(["<pad>", "<unk>", "<bos>", "<eos>"] + [f"w{i}" for i in range(V - 4)])
    corpus = Corpus([["w0", "w1", "w2", "w3"], ["w4", "w5"], ["w6"]], vocab)

    def paths(m):
        torch.manual_seed(3)
        out = {"iw": estimators.iw_nll(m, x, lengths, n_samples=7),
               "bleu": reconstruction_bleu1(m, corpus, "posterior_sample", seed=2),
               "beam": decode(m, z, "beam", max_len=6, beam_size=3),
               "sample": decode(m, z, "sample", max_len=6, generator=torch.Generator().manual_seed(4))}
        with torch.backends.mkldnn.flags(enabled=False):
            out["jacobian"] = jacobian.jacobians(m.float(), z.float(), [[4, 5, 6], [7], [8, 9]])
        m.double()
        return out
    pa, pb = paths(a), paths(b)
    same = {k: (torch.equal(pa[k], pb[k]) if torch.is_tensor(pa[k]) else pa[k] == pb[k]) for k in pa}
    if inputless:
        assert all(same.values()), same
    else:
        assert not same["iw"] and not same["jacobian"] and not (same["beam"] and same["sample"]), same


def test_trainer_makes_a_keep_rate_zero_model_inputless(tmp_path, tiny_ptb):
    m, t = tiny_configs(tiny_ptb, tmp_path, word_keep=0.0, epochs=1, max_steps=2)
    assert Trainer(m, t, quiet=True).mcfg.inputless
    m, t = tiny_configs(tiny_ptb, tmp_path / "b", word_keep=0.5, epochs=1, max_steps=2)
    assert not Trainer(m, t, quiet=True).mcfg.inputless


@pytest.mark.parametrize("n", [2, 13, 32, 128])
def test_the_stretch_map_preserves_volume_and_stretches_by_the_papers_factor(n):
    """Bowman et al. 2016, Sec. 6.1: a volume-preserving map that "stretches some eigenspaces by up to a factor
    of 4". The map I + A, A_ij ~ U(-0.1, 0.1), scaled to det 1, reached 1.26 at z = 13."""
    M = stretch_matrix(n, 4.0, torch.Generator().manual_seed(0)).double()
    assert torch.allclose(M, M.T, atol=1e-6)                       # its eigenspaces are the stretched ones
    assert float(torch.linalg.det(M)) == pytest.approx(1.0, abs=1e-4)
    eig = torch.linalg.eigvalsh(M)
    assert float(eig.max()) == pytest.approx(4.0, rel=1e-5) and float(eig.min()) > 0
    assert torch.equal(stretch_matrix(n, 1.0), torch.eye(n))
    with pytest.raises(ValueError, match="at least 2"):
        stretch_matrix(1, 4.0)


def test_prior_samples_apply_the_stretch(tmp_path, tiny_ptb, monkeypatch):
    """The samples decoded are the stretched ones: the covariance of 4,000 stretched draws has its largest
    eigenvalue at 4^2 and determinant 1, where plain draws give the identity."""
    import vae_core.analysis as analysis
    m, t = tiny_configs(tiny_ptb, tmp_path, max_steps=1, epochs=1)
    tr = Trainer(m, t, quiet=True)
    seen = {}

    def record(model, z, *args, **kwargs):          # z: (L, n, d), the codes prior_samples decodes
        seen["z"] = z
        return [[] for _ in range(z.size(1))]
    monkeypatch.setattr(analysis, "decode", record)
    analysis.prior_samples(tr.model, tr.vocab, 4_000, stretch=4.0, seed=1)
    cov = torch.cov(seen.pop("z")[0].double().T)
    eig = torch.linalg.eigvalsh(cov)
    assert float(eig.max()) == pytest.approx(16.0, rel=0.1) and float(torch.logdet(cov)) == pytest.approx(0.0, abs=0.15)
    analysis.prior_samples(tr.model, tr.vocab, 4_000, stretch=1.0, seed=1)
    assert float(torch.linalg.eigvalsh(torch.cov(seen.pop("z")[0].double().T)).max()) < 1.2


def test_bowman_presets_are_table_11():
    m, t = preset("bowman2016")
    assert (m.emb_dim, m.hidden_dim, m.latent_dim, t.word_keep, m.z_to_init, m.z_concat) == (353, 191, 13, 0.62, True, False)
    assert (t.optimizer, t.lr) == ("adam", 1e-3)                  # SGD collapsed this VAE's posterior
    m, t = preset("bowman2016-lm")
    assert (m.model, m.emb_dim, m.hidden_dim, t.word_keep) == ("lm", 464, 337, 0.66)
    # the paper gives no optimiser; Kruengkrai's SGD protocol reproduces Table 2's RNNLM per token (bowman-lm-sgd)
    assert (t.optimizer, t.lr, t.lr_decay, t.lr_patience, t.clip, t.init_uniform, t.early_stop) == \
        ("sgd", 1.0, 0.5, 0, 5.0, 0.1, 3)


# ------------------------------------------------------------------------------ Kruengkrai 2019
def test_linear_initial_state_is_m2_z_with_zero_cell():
    m = tiny(init_state="linear")
    z = torch.randn(2, 3, dtype=torch.float64)
    h0, c0 = m.decoder.initial_state(z, 2, "cpu")
    lin = m.decoder.z_to_cell
    torch.testing.assert_close(h0[0], z @ lin.weight.T + lin.bias)
    assert torch.equal(c0, torch.zeros_like(c0))
    g = tiny(init_state="linear", rnn="gru")
    torch.testing.assert_close(g.decoder.initial_state(z, 2, "cpu")[0], z @ g.decoder.z_to_cell.weight.T + g.decoder.z_to_cell.bias)
    h0, c0 = tiny().decoder.initial_state(z, 2, "cpu")           # He et al.'s form stays the default
    torch.testing.assert_close(h0, torch.tanh(c0))


def test_kruengkrai_presets_follow_the_paper():
    for name in ("kruengkrai2019-lm", "kruengkrai2019-vae", "kruengkrai2019-avg"):
        m, t = preset(name)
        assert (m.init_state, t.early_stop, t.optimizer, t.lr, t.lr_decay, t.lr_patience) == ("linear", 3, "sgd", 1.0, 0.5, 0)
        assert (m.emb_dim, m.hidden_dim, m.latent_dim, m.emb_dropout, m.out_dropout, t.init_uniform) == (100, 400, 32, 0.5, 0.5, 0.1)
        assert m.encoder_emb_dropout is False          # the decoder's dropout only (Kim et al. 2018's code)


def test_kruengkrai_encoder_reads_every_word_in_training():
    """With the Kruengkrai preset, q(z|x) in training mode is the same as in evaluation mode (no dropout in
    the encoder), while the decoder's log-likelihood is still noised by its 0.5 dropout."""
    from vae_core.model import build_model
    m, _ = preset("kruengkrai2019-vae")
    m.vocab_size, m.emb_dim, m.hidden_dim, m.latent_dim = 20, 8, 9, 3
    model = build_model(m).double()
    x, lengths = torch.tensor([[4, 5, 6, 7, 3], [8, 9, 3, 0, 0]]), torch.tensor([5, 3])
    model.eval()
    mu_eval, logvar_eval = model.encode(x, lengths)
    z = mu_eval.unsqueeze(0)
    rec_eval = model.reconstruction(x, lengths, z)
    model.train()
    torch.manual_seed(0)
    mu_train, logvar_train = model.encode(x, lengths)
    torch.testing.assert_close(mu_train, mu_eval)
    torch.testing.assert_close(logvar_train, logvar_eval)
    assert not torch.allclose(model.reconstruction(x, lengths, z), rec_eval)


def test_early_stop_after_three_epochs_without_improvement(tmp_path, tiny_ptb, monkeypatch):
    vals = iter([10.0, 9.0, 9.5, 9.0, 9.7, 1.0, 1.0])               # best at epoch 2; epochs 3-5 do not improve
    monkeypatch.setattr(Trainer, "validate", lambda self: {"val_nll": next(vals), "val_rec": 0.0, "val_kl": 0.0,
                                                           "val_ppl": 1.0})
    m, t = tiny_configs(tiny_ptb, tmp_path, epochs=7, early_stop=3)
    tr = Trainer(m, t, quiet=True)
    assert tr.run() == "early_stop"
    assert tr.epoch == 5 and tr.best_val == 9.0
    assert [e["val_nll"] for e in tr.history["epochs"]] == [10.0, 9.0, 9.5, 9.0, 9.7]
    from vae_core.checkpoint import read_config
    assert read_config(tmp_path / "best")["progress"]["epoch"] == 2       # the model to evaluate
    assert read_config(tmp_path)["progress"]["bad_epochs"] == 3          # so a queue sees the run has ended
    # resuming a run that stopped early stops again at once, without training
    m2, t2 = tiny_configs(tiny_ptb, tmp_path, epochs=7, early_stop=3)
    again = Trainer(m2, t2, resume=True, quiet=True)
    assert again.run() == "early_stop" and again.step == tr.step


def test_sa_vae_schedule_decays_every_epoch_from_the_first_late_miss(tmp_path, tiny_ptb, monkeypatch):
    """Kim et al. 2018's code (harvardnlp/sa-vae, train_text.py), the setup Kruengkrai 2019 builds on: a miss
    at or before epoch `lr_decay_start` changes nothing; the first later one starts a halving after every
    epoch, improved or not, and training stops once the lr is below `min_lr`. Survives a resume."""
    vals = iter([10.0, 11.0, 9.0, 9.5, 8.0, 7.0, 6.0, 5.0, 4.0])   # misses at epochs 2 (early) and 4
    monkeypatch.setattr(Trainer, "validate", lambda self: {"val_nll": next(vals), "val_rec": 0.0, "val_kl": 0.0,
                                                           "val_ppl": 1.0})
    kw = dict(epochs=9, optimizer="sgd", lr=1.0, lr_decay=0.5, lr_schedule="sa-vae", lr_decay_start=2,
              min_lr=0.2, early_stop=0)
    m, t = tiny_configs(tiny_ptb, tmp_path, max_steps=5 * 25, **kw)       # 25 steps an epoch: stop after epoch 5
    tr = Trainer(m, t, quiet=True)
    assert tr.run() == "max_steps" and tr.epoch == 5
    m, t = tiny_configs(tiny_ptb, tmp_path, **kw)
    tr = Trainer(m, t, resume=True, quiet=True)
    assert tr.opt.param_groups[0]["lr"] == 0.25                           # the decay goes on after the resume
    assert tr.run() == "lr_floor"
    # the lr each epoch trained with: 1 until the miss of epoch 4, then halved after epochs 4, 5 and 6
    assert [e["lr"] for e in tr.history["epochs"]] == [1.0, 1.0, 1.0, 1.0, 0.5, 0.25]
    assert tr.epoch == 6 and tr.opt.param_groups[0]["lr"] == 0.125
    from vae_core.checkpoint import read_config
    assert read_config(tmp_path)["progress"]["stopped_early"]              # so a queue sees the run has ended


def test_livne_schedule_drops_the_lr_on_the_third_miss_since_the_last_drop(tmp_path, tiny_ptb, monkeypatch):
    """Livne et al.'s code (SentenceMIM-demo, train.py): `scheduler_counter` starts at 2, a miss with the counter
    above 0 lowers it, a miss at 0 multiplies the lr by 0.25 and resets it to 2, and an improvement leaves it
    as it is. So misses need not be consecutive (ReduceLROnPlateau(patience=2) needs three in a row), and an
    improvement is a strictly lower A-MIM loss (the plateau scheduler's relative threshold counted a slightly
    worse negative loss as one). Early stopping counts misses by the same rule. Survives a resume."""
    vals = iter([-100.0, -100.0 + 1e-3, -101.0, -100.5, -100.9, -102.0, -101.0, -101.5, -101.9])
    monkeypatch.setattr(Trainer, "validate", lambda self: {"val_nll": 0.0, "val_amim": next(vals), "val_rec": 0.0,
                                                           "val_kl": 0.0, "val_ppl": 1.0})
    kw = dict(epochs=9, lr=1.0, lr_decay=0.25, lr_schedule="livne", lr_patience=2, early_stop=0)
    m, t = tiny_configs(tiny_ptb, tmp_path, max_steps=4 * 25, **kw)       # 25 steps an epoch: stop after epoch 4
    tr = Trainer(m, t, quiet=True)
    assert tr.run() == "max_steps" and tr.epoch == 4
    m, t = tiny_configs(tiny_ptb, tmp_path, **kw)
    tr = Trainer(m, t, resume=True, quiet=True)
    tr.run()
    # misses at epochs 2 (a worse loss by 1e-3), 4, 5: the third drops the lr; then 7, 8, 9: the next
    assert [e["lr"] for e in tr.history["epochs"]] == [1.0] * 5 + [0.25] * 4
    assert tr.opt.param_groups[0]["lr"] == 0.0625
    assert tr.bad_epochs == 3


def test_a_partial_epoch_is_not_the_yardstick_of_the_next_whole_one(tmp_path, tiny_ptb, monkeypatch):
    """A run stopped by --max-steps inside an epoch validates there and keeps OUT/best so it can be evaluated,
    but whole epochs are compared with whole epochs: the partial record must not make the next full epoch a
    miss (it set best_val before)."""
    vals = iter([5.0, 8.0, 7.0])              # epoch 1 partial (5.0), epoch 1 whole (8.0), epoch 2 (7.0)
    monkeypatch.setattr(Trainer, "validate", lambda self: {"val_nll": next(vals), "val_rec": 0.0, "val_kl": 0.0,
                                                           "val_ppl": 1.0})
    kw = dict(epochs=2, early_stop=1)
    m, t = tiny_configs(tiny_ptb, tmp_path, max_steps=10, **kw)
    assert Trainer(m, t, quiet=True).run() == "max_steps"
    assert (tmp_path / "best" / "config.json").is_file()                 # evaluable after the partial epoch
    m, t = tiny_configs(tiny_ptb, tmp_path, **kw)
    tr = Trainer(m, t, resume=True, quiet=True)
    assert tr.run() == "done"                                            # not an early stop after epoch 1
    assert tr.bad_epochs == 0 and tr.best_val == 7.0
    from vae_core.checkpoint import read_config
    assert read_config(tmp_path / "best")["progress"]["epoch"] == 2


def test_linear_kl_annealing_can_start_above_zero():
    from vae_core.schedules import kl_weight
    assert kl_weight(0, "linear", 100, start=0.1) == pytest.approx(0.1)
    assert kl_weight(45, "linear", 100, start=0.1) == pytest.approx(0.55)   # the same slope as from 0
    assert kl_weight(90, "linear", 100, start=0.1) == 1.0
    assert kl_weight(50, "logistic", 50, 0.1, start=0.1) == pytest.approx(0.5)   # other schedules ignore it
    with pytest.raises(ValueError, match="kl_start"):
        TrainConfig(kl_start=1.5)
    with pytest.raises(ValueError, match="lr_schedule"):
        TrainConfig(lr_schedule="cosine")


# ------------------------------------------------------------------------------ Livne et al. 2020
def test_sentence_bleu1_keeps_ptb_tokens_whole():
    assert sentence_bleu1("the cat", "the cat sat") == pytest.approx(math.exp(1 - 1.5))
    assert sentence_bleu1("<unk> a.m.", "<unk> a.m.") == pytest.approx(1.0)
    # a 13a tokenizer splits `<unk>` into `<`, `unk`, `>` and `a.m.` into pieces, so these would share tokens
    assert sentence_bleu1("<unk>", "a.m.") == 0.0 and sentence_bleu1("", "a b") == 0.0


def test_bleu1_is_a_mean_of_sentence_scores_of_decodes_of_the_right_codes(demo_dir, ptb_dir, monkeypatch):
    """The fake decoder reads z: it reconstructs a sentence exactly when z is that sentence's posterior mean
    (mean_greedy) or a draw within 5 sigma of it (posterior_sample), and returns nothing otherwise. So the
    score is 1 (words only) only if each sentence is decoded from its own code of the right kind."""
    from vae_core.checkpoint import load_checkpoint
    ck = load_checkpoint(demo_dir)
    corpus = Corpus(Corpus.from_file(split_path(ptb_dir, "test"), ck.vocab).sentences[:6], ck.vocab)
    (idx,) = corpus.batches(256)
    x, lengths = corpus.collate(idx)
    with torch.no_grad():
        mu, logvar = ck.model.encode(x, lengths)
    sigma = torch.exp(0.5 * logvar)
    short = set(sorted(range(6), key=lambda i: len(corpus.ids[i]))[:3])      # reconstructed only when short
    seen = []

    def fake_decode(model, z, strategy, max_len, **kw):
        z = z[0] if z.dim() == 3 else z
        seen.append((strategy, bool(torch.equal(z, mu)), float(((z - mu) / sigma).abs().max())))
        ok = [bool(((z[r] - mu[r]) / sigma[r]).abs().max() < 5) for r in range(len(idx))]
        return [corpus.ids[j][:-1].tolist() if ok[r] and j in short else [] for r, j in enumerate(idx)]
    monkeypatch.setattr(estimators, "decode", fake_decode)
    assert reconstruction_bleu1(ck.model, corpus, "mean_greedy")["clean"] == pytest.approx(0.5)
    sampled = reconstruction_bleu1(ck.model, corpus, "posterior_sample")
    assert sampled["clean"] == pytest.approx(0.5)           # a mean of sentence scores: corpus BLEU would differ
    # their convention: reference words + <pad>, decode + <eos>: n / (n + 1) for an exact n-word reconstruction
    want = sum((len(corpus.ids[j]) - 1) / len(corpus.ids[j]) for j in short) / 6    # ids hold n words + <eos>
    assert sampled["livne"] == pytest.approx(want)
    assert [s[:2] for s in seen] == [("greedy", True), ("sample", False)]
    assert 0.5 < seen[1][2] < 5                              # noise at the posterior's own scale


def test_melbo_and_nll_excl_eos_leave_out_the_eos_term(tmp_path, tiny_ptb):
    """MELBO (Livne et al. 2020, Eq. 16) = -(1/N) sum_i log p(words of x_i | z_i) + log N, the <eos> removed
    (Sec. 4.3); its PPL divides by words + one per sentence, as their test.py's count ends up doing (the <eos>
    targets are overwritten in place before they are subtracted). nll_excl_eos is the ELBO with the same
    convention (their sVAE rows)."""
    from vae_core.checkpoint import load_checkpoint
    from test_families import _trained
    ck = load_checkpoint(_trained("smim", tmp_path, tiny_ptb, rnn="gru", encoder_reverse=True))
    corpus = Corpus.from_file(split_path(tiny_ptb, "test"), ck.vocab)
    res = evaluate_corpus(ck.model, corpus, iw_samples=0, elbo_samples=3, batch_size=32, seed=7, bleu=False)
    words = eos = kl = 0.0
    with torch.no_grad():
        for b, idx in enumerate(corpus.batches(32)):
            torch.manual_seed(7 + b)
            x, lengths = corpus.collate(idx)
            mu, logvar = ck.model.encode(x, lengths)
            z = mu + torch.exp(0.5 * logvar) * torch.randn((3,) + tuple(mu.shape))
            parts = ck.model.reconstruction(x, lengths, z, split=True).mean(0)        # (B, 2)
            words += float(parts[:, 0].sum())
            eos += float(parts[:, 1].sum())
            kl += float((0.5 * (mu ** 2 + logvar.exp() - logvar - 1)).sum())
    N, n_words = len(corpus), corpus.n_tokens - len(corpus)
    assert res["melbo"] == pytest.approx(-words / N + math.log(N), rel=1e-5)
    assert res["melbo_ppl"] == pytest.approx(math.exp(N * res["melbo"] / (n_words + N)), rel=1e-9)
    assert res["rec"] == pytest.approx(-(words + eos) / N, rel=1e-5)
    assert res["nll_excl_eos"] == pytest.approx((-words + kl) / N, rel=1e-5)
    assert eos < 0                                                   # the <eos> term is real, and left out


def test_split_reconstruction_sums_to_the_whole_and_isolates_eos():
    m = tiny()
    x, lengths = batch()
    z = torch.randn(3, 3, dtype=torch.float64)
    parts = m.reconstruction(x, lengths, z, split=True)
    torch.testing.assert_close(parts.sum(-1), m.reconstruction(x, lengths, z))
    per_token = m.token_logprobs(x, lengths, z)
    torch.testing.assert_close(parts[:, 1], per_token[torch.arange(3), lengths - 1])


def test_smim_preset_follows_the_authors_code():
    m, t = preset("livne2020-smim")
    assert (m.z_to_init, m.z_concat, m.init_state, m.tie_embeddings, m.encoder_emb_dropout, t.clip, m.logvar_min) == \
        (True, True, "linear", True, False, 0.25, -10.0)
    m.vocab_size = V
    net = build_model(m).train()
    x, lengths = batch()
    a, b = net.encoder(x, lengths), net.encoder(x, lengths)
    torch.testing.assert_close(a, b)                             # no dropout in the encoder, in training mode
    e1, e2 = net.decoder.emb_dropout(torch.ones(50)), net.decoder.emb_dropout(torch.ones(50))
    assert not torch.equal(e1, e2)                               # the decoder's embedding dropout is on


# ------------------------------------------------------------------------------ He et al. 2019's MI
def test_mutual_info_batch_is_per_batch_of_equal_lengths():
    """He et al.'s figure is a mean of per-batch estimates over batches of equal-length sentences.
    (1) Far-apart narrow posteriors: each batch of 32 gives log 32, the whole split log N.
    (2) Two lengths whose sentences share one posterior per length: within a batch z says nothing (0 nats),
    while over the split it tells the two lengths apart (log 2). The estimator's Monte Carlo noise here has a
    standard deviation of sqrt(n / 2N) <= 0.02 nats."""
    N = 3200
    mu = torch.arange(N, dtype=torch.float32)[:, None] * 100
    logvar = torch.full((N, 1), -6.0)
    lengths = torch.full((N,), 9)
    g = lambda: torch.Generator().manual_seed(0)
    assert mutual_info_batch(mu, logvar, lengths, 32, g()) == pytest.approx(math.log(32), abs=0.05)
    assert estimators.mutual_info(mu, logvar, g()) == pytest.approx(math.log(N), abs=0.05)
    lengths = torch.tensor([7, 3] * (N // 2))                   # interleaved: chunks of the corpus order would mix
    mu = torch.where(lengths[:, None] == 7, 100.0, -100.0).repeat(1, 2)
    logvar = torch.zeros(N, 2)
    assert mutual_info_batch(mu, logvar, lengths, 32, g()) == pytest.approx(0.0, abs=0.06)
    assert estimators.mutual_info(mu, logvar, g()) == pytest.approx(math.log(2), abs=0.06)


# ------------------------------------------------------------------------------ Krishnan et al. 2018
def test_tfidf_is_the_authors_l2_normalised_sklearn_form(tiny_ptb):
    ds = load_splits(tiny_ptb, ("train",))
    train = ds.splits["train"]
    m = BowVAE(ModelConfig(model="bow", vocab_size=len(ds.vocab), hidden_dim=8, latent_dim=2, bow_features="tfidf"))
    m.set_idf(train)
    the = ds.vocab.stoi["the"]
    df = sum(int((ids == the).any()) for ids in train.ids)
    assert float(m.idf[the]) == pytest.approx(math.log((1 + len(train)) / (1 + df)) + 1, rel=1e-6)
    x, lengths = train.collate(range(5))
    from vae_core.bow import bag_of_words
    feats = m.features(bag_of_words(x, lengths, len(ds.vocab)))
    torch.testing.assert_close(feats.norm(dim=-1), torch.ones(5))


def test_bow_preset_has_the_authors_decoder_depth():
    m, t = preset("krishnan2018-bow")
    m.vocab_size = V
    net = build_model(m)
    linears = [mod for mod in net.decoder if isinstance(mod, torch.nn.Linear)]
    assert [tuple(l.weight.shape) for l in linears] == [(400, 100), (400, 400), (V, 400)]
    assert (t.batch_size, t.lr, t.refine_steps, t.refine_lr, m.bow_features) == (500, 8e-4, 100, 0.01, "tfidf")


def test_refined_and_plain_elbo_share_their_noise(tiny_vae, tiny_ptb):
    """With common random numbers, a refinement that changes nothing changes the ELBO by nothing; with
    independent noise the two would differ by Monte Carlo noise."""
    from vae_core.checkpoint import load_checkpoint
    ck = load_checkpoint(tiny_vae)
    corpus = Corpus(Corpus.from_file(split_path(tiny_ptb, "test"), ck.vocab).sentences[:40], ck.vocab)
    res = evaluate_corpus(ck.model, corpus, iw_samples=0, refine_steps=1, refine_lr=1e-12, bleu=False)
    assert res["nll_refined"] == pytest.approx(res["nll"], abs=1e-6)
    other = evaluate_corpus(ck.model, corpus, iw_samples=0, bleu=False, seed=1)
    assert abs(other["nll"] - res["nll"]) > 1e-4                  # the noise the comparison no longer sees
