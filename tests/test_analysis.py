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
    near = jacobian.nearest_words(J, vocab, "up", k=3, embedding="raw")       # the paper's raw rows
    assert [w for w, _ in near] == ["rise", "down", "fall"]          # cosines 0.999, -0.995, -0.9997
    assert near[0][1] == pytest.approx(0.9993, abs=1e-3)
    assert jacobian.nearest_words(J, vocab, "down", k=1, embedding="raw")[0][0] == "fall"
    with pytest.raises(KeyError):
        jacobian.nearest_words(J, vocab, "sideways")
    sv = jacobian.singular_values(torch.diag(torch.tensor([5.0, 1.0, 0.001])))
    torch.testing.assert_close(sv, torch.tensor([5.0, 1.0, 0.001]))
    assert jacobian.effective_dims(sv, 0.01) == 2


def test_embedding_kinds_on_a_known_matrix():
    """raw = J; centred = J minus its mean row; whitened = U_k of J = U S V^T over the directions above the
    threshold."""
    g = torch.Generator().manual_seed(0)
    J = torch.randn(12, 3, generator=g, dtype=torch.float64) * torch.tensor([5.0, 1.0, 1e-4], dtype=torch.float64)
    torch.testing.assert_close(jacobian.word_embeddings(J, "raw"), J.float())
    torch.testing.assert_close(jacobian.word_embeddings(J, "centred"), (J - J.mean(0)).float())
    U = torch.linalg.svd(J, full_matrices=False).U
    torch.testing.assert_close(jacobian.word_embeddings(J, "whitened").abs(), U[:, :2].abs().float())
    with pytest.raises(ValueError, match="unknown embedding"):
        jacobian.word_embeddings(J, "pca")


def test_neighbour_agreement_known_values():
    """Two pairs of words with identical reference vectors: an embedding that pairs them right agrees fully
    (1.0), one that pairs each word with a word of the other pair not at all (0.0)."""
    from vae_core.wordsim import neighbour_agreement, random_pair_agreement
    ref = np.zeros((8, 2))
    ref[4:6, 0], ref[6:8, 1] = 1.0, 1.0
    right = np.zeros((8, 2))
    right[[4, 5], 0], right[[6, 7], 1] = [1.0, 0.9], [1.0, 0.9]
    wrong = np.zeros((8, 2))
    wrong[[4, 6], 0], wrong[[5, 7], 1] = [1.0, 0.9], [1.0, 0.9]
    assert neighbour_agreement(right, ref, [4, 5, 6, 7], k=1) == pytest.approx(1.0)
    assert neighbour_agreement(wrong, ref, [4, 5, 6, 7], k=1) == pytest.approx(0.0)
    assert random_pair_agreement(ref, [4], k=3) == pytest.approx(1 / 3)        # the three others: one alike


def test_the_default_embedding_is_the_measured_best_on_real_checkpoints(ptb_dir):
    """The whitening that had become the default made neighbour lists worse on the default model. The kinds
    are scored on real checkpoints by agreement with PPMI-SVD co-occurrence vectors of PTB train: centred
    beats raw and whitened on smim128-v2 (the default), whitened beats raw on bowman-vae, and the figures
    are those of docs/jacobian-agreement.json, which README quotes (bench/jacobian_agreement.py)."""
    import json
    from tests.conftest import ROOT, SMIM
    from vae_core.checkpoint import load_checkpoint
    from vae_core.data import read_corpus, split_path
    from vae_core.wordsim import agreement_by_embedding, ppmi_svd_vectors
    recorded = json.loads((ROOT / "docs" / "jacobian-agreement.json").read_text())
    assert recorded["best"] == jacobian.DEFAULT_EMBEDDING
    train, _ = read_corpus(split_path(ptb_dir, "train"))
    scores, refs = {}, {}
    for name in (SMIM, "checkpoints/bowman-vae"):
        ck = load_checkpoint(ROOT / name)
        key = tuple(ck.vocab.itos)
        ref = refs[key] = refs[key] if key in refs else ppmi_svd_vectors(train, ck.vocab)
        scores[name] = agreement_by_embedding(jacobian.expected_jacobian(ck.model, recorded["samples"], 0), ck.vocab, ref)
        for k in jacobian.EMBEDDINGS:
            assert scores[name][k] == pytest.approx(recorded["models"][name.split("/")[-1]][k], abs=0.01), (name, k)
    assert max(scores[SMIM], key=scores[SMIM].get) == "centred"
    assert scores["checkpoints/bowman-vae"]["whitened"] > scores["checkpoints/bowman-vae"]["raw"]


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


