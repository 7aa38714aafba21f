"""Every committed checkpoint re-evaluates to the numbers recorded for it in checkpoints/zoo.json (the first
300 PTB test sentences, deterministic: ELBO with seed 0, no IW-NLL, no BLEU)."""
import json

import pytest

from tests.conftest import ROOT
from vae_core.checkpoint import load_checkpoint
from vae_core.data import Corpus, split_path
from vae_core.estimators import evaluate_corpus

ZOO = json.loads((ROOT / "checkpoints" / "zoo.json").read_text())
NAMES = [k for k in ZOO if not k.startswith("_")]


def test_every_committed_checkpoint_is_in_the_zoo():
    on_disk = sorted(p.parent.name for p in (ROOT / "checkpoints").glob("*/config.json"))
    assert on_disk == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_zoo_checkpoint_reevaluates_to_its_recorded_numbers(name, ptb_dir):
    ck = load_checkpoint(ROOT / "checkpoints" / name)
    corpus = Corpus(Corpus.from_file(split_path(ptb_dir, "test"), ck.vocab).sentences[:300], ck.vocab)
    res = evaluate_corpus(ck.model, corpus, iw_samples=0, bleu=False)
    want = ZOO[name]["check_first_300"]
    for k in ("nll", "rec", "kl"):
        assert res[k] == pytest.approx(want[k], abs=2e-3), (name, k)
    assert res["active_units"] == want["active_units"]
