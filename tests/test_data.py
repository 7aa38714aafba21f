"""Corpus reading, vocabulary, batching, typed-text handling and the checksummed download."""
import pytest
import torch

from tests.conftest import ROOT

from vae_core.data import (PTB_SHA256, Corpus, CorpusError, TextError, Vocab, bucket_batches, download_ptb,
                           encode_text, load_splits, read_corpus, sha256_of)


def test_ptb_split_counts(ptb_dir):
    ds = load_splits(ptb_dir)
    assert {k: len(v) for k, v in ds.splits.items()} == {"train": 42068, "valid": 3370, "test": 3761}
    # 9999 word types (with <unk>) + <pad>, <bos>, <eos>; token counts with one <eos> a line (Mikolov)
    assert len(ds.vocab) == 10002
    assert [c.n_tokens for c in ds.splits.values()] == [929589, 73760, 82430]
    assert all(int((c.lengths == 0).sum()) == 0 for c in ds.splits.values())
    first = ds.splits["train"].ids[0]
    assert first[-1].item() == Vocab.eos_id and ds.vocab.decode(first.tolist())[:2] == ["aer", "banknote"]


def test_ptb_files_match_published_checksums(ptb_dir):
    for split, want in PTB_SHA256.items():
        assert sha256_of(ptb_dir / f"ptb.{split}.txt") == want


def test_download_verifies_checksums(tmp_path, ptb_dir):
    # a file:// source stands in for the public one: the same code path, no network in tests
    paths = download_ptb(tmp_path / "ok", url_templates=[f"file://{ptb_dir}/ptb.{{split}}.txt"])
    assert sorted(paths) == ["test", "train", "valid"]
    bad = tmp_path / "bad_src"
    bad.mkdir()
    for split in PTB_SHA256:
        (bad / f"ptb.{split}.txt").write_text("not the corpus\n")
    with pytest.raises(CorpusError, match="sha256 .* does not match.*No such file"):
        download_ptb(tmp_path / "bad", url_templates=[f"file://{bad}/ptb.{{split}}.txt", f"file://{tmp_path}/none/{{split}}"])
    assert not list((tmp_path / "bad").glob("ptb.*.txt"))      # nothing left under a final name


def test_undecodable_bytes_name_file_and_line(tmp_path):
    f = tmp_path / "c.txt"
    f.write_bytes(b"a b c\nd e\nf \xff g\n")
    with pytest.raises(CorpusError, match=r"c\.txt:3: bytes that are not UTF-8"):
        read_corpus(f)


def test_empty_file_and_missing_file(tmp_path):
    (tmp_path / "e.txt").write_text("\n  \n")
    with pytest.raises(CorpusError, match="holds no sentence"):
        read_corpus(tmp_path / "e.txt")
    with pytest.raises(CorpusError, match="no such corpus file"):
        read_corpus(tmp_path / "nope.txt")


def test_empty_lines_skipped_long_lines_truncated_no_final_newline(tmp_path):
    f = tmp_path / "c.txt"
    f.write_text("a b\n\nc d e f g\n   \nh")
    sents, stats = read_corpus(f, max_tokens=3)
    assert sents == [["a", "b"], ["c", "d", "e"], ["h"]]
    assert stats.empty_lines == [2, 4] and stats.truncated == [3]


def test_vocab_specials_and_roundtrip():
    v = Vocab.build([["b", "a", "b"], ["c"]])
    assert v.itos[:4] == ["<pad>", "<unk>", "<bos>", "<eos>"] and v.itos[4] == "b"
    assert v.encode(["a", "zzz"]) == [v.stoi["a"], v.unk_id]
    assert v.decode([v.bos_id, v.stoi["a"], v.eos_id, v.stoi["b"]]) == ["a"]
    with pytest.raises(ValueError, match="must start with"):
        Vocab(["a", "b"])


def test_bucketed_batches_are_seeded_cover_everything_and_pad_little():
    lengths = torch.randint(1, 40, (1000,), generator=torch.Generator().manual_seed(0))
    b1 = bucket_batches(lengths, 32, shuffle=True, seed=3, epoch=1)
    assert b1 == bucket_batches(lengths, 32, shuffle=True, seed=3, epoch=1)
    assert b1 != bucket_batches(lengths, 32, shuffle=True, seed=3, epoch=2)
    assert sorted(i for b in b1 for i in b) == list(range(1000))

    def pad_fraction(batches):
        padded = sum(len(b) * int(lengths[b].max()) for b in batches)
        return 1 - int(lengths.sum()) / padded
    assert pad_fraction(b1) < 0.05
    assert pad_fraction(bucket_batches(lengths, 32, shuffle=True, seed=3, bucket=False)) > 0.3


def test_collate_pads_with_pad_id():
    v = Vocab.build([["a", "b", "c"]])
    c = Corpus([["a", "b", "c"], ["a"]], v)
    x, lengths = c.collate([0, 1])
    assert x.shape == (2, 4) and lengths.tolist() == [4, 2]
    assert x[1].tolist() == [v.stoi["a"], v.eos_id, 0, 0]