def test_the_jacobian_of_a_decoder_whose_state_z_does_not_set(demo_dir):
    """vani-mi1 (GRU decoder, z_to_init false: z enters only through the inputs) raised "output with shape
    [1, 256] doesn't match the broadcast shape [16, 1, 256]": the RNN's own zero state was not batched under
    vmap. The Jacobian must equal the direct definition."""
    from tests.conftest import ROOT
    from vae_core.checkpoint import load_checkpoint
    ck = load_checkpoint(ROOT / "checkpoints" / "vani-mi1")
    assert not ck.model_config.z_to_init and ck.model_config.rnn == "gru"
    z = torch.randn(2, ck.model.latent_dim, generator=torch.Generator().manual_seed(0))
    paths = [[ck.vocab.stoi["the"], ck.vocab.stoi["market"]], [ck.vocab.stoi["stocks"]]]
    J = jacobian.jacobians(ck.model, z, paths)
    x = torch.tensor(paths[0] + [Vocab.eos_id])
    with torch.backends.mkldnn.flags(enabled=False), torch.no_grad():      # forward mode: n tangents, not |V|
        ref = torch.func.jacfwd(lambda zz: jacobian._avg_logprobs(ck.model, zz, x, torch.ones(len(x))))(z[0])
    torch.testing.assert_close(J[0], ref, atol=1e-5, rtol=1e-4)


def test_aggregate_posterior_samples_draw_a_sentence_then_its_posterior():
    """q(z) = (1/N) sum_j q(z|x_j): each code is a draw from one corpus sentence's posterior. With tiny
    variances the decodes are those of the chosen sentences' means."""
    import torch
    from vae_core.analysis import aggregate_posterior_samples
    from vae_core.checkpoint import load_checkpoint
    from vae_core.decoding import decode
    from vae_core.latent import encode_sentences, ids_to_text
    from tests.conftest import ROOT
    ck = load_checkpoint(ROOT / "checkpoints" / "bowman-vae")
    post = encode_sentences(ck.model, ck.vocab, ["the market fell sharply", "mr. smith resigned as chairman"])
    tiny = torch.full_like(post.logvar, -30.0)
    rows = aggregate_posterior_samples(ck.model, ck.vocab, post.mu, tiny, n=6, seed=3)
    means = ids_to_text(ck.vocab, decode(ck.model, post.mu, "greedy"))
    assert {r["source"] for r in rows} == {0, 1} and all(r["sentence"] == means[r["source"]] for r in rows)
    assert all(r["log_prior"] < 0 for r in rows)


def _inside_by_ray_casting(x: float, y: float, px: list[float], py: list[float]) -> bool:
    """One point against a polygon, edge by edge (the textbook even-odd rule), to check the vectorised one."""
    inside, j = False, len(px) - 1
    for i in range(len(px)):
        if (py[i] > y) != (py[j] > y) and x < px[i] + (y - py[i]) * (px[j] - px[i]) / (py[j] - py[i]):
            inside = not inside
        j = i
    return inside


def test_points_in_a_lasso_agree_with_ray_casting_point_by_point():
    """A lasso is any closed path, concave or crossing itself: the even-odd rule decides, as plotly's own
    selection does. Checked on known shapes and on random hand-drawn-like paths against a per-point loop."""
    from vae_core.projection import points_in_polygon
    grid = np.array([[x, y] for x in np.linspace(-0.5, 2.5, 13) for y in np.linspace(-0.5, 2.5, 13)])
    square = points_in_polygon(grid, [0, 1, 1, 0], [0, 0, 1, 1])
    assert set(np.flatnonzero(square)) == {i for i, (x, y) in enumerate(grid) if 0 <= x < 1 and 0 <= y < 1}
    ell = points_in_polygon(np.array([[0.5, 1.5], [1.5, 1.5], [1.5, 0.5]]), [0, 2, 2, 1, 1, 0], [0, 0, 1, 1, 2, 2])
    assert ell.tolist() == [True, False, True]              # the L's notch is outside
    rng = np.random.default_rng(0)
    points = rng.normal(size=(3000, 2))
    for _ in range(5):
        angles = np.sort(rng.uniform(0, 2 * np.pi, 40))
        radius = rng.uniform(0.3, 2.0, 40)
        px, py = (radius * np.cos(angles)).tolist(), (radius * np.sin(angles)).tolist()
        if _ == 4:                                            # a path that crosses itself
            px, py = px[::2] + px[1::2], py[::2] + py[1::2]
        got = points_in_polygon(points, px, py)
        want = [_inside_by_ray_casting(x, y, px, py) for x, y in points]
        assert got.tolist() == want and 50 < sum(want) < 3000
    assert not points_in_polygon(points, [0, 1], [0, 1]).any()   # fewer than 3 vertices: no area
