"""The other papers' models and objectives against hand computations on toy tensors.

Kruengkrai 2019 (LSTM-VAE-AVG, Eq. 3, 7-8), Vani & Birodkar (bi-GRU encoder, highway, L_MI, Eq. 6-9),
Livne et al. 2020 (A-MIM, Algorithm 1; MELBO, Eq. 16), Krishnan et al. 2018 (bag-of-words model,
secondary optimisation), free bits (Kingma et al. 2016, Eq. 15) and word-dropout annealing.
"""
import math

import pytest
import torch

from vae_core.bow import BowVAE, bag_of_words
from vae_core.config import ModelConfig, TrainConfig
from vae_core.data import Vocab
from vae_core.model import build_model, reverse_padded
from vae_core.objectives import (amim, elbo, elbo_at, elbo_avg, free_bits_kl, gaussian_kl, log_normal,
                                 log_standard_normal, mi_loss, training_terms)
from vae_core.presets import apply_preset
from vae_core.refine import refine_posterior
from vae_core.schedules import word_keep_rate

V = 12


def batch():
    """Three sentences of lengths 5, 3, 2 (each ending in <eos>), right-padded."""
    x = torch.tensor([[4, 5, 6, 7, Vocab.eos_id], [8, 9, Vocab.eos_id, 0, 0], [10, Vocab.eos_id, 0, 0, 0]])
    return x, torch.tensor([5, 3, 2])


def tiny(**kw) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(ModelConfig(vocab_size=V, emb_dim=6, hidden_dim=7, latent_dim=3, **kw)).double().eval()


def test_free_bits_hand_computed():
    kl_dim = torch.tensor([[0.1, 2.0, 0.3], [0.3, 1.0, 0.1]])      # batch means 0.2, 1.5, 0.2
    out = free_bits_kl(kl_dim, 0.25)
    torch.testing.assert_close(out.mean(), torch.tensor(0.25 + 1.5 + 0.25))
    torch.testing.assert_close(out, torch.tensor([0.25 + 2.0 + 0.25, 0.25 + 1.0 + 0.25]))
    torch.testing.assert_close(free_bits_kl(kl_dim, 0.0), kl_dim.sum(-1))
    # the clamped dimensions carry no gradient; the free one does
    k = kl_dim.clone().requires_grad_(True)
    free_bits_kl(k, 0.25).sum().backward()
    assert k.grad[:, 0].abs().sum() == 0 and k.grad[:, 1].abs().sum() == 2


def test_free_bits_changes_the_loss_not_the_reported_kl():
    m, (x, lengths) = tiny(), batch()
    torch.manual_seed(1)
    plain = elbo(m, x, lengths)
    torch.manual_seed(1)
    fb = elbo(m, x, lengths, free_bits=5.0)          # every dimension below 5 nats -> 3 * 5 per sentence
    torch.testing.assert_close(fb.kl, plain.kl)
    torch.testing.assert_close(fb.loss, fb.rec + 15.0)


def test_word_dropout_annealing_schedule():
    assert word_keep_rate(0, "linear") == 0.0 and word_keep_rate(2000, "linear") == 0.0
    assert word_keep_rate(11000, "linear") == pytest.approx(0.5)
    assert word_keep_rate(20000, "linear") == 1.0 and word_keep_rate(10 ** 6, "linear") == 1.0
    assert word_keep_rate(5, "none", keep=0.6) == 0.6


def test_reverse_padded_reverses_only_real_tokens():
    x, lengths = batch()
    r = reverse_padded(x, lengths)
    assert r.tolist() == [[3, 7, 6, 5, 4], [3, 9, 8, 0, 0], [3, 10, 0, 0, 0]]
    assert torch.equal(reverse_padded(r, lengths), x)


