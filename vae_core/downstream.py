"""Uses of the latent space: imputing missing words (Bowman et al. 2016, Sec. 5), ranking candidate
continuations by latent distance (Livne et al. 2020, Sec. 4.6), and latent arithmetic (a direction from two
groups of sentences, applied to a third).

    from vae_core.downstream import impute, rank_candidates
    impute(model, vocab, "the company said it ___ a loss")                     # ___ marks an unknown word
    rank_candidates(model, vocab, "what is the capital of france", ["paris", "a big dog"])
    d = latent_direction(model, vocab, ["prices fell"], ["prices rose"])["direction"]
    apply_direction(model, vocab, "stocks fell sharply", d, [0, 0.5, 1])["sentences"]
"""
from __future__ import annotations

import torch

from .data import TextError, Vocab, encode_text
from .decoding import constrained_beam_search, decode
from .latent import encode_sentences, ids_to_text
from .model import SentenceVAE
from .tokenize import tokenize

BLANKS = ("___", "_", "?")


def parse_blanks(text: str, vocab: Vocab | None = None, blanks: tuple[str, ...] = BLANKS) -> tuple[list[str], list[int]]:
    """Split a sentence with blanks ("The company's ___ fell.") into tokens and the positions of the blanks.

    The words between blanks go through the vocabulary's tokenizer (`vae_core.tokenize`), so "company's"
    becomes "company 's" and the blanks keep their places; without `vocab` the text is split on whitespace.
    Raises TextError when the sentence is empty or has no blank."""
    chunks = text.split()
    if not chunks:
        raise TextError("the sentence is empty")
    tokens, unknown, segment = [], [], []

    def flush():
        if segment:
            tokens.extend(tokenize(" ".join(segment), vocab.tokenizer, vocab.stoi, vocab.longest_word)[0] if vocab else segment)
            segment.clear()
    for c in chunks:
        if c in blanks:
            flush()
            unknown.append(len(tokens))
            tokens.append(c)
        else:
            segment.append(c)
    flush()
    if not unknown:
        raise TextError("mark at least one unknown word with three underscores (___), one underscore (_) or a "
                        "question mark (?), each on its own between spaces")
    return tokens, unknown


@torch.no_grad()
def impute(model: SentenceVAE, vocab: Vocab, text: str, steps: int = 3, beam_size: int = 5) -> dict:
    """Fill the blanks of `text` by approximate iterated conditional modes (Bowman et al. 2016, Sec. 5).

    The unknown words start as `<unk>`; each step sets z to the posterior mode (the mean of q(z|x) for the
    current fill) and then assigns the unknown words by a constrained beam search of log p(x | z) with the
    known words fixed (`decoding.constrained_beam_search`). Stops after `steps` steps or when a step
    changes nothing. The paper uses 3 steps of beam size 5.

    Returns {"unknown": blank positions, "requested_steps": steps, "steps": [{"step", "sentence", "filled": [words], "log_p": log p(x|z)
    in nats per sentence with `<eos>`, "changed": bool}], "final": the last fill}. Raises TextError for an
    empty sentence or one without a blank, RuntimeError for the LM baseline. (All words blank is allowed:
    the fill is then the best sentence of that length under the code of `<unk> ... <unk>`.)
    """
    if not model.has_latent:
        raise RuntimeError("the language-model baseline has no latent variable to impute with")
    tokens, unknown = parse_blanks(text, vocab)
    words = [vocab.itos[vocab.unk_id] if i in unknown or t not in vocab else t for i, t in enumerate(tokens)]
    template = [None if i in unknown else vocab.stoi.get(w, vocab.unk_id) for i, w in enumerate(words)]
    history = []
    for step in range(1, steps + 1):
        z = encode_sentences(model, vocab, [" ".join(words)]).mu[0]
        ids, log_p = constrained_beam_search(model, z, template, beam_size)
        new = vocab.decode(ids, strip_specials=False)
        changed = new != words
        words = new
        history.append({"step": step, "sentence": " ".join(words), "filled": [words[i] for i in unknown],
                        "log_p": log_p, "changed": changed})
        if not changed:
            break
    return {"unknown": unknown, "requested_steps": steps, "steps": history, "final": history[-1]["sentence"]}


