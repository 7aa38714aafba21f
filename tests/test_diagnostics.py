"""Latent traversal, the posterior-collapse test and sample quality, against known answers."""
import pytest
import torch

from vae_core import latent
from vae_core.checkpoint import load_checkpoint
from vae_core.config import ModelConfig
from vae_core.data import Corpus, Vocab, split_path
from vae_core.bleu import self_bleu
from vae_core.diagnostics import collapse_verdict, decoder_uses_z, distinct_n, sample_quality
from vae_core.latent import aggregate_posterior, traverse
from vae_core.model import build_model



def test_aggregate_posterior_moments_by_hand():
    mu = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    logvar = torch.log(torch.tensor([[1.0, 4.0], [1.0, 4.0]]))
    st = aggregate_posterior(mu, logvar)
    torch.testing.assert_close(st["mean"], torch.tensor([1.0, 2.0]))
    torch.testing.assert_close(st["std"], torch.sqrt(torch.tensor([1.0 + 1.0, 1.0 + 4.0])))   # Var(mu) + E[sigma^2]
    kl = 0.5 * (mu ** 2 + logvar.exp() - logvar - 1)
    torch.testing.assert_close(st["kl"], kl.mean(0))


def test_traversal_sweeps_one_coordinate_and_holds_the_others(monkeypatch):
    torch.manual_seed(0)
    words = ["<pad>", "<unk>", "<bos>", "<eos>", "a", "b", "c"]
    vocab = Vocab(words)
    model = build_model(ModelConfig(vocab_size=len(words), emb_dim=4, hidden_dim=5, latent_dim=3)).eval()
    stats = {"mean": torch.tensor([0.0, 1.0, -1.0]), "std": torch.tensor([1.0, 2.0, 0.5])}
    seen = {}

    def fake_decode(m, z, strategy, max_len):
        seen["z"] = z.clone()
        return [[4]] * len(z)
    monkeypatch.setattr(latent, "decode", fake_decode)
    res = traverse(model, vocab, stats, [1, 2], text=None, steps=5, span=2.0)
    z = seen["z"][:10].view(2, 5, 3)
    torch.testing.assert_close(z[0, :, 1], 1.0 + 2.0 * torch.linspace(-2, 2, 5))      # mean +- span * std
    torch.testing.assert_close(z[1, :, 2], -1.0 + 0.5 * torch.linspace(-2, 2, 5))
    assert torch.equal(z[0, :, [0, 2]], torch.zeros(5, 2)) and torch.equal(z[1, :, :2], torch.zeros(5, 2))
    assert res["offsets"] == pytest.approx([-2, -1, 0, 1, 2]) and res["sentences"] == [["a"] * 5] * 2
    res = traverse(model, vocab, stats, [0], text="a b c", steps=3)
    mu = latent.encode_sentences(model, vocab, ["a b c"]).mu[0]
    torch.testing.assert_close(seen["z"][:, 1:], mu[1:].expand(4, 2))                  # held at the sentence's mu
    # swept around the sentence's own mu_0 (its +0 sigma row is the sentence), and the last code decoded is mu
    # itself: the reconstruction that "words changed" counts from
    torch.testing.assert_close(seen["z"][:3, 0], mu[0] + 1.0 * torch.linspace(-3, 3, 3))
    torch.testing.assert_close(seen["z"][3], mu)
    assert res["reference"] == ["a"] and res["changes"] == [[0, 0, 0]]


def test_traversal_counts_changed_words_from_the_sentences_reconstruction(monkeypatch):
    """The issue's finding: "words changed" was counted from the decode at the corpus average, so the +0 sigma
    row was not the user's sentence. Now each row counts from the decode of the sentence's own mu."""
    words = ["<pad>", "<unk>", "<bos>", "<eos>", "a", "b", "c"]
    vocab = Vocab(words)
    model = build_model(ModelConfig(vocab_size=len(words), emb_dim=4, hidden_dim=5, latent_dim=2)).eval()
    stats = {"mean": torch.tensor([5.0, 5.0]), "std": torch.tensor([1.0, 1.0])}
    mu = latent.encode_sentences(model, vocab, ["a b"]).mu[0]

    def fake_decode(m, z, strategy, max_len):          # "a" near the sentence's mu_0, "a b c" far from it
        return [[4] if abs(float(row[0] - mu[0])) < 0.5 else [4, 5, 6] for row in z]
    monkeypatch.setattr(latent, "decode", fake_decode)
    res = traverse(model, vocab, stats, [0], text="a b", steps=5, span=2.0)
    assert res["sentences"][0] == ["a b c", "a b c", "a", "a b c", "a b c"] and res["reference"] == ["a"]
    assert res["changes"][0] == [2, 2, 0, 2, 2]
    with pytest.raises(ValueError, match="out of range"):
        traverse(model, vocab, stats, [3])