@pytest.mark.parametrize("summary", ["last", "mean", "attention"])
def test_bidirectional_encoder_ignores_padding(summary):
    """Each sentence's summary is the same alone as in a padded batch (no packing needed)."""
    m = tiny(model="mi-vae", rnn="gru", encoder_bidirectional=True, encoder_summary=summary)
    x, lengths = batch()
    mu, logvar = m.encode(x, lengths)
    for b in range(3):
        L = int(lengths[b])
        mu1, lv1 = m.encode(x[b:b + 1, :L], lengths[b:b + 1])
        torch.testing.assert_close(mu[b], mu1[0])
        torch.testing.assert_close(logvar[b], lv1[0])


def test_bidirectional_last_is_both_final_states_by_hand():
    m = tiny(model="mi-vae", rnn="gru", encoder_bidirectional=True, encoder_summary="last")
    x = torch.tensor([[4, 5, Vocab.eos_id]])
    emb = m.encoder.embedding(x)
    fwd, _ = m.encoder.rnn(emb)
    bwd, _ = m.encoder.rnn_backward(emb.flip(1))
    torch.testing.assert_close(m.encoder(x, torch.tensor([3])), torch.cat([fwd[:, -1], bwd[:, -1]], -1))


def test_reversed_encoder_reads_the_sentence_backwards():
    fwd, rev = tiny(model="smim", rnn="gru"), tiny(model="smim", rnn="gru", encoder_reverse=True)
    x, lengths = batch()
    torch.testing.assert_close(rev.encoder(x, lengths), fwd.encoder(reverse_padded(x, lengths), lengths))


def test_encoder_bos_reads_the_decoder_inputs_reversed_ending_on_bos():
    """Livne et al.'s code: the encoder reads <sos> w_1 .. w_n reversed, i.e. w_n .. w_1 <sos>, never <eos>."""
    m = tiny(model="smim", rnn="gru", encoder_reverse=True, encoder_bos=True)
    x, lengths = batch()                         # rows [4 5 6 7 eos], [8 9 eos], [10 eos]
    mu, _ = m.encode(x, lengths)
    for b, words in enumerate([[7, 6, 5, 4], [9, 8], [10]]):
        emb = m.encoder.embedding(torch.tensor([words + [Vocab.bos_id]]))
        out, _ = m.encoder.rnn(emb)
        torch.testing.assert_close(mu[b], m.to_mu(out[0, -1]))
    plain = tiny(model="smim", rnn="gru", encoder_reverse=True)
    plain.load_state_dict(m.state_dict())
    assert not torch.allclose(plain.encode(x, lengths)[0], mu)     # without the option it reads the <eos>
    for name in ("livne2020-smim", "livne2020-svae"):          # with random batches, as their DataLoader
        assert apply_preset(name)["encoder_bos"] and apply_preset(name)["bucket"] is False


def test_avg_with_one_sample_equals_the_plain_vae():
    """LSTM-VAE-AVG with L = 1 is the plain VAE (Kruengkrai 2019, Eq. 7-8)."""
    plain, avg = tiny(model="vae"), tiny(model="vae-avg", avg_samples=1)
    avg.load_state_dict(plain.state_dict())
    x, lengths = batch()
    torch.manual_seed(5)
    a = elbo(plain, x, lengths, kl_weight=0.7)
    torch.manual_seed(5)
    b = elbo_avg(avg, x, lengths, kl_weight=0.7)
    torch.testing.assert_close(a.loss, b.loss)
    torch.testing.assert_close(a.kl, b.kl)


def test_avg_averages_hidden_states_before_the_softmax():
    m = tiny(model="vae-avg", avg_samples=3)
    x, lengths = batch()
    z = torch.randn(3, 3, 3, dtype=torch.float64)
    inp = torch.cat([torch.full_like(x[:, :1], Vocab.bos_id), x[:, :-1]], 1)
    h = torch.stack([m.decoder.hidden(inp, z[l])[0] for l in range(3)]).mean(0)        # (B, T, H)
    logp = torch.log_softmax(m.decoder.out(h), -1).gather(-1, x[..., None])[..., 0]
    mask = torch.arange(5)[None] < lengths[:, None]
    torch.testing.assert_close(m.reconstruction_avg(x, lengths, z), (logp * mask).sum(1))
    # and it differs from averaging the L log-likelihoods (Eq. 3)
    assert not torch.allclose(m.reconstruction_avg(x, lengths, z), m.reconstruction(x, lengths, z).mean(0))