def test_encode_text_normalises_and_reports():
    v = Vocab.build([["the", "market", "fell"]])
    e = encode_text("  The\tMARKET\x00 fell  zorblax 🙂 ", v)
    assert e.tokens == ["the", "market", "fell", "<unk>", "<unk>"]
    assert e.unknown == ["zorblax", "🙂"] and "zorblax" in e.notices[0]
    long = encode_text("the " * 500, v, max_tokens=100)
    assert len(long.ids) == 100 and long.truncated_from == 500 and "truncated" in long.notices[-1]
    for bad in ("", "   \n\t", "\x00\x01"):
        with pytest.raises(TextError, match="empty"):
            encode_text(bad, v)
    # right-to-left text and the literal <unk> token pass through without a crash or a false notice
    assert encode_text("שלום <unk>", v).tokens == ["<unk>", "<unk>"]
    assert encode_text("<unk>", v).unknown == []


def test_control_characters_in_a_corpus_are_named_with_line_and_column(tmp_path):
    """`train` accepted NUL bytes silently: its vocabulary held 'market\\x00fell'."""
    f = tmp_path / "c.txt"
    f.write_bytes(b"a b\nthe market\x00fell\n")
    with pytest.raises(CorpusError, match=r"c\.txt:2: a control character \(U\+0000\) at column 11"):
        read_corpus(f)
    f.write_bytes(b"tab\tand\x0bvertical\x1cseparators are whitespace\n")       # split, as str.split does
    assert read_corpus(f)[0] == [["tab", "and", "vertical", "separators", "are", "whitespace"]]


def test_an_overlong_line_is_refused_unless_max_tokens_cuts_it(tmp_path):
    """A 1 MB line took a hidden-8 model to 2.97 GB in `train`: lines over MAX_LINE_TOKENS are refused with
    their number, or cut by --max-tokens and counted."""
    from vae_core.data import MAX_LINE_TOKENS
    f = tmp_path / "c.txt"
    f.write_text("a b\n" + "w " * (MAX_LINE_TOKENS + 1) + "\nc\n")
    with pytest.raises(CorpusError, match=rf"c\.txt:2: {MAX_LINE_TOKENS + 1} tokens, more than the "
                                          rf"{MAX_LINE_TOKENS}.*--max-tokens"):
        read_corpus(f)
    sents, stats = read_corpus(f, max_tokens=50)
    assert [len(s) for s in sents] == [2, 50, 1] and stats.truncated == [2]


def test_train_refuses_bad_lines_and_reports_the_lines_it_cut(tmp_path, tiny_ptb, capsys):
    import shutil
    from vae_core import train
    data = tmp_path / "data"
    shutil.copytree(tiny_ptb, data)
    (data / "ptb.train.txt").write_bytes((tiny_ptb / "ptb.train.txt").read_bytes() + b"the market\x00fell\n")
    args = ["--data", str(data), "--out", str(tmp_path / "out"), "--emb-dim", "8", "--hidden-dim", "8",
            "--latent-dim", "2", "--max-steps", "1", "--epochs", "1"]
    assert train.main(args) == 1
    assert "ptb.train.txt:401: a control character (U+0000)" in capsys.readouterr().err
    (data / "ptb.train.txt").write_text((tiny_ptb / "ptb.train.txt").read_text() + "w " * 2000 + "\n")
    assert train.main(args) == 1
    assert "ptb.train.txt:401: 2000 tokens" in capsys.readouterr().err
    assert train.main(args + ["--max-tokens", "100"]) == 0
    assert "1 line of train cut to 100 tokens (line 401)" in capsys.readouterr().err


def test_the_training_split_is_found_by_the_checkpoints_record(tmp_path, tiny_ptb, ptb_dir):
    """Copies of training sentences must be counted against the corpus the model was trained on (it was
    always PTB train): the checkpoint records the train file's sha256; older ones are matched by vocabulary."""
    import json
    import shutil
    from tests.conftest import tiny_configs
    from vae_core.checkpoint import load_checkpoint
    from vae_core.data import find_training_split
    from vae_core.train import Trainer
    m, t = tiny_configs(tiny_ptb, tmp_path / "run", max_steps=2, epochs=1)
    Trainer(m, t, quiet=True).run()
    ck = load_checkpoint(tmp_path / "run")
    rec = ck.progress["train_corpus"]
    assert rec["file"] == "ptb.train.txt" and rec["data_dir"] == tiny_ptb.name and len(rec["sha256"]) == 64
    decoy = tmp_path / "decoy"
    shutil.copytree(tiny_ptb, decoy)
    (decoy / "ptb.train.txt").write_text((tiny_ptb / "ptb.train.txt").read_text().replace("the", "a", 1))
    assert find_training_split(rec, ck.vocab, [ptb_dir, decoy, tiny_ptb]) == (tiny_ptb / "ptb.train.txt", "sha256")
    assert find_training_split(rec, ck.vocab, [ptb_dir, decoy]) is None
    # a checkpoint written before the record existed: the vocabulary rebuilt from the file must be its own
    assert find_training_split(None, ck.vocab, [ptb_dir, tiny_ptb]) == (tiny_ptb / "ptb.train.txt", "vocabulary")
    zoo = load_checkpoint(ROOT / "checkpoints" / "bowman-vae")
    assert "train_corpus" not in zoo.progress
    assert find_training_split(None, zoo.vocab, [tiny_ptb, ptb_dir]) == (ptb_dir / "ptb.train.txt", "vocabulary")
