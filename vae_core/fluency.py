"""How readable a model's homotopies are: the intermediate decodes of paths between sentence pairs, scored by
a language model, and how many distinct sentences a path passes through.

    homotopy_fluency(model, vocab, lm, pairs)  ->  {"nll_per_token", "distinct_steps", "paths"}

A fluent homotopy (Bowman et al. 2016, Sec. 6.3, Table 8: "each sentence ... is grammatical") decodes to
sentences a language model finds likely, and changes gradually. We measure the first with the mean per-token
NLL of the intermediate decodes under an LSTM-LM trained on the same corpus (nats per token, `<eos>`
counted), and the second with the number of distinct decodes along the path.
"""
from __future__ import annotations

import math

import torch

from .data import Vocab, corpus_from_text
from .latent import homotopy


@torch.no_grad()
def lm_nll_per_token(lm, vocab: Vocab, sentences: list[str]) -> float:
    """-log p(x) under the language model `lm` (a "lm" SentenceVAE), summed over the sentences and divided by
    their tokens (`<eos>` included): nats per token. Sentences are token strings as the model writes them."""
    corpus = corpus_from_text(sentences, vocab)
    x, lengths = corpus.collate(range(len(sentences)))
    lm.eval()
    return float(-lm.reconstruction(x, lengths, None).sum()) / int(lengths.sum())


def homotopy_fluency(model, vocab: Vocab, lm, pairs: list[tuple[str, str]], steps: int = 7,
                     method: str = "linear") -> dict:
    """For each (a, b) in `pairs`, the greedy decodes of the homotopy between their posterior means
    (`vae_core.latent.homotopy`, `steps` points). Returns {"nll_per_token": the LM's NLL of all the
    intermediate decodes (the endpoints left out), nats per token; "distinct_steps": the mean number of
    distinct decodes along a path (1 to steps); "repeats": the share of adjacent token pairs of those decodes
    that repeat a token ("<unk> <unk>"), since an LM finds such degenerate decodes likely; "paths"}. `lm` scores with `vocab`, so
    model and LM must share the corpus' vocabulary (ValueError otherwise)."""
    if lm.cfg.vocab_size != len(vocab):
        raise ValueError(f"the language model's vocabulary ({lm.cfg.vocab_size}) is not the model's ({len(vocab)})")
    paths = [homotopy(model, vocab, a, b, steps, method)["sentences"] for a, b in pairs]
    middle = [s for p in paths for s in p[1:-1] if s.strip()]
    toks = [s.split() for s in middle]
    pairs_of = sum(max(0, len(t) - 1) for t in toks)
    repeats = sum(a == b for t in toks for a, b in zip(t, t[1:])) / pairs_of if pairs_of else 0.0
    return {"nll_per_token": lm_nll_per_token(lm, vocab, middle) if middle else math.nan,
            "distinct_steps": sum(len(set(p)) for p in paths) / len(paths), "repeats": repeats, "paths": paths}


def most_fluent(record: dict, min_distinct: float = 6.0, max_repeats: float = 0.1) -> str | None:
    """The model of a fluency record (docs/homotopy-fluency.json: {"models": {name: {"nll_per_token",
    "distinct_steps", "repeats"}}}) with the lowest NLL among those whose paths change (at least `min_distinct`
    distinct decodes) without degenerate repetition (at most `max_repeats`); None when no model qualifies."""
    ok = {n: r for n, r in record.get("models", {}).items()
          if r["distinct_steps"] >= min_distinct and r["repeats"] <= max_repeats}
    return min(ok, key=lambda n: ok[n]["nll_per_token"]) if ok else None
