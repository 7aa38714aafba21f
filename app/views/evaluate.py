"""Evaluate a checkpoint on a split or an uploaded file: the estimators of `python -m vae_core.evaluate`
(NLL, IW-NLL, KL, PPL, active units, MI, BLEU-1), the same JSON, with progress and a cache."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # repo root, so the page also runs on its own

import streamlit as st

from app import figures
from app.common import (checkpoint_name, checkpoints, corpus_picker, model_name, progress_over, result_store,
                        sentences_key, show_table, side_by_side)
from app.state import persist
from vae_core.data import MAX_LINE_TOKENS, corpus_from_text
from vae_core.evaluate import evaluation_record

models = checkpoints(latent=False)          # the LM baseline and the bag-of-words model evaluate too
ck = models[0]
st.title("Evaluate")
st.caption("The estimators of `python -m vae_core.evaluate`, on the sentences chosen below (each tokenised as the "
           "model's corpus is). The result is the CLI's JSON; results are kept by the server for every session, so "
           "asking again for the same checkpoint, sentences and settings is instant. The whole PTB test split "
           "with K = 500 importance samples takes tens of minutes on a CPU: start small.")
corpus = corpus_picker("eval", ck, default_limit=200, allow_labels=False, max_tokens=MAX_LINE_TOKENS)
if not corpus:
    st.stop()
c1, c2, c3, c4 = st.columns(4)
persist("eval_iw", 10, bounds=(0, 5000))
iw = c1.number_input("IW-NLL samples K (0 = skip)", 0, 5000, step=10, key="eval_iw",
                     help="K decoder passes per sentence: the IW-NLL costs K times the ELBO (the papers use K = 500, "
                          "which `python -m vae_core.evaluate` runs on the whole split)")
persist("eval_batch", 64, bounds=(1, 1024))
batch = c2.number_input("Batch size", 1, 1024, step=16, key="eval_batch")
persist("eval_bleu", True)
bleu = c3.toggle("BLEU-1", key="eval_bleu", help="Decodes every sentence (Livne et al. 2020's convention)")
persist("eval_seed", 0, bounds=(0, 10**6))
seed = c4.number_input("Seed", 0, 10**6, key="eval_seed")
# One progress step (where a stopped session's script ends) scores at most IW_WORK_PER_STEP sentence-samples, so
# a user who leaves a large K behind holds a core for seconds, not minutes; smaller batches change only which
# random numbers each batch draws.
IW_WORK_PER_STEP = 8192
batch_used = min(int(batch), max(1, IW_WORK_PER_STEP // max(1, int(iw))))
if batch_used < batch:
    st.caption(f"Batches of {batch_used} sentences at K = {iw}, so that the work can stop within seconds.")
options = {"iw_samples": int(iw), "batch_size": batch_used, "bleu": bool(bleu), "seed": int(seed)}


done = {}
store = result_store("evaluate")
request = (tuple(m.meta["checkpoint_id"] for m in models), corpus["name"], sentences_key(corpus["sentences"]),
           tuple(sorted(options.items())))
if st.button("Evaluate", type="primary", key="eval_go"):
    st.session_state["_eval_request"] = request
if st.session_state.get("_eval_request") == request:        # asked for exactly these inputs (stored after)
    for m in models:
        def run(m=m):
            bar = st.progress(0.0, text=f"{model_name(m)}: evaluating {len(corpus['sentences'])} sentences…")
            progress = progress_over(bar, lambda i, n: f"{model_name(m)}: batch {i}/{n}"
                                     + (" (BLEU-1 decodes follow, in two passes)" if options["bleu"] else ""))
            res = evaluation_record(m, corpus_from_text(corpus["sentences"], m.vocab, MAX_LINE_TOKENS), corpus["name"],
                                    progress=progress, **options) | {"checkpoint": checkpoint_name(m)}
            bar.empty()
            return res
        res = store.get_or_compute((m.meta["checkpoint_id"],) + request[1:], run)
        done[str(m.path)] = res
else:
    st.info("Press Evaluate to run the estimators on these sentences.")

for m, box, key in side_by_side(models):
    res = done.get(str(m.path))
    if res is None:
        continue
    with box:
        st.caption(f"{res['n_sentences']} sentences, {res['n_tokens']} tokens, {res['seconds']:.1f} s; "
                   f"{100 * res['oov_rate']:.1f}% of the tokens are <unk>")
        show_table(figures.evaluation_table(res), "Evaluation", f"{key}eval_table", hide_index=True)
        st.download_button("Download the JSON", json.dumps(res, indent=1), file_name="evaluation.json",
                           mime="application/json", key=f"{key}eval_json", on_click="ignore")
        with st.expander("Every key of the JSON"):
            st.json(res)