def test_avg_decoder_runs_share_one_dropout_mask_only_when_asked():
    """In training, L equal codes with a shared input-dropout mask are one decoder run (the same log-likelihood
    as the plain reconstruction under the same random draw); with a mask per run they average L masks."""
    x, lengths = batch()
    z = torch.randn(1, 3, 3, dtype=torch.float64).expand(4, -1, -1)                    # L = 4 equal codes
    for shared in (True, False):
        m = tiny(model="vae-avg", avg_samples=4, emb_dropout=0.5, avg_shared_dropout=shared).train()
        torch.manual_seed(11)
        avg = m.reconstruction_avg(x, lengths, z)
        torch.manual_seed(11)
        single = m.reconstruction(x, lengths, z[0])
        assert torch.allclose(avg, single) == shared
    m.eval()                                                   # no dropout: the two settings score alike
    torch.testing.assert_close(m.reconstruction_avg(x, lengths, z), m.reconstruction(x, lengths, z[0]))


def test_avg_importance_weights_hand_computed():
    """Both AVG importance-sampling estimators (Kruengkrai 2019, Table 3) against their formulas at K = 1:
    the tuple model's weight counts log p(z)/q(z|x) of every z^l, the paper's convention averages it over l."""
    from vae_core.estimators import iw_nll, iw_nll_avg
    from vae_core.objectives import log_normal, log_standard_normal
    m, (x, lengths) = tiny(model="vae-avg", avg_samples=3), batch()
    mu, logvar = m.encode(x, lengths)
    torch.manual_seed(3)
    tup, paper = iw_nll_avg(m, x, lengths, 1, mu, logvar)
    torch.manual_seed(3)
    z = m.reparameterize(mu, logvar, 3)                                   # the same tuple
    log_px = m.reconstruction_avg(x, lengths, z)
    ratio = log_standard_normal(z) - log_normal(z, mu, logvar)            # (3, B)
    torch.testing.assert_close(tup, -(log_px + ratio.sum(0)))
    torch.testing.assert_close(paper, -(log_px + ratio.mean(0)))
    torch.manual_seed(3)
    torch.testing.assert_close(iw_nll(m, x, lengths, 1), tup)             # iw_nll keeps the tuple bound


def test_avg_importance_sampling_with_one_latent_is_the_vae_estimator():
    """With L = 1 the tuple and the paper's weighting coincide with the plain VAE's IW-NLL."""
    from vae_core.estimators import iw_nll, iw_nll_avg
    plain, avg = tiny(model="vae"), tiny(model="vae-avg", avg_samples=1)
    avg.load_state_dict(plain.state_dict())
    x, lengths = batch()
    mu, logvar = avg.encode(x, lengths)
    torch.manual_seed(4)
    tup, paper = iw_nll_avg(avg, x, lengths, 7, mu, logvar)
    torch.manual_seed(4)
    ref = torch.stack([iw_nll(plain, x, lengths, 1, mu=mu, logvar=logvar) for _ in range(7)])   # 7 single draws
    want = -(torch.logsumexp(-ref, 0) - math.log(7))
    torch.testing.assert_close(tup, want)
    torch.testing.assert_close(paper, want)


