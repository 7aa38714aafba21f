"""Tokenisers that bring typed text to a corpus' own preprocessing, so "The company reported higher profits."
reaches the model as the tokens it was trained on ("the company reported higher profits").

The rules are data (`TokenizerRules`) and live with the vocabulary in every checkpoint (config.json,
"tokenizer"), so a model trained on another corpus declares its own (`python -m vae_core.train --tokenizer
NAME_OR_FILE.json`). Two rule sets are built in:

  ptb-mikolov  the preprocessing of Mikolov's PTB language-modelling split, read off the corpus itself:
               lowercase; `$` and `#` split off as tokens; numbers (5, 5.2, 1,000, 3/4) become `N`, and so does
               `%` ("5.2%" -> "N N"); clitics split off ("company's" -> "company 's", "don't" -> "do n't",
               "can't" -> "ca n't", plural possessive "guests'" -> "guests '"); punctuation removed, except
               where a word with it is in the vocabulary ("mr.", "u.s.", "a.m.", "at&t", "'80s" stay whole);
               hyphenated words stay whole ("30-year", "seven-day").
  whitespace   lowercase and split on whitespace only (what a corpus in that form needs).
"""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Collection

# typographic forms that typed or pasted text uses for the ASCII characters a corpus has
_TRANSLATE = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'", "\u201c": '"', "\u201d": '"',
                            "\u201e": '"', "\u00ab": '"', "\u00bb": '"', "\u2013": "-", "\u2014": "--",
                            "\u2212": "-", "\u2026": "...", "\u00a3": "#"})
# the longest vocabulary word the punctuation search looks for: a planted vocabulary with a huge word must not
# make `_strip_edges` quadratic in a run of brackets (no corpus word with punctuation at its edges is this long)
MAX_WORD_CHARS = 64
_NUMBER = re.compile(r"^[+-]?(?:\d[\d,]*(?:\.\d+)?|\.\d+)(?:/\d+)?$")
# characters removed at the edges of a token (and tokens made only of them)
_EDGE_PUNCT = ".,;:!?\"'()[]{}<>`*~_=|\\-"


@dataclass(frozen=True)
class TokenizerRules:
    """How raw text becomes a corpus' tokens; stored in the checkpoint beside the vocabulary.

    lowercase:          lowercase everything.
    split_symbols:      characters split off as tokens of their own wherever they occur ("$3" -> "$ 3").
    percent_as:         what a split-off "%" becomes ("" = it stays "%"); Mikolov's PTB writes "N".
    number_token:       replaces every number token ("" = numbers stay).
    clitics:            endings split off as a token of their own ("n't", "'s", ...); "'" means the plural
                        possessive after an s ("guests'" -> "guests '").
    strip_punctuation:  remove punctuation at token edges and punctuation-only tokens, except for tokens
                        that are vocabulary words as they stand ("mr.", "u.s.").
    """

    name: str
    lowercase: bool = True
    split_symbols: str = ""
    percent_as: str = ""
    number_token: str = ""
    clitics: tuple[str, ...] = ()
    strip_punctuation: bool = False

    def to_dict(self) -> dict:
        d = asdict(self)
        d["clitics"] = list(self.clitics)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TokenizerRules":
        """Rules from JSON; raises ValueError naming a missing name, an unknown key or a wrongly typed value."""
        if not isinstance(d, dict) or not isinstance(d.get("name"), str):
            raise ValueError("tokenizer rules must be an object with a string 'name'")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(d) - set(known))
        if unknown:
            raise ValueError(f"tokenizer rules have unknown keys {unknown}")
        for k in ("lowercase", "strip_punctuation"):
            if k in d and not isinstance(d[k], bool):
                raise ValueError(f"tokenizer rule {k} must be true or false")
        for k in ("split_symbols", "percent_as", "number_token"):
            if k in d and not isinstance(d[k], str):
                raise ValueError(f"tokenizer rule {k} must be a string")
        clitics = d.get("clitics", [])
        if not isinstance(clitics, list) or not all(isinstance(c, str) and c for c in clitics):
            raise ValueError("tokenizer rule clitics must be a list of non-empty strings")
        # rules come with checkpoints, which may be planted: every rule is applied to every token, so its size
        # is bounded (the PTB rules have 8 clitics of at most 3 characters and 3 split symbols)
        if len(clitics) > 64 or any(len(c) > 16 for c in clitics):
            raise ValueError("tokenizer rule clitics: at most 64, of at most 16 characters each")
        for k in ("split_symbols", "percent_as", "number_token"):
            if len(d.get(k, "")) > 64:
                raise ValueError(f"tokenizer rule {k} is longer than 64 characters")
        return cls(**{**d, "clitics": tuple(clitics)})


PTB_MIKOLOV = TokenizerRules(name="ptb-mikolov", lowercase=True, split_symbols="$#%", percent_as="N",
                             number_token="N", clitics=("n't", "'s", "'re", "'ve", "'ll", "'d", "'m", "'"),
                             strip_punctuation=True)
WHITESPACE = TokenizerRules(name="whitespace")
BUILTIN = {r.name: r for r in (PTB_MIKOLOV, WHITESPACE)}
DEFAULT = PTB_MIKOLOV


def rules_named(name_or_file: str) -> TokenizerRules:
    """Built-in rules by name, or rules read from a JSON file. Raises ValueError naming the choices."""
    if name_or_file in BUILTIN:
        return BUILTIN[name_or_file]
    p = Path(name_or_file)
    if p.suffix == ".json" and p.is_file():
        try:
            return TokenizerRules.from_dict(json.loads(p.read_text()))
        except json.JSONDecodeError as e:
            raise ValueError(f"{p}: not valid JSON ({e})") from None
    raise ValueError(f"unknown tokenizer {name_or_file!r}; built in: {sorted(BUILTIN)}, or a .json rules file")


