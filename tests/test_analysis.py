"""Latent-space analyses against known answers: Jacobians vs reverse-mode autograd, neighbours, AUROC,
block-wise scoring, perturbation at k = 0, projections and their cache, BLEU."""
import numpy as np
import pytest
import torch

from vae_core import analysis, jacobian
from vae_core.config import ModelConfig
from vae_core.data import Vocab, pad_batch
from vae_core.latent import encode_sentences, ids_to_text
from vae_core.decoding import decode
from vae_core.model import SentenceVAE
from vae_core.projection import cache_key, place, project


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    vocab = Vocab.build([["a", "b", "c", "d", "e", "f"]])
    return SentenceVAE(ModelConfig(vocab_size=len(vocab), emb_dim=5, hidden_dim=6, latent_dim=3)).eval(), vocab


def test_jacobian_matches_reverse_mode_autograd(tiny):
    model, _ = tiny
    z = torch.randn(2, 3, generator=torch.Generator().manual_seed(1))
    paths = [[4, 5, 6], [7]]
    J = jacobian.jacobians(model, z, paths)
    assert J.shape == (2, model.cfg.vocab_size, 3)
    for s, path in enumerate(paths):
        x = torch.tensor(path + [Vocab.eos_id])
        f = lambda zz: jacobian._avg_logprobs(model, zz, x, torch.ones(len(x)))
        with torch.backends.mkldnn.flags(enabled=False):
            ref = torch.autograd.functional.jacobian(f, z[s])
        torch.testing.assert_close(J[s], ref, atol=1e-5, rtol=1e-4)


def test_spectrum_and_neighbours_on_a_known_matrix():
    vocab = Vocab(["<pad>", "<unk>", "<bos>", "<eos>", "up", "rise", "down", "fall"])
    J = torch.zeros(8, 2)
    J[4], J[5], J[6], J[7] = torch.tensor([1.0, 0.1]), torch.tensor([0.9, 0.12]), torch.tensor([-1.0, 0]), torch.tensor([-0.8, -0.1])
    near = jacobian.nearest_words(J, vocab, "up", k=3, whiten=False)          # the paper's raw rows
    assert [w for w, _ in near] == ["rise", "down", "fall"]          # cosines 0.999, -0.995, -0.9997
    assert near[0][1] == pytest.approx(0.9993, abs=1e-3)
    assert jacobian.nearest_words(J, vocab, "down", k=1, whiten=False)[0][0] == "fall"
    with pytest.raises(KeyError):
        jacobian.nearest_words(J, vocab, "sideways")
    sv = jacobian.singular_values(torch.diag(torch.tensor([5.0, 1.0, 0.001])))
    torch.testing.assert_close(sv, torch.tensor([5.0, 1.0, 0.001]))
    assert jacobian.effective_dims(sv, 0.01) == 2


def test_whitened_embeddings_see_past_a_dominant_direction():
    """Every row has a large component along one latent direction (as in a trained sentence VAE) and the
    words form two groups along a weaker one. Raw-row cosines are near 1 for every pair, across the groups
    too, so their values say nothing; the whitened embeddings (rows of U_k, J = U S V^T) give cosines near 1
    within a group and near 0 across the groups (the noise direction, below the threshold, is dropped)."""
    g = torch.Generator().manual_seed(0)
    words = [f"a{i}" for i in range(20)] + [f"b{i}" for i in range(20)]
    vocab = Vocab(["<pad>", "<unk>", "<bos>", "<eos>"] + words)
    J = torch.zeros(len(vocab), 3)
    J[4:, 0] = 5.0 + 5 * torch.rand(40, generator=g)              # the dominant, shared direction
    J[4:24, 1], J[24:, 1] = 0.3, -0.3                               # the groups
    J[4:, 2] = 0.05 * torch.randn(40, generator=g)
    cos = lambda E: torch.nn.functional.normalize(E[4:].double(), dim=1) @ torch.nn.functional.normalize(E[4:].double(), dim=1).T
    raw, white = cos(J), cos(jacobian.word_embeddings(J))
    assert raw[:20, 20:].min() > 0.98                               # across the groups: no contrast
    assert white[:20, 20:].mean() < 0.1 and white[:20, :20].mean() > 0.9
    near = jacobian.nearest_words(J, vocab, "a0", k=10)
    assert all(w.startswith("a") for w, _ in near)
    U = torch.linalg.svd(J.double(), full_matrices=False).U
    torch.testing.assert_close(jacobian.word_embeddings(J).abs(), U[:, :2].abs().float())   # the noise direction is dropped