def test_avg_decoding_steps_l_decoders_and_averages_their_states():
    """Decoding an AVG model from an L-tuple (L, B, n) follows Eq. 7-8 step by step: each greedy word is the
    argmax of the teacher-forced softmax over the L decoders' averaged states, constrained beam search
    scores a sentence as `reconstruction_avg` does, and a tuple of L copies of one code decodes like that
    code alone (greedy, beam, and sampling with the same noise)."""
    from vae_core.decoding import constrained_beam_search, decode
    m = tiny(model="vae-avg", avg_samples=3, z_concat=True, init_state="linear")     # Kruengkrai's decoder
    torch.manual_seed(3)
    z = torch.randn(3, 3, 3, dtype=torch.float64) * 3                     # (L, B, n): one tuple per sentence
    out = decode(m, z, "greedy", max_len=8)
    assert len(set(out[2])) > 1 and out != decode(m, z[0], "greedy", max_len=8)     # z is read
    for b, ids in enumerate(out):
        inp = torch.tensor([[Vocab.bos_id] + ids])
        h = torch.stack([m.decoder.hidden(inp, z[l, b:b + 1])[0] for l in range(3)]).mean(0)     # (1, T, H)
        best = m.decoder.logits(h)[0].argmax(-1).tolist()
        assert best[:len(ids)] == ids
        if len(ids) < 8:
            assert best[len(ids)] == Vocab.eos_id
        if not ids:
            continue
        _, log_p = constrained_beam_search(m, z[:, b], ids)
        x = torch.tensor([ids + [Vocab.eos_id]])
        with torch.no_grad():
            want = float(m.reconstruction_avg(x, torch.tensor([len(ids) + 1]), z[:, b:b + 1]))
        assert log_p == pytest.approx(want)
    assert decode(m, z, "beam", max_len=8, beam_size=1) == out
    copies = z[:1].expand(3, -1, -1)
    for strategy in ("greedy", "beam", "sample"):
        a = decode(m, copies, strategy, max_len=8, generator=torch.Generator().manual_seed(0))
        assert a == decode(m, z[0], strategy, max_len=8, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="L-tuple"):
        decode(m, z[None], "greedy")


def test_avg_diagnostics_score_l_tuples():
    """The overlap matrix and the collapse test read an AVG model's codes as L-tuples: loglik[i, j] is
    `reconstruction_avg` of x_i under the tuple drawn from q(z | x_j), and log q sums over the L draws."""
    from vae_core.analysis import loglik_matrix
    m, (x, lengths) = tiny(model="vae-avg", avg_samples=3), batch()
    assert m.codes_per_sentence == 3 and tiny(model="vae").codes_per_sentence == 1
    z = torch.randn(3, 4, 3, dtype=torch.float64)                          # 4 tuples
    got = loglik_matrix(m, x, lengths, z, token_budget=7)                 # small budget: several blocks
    want = torch.stack([m.reconstruction_avg(x, lengths, z[:, j:j + 1].expand(-1, 3, -1)) for j in range(4)], 1)
    torch.testing.assert_close(got, want.float())


def test_amim_equals_its_formula():
    """A-MIM (Livne et al. 2020, Algorithm 1): -(log p(x|z) + (log q(z|x) + log p(z)) / 2), z ~ q(z|x)."""
    m, (x, lengths) = tiny(model="smim", rnn="gru", encoder_reverse=True, z_to_init=False), batch()
    torch.manual_seed(9)
    t = amim(m, x, lengths)
    mu, logvar = m.encode(x, lengths)
    torch.manual_seed(9)
    z = mu + torch.exp(0.5 * logvar) * torch.randn((3, 3), dtype=torch.float64)
    # log N(z; mu, sigma^2) and log N(z; 0, I) written out per dimension
    log_q = (-0.5 * ((z - mu) ** 2 / logvar.exp() + logvar + math.log(2 * math.pi))).sum(-1)
    log_p = (-0.5 * (z ** 2 + math.log(2 * math.pi))).sum(-1)
    log_px = m.reconstruction(x, lengths, z)
    torch.testing.assert_close(t.loss, -(log_px + 0.5 * (log_q + log_p)))
    torch.testing.assert_close(t.kl, gaussian_kl(mu, logvar).sum(-1))


