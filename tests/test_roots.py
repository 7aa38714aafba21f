"""The explorer reads only under its roots, by root-relative names, and says nothing about other paths
(issue 36: a link could delete or overwrite files, and messages listed a directory's files)."""
import os
import re
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app import roots
from tests.conftest import DEMO, ROOT

APP = ROOT / "app"


def _page(name: str) -> AppTest:
    return AppTest.from_file(str(APP / "views" / f"{name}.py"), default_timeout=120)


@pytest.fixture()
def outside(tmp_path):
    """A directory outside every root, with private files and a `.next/` build folder."""
    d = tmp_path / "secret-project"
    (d / ".next" / "static").mkdir(parents=True)
    (d / ".next" / "static" / "app.js").write_text("x")
    (d / ".next" / "COMPLETE").write_text("{}")
    (d / ".next" / "config.json").write_text("{}")
    (d / "config.json").write_text('{"keep": true}')
    (d / "alice-salary-2026.pkl").write_bytes(b"\x80\x04")
    (d / "q3-acquisition-target.bin").write_bytes(b"\x00")
    return d


def _unnamed(message: str) -> str:
    """A message with the name the user gave taken out (it is quoted back, escaped for markdown)."""
    return re.sub(r"named '.*?' under", "named NAME under", message)


def _snapshot(d):
    return {str(p): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_names_resolve_under_roots_and_nothing_else_does(tmp_path, outside):
    rs = roots.make_roots([ROOT / "checkpoints", ROOT / "runs"])
    assert roots.resolve("checkpoints/bowman-vae", rs) == DEMO.resolve()
    assert roots.resolve(str(DEMO), rs) == DEMO.resolve()                  # an absolute path under a root
    assert roots.public_name(DEMO, rs) == "checkpoints/bowman-vae"
    (tmp_path / "link").symlink_to(outside)
    messages = set()
    for name in [str(outside), "checkpoints/../../" + os.path.relpath(outside, ROOT), "checkpoints/nope",
                 str(tmp_path / "nope"), "bowman-vae", "../etc", "checkpoints/bowman-vae/config.json",
                 "x\x00y", "a" * 5000, "", str(tmp_path / "link")]:
        with pytest.raises(roots.NotUnderRoots) as e:
            roots.resolve(name, rs)
        messages.add(str(e.value).replace(repr(name if len(name) <= 80 else name[:77] + "..."), "NAME"))
    assert len(messages) == 1, messages                                      # one message for every case
    assert str(tmp_path) not in messages.pop()


def test_a_symbolic_link_inside_a_root_does_not_lead_out(tmp_path, outside):
    root = tmp_path / "models"
    root.mkdir()
    (root / "escape").symlink_to(outside)
    rs = roots.make_roots([root])
    with pytest.raises(roots.NotUnderRoots):
        roots.resolve("models/escape", rs)
    assert roots.find_dirs_with("config.json", rs) == []                     # nor does the listing follow it


@pytest.mark.parametrize("how", ["link", "typed"])
def test_a_path_outside_the_roots_is_neither_touched_nor_described(outside, how):
    before = _snapshot(outside)
    at = _page("encode")
    if how == "link":
        at.query_params["path"] = str(outside)
        at = AppTest.from_file(str(APP / "main.py"), default_timeout=120)
        at.query_params["path"] = str(outside)
        at.run()
        at.switch_page("views/encode.py").run()
    else:
        at.run()
        at.sidebar.text_input(key="ckpt_typed").set_value(str(outside)).run()
    assert not at.exception
    shown = " ".join(e.value for e in at.error)
    assert "Cannot load the checkpoint typed" in shown
    for secret in ("alice", "q3-acquisition", ".pkl", "Pickle", str(outside.parent)):
        assert secret not in shown, secret
    assert _snapshot(outside) == before and (outside / ".next").is_dir()
    # ... and the message is the one a missing path gets
    missing = _page("encode").run()
    missing.sidebar.text_input(key="ckpt_typed").set_value(str(outside.parent / "does-not-exist")).run()
    other = " ".join(e.value for e in missing.error)
    assert _unnamed(shown) == _unnamed(other) and "named" in shown


def test_more_roots_come_from_the_environment_and_links_carry_root_relative_names(tmp_path, monkeypatch):
    extra = tmp_path / "lab-models"
    shutil.copytree(DEMO, extra / "vae-a")
    monkeypatch.setenv(roots.CHECKPOINT_ROOTS_ENV, str(extra))
    at = AppTest.from_file(str(APP / "main.py"), default_timeout=120).run()
    options = at.sidebar.selectbox(key="ckpt_choice").options
    assert "lab-models/vae-a" in options and not any(str(tmp_path) in o for o in options)
    at.sidebar.selectbox(key="ckpt_choice").set_value("lab-models/vae-a").run()
    assert not at.exception
    assert at.query_params["ckpt"] == "lab-models/vae-a"
    assert any("Active:" in m.value and "lab-models/vae-a" in m.value for m in at.sidebar.markdown)


def test_a_data_directory_outside_the_data_roots_reads_nothing(tmp_path):
    d = tmp_path / "private"
    d.mkdir()
    (d / "ptb.test.txt").write_text("the secret plan\n")
    at = _page("projection")
    at.session_state["proj_dir"] = str(d)
    at.run()
    assert not at.exception
    warned = " ".join(w.value for w in at.warning)
    assert "no data directory named" in warned and not at.get("plotly_chart")
    at.text_input(key="proj_dir").set_value(str(tmp_path / "missing")).run()
    assert _unnamed(warned) == _unnamed(" ".join(w.value for w in at.warning))


@pytest.mark.parametrize("view", ["model_card", "encode", "evaluate", "prior", "collapse", "jacobian"])
def test_no_view_shows_a_path_of_the_server(view):
    """The model card showed the checkpoint's absolute path and the training config's data / out paths."""
    at = _page(view)
    at.session_state["jac_S"] = 8
    at.session_state["col_limit"] = 100
    at.session_state["col_n"] = 40
    at.run()
    assert not at.exception
    shown = " ".join(str(getattr(e, "value", "")) for kind in ("caption", "markdown", "json", "text", "info", "code")
                     for e in getattr(at, kind))
    assert str(ROOT) not in shown and str(ROOT.parent) + "/" not in shown


@pytest.mark.parametrize("recorded", ["../secret-corpus", "ptb/../../secret-corpus"])
def test_a_checkpoints_recorded_corpus_name_cannot_lead_out_of_the_data_roots(tmp_path, monkeypatch, recorded):
    """A checkpoint records the name of the data directory it was trained on; the app looks for it under the
    data roots. A planted name with `..` must not make it read a corpus beside them."""
    import json
    from app import common
    data = tmp_path / "data"
    data.mkdir()
    secret = tmp_path / "secret-corpus"
    secret.mkdir()
    for split in ("train", "valid", "test"):
        (secret / f"ptb.{split}.txt").write_text("the private sentence\n")
    ck_dir = tmp_path / "models" / "planted"
    shutil.copytree(DEMO, ck_dir)
    cfg = json.loads((ck_dir / "config.json").read_text())
    cfg["progress"]["train_corpus"] = {"data_dir": recorded, "file": "ptb.train.txt"}
    (ck_dir / "config.json").write_text(json.dumps(cfg))
    monkeypatch.setenv(roots.DATA_ROOTS_ENV, str(data))
    monkeypatch.setattr(roots, "ROOT", tmp_path / "elsewhere")          # only the configured data root
    from vae_core.checkpoint import load_checkpoint
    ck = load_checkpoint(ck_dir)
    read = []
    import vae_core.data as vdata
    real = vdata.split_path
    monkeypatch.setattr(vdata, "split_path", lambda d, s: read.append(Path(d).resolve()) or real(d, s))
    assert common.training_split_file(ck) is None
    assert all(secret != p and secret not in p.parents for p in read), read