def test_auroc_of_separated_and_identical_scores():
    assert analysis.auroc_diagonal(torch.eye(6) * 5) == 1.0
    assert analysis.auroc_diagonal(torch.ones(6, 6)) == 0.5


def test_blockwise_loglik_matrix_equals_direct_scoring(tiny):
    model, _ = tiny
    x, lengths = pad_batch([torch.tensor(s) for s in ([4, 5, 3], [6, 7, 8, 9, 3], [5, 3])])
    z = torch.randn(4, 3, generator=torch.Generator().manual_seed(2))
    L = analysis.loglik_matrix(model, x, lengths, z, token_budget=16)     # forces one z per block
    for j in range(4):
        torch.testing.assert_close(L[:, j], model.reconstruction(x, lengths, z[j].expand(3, -1)))


def test_perturbation_at_k_zero_is_the_mean_decode(tiny):
    model, vocab = tiny
    res = analysis.perturb(model, vocab, "a b c", ks=[0, 5], n_samples=4)
    mean = ids_to_text(vocab, decode(model, encode_sentences(model, vocab, ["a b c"]).mu, "greedy"))[0]
    assert res[0]["sentences"] == [mean] * 4 and res[0]["n_distinct"] == 1 and res[0]["kl_shift"] == 0
    assert res[1]["kl_shift"] > 0


def test_reconstruction_rows_layout(tiny):
    model, vocab = tiny
    rows = analysis.reconstruction_rows(model, vocab, "a b zzz", n_samples=2)
    assert [r["label"] for r in rows] == ["D", "M", "R1", "R2", "P1", "P2"]
    assert rows[0]["sentence"] == "a b <unk>" and rows[0]["bleu"] == 100.0


def test_reconstruction_rows_r_rows_are_the_posterior_samples_of_reconstruct():
    """The app's R rows and `vae_core.latent reconstruct` give the same samples for one seed. bowman-vae's z has
    13 dimensions, where one (2n, d) normal draw would not begin with the (n, d) one (torch fills in blocks of 16)."""
    from tests.conftest import DEMO
    from vae_core.checkpoint import load_checkpoint
    from vae_core.latent import reconstruct
    ck = load_checkpoint(DEMO)
    assert ck.model.latent_dim % 16 != 0
    text = "the market fell sharply in new york"
    for seed in (0, 3):
        rows = analysis.reconstruction_rows(ck.model, ck.vocab, text, n_samples=2, seed=seed)
        want = reconstruct(ck.model, ck.vocab, text, n_samples=2, seed=seed)
        assert [r["sentence"] for r in rows[1:4]] == [want["mean"]] + want["samples"]


def test_stretched_prior_samples_report_their_log_prior(tiny):
    """(the map itself and that the samples are stretched: tests/test_fidelity.py)"""
    model, vocab = tiny
    s = analysis.prior_samples(model, vocab, 5, stretch=4.0)
    assert len(s) == 5 and all(r["log_prior"] < 0 for r in s)


def test_bleu1_known_value():
    # unigram precision 1, brevity penalty exp(1 - 3/2)
    assert analysis.bleu1("the cat", "the cat sat") == pytest.approx(np.exp(1 - 1.5), abs=1e-3)
    assert analysis.bleu("a b c d", "a b c d") == pytest.approx(100.0)


def test_projection_cache_and_placement(tmp_path):
    rng = np.random.default_rng(0)
    t = np.linspace(-3, 3, 40)
    pts = np.stack([t, 2 * t, 0.01 * rng.standard_normal(40)], 1).astype(np.float32)
    key = cache_key("ck", [str(i) for i in range(40)], "pca", {}, 0)
    c1, hit1 = project(pts, "pca", key=key, cache_dir=tmp_path)
    c2, hit2 = project(pts, "pca", key=key, cache_dir=tmp_path)
    assert (hit1, hit2) == (False, True) and np.array_equal(c1, c2)
    order = np.argsort(c1[:, 0])                       # a line stays a line, in order (up to sign)
    assert list(order) in (list(range(40)), list(range(39, -1, -1)))
    np.testing.assert_allclose(place(pts[:5], pts, c1), c1[:5], atol=1e-4)   # a corpus point lands on itself
    with pytest.raises(ValueError, match="unknown projection"):
        project(pts, "mds")


def test_projection_reports_its_stages():
    pts = np.random.default_rng(0).normal(size=(60, 4)).astype(np.float32)
    stages = []
    project(pts, "tsne", progress=lambda s, f: stages.append((s, f)))
    assert len(stages) == 1 and stages[0][0].startswith("t-SNE") and 0 < stages[0][1] < 1
    stages.clear()
    project(pts, "pca", progress=lambda s, f: stages.append(s))
    assert stages == []                                   # milliseconds: nothing to report