def test_mi_term_leaves_encoder_gradients_unchanged():
    """L_MI (Vani & Birodkar, Eq. 8-9) must not reach z or the encoder; it does train q_MI and the decoder."""
    m, (x, lengths) = tiny(model="mi-vae", rnn="gru", encoder_bidirectional=True, z_highway=True), batch()
    m.train()
    enc_params = m.encoder_parameters()
    grads = {}
    for lam in (0.0, 10.0):
        m.zero_grad()
        torch.manual_seed(2)
        training_terms(m, x, lengths, 1.0, 1.0, TrainConfig(mi_weight=lam, mi_max_len=6)).loss.mean().backward()
        grads[lam] = [p.grad.clone() for p in enc_params]
        dec = [p.grad.clone() for p in m.decoder.parameters() if p.grad is not None]
    for a, b in zip(grads[0.0], grads[10.0]):
        torch.testing.assert_close(a, b)
    m.zero_grad()
    mi_loss(m, 4, 6).backward()
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in enc_params)
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in m.mi_posterior.parameters())
    assert m.decoder.rnn.weight_ih_l0.grad.abs().sum() > 0 and dec


def test_mi_loss_equals_its_formula():
    m = tiny(model="mi-vae", rnn="gru")
    torch.manual_seed(4)
    val = mi_loss(m, 5, 6)
    torch.manual_seed(4)
    z = torch.randn((5, 3)).double()
    from vae_core.decoding import sample_batch
    from vae_core.model import decoder_inputs
    xg, lg = sample_batch(m, z, 6)
    assert (lg >= 1).all() and (xg.gather(1, (lg - 1)[:, None]) == Vocab.eos_id).all()
    h, _ = m.decoder.hidden(decoder_inputs(xg, Vocab.bos_id, Vocab.unk_id), z)
    mu, lv = m.mi_posterior(h, lg)
    torch.testing.assert_close(val, (log_standard_normal(z) - log_normal(z, mu, lv)).mean())


def test_bow_likelihood_by_hand():
    m, (x, lengths) = tiny(model="bow"), batch()
    counts = bag_of_words(x, lengths, V)
    assert counts[0, 4:8].tolist() == [1, 1, 1, 1] and counts[:, Vocab.eos_id].sum() == 0 and counts.sum() == 7
    z = torch.randn(3, 3, dtype=torch.float64)
    logp = torch.log_softmax(m.decoder(z), -1)
    expected = torch.stack([logp[0, 4:8].sum(), logp[1, 8] + logp[1, 9], logp[2, 10]])
    torch.testing.assert_close(m.reconstruction(x, lengths, z).double(), expected)
    assert m.reconstruction(x, lengths, z[None].expand(2, -1, -1)).shape == (2, 3)


def test_tfidf_features_use_the_training_idf(tiny_ptb):
    from vae_core.data import load_splits
    ds = load_splits(tiny_ptb, ("train",))
    m = BowVAE(ModelConfig(model="bow", vocab_size=len(ds.vocab), hidden_dim=8, latent_dim=2, bow_features="tfidf"))
    m.set_idf(ds.splits["train"])
    the = ds.vocab.stoi["the"]
    rare = int(m.idf.argmax())
    assert m.idf[the] < m.idf[rare]          # a frequent word weighs less than a rare one


@pytest.mark.parametrize("kind", ["vae", "bow", "smim"])
def test_secondary_optimisation_raises_each_examples_elbo(kind):
    """Krishnan et al. 2018: refining (mu, logvar) by gradient steps on each example's ELBO improves it.
    Compared with common random numbers (the same 256 eps before and after)."""
    kw = {"rnn": "gru", "encoder_reverse": True} if kind == "smim" else {}
    m, (x, lengths) = tiny(model=kind, **kw), batch()
    mu, logvar = m.encode(x, lengths)
    torch.manual_seed(0)
    mu_r, logvar_r = refine_posterior(m, x, lengths, mu, logvar, steps=60, lr=0.05)

    def neg_elbo(mu_, lv_):
        torch.manual_seed(123)
        return elbo_at(m, x, lengths, mu_.double(), lv_.double(), n_samples=256).loss.detach()
    before, after = neg_elbo(mu, logvar), neg_elbo(mu_r, logvar_r)
    assert (after < before).all(), (before, after)
    assert not any(p.grad is not None for p in m.parameters())        # the model was not touched