@pytest.fixture(scope="module")
def smim():
    from tests.conftest import ROOT, SMIM
    return load_checkpoint(ROOT / SMIM)


def test_decoder_that_ignores_z_is_called_collapsed(demo_dir, ptb_dir):
    ck = load_checkpoint(demo_dir)
    corpus = Corpus(Corpus.from_file(split_path(ptb_dir, "test"), ck.vocab).sentences[:40], ck.vocab)
    dec = ck.model.decoder
    with torch.no_grad():                     # cut every path from z into the decoder
        dec.z_to_cell.weight.zero_()
        dec.z_to_cell.bias.zero_()
        dec.rnn.weight_ih_l0[:, ck.model_config.emb_dim:].zero_()
    uses = decoder_uses_z(ck.model, corpus, n=40)
    assert abs(uses["gap_other"]) < 1e-4 and abs(uses["gap_prior"]) < 1e-4
    level, text = collapse_verdict(uses, kl=3.7, active_units=9, latent_dim=32)
    # the posterior still carries 3.7 nats: what was measured is a decoder that ignores z, which is not
    # "posterior collapse" (q(z|x) = p(z), KL ~ 0; issue 38's finding on a model with KL 20.9)
    assert level == "collapsed" and "decoder ignores z" in text and "Posterior collapse" not in text
    level, text = collapse_verdict(uses, kl=0.02, active_units=0, latent_dim=32)
    assert level == "collapsed" and text.startswith("Posterior collapse")


def test_smim_decoder_reads_its_sentence_from_z(smim, ptb_dir):
    corpus = Corpus(Corpus.from_file(split_path(ptb_dir, "test"), smim.vocab).sentences[:60], smim.vocab)
    uses = decoder_uses_z(smim.model, corpus, n=60)
    assert uses["gap_other"] > 20 and uses["gap_prior"] > 20 and uses["own"] < uses["other"]
    assert collapse_verdict(uses, kl=140.0, active_units=32, latent_dim=32)[0] == "uses z"


def test_sample_quality_known_values():
    """Distinct-n divides by generated tokens (Li et al. 2016), not by n-grams; Self-BLEU is Texygen's (its
    values at every size are checked against NLTK in tests/test_bleu.py)."""
    assert distinct_n(["a b", "a c"], 1) == pytest.approx(3 / 4) and distinct_n(["a b", "a c"], 2) == pytest.approx(2 / 4)
    assert distinct_n(["a b a b", "c"], 2) == pytest.approx(2 / 5)      # bigrams "a b", "b a" over 5 tokens
    assert distinct_n(["a"], 2) == 0.0 and distinct_n([], 1) == 0.0
    assert self_bleu(["the market fell sharply today"] * 3) == pytest.approx(1.0)
    assert self_bleu(["a b c d", "e f g h"]) == pytest.approx(0.0)
    q = sample_quality(["the market fell", "the market fell", "prices rose"], train=["the  market fell", "x"])
    assert q["copied"] == pytest.approx(2 / 3) and q["unique"] == pytest.approx(2 / 3) and q["n"] == 3
    # each "the market fell" has its twin among the others (at n = 4 its missing 4-gram is smoothed to 0.1 / 1,
    # NLTK's method1); "prices rose" shares nothing: 0
    assert q["self_bleu_3"] == pytest.approx(100 * 2 / 3) and q["self_bleu"] == pytest.approx(100 * 2 * 0.1 ** 0.25 / 3)
    assert q["distinct_1"] == pytest.approx(5 / 8)
    assert sample_quality(["a b"])["copied"] is None


def test_word_edit_distance():
    from vae_core.latent import word_edit_distance
    assert word_edit_distance("the market fell", "the market fell") == 0
    assert word_edit_distance("the market fell", "the stock market rose") == 2
    assert word_edit_distance("", "a b") == 2
