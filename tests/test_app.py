"""AppTest runs of the app's pages on a committed zoo checkpoint (bowman-vae): the decoded sentences must appear."""
import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, SMIM, shown_markdown
from vae_core.checkpoint import load_checkpoint
from vae_core.latent import homotopy, reconstruct

APP = ROOT / "app"
TIMEOUT = 120


def _page(name: str) -> AppTest:
    return AppTest.from_file(str(APP / "views" / f"{name}.py"), default_timeout=TIMEOUT)


def _shown(markdown: str) -> str:
    """What a reader sees of escaped Markdown, word joiners dropped: comparable with the text typed."""
    return shown_markdown(markdown).replace("\u2060", "")


def _table(at: AppTest, i: int = 0):
    """Table `i` of the page as a reader sees it: st.table's text cells and labels unescaped."""
    df = at.table[i].value
    df = df.map(lambda v: _shown(v) if isinstance(v, str) else v)
    df.index = df.index.map(lambda v: _shown(v) if isinstance(v, str) else v)
    return df


def _table_text(at: AppTest) -> str:
    """The text of the page's tables as a reader sees it (st.table's cells are escaped Markdown)."""
    return "\n".join(_table(at, i).to_string() for i in range(len(at.table)))


@pytest.fixture(scope="module")
def demo(demo_dir):
    return load_checkpoint(demo_dir)


def test_the_default_examples_work_on_the_shipped_default_checkpoint():
    """The issue's requirement for the app's default model: the latent arithmetic example is reconstructed
    at s = 0 and turns "fell" into "rose" from s / 4 on, the ranking example puts the unrelated candidate
    last, and the imputation example fills its blank with a plausible verb (the tests below run on bowman-vae)."""
    from app import examples
    from app.common import SHIPPED_DEFAULT
    from vae_core.downstream import apply_direction, impute, latent_direction, rank_candidates
    ck = load_checkpoint(SHIPPED_DEFAULT)
    d = latent_direction(ck.model, ck.vocab, examples.ARITHMETIC_GROUP_A.splitlines(),
                         examples.ARITHMETIC_GROUP_B.splitlines())["direction"]
    s = examples.ARITHMETIC_STRENGTH
    path = apply_direction(ck.model, ck.vocab, examples.ARITHMETIC_SENTENCE, d, [0.0, s / 4, s / 2, s])["sentences"]
    assert path[0] == examples.ARITHMETIC_SENTENCE, path            # s = 0 decodes the sentence itself
    assert all("rose" in p.split() for p in path[1:]), path
    ranked = rank_candidates(ck.model, ck.vocab, examples.RANK_PROMPT, examples.RANK_CANDIDATES.splitlines())
    assert ranked[-1]["candidate"] == "the weather was nice today", ranked
    filled = impute(ck.model, ck.vocab, examples.IMPUTE_TEXT)["steps"][-1]["filled"]
    assert len(filled) == 1 and filled[0] in {"report", "post", "record", "have", "show", "take"}, filled