@pytest.mark.parametrize("kind", ["vae", "vae-avg", "mi-vae", "smim", "bow"])
def test_every_family_trains_one_step_and_checkpoints(kind, tmp_path, tiny_ptb):
    from vae_core.checkpoint import load_checkpoint
    from vae_core.train import Trainer
    from conftest import tiny_configs
    m, t = tiny_configs(tiny_ptb, tmp_path / kind, max_steps=3, epochs=1, save_every=3, mi_max_len=8,
                        refine_steps=2 if kind == "bow" else 0)
    m.model = kind
    if kind == "vae-avg":
        m.avg_samples = 2
    if kind in ("mi-vae", "smim"):
        m.rnn, m.encoder_bidirectional, m.z_highway = "gru", kind == "mi-vae", kind == "mi-vae"
    tr = Trainer(m, t, quiet=True)
    before = {k: v.clone() for k, v in tr.model.state_dict().items()}
    assert tr.run() == "max_steps"
    changed = [k for k, v in tr.model.state_dict().items() if not torch.equal(v, before[k])]
    assert changed, "no parameter moved"
    ck = load_checkpoint(tmp_path / kind)
    assert type(ck.model) is type(tr.model) and ck.model_config.model == kind
    for k, v in tr.model.state_dict().items():
        torch.testing.assert_close(ck.model.state_dict()[k], v)


def test_refined_training_updates_decoder_at_refined_params_and_encoder_by_its_own_elbo(tmp_path, tiny_ptb):
    """With refine_steps > 0 the encoder's gradient equals that of its own ELBO (decoder fixed)."""
    from vae_core.train import Trainer
    from conftest import tiny_configs
    m, t = tiny_configs(tiny_ptb, tmp_path / "r", refine_steps=3, refine_lr=0.1, clip=0.0, max_steps=1,
                        kl_anneal="none", word_keep=1.0)
    m.model = "bow"
    tr = Trainer(m, t, quiet=True)
    x, lengths = tr.train.collate(tr.train.batches(16)[0])
    mu, logvar = tr.model.encode(x, lengths)
    torch.manual_seed(0)
    own = elbo_at(tr.model, x, lengths, mu, logvar).loss.mean()
    expected = torch.autograd.grad(own, tr.model.encoder_parameters())
    torch.manual_seed(0)
    tr._refined_terms(x, lengths)
    for g, e in zip(tr._encoder_grads, expected):
        torch.testing.assert_close(g, e)


def test_gru_decoder_decodes_greedy_sample_and_beam():
    from vae_core.decoding import decode
    m = tiny(model="smim", rnn="gru", z_to_init=True)
    z = torch.randn(2, 3, dtype=torch.float64)
    for strategy in ("greedy", "sample", "beam"):
        out = decode(m, z, strategy, max_len=6)
        assert len(out) == 2 and all(len(s) <= 6 for s in out)
    # beam search with K = 1 is greedy
    assert decode(m, z, "beam", max_len=6, beam_size=1) == decode(m, z, "greedy", max_len=6)


