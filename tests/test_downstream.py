"""Imputation by iterated conditional modes and ranking by latent distance, with known answers on zoo models."""
from __future__ import annotations

import pytest
import torch
from streamlit.testing.v1 import AppTest

from app import examples
from tests.conftest import ROOT, SMIM
from vae_core.checkpoint import load_checkpoint
from vae_core.data import TextError, pad_batch
from vae_core.decoding import constrained_beam_search
from vae_core.downstream import apply_direction, impute, latent_direction, parse_blanks, rank_candidates


@pytest.fixture(scope="module")
def smim():
    return load_checkpoint(ROOT / SMIM)


@pytest.fixture(scope="module")
def vae():
    return load_checkpoint(ROOT / "checkpoints" / "bowman-vae")


def test_constrained_beam_with_every_word_known_scores_log_p_of_the_sentence(vae):
    """Nothing to choose: the search must return the template and log p(x|z) of the model's own scoring."""
    words = "the company said it expects to report a loss".split()
    ids = [vae.vocab.stoi[w] for w in words]
    z = torch.randn(vae.model.latent_dim, generator=torch.Generator().manual_seed(0))
    got, log_p = constrained_beam_search(vae.model, z, ids)
    x, lengths = pad_batch([torch.tensor(ids + [vae.vocab.eos_id])])
    with torch.no_grad():
        want = float(vae.model.reconstruction(x, lengths, z[None])[0])
    assert got == ids
    assert log_p == pytest.approx(want, abs=1e-3)


@pytest.mark.parametrize("text,answer", [("this is no ___ true today", ["longer"]),
                                         ("hooker is based ___ sydney australia", ["in"]),
                                         ("source telerate ___ inc", ["systems"])])
def test_impute_recovers_words_of_sentences_the_smim_model_reconstructs(smim, text, answer):
    # (few blanks come back on smim128-v2: the middle word of 2 of 60 short validation sentences, against 9 on the
    # earlier smim128, `python bench/latent_probes.py`; "terms were n't ___" gave "disclosed" at epoch 17 and
    # "charged" at epoch 21, the exported one)
    res = impute(smim.model, smim.vocab, text)
    assert res["steps"][-1]["filled"] == answer
    assert "<unk>" not in res["final"].split()


def test_icm_steps_raise_log_p_and_fill_a_plausible_phrase(vae):
    res = impute(vae.model, vae.vocab, "the company said it expects to ___ a ___ for the third quarter")
    steps = res["steps"]
    assert steps[0]["changed"] and not steps[-1]["changed"] and len(steps) <= 3
    assert steps[-1]["log_p"] > steps[0]["log_p"]              # the second mode step improves the first fill
    assert steps[-1]["filled"][1] == "loss"                    # "... to post a loss for the third quarter"
    assert res["unknown"] == [6, 8]


def test_impute_rejects_sentences_without_blanks(vae):
    with pytest.raises(TextError, match="unknown word"):
        impute(vae.model, vae.vocab, "no blanks here")
    with pytest.raises(TextError, match="empty"):
        parse_blanks("   ")


def test_rank_puts_the_true_continuation_first_for_the_smim_model(smim):
    # (a weak ranker of single words: the true last word of 200 validation sentences comes first of 3 for 71 on
    # smim128-v2, 80 on the earlier smim128, about 67 by chance, `python bench/latent_probes.py`; a phrase that
    # echoes the prompt is easy)
    r = rank_candidates(smim.model, smim.vocab, "sales rose to $ N million from",
                        ["the company said", "$ N million", "new york stock exchange"])
    assert [x["candidate"] for x in r][0] == "$ N million" and [x["rank"] for x in r] == [1, 2, 3]
    assert r[0]["score"] < r[1]["score"] < r[2]["score"]


def test_rank_flags_out_of_vocabulary_candidates(vae):
    """An all-OOV candidate encodes exactly like the masked prompt: score 0, and the count says why."""
    r = rank_candidates(vae.model, vae.vocab, "the company said", ["zorblax quuxifies", "it expects"])
    oov = next(x for x in r if x["candidate"] == "zorblax quuxifies")
    assert oov["unknown_words"] == 2 and oov["score"] == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(TextError):
        rank_candidates(vae.model, vae.vocab, "", ["a"])


def test_impute_and_rank_page_renders_both_tables():
    at = AppTest.from_file(str(ROOT / "app" / "views" / "downstream.py"), default_timeout=120).run()
    assert not at.exception
    text = "\n".join(t.value.to_string() for t in at.table)
    assert "expects to post a loss" in text and "to report a loss" in text   # the fill (bowman-vae), a candidate
    at.text_input(key="impute_text").set_value("no blanks").run()
    assert not at.exception and any("Cannot impute" in w.value for w in at.warning)


def test_latent_direction_is_the_difference_of_group_means(vae):
    from vae_core.latent import encode_sentences
    a, b = ["the market fell", "stock prices fell sharply"], ["the market rose", "stock prices rose sharply"]
    d = latent_direction(vae.model, vae.vocab, a, b)
    want = encode_sentences(vae.model, vae.vocab, b).mu.mean(0) - encode_sentences(vae.model, vae.vocab, a).mu.mean(0)
    torch.testing.assert_close(d["direction"], want)
    assert d["norm"] == pytest.approx(float(want.norm())) and (d["n_a"], d["n_b"]) == (2, 2)
    with pytest.raises(TextError, match="group A"):
        latent_direction(vae.model, vae.vocab, ["  "], b)


def test_applying_a_to_b_at_strength_one_lands_on_b_for_the_smim_model(smim):
    """z(1) = mu(a) + (mu(b) - mu(a)) = mu(b): decodes b, which smim128-v2 reconstructs exactly."""
    a, b = "terms were n't disclosed", "source telerate systems inc"
    d = latent_direction(smim.model, smim.vocab, [a], [b])["direction"]
    res = apply_direction(smim.model, smim.vocab, a, d, [0.0, 0.5, 1.0])
    assert res["sentences"][0] == a and res["sentences"][-1] == b
    assert res["z"].shape == (3, smim.model.latent_dim)


def test_arithmetic_page_decodes_the_path_and_draws_it_on_a_projection():
    at = AppTest.from_file(str(ROOT / "app" / "views" / "arithmetic.py"), default_timeout=120)
    at.session_state["amap_limit"] = 200
    at = at.run()
    assert not at.exception
    table = at.table[0].value
    assert list(table.columns) == ["s", "sentence", "changed"] and len(table) == 9
    at.toggle(key="arith_map").set_value(True).run()
    assert not at.exception
    spec = at.get("plotly_chart")[0].proto.spec
    assert "z(s)" in spec and f"s={examples.ARITHMETIC_STRENGTH:.2f}" in spec     # the path ends at the default s
