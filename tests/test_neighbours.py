"""Nearest neighbours in latent space (vae_core.neighbours) against brute force computed here with NumPy."""
import numpy as np
import pytest
import torch

from vae_core.neighbours import NeighbourIndex, rerank_by_likelihood


def brute(codes, q, k, metric):
    if metric == "euclidean":
        d = np.sqrt(((codes[None] - q[:, None]) ** 2).sum(-1))
    else:
        cn = codes / np.linalg.norm(codes, axis=1, keepdims=True)
        qn = q / np.linalg.norm(q, axis=1, keepdims=True)
        d = 1 - qn @ cn.T
    idx = np.argsort(d, axis=1, kind="stable")[:, :k]
    return idx, np.take_along_axis(d, idx, 1)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_neighbours_are_the_brute_force_ones(metric):
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(2000, 16)).astype(np.float32)
    q = rng.normal(size=(25, 16)).astype(np.float32)
    idx, dist = NeighbourIndex(codes).query(q, 10, metric)
    ref_idx, ref_d = brute(codes.astype(np.float64), q.astype(np.float64), 10, metric)
    np.testing.assert_array_equal(idx, ref_idx)
    np.testing.assert_allclose(dist, ref_d, rtol=1e-4, atol=1e-5)


def test_a_corpus_point_is_not_its_own_neighbour_when_asked():
    from vae_core.neighbours import nearest_to
    codes = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [0.0, 2.5]], dtype=np.float32)
    index = NeighbourIndex(codes)
    assert [nearest_to(index, codes[i], 2, exclude=i)[0] for i in range(4)] == [[1, 3], [0, 2], [1, 0], [0, 1]]
    np.testing.assert_allclose(nearest_to(index, codes[0], 2, exclude=0)[1], [1.0, 2.5])
    assert nearest_to(index, codes[0], 2)[0] == [0, 1]          # without `exclude` the point itself comes first
    with pytest.raises(ValueError, match="metric"):
        index.query(codes, 2, "manhattan")
    with pytest.raises(ValueError, match="dimensions"):
        index.query(np.zeros((1, 3)), 2)


def test_reranking_orders_candidates_by_the_decoders_likelihood(tiny_vae):
    from vae_core.checkpoint import load_checkpoint
    from vae_core.data import corpus_from_text
    ck = load_checkpoint(tiny_vae)
    sents = ["the market fell", "prices rose sharply in new york", "he said", "the company said it expects"]
    z = torch.zeros(ck.model.latent_dim)
    order, logp = rerank_by_likelihood(ck.model, ck.vocab, sents, np.arange(4), z)
    corpus = corpus_from_text(sents, ck.vocab)
    x, lengths = corpus.collate(range(4))
    with torch.no_grad():
        ref = ck.model.eval().reconstruction(x, lengths, z.expand(4, -1)).numpy()
    np.testing.assert_array_equal(order, np.argsort(-ref, kind="stable"))
    np.testing.assert_allclose(logp, np.sort(ref)[::-1], rtol=1e-5)