def test_presets_build_and_flags_override():
    from vae_core.presets import PRESETS
    from vae_core.train import build_parser, configs_from_args
    for name in PRESETS:
        stage = ["--init-from", "ae/best"] if PRESETS[name].get("reset_decoder") else []   # a second stage
        mcfg, tcfg = configs_from_args(build_parser().parse_args(["--preset", name, "--data", "d", "--out", "o", *stage]))
        assert mcfg.model == PRESETS[name].get("model", "vae")
    with pytest.raises(ValueError, match="reset_decoder needs init_from"):
        configs_from_args(build_parser().parse_args(["--preset", "li2019-fb", "--data", "d", "--out", "o"]))
    mcfg, tcfg = configs_from_args(build_parser().parse_args(
        ["--preset", "kruengkrai2019-avg", "--avg-samples", "10", "--data", "d", "--out", "o"]))
    assert (mcfg.model, mcfg.avg_samples, mcfg.hidden_dim, tcfg.optimizer, tcfg.kl_anneal_steps) == \
        ("vae-avg", 10, 400, "sgd", 13150)
    with pytest.raises(ValueError, match="avg_samples"):
        ModelConfig(model="vae", avg_samples=3)
    with pytest.raises(ValueError, match="avg_shared_dropout"):
        ModelConfig(model="vae", avg_shared_dropout=True)


def test_bow_jacobian_is_the_papers_definition():
    """J(z) = d log p(word | z) / dz for the bag-of-words decoder (Krishnan et al. 2018), against autograd."""
    from torch.func import jacrev
    from vae_core import jacobian as jac
    m = tiny(model="bow").float()
    z = torch.randn(5, 3)
    J = jac.jacobians(m, z, [[]] * 5, chunk=2)
    torch.testing.assert_close(J, torch.stack([jacrev(m.log_probs)(zz) for zz in z]))
    J = jac.expected_jacobian(m, 8)
    assert J.shape == (V, 3)
    # the whitened embeddings of the same Jacobian: rows of U_k, J = U S V^T (`word_embeddings`)
    U, S, _ = torch.linalg.svd(J.double(), full_matrices=False)
    k = int((S > 0.01 * S[0]).sum())
    torch.testing.assert_close(jac.word_embeddings(J, "whitened").double().abs(), U[:, :k].abs(), atol=1e-6, rtol=1e-5)


def _trained(kind, tmp_path, tiny_ptb, **model):
    from vae_core.train import Trainer
    from conftest import tiny_configs
    m, t = tiny_configs(tiny_ptb, tmp_path / kind, max_steps=4, epochs=1, mi_max_len=8)
    m.model = kind
    for k, v in model.items():
        setattr(m, k, v)
    Trainer(m, t, quiet=True).run()
    return tmp_path / kind


@pytest.mark.parametrize("kind,model", [("vae-avg", {"avg_samples": 3}), ("bow", {"bow_features": "tfidf"}),
                                        ("mi-vae", {"rnn": "gru", "encoder_bidirectional": True})])
def test_evaluate_cli_gives_one_schema_for_every_family(kind, model, tmp_path, tiny_ptb, capsys):
    import json
    from vae_core import evaluate
    from vae_core.estimators import EVAL_KEYS
    ck = _trained(kind, tmp_path, tiny_ptb, **model)
    assert evaluate.main([str(ck), "--data", str(tiny_ptb), "--json", "--iw-samples", "3", "--refine-steps", "3",
                          "--refine-lr", "0.05", "--max-sentences", "40"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert set(EVAL_KEYS) <= set(res)
    assert res["nll"] == pytest.approx(res["rec"] + res["kl"])
    assert res["nll_refined"] is not None and res["active_units_refined"] is not None
    assert (res["nll_avg_tuple"] is not None) == (kind == "vae-avg")
    if kind == "vae-avg":
        assert res["nll_avg_tuple"] == pytest.approx(res["rec"] + 3 * res["kl"])
        assert res["iw_nll_avg"] is not None and res["iw_nll_avg"] <= res["iw_nll"]
    else:
        assert res["iw_nll_avg"] is None
    assert (res["bleu1"] is None) == (kind == "bow")
    if kind == "bow":       # a bag has no <eos>: perplexity per word
        assert res["ppl"] == pytest.approx(math.exp(res["nll"] * 40 / res["n_words"]))