def test_main_opens_on_the_checkpoint_the_environment_names():
    at = AppTest.from_file(str(APP / "main.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert at.sidebar.selectbox(key="ckpt_choice").value == "checkpoints/bowman-vae"
    assert at.title[0].value == "Sentence VAE explorer"                       # the start page
    assert any("Active:" in m.value and "bowman-vae" in m.value for m in at.sidebar.markdown)


def test_encode_page_shows_reconstructions_and_posterior(demo):
    at = _page("encode").run()
    assert not at.exception
    sentence = "the market fell sharply in new york"
    at.text_input(key="sentence").set_value(sentence).run()
    at.slider(key="enc_samples").set_value(2).run()
    assert not at.exception
    want = reconstruct(demo.model, demo.vocab, sentence, n_samples=2, seed=0)
    table = _table_text(at)
    assert want["mean"] in table and all(s in table for s in want["samples"])
    spec = at.get("plotly_chart")[0].proto.spec
    assert "posterior" in spec and "KL (nats)" in spec and "latent dimension" in spec


def test_encode_page_decodes_an_avg_models_samples_as_l_tuples():
    """On the committed VAE-AVG (L = 10) the R rows are `reconstruct`'s samples, each a 10-tuple of draws
    decoded by averaging 10 decoders (vae_core.decoding), and the page says so."""
    ck = load_checkpoint(APP.parent / "checkpoints" / "k19-avg10-bf16")
    at = _page("encode").run()
    at.sidebar.selectbox(key="ckpt_choice").set_value("checkpoints/k19-avg10-bf16").run()
    sentence = "the company said it expects to report a loss"
    at.text_input(key="sentence").set_value(sentence).run()
    assert not at.exception
    assert any("L = 10" in c.value and "tuple of 10" in c.value for c in at.caption)
    want = reconstruct(ck.model, ck.vocab, sentence, n_samples=3, seed=0)
    table = _table_text(at)
    assert want["mean"] in table and all(s in table for s in want["samples"])


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
    at.text_input(key="hom_first").set_value(a)
    at.text_input(key="hom_second").set_value(b)
    at.slider(key="hom_steps").set_value(5)
    at.radio(key="hom_method").set_value("spherical").run()
    assert not at.exception
    want = homotopy(demo.model, demo.vocab, a, b, steps=5, method="spherical")
    df = _table(at)
    assert list(df["sentence"]) == want["sentences"] and len(df) == 5


def test_bad_checkpoint_directory_gives_a_message_not_a_traceback(tmp_path, monkeypatch):
    """Under a checkpoint root, the loader's reason is shown, with root-relative names only."""
    from app.roots import CHECKPOINT_ROOTS_ENV
    (tmp_path / "mine" / "pk").mkdir(parents=True)
    (tmp_path / "mine" / "pk" / "model.pt").write_bytes(b"\x80\x04junk")
    monkeypatch.setenv(CHECKPOINT_ROOTS_ENV, str(tmp_path / "mine"))
    at = _page("encode").run()
    at.sidebar.text_input(key="ckpt_typed").set_value("mine/pk").run()
    assert not at.exception
    shown = " ".join(e.value for e in at.error)
    assert "Pickle files are refused" in shown and "mine/pk" in shown
    assert str(tmp_path) not in shown and "model.pt" not in shown


@pytest.mark.parametrize("page,key", [("encode", "sentence"), ("homotopy", "hom_first")])
def test_every_view_survives_hostile_text(page, key):
    from tests.test_hostile import HOSTILE
    at = _page(page).run()
    for name, text in HOSTILE.items():
        at.text_input(key=key).set_value(text).run()
        assert not at.exception, name
        if name in ("empty", "whitespace"):
            assert at.warning and "empty" in at.warning[0].value, name
        else:
            assert at.table, name
        if name in ("all_oov", "emoji", "rtl"):
            assert any("not in the vocabulary" in i.value for i in at.info), name


# ------------------------------------------------------------------------------------------ explorer views
def test_reconstruction_table_has_every_row_kind_with_bleu(demo):
    from vae_core.analysis import reconstruction_rows
    at = _page("encode").run()
    at.slider(key="enc_samples").set_value(2)
    at.number_input(key="enc_k").set_value(10.0).run()
    assert not at.exception
    df = _table(at)
    assert list(df.iloc[:, 0]) == ["D", "M", "R1", "R2", "P1", "P2"]
    want = reconstruction_rows(demo.model, demo.vocab, at.text_input(key="sentence").value, 2, 10.0)
    assert list(df["sentence"]) == [r["sentence"] for r in want]
    assert df["BLEU"].iloc[0] == "100.0"


def test_perturb_page_plots_similarity_against_k():
    at = _page("perturb").run()
    at.slider(key="pert_kmax").set_value(5)
    at.slider(key="pert_n").set_value(3).run()
    assert not at.exception
    ks = [row["k"] for row in _table(at).to_dict("records")]
    assert ks == ["0", "0.5", "1", "2", "3", "5"]                   # k as typed, not "0.0000"
    assert "mean BLEU to input" in at.get("plotly_chart")[0].proto.spec


def test_projection_page_pca_with_overlays_and_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_CORE_CACHE", str(tmp_path))
    at = _page("projection")
    at.session_state["proj_method"] = "pca"             # set before the first run: no UMAP fit on 3761 sentences
    at.session_state["proj_limit"] = 300
    at.session_state["proj_typed"] = "the market fell\nmr. smith resigned"
    at.run()
    assert not at.exception
    spec = at.get("plotly_chart")[0].proto.spec
    assert "PCA of 300 posterior means" in spec and "typed" in spec
    assert list(tmp_path.glob("projections/*.npz"))                      # written to the disk cache
    assert any("computed in this session" in c.value for c in at.caption)
    at.radio(key="proj_color").set_value("KL").run()                   # a rerun reads it back, but it was made here
    assert any("computed in this session" in c.value for c in at.caption)
    other = _page("projection")                                            # another session: from the disk cache
    for k in ("proj_method", "proj_limit"):
        other.session_state[k] = at.session_state[k]
    other.run()
    assert any("read from the disk cache" in c.value for c in other.caption)


def test_homotopy_path_on_the_map(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_CORE_CACHE", str(tmp_path))
    at = _page("homotopy").run()
    at.toggle(key="hom_map").set_value(True).run()
    at.number_input(key="hmap_limit").set_value(200).run()
    assert not at.exception
    spec = at.get("plotly_chart")[0].proto.spec
    assert "homotopy" in spec and "t=1.00" in spec


def test_overlap_page_histograms_and_auroc():
    at = _page("overlap").run()
    at.slider(key="ov_n").set_value(20)
    at.button(key="ov_go").click().run()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert "AUROC, log p(x_i|z_j)" in labels and "AUROC, log q(z_i|x_j)" in labels
    assert all(0.0 <= float(m.value) <= 1.0 for m in at.metric)
    assert len(at.get("plotly_chart")) == 2


def test_jacobian_page_spectrum_and_neighbours():
    at = _page("jacobian").run()
    at.select_slider(key="jac_S").set_value(8).run()
    at.text_input(key="jac_word").set_value("stock")
    at.text_input(key="jac_context").set_value("stock prices fell sharply").run()
    assert not at.exception
    assert "singular value" in at.get("plotly_chart")[0].proto.spec
    df = _table(at)
    assert len(df) == 10 and "contextual J: word" in df.columns and "stock" not in set(df.iloc[:, 0])
    assert at.radio(key="jac_embedding").value == "centred"                 # the measured default
    score = [m for m in at.metric if "agreement of centred neighbours" in m.label]
    assert score and 0.05 < float(score[0].value) < 1                      # scored against PTB train's vectors
    at.text_input(key="jac_word").set_value("zorblax").run()
    assert any("not in the model's vocabulary" in w.value for w in at.warning)


def test_prior_samples_page_plain_and_stretched():
    at = _page("prior").run()
    at.slider(key="prior_n").set_value(4)
    at.select_slider(key="prior_stretch").set_value(4.0).run()
    assert not at.exception and len(_table(at)) == 4


def test_model_card_shows_training_curves(demo):
    at = _page("model_card").run()
    assert not at.exception
    assert len(demo.history["epochs"]) == 14           # bowman-vae's best checkpoint: epoch 14 of 17
    spec = at.get("plotly_chart")[0].proto.spec
    assert "KL weight" in spec and "train KL" in spec and "valid KL" in spec
    assert [m.value for m in at.metric][0] == "14" and at.json


@pytest.mark.parametrize("page,key,preset", [
    ("perturb", "sentence", {"pert_kmax": 2, "pert_n": 2}),
    ("jacobian", "jac_context", {"jac_S": 8}),
    ("projection", "proj_typed", {"proj_method": "pca", "proj_limit": 100}),
    ("projection", "proj_h1", {"proj_method": "pca", "proj_limit": 100, "proj_h2": "the market fell"}),
    ("projection", "proj_search", {"proj_method": "pca", "proj_limit": 100}),
])
def test_other_text_fields_survive_hostile_text(page, key, preset, tmp_path, monkeypatch):
    from tests.test_hostile import HOSTILE
    monkeypatch.setenv("VAE_CORE_CACHE", str(tmp_path))
    at = _page(page)
    for k, v in preset.items():
        at.session_state[k] = v
    at.run()
    for name, text in HOSTILE.items():
        widget = at.text_area(key=key) if key == "proj_typed" else at.text_input(key=key)
        widget.set_value(text).run()
        assert not at.exception, (page, name)
        if name == "empty":
            continue
        if name == "whitespace":
            if page == "perturb":
                assert any("empty" in w.value for w in at.warning)
            continue
        if page == "perturb":
            assert at.table, name
        if name in ("all_oov", "emoji") and page in ("perturb", "projection") and key not in ("proj_h1", "proj_search"):
            assert any("not in the vocabulary" in i.value for i in at.info), (page, name)


SMIM_DIR = ROOT / SMIM


def test_the_start_page_shows_smims_reconstruction_not_its_nll():
    """sMIM's NLL bound carries a KL of hundreds of nats that its loss does not minimise: the start page and the
    sidebar give its validation reconstruction instead (71.4 nats for smim128-v2's epoch 21), and the NLL for a VAE."""
    at = _page("home").run()
    assert [m.label for m in at.metric][1] == "validation NLL"                          # bowman-vae
    at.sidebar.selectbox(key="ckpt_choice").set_value(SMIM).run()
    assert not at.exception
    last = json.loads((SMIM_DIR / "config.json").read_text())["history"]["epochs"][-1]
    m = at.metric[1]
    assert m.label == "validation reconstruction" and m.value == f"{last['val_rec']:.1f}"
    side = " ".join(c.value for c in at.sidebar.caption)
    assert f"valid reconstruction {last['val_rec']:.1f}" in side and "A-MIM loss" in side and "valid NLL" not in side


def test_smim_is_offered_and_separates_sentences_in_the_overlap_view():
    """smim128-v2 is offered beside the tests' bowman-vae and loads. On it log q(z_i|x_j) separates i = j from
    i != j perfectly and log p(x_i|z_j) far better than on bowman-vae (AUROC 0.977 vs 0.553 at N = 100,
    `python scripts/paper_figure.py`; Livne et al. 2020, Fig. 3)."""
    at = _page("overlap").run()
    options = at.sidebar.selectbox(key="ckpt_choice").options
    assert any(o.endswith(SMIM) for o in options)
    at.sidebar.selectbox(key="ckpt_choice").set_value(SMIM).run()
    at.slider(key="ov_n").set_value(20)
    at.button(key="ov_go").click().run()
    assert not at.exception
    auroc = {m.label: float(m.value) for m in at.metric}
    assert auroc["AUROC, log q(z_i|x_j)"] > 0.99 and auroc["AUROC, log p(x_i|z_j)"] > 0.65


@pytest.fixture(scope="module")
def bow_checkpoint(tmp_path_factory, tiny_ptb):
    from conftest import tiny_configs
    from vae_core.train import Trainer
    out = tmp_path_factory.mktemp("bow")
    m, t = tiny_configs(tiny_ptb, out, max_steps=3, epochs=1)
    m.model, m.bow_features = "bow", "tfidf"
    Trainer(m, t, quiet=True).run()
    return out


def test_bag_of_words_checkpoint_in_sequence_and_jacobian_views(bow_checkpoint, monkeypatch):
    from app.roots import CHECKPOINT_ROOTS_ENV
    monkeypatch.setenv(CHECKPOINT_ROOTS_ENV, str(bow_checkpoint.parent))     # an absolute path under a root
    at = _page("encode").run()
    at.sidebar.text_input(key="ckpt_typed").set_value(str(bow_checkpoint)).run()
    assert not at.exception and any("bag-of-words" in w.value for w in at.warning)
    at = _page("jacobian")
    at.session_state["jac_S"] = 8
    at.run()
    at.sidebar.text_input(key="ckpt_typed").set_value(str(bow_checkpoint)).run()
    assert not at.exception
    assert "singular value" in at.get("plotly_chart")[0].proto.spec


def test_figures_and_tables_offer_paper_exports():
    """Every figure gets PNG / SVG / PDF / CSV downloads, every table CSV / LaTeX (app.common.show_figure,
    show_table); the files themselves are checked in tests/test_export.py."""
    at = _page("encode").run()
    assert not at.exception
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels.count("PNG") == labels.count("SVG") == labels.count("PDF") == 1        # the posterior figure
    assert labels.count("LaTeX") == 2 and labels.count("CSV") == 3                        # two tables + the figure's data
    names = [b.proto.popover.label for b in at.get("popover")]
    assert names.count("Export figure") == 1 and names.count("Export table") == 2


def _compare_with_smim(at: AppTest) -> AppTest:
    box = at.sidebar.selectbox(key="ckpt_compare")
    assert box.value == "(none)"                               # compare mode is off until asked for
    return box.set_value(next(o for o in box.options if o.endswith(SMIM))).run()


@pytest.mark.parametrize("view,charts,tables", [
    ("encode", 2, 2), ("perturb", 2, 2), ("homotopy", 0, 2), ("projection", 2, 0), ("jacobian", 2, 2),
    ("prior", 0, 2), ("downstream", 0, 4), ("model_card", 2, 0)])
def test_compare_mode_renders_both_models_side_by_side(view, charts, tables):
    at = _page(view)
    if view == "projection":
        at.session_state["proj_method"] = "pca"
        at.session_state["proj_limit"] = 200
    at = _compare_with_smim(at.run())
    assert not at.exception
    heads = [_shown(m.value) for m in at.markdown if m.value.startswith("####")]
    assert any("bowman-vae" in h for h in heads) and any("smim128" in h for h in heads)
    assert len(at.get("plotly_chart")) == charts and len(at.table) == tables


def test_compare_mode_overlap_puts_both_models_in_one_figure_per_quantity():
    at = _compare_with_smim(_page("overlap").run())
    at.slider(key="ov_n").set_value(20).run()
    at.button(key="ov_go").click().run()
    assert not at.exception
    aurocs = [float(m.value) for m in at.metric]
    assert len(aurocs) == 4 and aurocs[3] > 0.99               # sMIM's log q(z_i|x_j) separates (Livne Fig. 3)
    specs = [c.proto.spec for c in at.get("plotly_chart")]
    assert len(specs) == 2 and all("bowman-vae" in s and "smim128" in s for s in specs)


# ------------------------------------------------------------------------------------------ daily use
def _main() -> AppTest:
    return AppTest.from_file(str(APP / "main.py"), default_timeout=TIMEOUT)


def test_choices_persist_across_views_and_live_in_the_url():
    at = _main().run()
    at.switch_page("views/encode.py").run()
    at.text_input(key="sentence").set_value("The market fell sharply.").run()
    at.sidebar.selectbox(key="ckpt_compare").set_value(SMIM).run()
    at.switch_page("views/homotopy.py").run()
    assert at.title[0].value == "Homotopy" and not at.exception
    assert at.sidebar.selectbox(key="ckpt_compare").value == SMIM             # compare mode kept
    at.text_input(key="hom_first").set_value("the dollar rose").run()
    at.switch_page("views/perturb.py").run()                                     # shares the sentence
    assert at.text_input(key="sentence").value == "The market fell sharply."
    at.switch_page("views/homotopy.py").run()
    assert at.text_input(key="hom_first").value == "the dollar rose"
    assert dict(at.query_params) == {"compare": SMIM, "a": "the dollar rose"}
    at.switch_page("views/encode.py").run()
    assert at.query_params["s"] == "The market fell sharply."


def test_a_shared_link_opens_on_its_checkpoint_and_inputs():
    at = _main()
    at.query_params["ckpt"] = SMIM
    at.query_params["s"] = "stock prices rose"
    at.run()
    at.switch_page("views/encode.py").run()
    assert not at.exception
    assert at.sidebar.selectbox(key="ckpt_choice").value == SMIM
    assert at.text_input(key="sentence").value == "stock prices rose"
    at = _main()
    at.query_params["ckpt"] = "checkpoints/no-such-model"                       # a stale link: the default
    at.run()
    assert not at.exception and at.sidebar.selectbox(key="ckpt_choice").value == "checkpoints/bowman-vae"


def test_typed_checkpoint_persists_and_a_bad_one_is_reported_in_the_main_pane(tmp_path):
    at = _main().run()
    at.sidebar.text_input(key="ckpt_typed").set_value(SMIM).run()
    at.switch_page("views/encode.py").run()
    assert at.sidebar.text_input(key="ckpt_typed").value == SMIM
    assert any("Active:" in m.value and "smim128" in m.value for m in at.sidebar.markdown)
    at.sidebar.text_input(key="ckpt_typed").set_value(str(tmp_path / "nothing")).run()
    assert not at.exception and at.table                                        # the main pane is not blank
    assert any("Cannot load the checkpoint typed" in e.value and "Showing `checkpoints/bowman-vae`" in e.value
               for e in at.main.error)
    assert any("Active:" in m.value and "bowman-vae" in m.value for m in at.sidebar.markdown)


def test_raw_text_is_tokenised_in_the_views(demo):
    at = _page("encode").run()
    at.text_input(key="sentence").set_value("The company reported higher profits.").run()
    assert not at.exception
    assert _table(at)["sentence"].iloc[0] == "the company reported higher profits"
    notices = " ".join(i.value for i in at.info)
    assert "tokenised" in notices and "not in the vocabulary" not in notices
    at.text_input(key="sentence").set_value("Sales rose 5.2% to $3 billion.").run()
    assert _table(at)["sentence"].iloc[0] == "sales rose N N to $ N billion"


def test_a_long_paste_is_accepted_with_a_notice():
    at = _page("encode").run()
    at.text_input(key="sentence").set_value("the market fell " * 1000).run()        # 16,000 characters
    assert not at.exception and at.table
    assert any("truncated to 100" in i.value for i in at.info)


def test_traversal_view_sweeps_the_most_active_dimension():
    at = _page("traversal")
    at.session_state["trav_limit"] = 300
    at.session_state["trav_rows"] = 3
    at.session_state["trav_steps"] = 5
    at.run()
    assert not at.exception
    assert len(_table(at)) == 5                                         # the first sweep
    grid = at.dataframe[0].value
    assert grid.shape == (3, 5) and list(grid.columns) == ["-3.0σ", "-1.5σ", "+0.0σ", "+1.5σ", "+3.0σ"]
    kls = [float(i.split("KL ")[1].rstrip(")")) for i in grid.index]
    assert kls == sorted(kls, reverse=True)                                    # the most active first
    assert "words" in at.get("plotly_chart")[0].proto.spec
    at.radio(key="trav_base").set_value("0").run()
    assert not at.exception and at.dataframe[0].value.shape == (3, 5)


def test_evaluate_view_gives_the_cli_json(demo, ptb_dir):
    from vae_core.data import Corpus, split_path
    from vae_core.estimators import evaluate_corpus
    at = _page("evaluate")
    at.session_state["eval_limit"] = 30
    at.session_state["eval_iw"] = 5
    at.session_state["eval_bleu"] = False
    at.run()
    assert not at.exception and not at.table                                   # nothing runs until asked
    at.button(key="eval_go").click().run()
    assert not at.exception
    res = at.json[0].value
    import json
    res = json.loads(res) if isinstance(res, str) else res
    corpus = Corpus(Corpus.from_file(split_path(ptb_dir, "test"), demo.vocab).sentences[:30], demo.vocab)
    want = evaluate_corpus(demo.model, corpus, iw_samples=5, bleu=False, batch_size=64)
    assert res["nll"] == pytest.approx(want["nll"], rel=1e-6) and res["iw_nll"] == pytest.approx(want["iw_nll"], rel=1e-6)
    assert res["n_sentences"] == 30 and res["split"] == "ptb.test.txt" and "oov_rate" in res
    assert res["checkpoint"] == "checkpoints/bowman-vae"                       # its name, not a server path
    assert any(d.proto.label == "Download the JSON" for d in at.get("download_button"))
    # asking again, in this session or another, is answered from the cache: the same JSON, no error
    # (the cached function moved a progress bar made outside it: CacheReplayClosureError on every hit)
    at.run()
    assert not at.exception and json.loads(at.json[0].value) == res
    again = _page("evaluate")
    for k, v in (("eval_limit", 30), ("eval_iw", 5), ("eval_bleu", False)):
        again.session_state[k] = v
    again.run()
    again.button(key="eval_go").click().run()
    assert not again.exception and json.loads(again.json[0].value) == res


def test_collapse_view_gives_a_verdict():
    at = _page("collapse")
    at.session_state["col_limit"] = 100
    at.session_state["col_n"] = 60
    at.run()
    assert not at.exception
    # the view's verdict is the library's, computed here from the same 100 sentences
    from vae_core.data import Corpus, corpus_from_text, read_corpus
    from vae_core.diagnostics import collapse_verdict, decoder_uses_z
    from vae_core.estimators import active_units
    from vae_core.latent import aggregate_posterior, posterior_of_corpus
    ck = load_checkpoint(ROOT / "checkpoints" / "bowman-vae")
    sents = [" ".join(s) for s in read_corpus(ROOT.parent / "shared" / "data" / "ptb" / "ptb.test.txt")[0][:100]]
    post = posterior_of_corpus(ck.model, ck.vocab, sents)
    import torch
    mu = torch.from_numpy(post["mu"])
    kl = float(aggregate_posterior(mu, torch.from_numpy(post["logvar"]))["kl"].sum())
    level, verdict = collapse_verdict(decoder_uses_z(ck.model, corpus_from_text(sents, ck.vocab), 60), kl,
                                      active_units(mu)[0], ck.model.latent_dim)
    assert level == "uses z"           # bowman-vae: another sentence's code costs 6.2 nats, 7 of 13 units active
    shown = {"collapsed": at.error, "partial": at.warning, "uses z": at.success}[level]
    assert [e.value for e in shown] == [verdict]
    assert len(at.get("plotly_chart")) == 3


def test_prior_view_reports_sample_quality():
    at = _page("prior")
    at.session_state["prior_quality_n"] = 50
    at.run()
    assert not at.exception
    q = _table(at, 1)
    assert {"Self-BLEU-4", "Self-BLEU-3", "distinct-1", "distinct-2", "copies of training sentences"} <= set(q.columns)
    # the figures are the library's for the same 50 greedy prior samples, compared with PTB train
    from vae_core.analysis import prior_samples
    from vae_core.data import read_corpus
    from vae_core.diagnostics import sample_quality
    ck = load_checkpoint(ROOT / "checkpoints" / "bowman-vae")
    samples = [s["sentence"] for s in prior_samples(ck.model, ck.vocab, 50, "greedy", 1.0, 1.0, 0)]
    train = [" ".join(s) for s in read_corpus(ROOT.parent / "shared" / "data" / "ptb" / "ptb.train.txt")[0]]
    want = sample_quality(samples, train)
    row = q.iloc[0]
    assert row["Self-BLEU-4"] == f"{want['self_bleu']:.1f}" and row["distinct-2"] == f"{want['distinct_2']:.3f}"
    assert row["copies of training sentences"] == f"{100 * want['copied']:.1f}%"
    assert want["self_bleu"] > 50           # greedy samples of a VAE with little in z are much alike


def test_start_page_names_the_model_and_where_to_begin():
    at = _main().run()
    assert not at.exception
    assert any("bowman-vae" in _shown(s.value) for s in at.subheader)
    assert len(at.get("page_link")) >= 8


@pytest.mark.parametrize("view", ["home", "encode", "perturb", "traversal", "homotopy", "projection", "overlap",
                                  "collapse", "jacobian", "prior", "downstream", "arithmetic", "evaluate", "model_card"])
def test_every_text_field_survives_hostile_text(view, tmp_path, monkeypatch):
    """Every text input and text area of every view, the sidebar's checkpoint path and the corpus paths
    included: anything typed or pasted gives a message, never a traceback."""
    from tests.test_hostile import HOSTILE
    monkeypatch.setenv("VAE_CORE_CACHE", str(tmp_path))
    paths = {"nul": "checkpoints/\x00demo", "long_path": "a" * 5000, "file": str(APP / "main.py"), "up": "../../.."}
    at = _page(view)
    for k, v in {"proj_method": "pca", "proj_limit": 60, "hmap_limit": 60, "trav_limit": 60, "col_limit": 60,
                 "col_n": 20, "jac_S": 8, "eval_limit": 20, "eval_iw": 0, "eval_bleu": False, "ov_n": 10,
                 "pert_kmax": 2, "pert_n": 2}.items():
        at.session_state[k] = v
    at.run()
    field = lambda key: next(w for w in list(at.text_input) + list(at.text_area) if w.key == key)
    keys = {w.key: w.value for w in list(at.text_input) + list(at.text_area) if w.key}
    assert "ckpt_typed" in keys
    for key, original in keys.items():
        texts = dict(HOSTILE, **paths) if key.endswith(("_typed", "_dir")) else HOSTILE
        for name, text in texts.items():
            field(key).set_value(text).run()
            assert not at.exception, (view, key, name)
        field(key).set_value(original).run()          # a bad corpus path hides the widgets after it


def _upload(at: AppTest, key: str, name: str, data: bytes) -> AppTest:
    at.radio(key=f"{key}_src").set_value("uploaded file").run()
    at.get("file_uploader")[0].set_value((name, data, "text/plain"))
    return at.run()


def test_uploads_follow_the_clis_rules_and_say_what_they_changed(tmp_path, demo, ptb_dir):
    """The app replaced undecodable bytes silently, cut a long line to 100 tokens so its NLL differed from
    the CLI's, and turned punctuation-only lines into <unk> sentences without a word."""
    from vae_core.data import Corpus, CorpusError, MAX_LINE_TOKENS, read_corpus
    from vae_core.estimators import evaluate_corpus
    at = _page("evaluate")
    at.session_state["eval_iw"] = 0
    at.session_state["eval_bleu"] = False
    at.session_state["eval_src"] = "uploaded file"
    at.run()
    for bad in (b"the market fell\nprices \xff rose\n", b"the market\x00fell\n", b"w " * (MAX_LINE_TOKENS + 5)):
        (tmp_path / "up.txt").write_bytes(bad)
        with pytest.raises(CorpusError) as cli:
            read_corpus(tmp_path / "up.txt")
        _upload(at, "eval", "up.txt", bad)
        assert not at.exception
        cli_message = str(cli.value).replace(str(tmp_path) + "/", "")
        assert any(cli_message in _shown(w.value) for w in at.warning), cli_message
    lines = (ptb_dir / "ptb.test.txt").read_text().splitlines()[:20] + ["... !!! ,", " ".join(["the"] * 300)]
    data = "\n".join(lines).encode()
    _upload(at, "eval", "up.txt", data)
    notes = " ".join(i.value for i in at.info)
    assert "line 21" in notes and "punctuation only" in notes and "longer than" not in notes
    at.button(key="eval_go").click().run()
    res = json.loads(at.json[0].value)
    (tmp_path / "clean.txt").write_text("\n".join(lines[:20] + lines[21:]) + "\n")
    want = evaluate_corpus(demo.model, Corpus.from_file(tmp_path / "clean.txt", demo.vocab), iw_samples=0,
                           bleu=False, batch_size=64)
    assert res["n_sentences"] == 21 and res["nll"] == pytest.approx(want["nll"], rel=1e-6)   # the CLI's number
    proj = _page("collapse")
    proj.session_state["col_src"] = "uploaded file"
    proj.run()
    _upload(proj, "col", "up.txt", data)
    assert any("line 22" in i.value and "cut to the first 100" in i.value for i in proj.info)


def test_an_upload_longer_than_the_limit_says_how_many_lines_are_used():
    """The corpus picker cut an upload to its limit silently; a text area and the arithmetic view's uploads said so."""
    at = _page("collapse")
    at.session_state["col_src"] = "uploaded file"
    at.session_state["col_limit"] = 10
    at.run()
    _upload(at, "col", "up.txt", "\n".join(f"the market fell {i}" for i in range(30)).encode())
    assert not at.exception
    assert any("the first 10 lines are used" in i.value for i in at.info)


def test_values_from_links_and_forms_are_capped_before_any_work():
    """A number from a link or a client that bypasses the widget is clamped to the widget's range on the server,
    and a text area's lines are capped, so no input starts unbounded work."""
    from app.common import MAX_TYPED_LINES
    at = _page("perturb")
    at.session_state["pert_n"] = 10 ** 9                      # what a crafted websocket message could send
    at.session_state["pert_kmax"] = float("nan")
    at.run()
    assert not at.exception
    assert at.slider(key="pert_n").value == 20 and at.slider(key="pert_kmax").value == 20
    rank = _page("downstream")
    rank.session_state["rank_candidates"] = "\n".join(f"candidate {i}" for i in range(5_000))
    rank.run()
    assert not rank.exception
    assert len(_table(rank, -1)) == MAX_TYPED_LINES
    assert any(f"first {MAX_TYPED_LINES} of 5,000 lines" in i.value for i in rank.info)


def test_an_uploaded_group_with_bad_bytes_is_refused_as_the_cli_refuses_it():
    at = _page("arithmetic").run()
    at.get("file_uploader")[0].set_value(("a.txt", b"the dollar fell\nit \xfe rose\n", "text/plain"))
    at.run()
    assert not at.exception
    assert any("a.txt:2: bytes that are not UTF" in _shown(w.value) for w in at.warning)


def test_prior_sample_copies_are_counted_against_the_models_own_corpus():
    at = _page("prior")
    at.session_state["prior_quality_n"] = 50
    at.run()
    assert not at.exception
    assert any("trained on: data/ptb/ptb.train.txt (identified by its vocabulary)" in c.value for c in at.caption)


def test_the_methods_view_places_every_evaluated_model_on_the_rate_distortion_plane():
    at = _page("methods").run()
    assert not at.exception
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    traces = {t.get("name"): t for t in spec["data"]}
    ours, paper = traces["ours"], traces["paper"]
    results = json.loads((ROOT / "docs" / "results.json").read_text())
    k19 = results["k19-vae"]["evals"][0]
    names = [c[4] for c in ours["customdata"]]
    i = names.index("k19-vae")
    assert ours["x"][i] == pytest.approx(k19["kl"]) and ours["y"][i] == pytest.approx(k19["rec"])
    assert ours["customdata"][i][3] == "checkpoints/k19-vae" == "checkpoints/" + ours["text"][i]   # openable, named
    assert ours["text"][names.index("k19-lm")] == ""                         # no checkpoint: named on hover only
    assert "smim128-v2" not in names and "bow" not in names
    j = [t.split(":")[0] for t in paper["text"]].index("k19-vae")            # Kruengkrai: NLL 102.5, KL 1.5
    assert (paper["x"][j], paper["y"][j]) == (pytest.approx(1.5), pytest.approx(101.0))
    elbo = [t for t in spec["data"] if t.get("legendgroup") == "elbo"]       # lines of equal -ELBO
    assert len(elbo) >= 4 and all(t["x"][1] - t["x"][0] == pytest.approx(t["y"][0] - t["y"][1]) for t in elbo)
    assert len(at.dataframe[0].value) == len(ours["x"]) + len(paper["x"])
    # a paper gives no AU: its cell shows the table's placeholder "–", not Streamlit's "None"
    assert at.dataframe[0].value["AU"].isna().any() and at.dataframe[0].proto.placeholder == "–"


def test_a_point_selected_on_the_methods_plane_opens_its_checkpoint(tmp_path, monkeypatch):
    """Selecting a point of a checkpoint offers a button that opens it in the explorer; the checkpoint's name
    is shown literally (a run directory `a_run_2` is no italics)."""
    from app.roots import CHECKPOINT_ROOTS_ENV
    (tmp_path / "my_runs" / "a_run_2").mkdir(parents=True)
    (tmp_path / "my_runs" / "a_run_2" / "config.json").write_text("{}")
    monkeypatch.setenv(CHECKPOINT_ROOTS_ENV, str(tmp_path / "my_runs"))
    from app.common import find_checkpoints
    at = _page("methods").run()
    name = next(c for c in find_checkpoints() if c.endswith("a_run_2"))
    at.session_state["methods_plane"] = {"selection": {"points": [{"customdata": [1.0, 2.0, 3, name, "a run"]},
                                                                  {"customdata": [1.0, 2.0, 3, None, "paper"]}]}}
    at.run()
    assert not at.exception
    [button] = [b for b in at.button if b.key == f"methods_open_{name}"]
    assert _shown(button.label) == f"Open {name} in the explorer"
    assert not re.search(r"(?<!\\)_", button.label)                         # every underscore escaped
    button.click().run()
    assert at.session_state["ckpt_choice"] == name


def test_the_unit_page_opens_from_the_traversal_and_from_a_link():
    """A latent unit's page (app/views/unit.py): from the traversal's button it shows the unit swept there; a
    link's `unit` parameter opens that unit; a unit the model does not have falls back to z0."""
    at = _main()
    at.session_state["trav_rows"] = 1
    at.run()
    at.switch_page("views/traversal.py").run()
    assert not at.exception
    swept = at.selectbox(key="trav_dim").value
    at.button(key="trav_unit").click().run()
    assert not at.exception and at.session_state["unit_dim"] == swept
    assert at.selectbox(key="unit_dim").value == swept                          # the unit page is showing
    at = _page("unit")
    at.session_state["unit_dim"] = "z3"
    at.run()
    assert not at.exception and at.selectbox(key="unit_dim").value == "z3"
    assert [m.label for m in at.metric][:2] == ["mean KL, nats", "active"]
    assert len(at.table) >= 3 and "sentence" in _table(at).columns      # highest, lowest, traversal
    at.toggle(key="unit_jac").set_value(True).run()
    assert not at.exception and "cos(J_w, e3)" in _table(at, -1).columns     # the words along z3
    at = _page("unit")
    at.session_state["unit_dim"] = "z99999"
    at.run()
    assert not at.exception and at.selectbox(key="unit_dim").value == "z0"


def _map(tmp_path, monkeypatch, **state) -> AppTest:
    monkeypatch.setenv("VAE_CORE_CACHE", str(tmp_path))
    at = _main()
    at.session_state["proj_method"], at.session_state["proj_limit"] = "pca", 300
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    return at.switch_page("views/projection.py").run()


def test_the_corpus_map_searches_colours_clusters_and_keeps_the_selection_in_the_url(tmp_path, monkeypatch):
    """The corpus map (all PTB splits by default, here 300 of them, evenly spaced): a search rings its
    matches and counts them; colouring by split, by a unit's μ_d and by cluster; the clusters are labelled
    on the map; a selection (here from a link's `sel`) lists its sentences with their reconstructions and
    NLL, and stays in the URL."""
    from app.state import URL_PARAMS
    at = _map(tmp_path, monkeypatch, proj_search="million")
    assert not at.exception
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    names = [t.get("name") for t in spec["data"]]
    assert "PCA of 300 posterior means" in spec["layout"]["title"]["text"]
    assert {"train", "valid", "test"} <= set(names)                                        # coloured by split
    caption = next(c.value for c in at.caption if c.value.startswith("“million”"))
    n = int(caption.split(": ")[1].split(" of ")[0])
    assert n > 0 and f"“million” ({n})" in names                                            # the ringed matches
    ringed = next(t for t in spec["data"] if t.get("name") == f"“million” ({n})")
    assert len(ringed["text"]) == n and all("million" in s for s in ringed["text"])
    at.radio(key="proj_color").set_value("NLL").run()
    nll = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]["marker"]["colorbar"]["title"]["text"]
    assert not at.exception and nll == "NLL"
    at.radio(key="proj_color").set_value("unit").run()
    at.selectbox(key="proj_unit").set_value("z2").run()
    assert not at.exception and "colorscale" in at.get("plotly_chart")[0].proto.spec
    assert at.button(key="proj_unit_open").label == "Open z2's unit page"
    at.toggle(key="proj_clusters").set_value(True).run()
    assert not at.exception and any("clusters" in c.value for c in at.caption)
    assert '"annotations"' in at.get("plotly_chart")[0].proto.spec                         # labels on the map
    at.session_state["proj_sel"] = "5,9,999999,x"                                          # as a link brings it
    at.run()
    table = at.dataframe[0].value
    assert list(table["line"]) == [5, 9] and "reconstruction (greedy from μ)" in table.columns
    assert table["NLL"].gt(table["KL"]).all()
    assert {k for k, v in URL_PARAMS.items() if v == "proj_sel"} == {"sel"}
    at.button(key="proj_draw_homotopy").click().run()
    assert not at.exception and "homotopy" in at.get("plotly_chart")[0].proto.spec
    at.button(key="proj_open_homotopy").click().run()
    assert not at.exception and at.session_state["hom_first"] == table["sentence"][0]


def test_one_selected_sentence_gets_its_neighbours_and_opens_in_encode(tmp_path, monkeypatch):
    import numpy as np
    at = _map(tmp_path, monkeypatch, proj_sel="7", proj_k=5)
    assert not at.exception
    table = at.dataframe[-1].value
    assert list(table["rank"]) == [1, 2, 3, 4, 5] and 7 not in list(table["line"])       # not its own neighbour
    d = table["euclidean distance"].to_numpy()
    assert np.all(np.diff(d) >= 0)
    at.toggle(key="proj_rerank").set_value(True).run()
    table = at.dataframe[-1].value
    assert not at.exception and np.all(np.diff(table["log p(x|z), nats"].to_numpy()) <= 0)
    sentence = at.dataframe[0].value["sentence"][0]
    at.button(key="proj_open_encode").click().run()
    assert not at.exception and at.session_state["sentence"] == sentence


def test_any_sentence_of_a_selection_opens_in_encode_any_two_as_a_homotopy_and_all_of_it_exports(
        tmp_path, monkeypatch):
    """A lasso rarely holds exactly one or two sentences: one picked from the selection opens in Encode and two
    picked from it draw or open their homotopy. The table (and so its CSV) lists every selected sentence; the
    first MAX_RECONSTRUCTED carry their reconstruction and NLL."""
    MAX_RECONSTRUCTED = 100                     # app/views/projection.py's (a page cannot be imported: it runs)
    lines = list(range(1, 2 * MAX_RECONSTRUCTED + 1, 2))[: MAX_RECONSTRUCTED + 20]
    at = _map(tmp_path, monkeypatch, proj_sel=",".join(map(str, lines)))
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["line"]) == lines
    assert table["NLL"][:MAX_RECONSTRUCTED].notna().all() and table["NLL"][MAX_RECONSTRUCTED:].isna().all()
    at.selectbox(key="proj_pick_one").set_value(lines[7] - 1).run()
    at.button(key="proj_open_encode").click().run()
    assert not at.exception and at.session_state["sentence"] == table["sentence"][7]
    at = _map(tmp_path, monkeypatch, proj_sel="5,9,12")
    at.multiselect(key="proj_pick_two").set_value([8, 11]).run()
    at.button(key="proj_draw_homotopy").click().run()
    assert not at.exception and "homotopy" in at.get("plotly_chart")[0].proto.spec
    table = at.dataframe[0].value
    assert (at.session_state["proj_h1"], at.session_state["proj_h2"]) == tuple(table["sentence"][1:3])


def test_the_command_line_opens_a_corpus_of_ones_own_and_refuses_a_bad_one(tmp_path, monkeypatch, capsys):
    """`python -m app CKPT --corpus FILE`: both are checked before any server starts (a bad line is named with
    its number); the corpus map then opens on FILE, named by its file name only."""
    from app.__main__ import main as app_main
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine line\nanother \x1b[31m line\n")
    assert app_main([str(ROOT / "checkpoints" / "bowman-vae"), "--corpus", str(bad)]) == 2
    assert "bad.txt:2: a control character" in capsys.readouterr().err
    assert app_main([str(tmp_path / "nothing"), "--corpus", str(bad)]) == 2
    mine = tmp_path / "mine.txt"
    mine.write_text("the market fell sharply\nprices rose in new york\nhe said\nthe company expects a loss\n")
    monkeypatch.setenv("VAE_APP_CORPUS", str(mine))
    monkeypatch.setenv("VAE_CORE_CACHE", str(tmp_path))
    at = _page("projection")
    at.session_state["proj_method"] = "pca"
    at.run()
    assert not at.exception and at.radio(key="proj_src").value == "command-line corpus"
    title = json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["title"]["text"]
    assert title == "PCA of 4 posterior means (mine.txt)" and str(tmp_path) not in title


def test_every_view_is_in_the_navigation_and_on_the_start_page():
    """app/catalogue.py lists every view file once; the sidebar shows them all (no "View more") and Start
    links each of them."""
    from app.catalogue import VIEWS
    files = {p.name for p in (APP / "views").glob("*.py")} - {"home.py", "__init__.py"}
    assert sorted(v[0] for v in VIEWS) == sorted(files)
    at = _main().run()
    assert not at.exception
    labels = [el.proto.label for el in at.get("page_link")]
    assert all(any(title in lab for lab in labels) for _, title, _, _, _ in VIEWS)


def test_the_smim_model_card_shows_its_own_figures_not_a_1e12_perplexity():
    """Issue 38: sMIM's ELBO perplexity ("valid PPL 8665275651228.2") sat in the headline tiles."""
    at = _page("model_card").run()
    at.sidebar.text_input(key="ckpt_typed").set_value(SMIM).run()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert "valid reconstruction, nats/sentence" in labels and "valid A-MIM loss" in labels
    assert "valid PPL" not in labels and all(len(m.value) < 12 for m in at.metric)


def test_prior_samples_of_smim_say_why_and_offer_the_aggregate_posterior():
    """Issue 38: sMIM's prior samples are junk ("fat fat fat ...") because z ~ N(0, I) lies off its posteriors;
    the page says so and samples q(z) of a corpus instead."""
    at = _page("prior").run()
    at.sidebar.text_input(key="ckpt_typed").set_value(SMIM).run()
    assert not at.exception and any("no KL term" in i.value for i in at.info)
    at.session_state["prior_limit"] = 100
    at.radio(key="prior_from").set_value("the aggregate posterior q(z) of a corpus").run()
    assert not at.exception and not any("no KL term" in i.value for i in at.info)
    rows = _table(at)
    assert len(rows) == 10 and rows["sentence"].str.len().gt(0).all()


def test_the_jacobian_word_box_is_tokenised_as_the_corpus():
    """Issue 38: "Stocks!" was looked up as typed and found nowhere; it is the corpus' `stocks`."""
    at = _page("jacobian")
    at.session_state["jac_S"], at.session_state["jac_word"] = 8, "Stocks!"
    at.run()
    assert not at.exception and not at.warning
    assert any("Looked up as “stocks”" in c.value for c in at.caption)
    at.text_input(key="jac_word").set_value("!!!").run()
    assert not at.exception and any("No word to look up" in w.value for w in at.warning)


def test_a_link_restores_settings_and_the_maps_method_and_overlays_and_clamps_hostile_ones(tmp_path, monkeypatch):
    """Issue 38: a link restored checkpoints and sentences but not settings (k = 3 came back as 10) nor the
    map's method and overlays. Every persistent setting now rides in the URL; values from a link are checked
    like the widget's own (bounds, options, type)."""
    monkeypatch.setenv("VAE_CORE_CACHE", str(tmp_path))
    at = _main()
    at.query_params["enc_k"] = "3"
    at.run()
    at.switch_page("views/encode.py").run()
    assert not at.exception and at.session_state["enc_k"] == 3.0 and at.query_params["enc_k"] == "3.0"
    at = _main()
    for k, v in {"method": "pca", "proj_limit": "120", "proj_typed": "the market fell", "proj_h1": "he said",
                 "proj_h2": "prices rose", "pert_kmax": "1e99", "jac_thr": "nan", "prior_stretch": "123"}.items():
        at.query_params[k] = v
    at.run()
    at.switch_page("views/projection.py").run()
    assert not at.exception and at.session_state["proj_method"] == "pca"
    names = [t.get("name") for t in json.loads(at.get("plotly_chart")[0].proto.spec)["data"]]
    assert "typed" in names and "homotopy" in names
    at.switch_page("views/perturb.py").run()
    assert not at.exception and at.session_state["pert_kmax"] == 20                 # not parsed: the default
    at.switch_page("views/prior.py").run()
    assert not at.exception and at.session_state["prior_stretch"] == 1.0            # not an option: the default


def test_an_uploaded_corpus_survives_a_change_of_view_until_forgotten():
    """Issue 38: an uploaded file was lost on a change of view (Evaluate then said "Upload a file to project it")."""
    at = _main().run()
    at.switch_page("views/evaluate.py").run()
    _upload(at, "eval", "mine.txt", b"the market fell\nprices rose sharply\n")
    at.switch_page("views/collapse.py").run()
    at.switch_page("views/evaluate.py").run()
    assert not at.exception and at.radio(key="eval_src").value == "uploaded file"
    assert any("Using “mine.txt”" in c.value for c in at.caption) and not any("Upload a file" in i.value for i in at.info)
    at.button(key="eval_upload_forget").click().run()
    assert any("Upload a file to use it here" in i.value for i in at.info)


def test_an_uploaded_arithmetic_group_says_it_replaces_the_text_box():
    at = _page("arithmetic").run()
    at.get("file_uploader")[0].set_value(("a.txt", b"the dollar fell\nthe yen fell\n", "text/plain"))
    at.run()
    assert not at.exception
    assert any("the 2 sentences of the uploaded file are used, not the text box" in c.value for c in at.caption)


@pytest.mark.parametrize("view", ["homotopy", "perturb", "traversal", "prior"])
def test_each_decoding_view_names_its_most_fluent_zoo_model_and_compares_with_it(view):
    """Issue 38: homotopies on the default model were not fluent, and each view's default should follow its own
    phenomenon. docs/view-fluency.json measures each zoo model's decodes in each view; the view names the most
    fluent (lowest LM NLL among decodes that vary and do not repeat tokens) where it is not the model shown, and
    one click puts it beside the current model."""
    from app.common import DEFAULT_CHECKPOINT, measured_fluency
    from vae_core.fluency import most_fluent
    record = measured_fluency()["views"][view]
    best = most_fluent(record)
    assert best and record["models"][best]["distinct"] >= record["min_distinct"]
    at = _page(view).run()
    assert not at.exception
    named = [c.value for c in at.caption if "read most fluently" in c.value]
    if best == DEFAULT_CHECKPOINT.name:
        assert named == []                                            # the model shown is the most fluent
        return
    assert len(named) == 1 and named[0].startswith(f"Of the zoo, {best}'s ")
    at.button(key=f"{view}_compare_fluent").click().run()
    assert not at.exception and at.session_state["ckpt_compare"] == f"checkpoints/{best}"


def test_the_corpus_key_is_its_content_and_is_hashed_once_per_list(monkeypatch):
    """A map's rerun asked for the key of one 49k-sentence list about eight times (12 ms each)."""
    import hashlib
    from app.common import sentences_key
    a, b = ["the market fell", "he said"], ["the market fell", "he says"]
    key = sentences_key(a)
    assert sentences_key(list(a)) == key and sentences_key(b) != key
    calls, real = [], hashlib.sha256
    monkeypatch.setattr(hashlib, "sha256", lambda *args: calls.append(1) or real(*args))
    assert sentences_key(a) == key and calls == []                    # the same list: not hashed again
    assert sentences_key(list(a)) == key and calls == [1]             # an equal new list is
