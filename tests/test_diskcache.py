"""Corpus posteriors and maps kept on disk (vae_core.diskcache): a second server process reads them back
instead of encoding again, and a damaged or mismatched file is recomputed, never trusted."""
import numpy as np
import pytest

from vae_core import estimators
from vae_core.checkpoint import load_checkpoint
from vae_core.diskcache import load_arrays, save_arrays
from vae_core.latent import posterior_of_corpus


def test_posteriors_are_read_back_from_disk_and_a_bad_file_is_recomputed(tiny_vae, tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_CORE_CACHE", str(tmp_path))
    ck = load_checkpoint(tiny_vae)
    sents = ["the market fell", "he said", "prices rose sharply"]
    first = posterior_of_corpus(ck.model, ck.vocab, sents, cache_key="k1")
    (path,) = tmp_path.glob("posteriors/k1.npz")
    monkeypatch.setattr(estimators, "encode_corpus", lambda *a, **k: pytest.fail("encoded again"))
    again = posterior_of_corpus(ck.model, ck.vocab, sents, cache_key="k1")
    for k in first:
        np.testing.assert_array_equal(first[k], again[k])
    path.write_bytes(b"not an npz")
    monkeypatch.undo()
    monkeypatch.setenv("VAE_CORE_CACHE", str(tmp_path))
    np.testing.assert_array_equal(posterior_of_corpus(ck.model, ck.vocab, sents, cache_key="k1")["mu"], first["mu"])


def test_only_plain_arrays_of_the_expected_length_are_loaded(tmp_path):
    save_arrays(tmp_path / "a.npz", x=np.arange(3), y=np.zeros((3, 2)))
    assert set(load_arrays(tmp_path / "a.npz", rows=3)) == {"x", "y"}
    assert load_arrays(tmp_path / "a.npz", rows=4) is None
    np.savez(tmp_path / "p.npz", x=np.array([{"a": 1}], dtype=object))      # a pickled object inside
    assert load_arrays(tmp_path / "p.npz") is None and load_arrays(tmp_path / "missing.npz") is None


def test_each_sentences_nll_is_its_own_elbo_in_corpus_order(tiny_vae, tmp_path, monkeypatch):
    """vae_core.latent.nll_of_corpus against the ELBO of each sentence scored alone (its batch's seed)."""
    import torch
    from vae_core.data import corpus_from_text
    from vae_core.latent import nll_of_corpus
    from vae_core.objectives import elbo
    monkeypatch.setenv("VAE_CORE_CACHE", str(tmp_path))
    ck = load_checkpoint(tiny_vae)
    sents = ["the market fell sharply in new york today", "he said", "prices rose"]
    got = nll_of_corpus(ck.model, ck.vocab, sents, batch_size=1, cache_key="n1")
    corpus = corpus_from_text(sents, ck.vocab)
    for b, idx in enumerate(corpus.batches(1)):
        x, lengths = corpus.collate(idx)
        torch.manual_seed(b)
        with torch.no_grad():
            t = elbo(ck.model.eval(), x, lengths)
        assert got[idx[0]] == pytest.approx(float(t.rec + t.kl), rel=1e-5)
    np.testing.assert_array_equal(nll_of_corpus(ck.model, ck.vocab, sents, cache_key="n1"), got)   # from disk


def test_a_cache_directory_is_bounded_and_keeps_what_was_used_last(tmp_path, monkeypatch):
    """A link can ask for a map of any corpus and parameters; every one wrote a file for good (50 MB of
    posteriors for smim128-v2 on PTB). Each directory now keeps at most $VAE_CORE_CACHE_MAX_MB, dropping the
    least recently used file first; a cache hit counts as a use."""
    import os
    import time
    from vae_core.diskcache import cached
    monkeypatch.setenv("VAE_CORE_CACHE_MAX_MB", str(2.5 * 80_000 / 2 ** 20))      # room for two 80 kB files
    big = lambda: {"x": np.zeros((10_000,), dtype=np.float64)}                      # noqa: E731  (80 kB)
    calls = []
    for key in ("a", "b"):
        cached(tmp_path, key, 10_000, lambda: calls.append(1) or big())
    old = time.time() - 100
    os.utime(tmp_path / "a.npz", (old, old))
    os.utime(tmp_path / "b.npz", (old + 1, old + 1))
    assert cached(tmp_path, "a", 10_000, big)[1]                          # a hit: a is now the newest
    cached(tmp_path, "c", 10_000, big)
    assert sorted(p.name for p in tmp_path.glob("*.npz")) == ["a.npz", "c.npz"]    # b, least recently used, went
    assert len(calls) == 2
