"""How readable what a view decodes is: its decodes scored by a language model, and how much they vary.

    homotopy_fluency(model, vocab, lm, pairs)            the intermediate decodes of homotopies
    perturb_fluency(model, vocab, lm, sentences, k)      decodes of z ~ q(z|x) widened to k sigma
    traversal_fluency(model, vocab, lm, sentences, stats)  a sweep of the most active unit
    prior_fluency(model, vocab, lm, n)                   decodes of z ~ p(z)
      ->  {"nll_per_token", "distinct", "repeats", "groups"}

A fluent homotopy (Bowman et al. 2016, Sec. 6.3, Table 8: "each sentence ... is grammatical") decodes to
sentences a language model finds likely, and changes gradually; so do good perturbations, traversals and prior
samples (their Table 5). We measure the first with the mean per-token NLL of the decodes under an LSTM-LM
trained on the same corpus (nats per token, `<eos>` counted), the second with the share of distinct decodes in
each group (a path, a sweep, the draws around one sentence, the prior samples), and flag degenerate decodes,
which an LM finds likely ("the <unk> <unk> <unk>"), by the share of adjacent tokens that repeat.
`most_fluent` picks a view's model from such a record (docs/view-fluency.json, `bench/view_fluency.py`).
"""
from __future__ import annotations

import math

import torch

from .analysis import perturb, prior_samples
from .data import Vocab, corpus_from_text
from .latent import homotopy, traverse, units_by_activity


@torch.no_grad()
def lm_nll_per_token(lm, vocab: Vocab, sentences: list[str]) -> float:
    """-log p(x) under the language model `lm` (a "lm" SentenceVAE), summed over the sentences and divided by
    their tokens (`<eos>` included): nats per token. Sentences are token strings as the model writes them."""
    corpus = corpus_from_text(sentences, vocab)
    x, lengths = corpus.collate(range(len(sentences)))
    lm.eval()
    return float(-lm.reconstruction(x, lengths, None).sum()) / int(lengths.sum())


def decodes_fluency(vocab: Vocab, lm, groups: list[list[str]], scored: list[list[str]] | None = None) -> dict:
    """The fluency of groups of decodes: {"nll_per_token": the LM's NLL of every decode of `scored` (default
    `groups`; empty ones left out), nats per token; "distinct": the mean share of distinct decodes in a group
    (0-1); "repeats": the share of adjacent token pairs of the scored decodes that repeat a token; "groups"}.
    `lm` scores with `vocab`, so model and LM must share the corpus' vocabulary (ValueError otherwise)."""
    if lm.cfg.vocab_size != len(vocab):
        raise ValueError(f"the language model's vocabulary ({lm.cfg.vocab_size}) is not the model's ({len(vocab)})")
    flat = [s for g in (groups if scored is None else scored) for s in g if s.strip()]
    toks = [s.split() for s in flat]
    pairs_of = sum(max(0, len(t) - 1) for t in toks)
    repeats = sum(a == b for t in toks for a, b in zip(t, t[1:])) / pairs_of if pairs_of else 0.0
    return {"nll_per_token": lm_nll_per_token(lm, vocab, flat) if flat else math.nan,
            "distinct": sum(len(set(g)) / len(g) for g in groups) / len(groups) if groups else math.nan,
            "repeats": repeats, "groups": groups}


def perturb_fluency(model, vocab: Vocab, lm, sentences: list[str], k: float = 2.0, n_samples: int = 5,
                    seed: int = 0) -> dict:
    """`decodes_fluency` of the Perturb view's decodes (`vae_core.analysis.perturb`): for each sentence,
    `n_samples` draws of z from its posterior widened to k sigma, decoded greedily; a group per sentence. Adds
    "bleu": the mean BLEU (0-100) of the decodes to their input, as the view reports it: perturbations should
    stay the input's neighbours (Livne et al. 2020, Table 11), not jump to unrelated sentences."""
    runs = [perturb(model, vocab, s, ks=(k,), n_samples=n_samples, seed=seed)[0] for s in sentences]
    return decodes_fluency(vocab, lm, [r["sentences"] for r in runs]) | {
        "bleu": sum(r["bleu"] for r in runs) / len(runs) if runs else math.nan}


def traversal_fluency(model, vocab: Vocab, lm, sentences: list[str], stats: dict, steps: int = 7) -> dict:
    """`decodes_fluency` of the Traversal view's decodes (`vae_core.latent.traverse`): for each sentence, the
    sweep of the model's most active unit (`units_by_activity` of `stats`, an `aggregate_posterior`) over
    +-3 standard deviations around its own mu_d in `steps` points; a group per sentence."""
    d = units_by_activity(stats)[0]
    groups = [traverse(model, vocab, stats, [d], text=s, steps=steps)["sentences"][0] for s in sentences]
    return decodes_fluency(vocab, lm, groups) | {"unit": d}


def prior_fluency(model, vocab: Vocab, lm, n: int = 50, seed: int = 0) -> dict:
    """`decodes_fluency` of the Prior samples view's decodes (`vae_core.analysis.prior_samples`): `n` greedy
    decodes of z ~ p(z), one group ("distinct" is then the share of unique samples)."""
    return decodes_fluency(vocab, lm, [[r["sentence"] for r in prior_samples(model, vocab, n, seed=seed)]])


def homotopy_fluency(model, vocab: Vocab, lm, pairs: list[tuple[str, str]], steps: int = 7,
                     method: str = "linear") -> dict:
    """`decodes_fluency` of the Homotopy view's decodes: for each (a, b) in `pairs`, the greedy decodes of the
    homotopy between their posterior means (`vae_core.latent.homotopy`, `steps` points), a group per path;
    the LM scores the intermediate decodes (the endpoints left out), and "distinct" is the mean share of
    distinct decodes along a path. Returns {"nll_per_token", "distinct", "repeats", "paths"}."""
    paths = [homotopy(model, vocab, a, b, steps, method)["sentences"] for a, b in pairs]
    r = decodes_fluency(vocab, lm, paths, scored=[p[1:-1] for p in paths])
    return {"nll_per_token": r["nll_per_token"], "distinct": r["distinct"], "repeats": r["repeats"], "paths": paths}


def most_fluent(view: dict) -> str | None:
    """The model of one view's fluency record (docs/view-fluency.json's "views"[name]: {"min_distinct",
    "max_repeats", optionally "min_bleu", "models": {name: {"nll_per_token", "distinct", "repeats", "bleu"}}})
    with the lowest NLL among those whose decodes vary (a share of distinct decodes of at least min_distinct)
    without degenerate repetition (a share of repeated adjacent tokens of at most max_repeats) and, where the
    view asks it, stay near their input (a mean BLEU of at least min_bleu); None when no model qualifies."""
    lo, hi, near = view.get("min_distinct", 1.0), view.get("max_repeats", 0.0), view.get("min_bleu")
    ok = {n: r for n, r in view.get("models", {}).items() if r["distinct"] >= lo and r["repeats"] <= hi
          and (near is None or r.get("bleu", -1.0) >= near)}
    return min(ok, key=lambda n: ok[n]["nll_per_token"]) if ok else None
