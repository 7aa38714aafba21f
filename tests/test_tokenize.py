"""Typed text reaches the model as the corpus' tokens: Mikolov's PTB preprocessing, rules stored with the
vocabulary in the checkpoint, the same tokenizer in the API and the CLI."""
import json

import pytest
import torch

from vae_core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from vae_core.config import ModelConfig
from vae_core.data import Vocab, encode_text
from vae_core.model import SentenceVAE
from vae_core.tokenize import PTB_MIKOLOV, WHITESPACE, TokenizerRules, rules_named, tokenize

PTB_WORDS = {"mr.", "u.s.", "a.m.", "at&t", "'80s", "<unk>", "N"}


@pytest.mark.parametrize("text,tokens", [
    ("The company reported higher profits.", "the company reported higher profits"),
    ("Sales rose 5.2% to $3 billion.", "sales rose N N to $ N billion"),
    ("Mr. Smith's company didn't say; it can't.", "mr. smith 's company did n't say it ca n't"),
    ("Won't they? The guests' honor", "wo n't they the guests ' honor"),
    ("in the U.S., at 9 a.m. -- \u201creally\u201d!", "in the u.s. at N a.m. really"),
    ("AT&T rose in the '80s; 1,000 (3/4) at \u00a312.50...", "at&t rose in the '80s N N at # N"),
    ("a 30-year, seven-day yield", "a 30-year seven-day yield"),
    ("<unk> stays , N stays", "<unk> stays N stays"),
    ("the company 's shares do n't", "the company 's shares do n't"),        # PTB-format text is unchanged
])
def test_ptb_mikolov_rules(text, tokens):
    assert tokenize(text, PTB_MIKOLOV, PTB_WORDS)[0] == tokens.split()


def test_notices_say_what_the_tokenizer_did():
    _, changes = tokenize("Profits rose 5.2%.", PTB_MIKOLOV, PTB_WORDS)
    assert changes == ["5.2%. -> N N"]
    vocab = Vocab(["<pad>", "<unk>", "<bos>", "<eos>", "profits", "rose", "N"])
    enc = encode_text("Profits rose 5.2%.", vocab)
    assert enc.tokens == ["profits", "rose", "N", "N"] and enc.unknown == []
    assert any("ptb-mikolov" in m and "5.2%. -> N N" in m for m in enc.notices)


def test_whitespace_rules_only_lowercase_and_split():
    assert tokenize("The Profits. 5.2%", WHITESPACE)[0] == ["the", "profits.", "5.2%"]


def test_rules_live_in_the_checkpoint_and_a_model_can_declare_its_own(tmp_path):
    words = ["<pad>", "<unk>", "<bos>", "<eos>", "profits.", "profits"]
    cfg = ModelConfig(vocab_size=len(words), emb_dim=4, hidden_dim=5, latent_dim=2)
    torch.manual_seed(0)
    model = SentenceVAE(cfg)
    own = TokenizerRules(name="keep-periods", lowercase=True)
    save_checkpoint(tmp_path / "a", model, cfg, Vocab(words, own))
    ck = load_checkpoint(tmp_path / "a")
    assert ck.vocab.tokenizer == own
    assert encode_text("Profits,", ck.vocab).unknown == ["profits,"]          # its rules keep punctuation
    save_checkpoint(tmp_path / "b", model, cfg, Vocab(words))                 # the default: PTB's rules
    assert encode_text("Profits,", load_checkpoint(tmp_path / "b").vocab).tokens == ["profits"]
    conf = json.loads((tmp_path / "b" / "config.json").read_text())
    assert conf["tokenizer"]["name"] == "ptb-mikolov"
    del conf["tokenizer"]                                                    # written before rules were stored
    (tmp_path / "b" / "config.json").write_text(json.dumps(conf))
    assert load_checkpoint(tmp_path / "b").vocab.tokenizer == PTB_MIKOLOV
    conf["tokenizer"] = {"name": "x", "lowercase": "yes"}
    (tmp_path / "b" / "config.json").write_text(json.dumps(conf))
    with pytest.raises(CheckpointError, match="tokenizer rule lowercase"):
        load_checkpoint(tmp_path / "b")


def test_rules_by_name_or_file(tmp_path):
    assert rules_named("whitespace") == WHITESPACE
    f = tmp_path / "mine.json"
    f.write_text(json.dumps({"name": "mine", "number_token": "<num>"}))
    assert tokenize("it cost 5", rules_named(str(f)))[0] == ["it", "cost", "<num>"]
    with pytest.raises(ValueError, match="unknown tokenizer"):
        rules_named("spacy")
    f.write_text(json.dumps({"name": "mine", "stemming": True}))
    with pytest.raises(ValueError, match="unknown keys"):
        rules_named(str(f))


def test_demo_checkpoint_reads_raw_text_as_ptb(demo_dir):
    ck = load_checkpoint(demo_dir)
    enc = encode_text("The company reported higher profits.", ck.vocab)
    assert enc.tokens == ["the", "company", "reported", "higher", "profits"] and not enc.unknown
    enc = encode_text("Sales rose 5.2% to $3 billion.", ck.vocab)
    assert enc.tokens == "sales rose N N to $ N billion".split() and not enc.unknown