@torch.no_grad()
def rank_candidates(model: SentenceVAE, vocab: Vocab, prompt: str, candidates: list[str],
                    separator: str = "") -> list[dict]:
    """Rank continuations of `prompt` by latent distance (Livne et al. 2020, Sec. 4.6).

    For candidate k: z_k = mean of q(z | prompt + separator + candidate_k), z_unk = mean of
    q(z | prompt + separator + `<unk>` x |candidate_k|) with standard deviation sigma_unk, and the score
    S_k = || (z_unk - z_k) / sigma_unk ||_2 (dimensionless; lower = the candidate moves the code less, ranked
    first). The paper samples z; the means make the ranking deterministic. Returns one dict per candidate,
    best first: {"rank", "candidate", "score", "unknown_words"}. A candidate of out-of-vocabulary words
    encodes exactly like the masked prompt and scores 0, so "unknown_words" counts them for the reader.
    Raises TextError for an empty prompt or candidate.
    """
    if not prompt.strip():
        raise TextError("the prompt is empty")
    if not candidates:
        raise TextError("give at least one candidate")
    head = f"{prompt} {separator}".strip()
    full, masked, oov = [], [], []
    for c in candidates:
        enc = encode_text(c, vocab)                   # raises TextError for an empty candidate
        words = enc.tokens
        oov.append(sum(i == vocab.unk_id for i in enc.ids))
        full.append(f"{head} {' '.join(words)}")
        masked.append(f"{head} {' '.join([vocab.itos[vocab.unk_id]] * len(words))}")
    post_k = encode_sentences(model, vocab, full)
    post_unk = encode_sentences(model, vocab, masked)
    scores = ((post_unk.mu - post_k.mu) / post_unk.sigma).norm(dim=-1).tolist()
    order = sorted(range(len(candidates)), key=lambda i: scores[i])
    return [{"rank": r + 1, "candidate": candidates[i], "score": scores[i], "unknown_words": oov[i]}
            for r, i in enumerate(order)]


@torch.no_grad()
def latent_direction(model: SentenceVAE, vocab: Vocab, group_a: list[str], group_b: list[str]) -> dict:
    """A direction in z from two groups of sentences: d = mean_b - mean_a of their posterior means.

    ("Latent arithmetic", as done with word vectors and image VAEs; for sentences this toolkit's own
    operation, not one of the five papers'.) Returns {"direction": (n,) tensor, "mean_a", "mean_b": (n,),
    "norm": ||d||, "n_a", "n_b"}. Raises TextError when a group has no sentence.
    """
    groups = []
    for name, g in (("A", group_a), ("B", group_b)):
        lines = [s for s in g if s.strip()]
        if not lines:
            raise TextError(f"group {name} has no sentence")
        groups.append(encode_sentences(model, vocab, lines).mu)
    mean_a, mean_b = groups[0].mean(0), groups[1].mean(0)
    d = mean_b - mean_a
    return {"direction": d, "mean_a": mean_a, "mean_b": mean_b, "norm": float(d.norm()),
            "n_a": len(groups[0]), "n_b": len(groups[1])}


@torch.no_grad()
def apply_direction(model: SentenceVAE, vocab: Vocab, text: str, direction: torch.Tensor,
                    strengths: list[float], strategy: str = "greedy") -> dict:
    """Decode z(s) = mu(text) + s * direction for each strength s (the path through latent space).

    direction: (n,), e.g. from `latent_direction`. Returns {"input": EncodedText, "strengths": [s],
    "z": (S, n) tensor, "sentences": [decoded]}. Raises TextError for an empty sentence.
    """
    post = encode_sentences(model, vocab, [text])
    s = torch.tensor(strengths, dtype=post.mu.dtype)[:, None]
    z = post.mu + s * direction.to(post.mu.dtype)[None]
    return {"input": post.inputs[0], "strengths": list(strengths), "z": z,
            "sentences": ids_to_text(vocab, decode(model, z, strategy))}
