"""AppTest runs of the app's pages on the committed demo checkpoint: the decoded sentences must appear."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from vae_core.checkpoint import load_checkpoint
from vae_core.latent import homotopy, reconstruct

APP = Path(__file__).resolve().parents[1] / "app"
TIMEOUT = 120


def _page(name: str) -> AppTest:
    return AppTest.from_file(str(APP / "pages" / f"{name}.py"), default_timeout=TIMEOUT)


def _table_text(at: AppTest) -> str:
    return "\n".join(t.value.to_string() for t in at.table)


@pytest.fixture(scope="module")
def demo(demo_dir):
    return load_checkpoint(demo_dir)


def test_main_opens_on_demo_checkpoint():
    at = AppTest.from_file(str(APP / "main.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert at.sidebar.selectbox(key="ckpt_choice").value.endswith("checkpoints/demo-vae")
    assert at.title[0].value == "Encode & reconstruct"


def test_encode_page_shows_reconstructions_and_posterior(demo):
    at = _page("encode").run()
    assert not at.exception
    sentence = "the market fell sharply in new york"
    at.text_input(key="sentence").set_value(sentence).run()
    at.slider(key="n_samples").set_value(2).run()
    assert not at.exception
    want = reconstruct(demo.model, demo.vocab, sentence, n_samples=2, seed=0)
    table = _table_text(at)
    assert want["mean"] in table and all(s in table for s in want["samples"])
    spec = at.get("plotly_chart")[0].proto.spec
    assert "posterior mean" in spec and "KL per dimension" in spec


def test_encode_page_reports_unknown_words_and_empty_input():
    at = _page("encode").run()
    at.text_input(key="sentence").set_value("the zorblaxian market fell").run()
    assert not at.exception
    assert any("zorblaxian" in i.value for i in at.info)
    at.text_input(key="sentence").set_value("   ").run()
    assert not at.exception and at.warning and "empty" in at.warning[0].value


def test_homotopy_page_shows_the_decoded_path(demo):
    at = _page("homotopy").run()
    a, b = "the company said it expects to report a loss", "mr. smith is chairman of the board"
    at.text_input(key="first").set_value(a)
    at.text_input(key="second").set_value(b)
    at.slider(key="steps").set_value(5)
    at.radio(key="method").set_value("spherical").run()
    assert not at.exception
    want = homotopy(demo.model, demo.vocab, a, b, steps=5, method="spherical")
    df = at.table[0].value
    assert list(df["sentence"]) == want["sentences"] and len(df) == 5


def test_bad_checkpoint_directory_gives_a_message_not_a_traceback(tmp_path):
    (tmp_path / "model.pt").write_bytes(b"\x80\x04junk")
    at = _page("encode").run()
    at.sidebar.text_input(key="ckpt_typed").set_value(str(tmp_path)).run()
    assert not at.exception
    assert any("Pickle files are refused" in e.value for e in at.error)


@pytest.mark.parametrize("page,key", [("encode", "sentence"), ("homotopy", "first")])
def test_every_view_survives_hostile_text(page, key):
    from tests.test_hostile import HOSTILE
    at = _page(page).run()
    for name, text in HOSTILE.items():
        at.text_input(key=key).set_value(text[:2000]).run()     # the widget caps input at 2000 characters
        assert not at.exception, name
        if name in ("empty", "whitespace"):
            assert at.warning and "empty" in at.warning[0].value, name
        else:
            assert at.table, name
        if name in ("all_oov", "emoji", "rtl"):
            assert any("not in the vocabulary" in i.value for i in at.info), name