def test_cli_uses_the_tokenizer(demo_dir, capsys):
    from vae_core import latent
    assert latent.main([str(demo_dir), "reconstruct", "The company's profits rose 5%.", "--samples", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["input"] == "the company 's profits rose N N"
    assert any("tokenised" in n for n in out["notices"])


def test_a_long_paste_is_cut_with_a_notice():
    vocab = Vocab(["<pad>", "<unk>", "<bos>", "<eos>", "the"])
    enc = encode_text("the " * 60_000, vocab, max_tokens=100)
    assert len(enc.tokens) == 100
    assert any("characters cut" in m for m in enc.notices) and any("truncated to 100" in m for m in enc.notices)


class _CountingVocab(set):
    """A vocabulary that counts membership tests: the work of tokenising, measured without a clock."""
    lookups = 0

    def __contains__(self, word):
        type(self).lookups += 1
        return super().__contains__(word)


@pytest.mark.parametrize("depth", [10, 4_000])
def test_stripping_deep_punctuation_does_work_independent_of_its_depth(depth):
    """A word wrapped in 4,000 parentheses a side took 36 s (candidates grew with depth squared, each
    sliced and hashed): only candidates as long as a vocabulary word can be one are tried now."""
    vocab = _CountingVocab(PTB_WORDS | {"x", "(x)"})
    _CountingVocab.lookups = 0
    assert tokenize("(" * depth + "x" + ")" * depth, PTB_MIKOLOV, vocab)[0] == ["(x)"]
    assert _CountingVocab.lookups < 100


def test_tokenising_is_linear_in_the_input():
    vocab = _CountingVocab(PTB_WORDS | {"x"})
    sizes = []
    for n in (2_000, 8_000):
        _CountingVocab.lookups = 0
        tokenize(("(" * n + "x" + ")" * n + " ") * 3, PTB_MIKOLOV, vocab)
        sizes.append(_CountingVocab.lookups)
    assert sizes[1] <= sizes[0] + 10


def test_a_long_chain_of_clitics_is_split_without_recursion():
    """`x's's's...` (3,001 characters) raised RecursionError in every text view."""
    tokens, _ = tokenize("x" + "'s" * 1_500, PTB_MIKOLOV, PTB_WORDS)
    assert tokens == ["x"] + ["'s"] * 1_500


def test_the_plural_possessive_keeps_its_apostrophe_with_the_real_vocabulary(demo_dir):
    """"the investors' money" lost its "'" because "investors" is a vocabulary word; PTB train has 651
    standalone "'" tokens, which this rule produces."""
    vocab = load_checkpoint(demo_dir).vocab
    assert "investors" in vocab and "'" in vocab
    for text, want in [("the investors' money", "the investors ' money"),
                       ("The investors', too.", "the investors ' too"),
                       ("the company's shares", "the company 's shares"),
                       ("'the' and 'us'", "the and us")]:
        assert encode_text(text, vocab).tokens == want.split(), text


def test_a_notice_about_a_hostile_chunk_stays_short():
    """A word in 8,000 brackets a side was echoed whole in the notice, filling the page."""
    _, changes = tokenize("(" * 8_000 + "x" + ")" * 8_000 + " the", PTB_MIKOLOV, PTB_WORDS)
    assert len(changes) == 1 and len(changes[0]) < 120 and "16,001 characters" in changes[0]
    assert tokenize("Profits rose 5.2%.", PTB_MIKOLOV, PTB_WORDS)[1] == ["5.2%. -> N N"]     # short ones whole


def test_unknown_words_in_a_notice_are_shortened_and_counted():
    vocab = Vocab(["<pad>", "<unk>", "<bos>", "<eos>", "the"])
    enc = encode_text(" ".join(f"{'z' * 5_000}{i}" for i in range(30)), vocab)
    (notice,) = [m for m in enc.notices if "not in the vocabulary" in m]
    assert len(notice) < 2_000 and notice.endswith("and 10 more")


def test_a_planted_huge_vocabulary_word_does_not_make_stripping_quadratic():
    vocab = _CountingVocab(PTB_WORDS | {"x", "w" * 1_000_000})
    _CountingVocab.lookups = 0
    assert tokenize("(" * 4_000 + "x" + ")" * 4_000, PTB_MIKOLOV, vocab)[0] == ["x"]
    assert _CountingVocab.lookups < 5_000


def test_planted_tokenizer_rules_are_bounded():
    """Each rule is applied to every token: a checkpoint's rules with 100,000 clitics would cost seconds a
    sentence, so their size is bounded where they are read."""
    with pytest.raises(ValueError, match="at most 64"):
        TokenizerRules.from_dict({"name": "x", "clitics": [f"'{i}" for i in range(100_000)]})
    with pytest.raises(ValueError, match="split_symbols is longer"):
        TokenizerRules.from_dict({"name": "x", "split_symbols": "$" * 1_000})
    assert TokenizerRules.from_dict(PTB_MIKOLOV.to_dict()) == PTB_MIKOLOV