def _strip_edges(tok: str, vocab: Collection[str], longest: int) -> str:
    """Remove punctuation at both ends, but as little as makes a vocabulary word ("(mr.," -> "mr.",
    "'80s;" -> "'80s"); a plural possessive "s'" keeps its apostrophe ("investors'," -> "investors'", split
    off later as a clitic) even where the word without it is in the vocabulary, unless the word is quoted
    ("'us'" -> "us").

    `longest` is the length of the longest vocabulary word: only candidates that short are tried, so the
    work is bounded by longest^2 lookups whatever the depth of the punctuation (a word in 4,000 brackets a
    side took 36 s when every split was tried). Linear in len(tok) otherwise."""
    lead = len(tok) - len(tok.lstrip(_EDGE_PUNCT))
    if lead == len(tok):
        return ""
    trail = len(tok) - len(tok.rstrip(_EDGE_PUNCT))
    core = tok[lead: len(tok) - trail]
    possessive = (trail > 0 and tok[len(tok) - trail] == "'" and core.endswith("s") and len(core) > 1
                  and not (lead > 0 and tok[lead - 1] == "'"))
    keep_right = 1 if possessive else 0               # the possessive's apostrophe is never stripped
    # a candidate keeps i leading and j trailing punctuation characters (fewest removed = longest first)
    room = max(-1, min(longest - len(core), lead + trail))
    for kept in range(room, keep_right - 1, -1):
        for i in range(min(lead, kept - keep_right), max(0, kept - trail) - 1, -1):
            j = kept - i
            cand = tok[lead - i: lead + len(core) + j]
            if cand in vocab:
                return cand
    return core + "'" if possessive else core


def _split_clitic(tok: str, rules: TokenizerRules, vocab: Collection[str]) -> list[str]:
    """Split clitic endings off, repeatedly ("o's'" -> "o 's '"), until the head is a word or has none.
    Iterative: a chain of 1,500 clitics ("x's's's...") overflowed the stack when this recursed."""
    tail: list[str] = []
    while tok not in vocab:
        for c in rules.clitics:
            if c == "'":
                if len(tok) > 2 and tok.endswith("s'"):
                    tok, cut = tok[:-1], c
                    break
            elif len(tok) > len(c) and tok.endswith(c):
                tok, cut = tok[: -len(c)], c
                break
        else:
            break
        tail.append(cut)
    return [tok] + tail[::-1]


def shorten(s: str, limit: int = 40) -> str:
    """`s` for a notice: at most `limit` characters, the middle elided (a hostile chunk can be 200,000 long)."""
    return s if len(s) <= limit else f"{s[:limit // 2]}…{s[-(limit // 2 - 1):]} ({len(s):,} characters)"


def tokenize(text: str, rules: TokenizerRules = DEFAULT, vocab: Collection[str] = (),
             longest: int | None = None) -> tuple[list[str], list[str]]:
    """Tokens of `text` under `rules`, and the changes made, one "original -> result" string per changed
    whitespace-separated chunk (for the user's notice). `vocab` (any container of words) decides where
    punctuation belongs to a word ("mr." stays whole when it is a vocabulary word); `longest`, the length of
    its longest word, is computed from it when not given (`Vocab.longest_word` keeps it).

    Work is linear in len(text): every step is a pass over a chunk, repeated at most 8 times, and the
    punctuation search is bounded by `longest` (see `_strip_edges`)."""
    text = unicodedata.normalize("NFKC", text).translate(_TRANSLATE)
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Zs") else c for c in text)
    if longest is None:
        longest = max(map(len, vocab), default=0) if rules.strip_punctuation else 0
    longest = min(longest, MAX_WORD_CHARS)
    tokens, changes = [], []
    for chunk in text.split():
        if chunk in vocab or chunk == rules.number_token:     # a corpus token as it stands ("N", "<unk>")
            tokens.append(chunk)
            continue
        low = chunk.lower() if rules.lowercase else chunk
        out = _tokenize_chunk(low, rules, vocab, longest)
        if out != [low]:                                      # lowercasing alone is not worth a notice
            changes.append(f"{shorten(chunk)} -> {shorten(' '.join(out)) if out else '(removed)'}")
        tokens += out
    return tokens, changes


def _tokenize_chunk(chunk: str, rules: TokenizerRules, vocab: Collection[str], longest: int) -> list[str]:
    """One whitespace-separated chunk -> its tokens; the steps repeat (at most 8 times, each linear in the
    chunk) until nothing changes, so the result is a fixed point (tokenising the tokens again gives them
    back)."""
    out, prev = [chunk], None
    for _ in range(8):
        if out == prev:
            break
        prev, out = out, [t for tok in out for t in _one_pass(tok, rules, vocab, longest)]
    return out


def _one_pass(tok: str, rules: TokenizerRules, vocab: Collection[str], longest: int) -> list[str]:
    if tok in vocab or tok in rules.clitics or tok == rules.number_token:   # already a corpus token
        return [tok]
    pieces = [tok]
    if rules.split_symbols:
        pieces = [p for p in re.split("([" + re.escape(rules.split_symbols) + "])", tok) if p]
    out: list[str] = []
    for p in pieces:
        if p == "%" and "%" in rules.split_symbols:
            out.append(rules.percent_as or "%")
        elif len(p) == 1 and p in rules.split_symbols:
            out.append(p)
        else:
            if rules.strip_punctuation:
                p = _strip_edges(p, vocab, longest)
            for q in _split_clitic(p, rules, vocab) if (p and rules.clitics) else [p]:
                if q:
                    out.append(rules.number_token if rules.number_token and _NUMBER.match(q) else q)
    return out
