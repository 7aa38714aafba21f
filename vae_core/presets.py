"""Named settings that reproduce each paper's PTB configuration (`python -m vae_core.train --preset NAME`).

A preset is a dict of ModelConfig / TrainConfig fields. Precedence: dataclass defaults < preset < --config
file < explicit flags, so `--preset kruengkrai2019-avg --avg-samples 10` is the L = 10 model.
Steps are counted in batches: one PTB epoch is 42068 / 32 = 1315 steps at batch 32, 2104 at batch 20.
Where a paper is silent its authors' released code decides, and the comment names the file; where neither
says, the comment marks the value as ours.
"""
from __future__ import annotations

PTB_STEPS_PER_EPOCH_32 = 1315

# Kruengkrai 2019, Table 1 (PTB), Sec. 4 (Eq. 5) and Sec. 5.1. Its code is not public; its training setup is,
# word for word, that of Kim et al. 2018 (whose Yahoo configuration it declares identical): their released
# code (harvardnlp/sa-vae, models_text.py `RNNVAE`, train_text.py) has h_0 = Linear(z) with c_0 = 0, z
# concatenated to every decoder input, U(-0.1, 0.1) init, SGD lr 1 with clipping at 5, and its 0.5 dropout on
# the *decoder's* word vectors (the input-to-hidden layer) and before its output layer (hidden-to-softmax);
# the encoder has no dropout. So the paper's "dropout on the input-to-hidden layers" is the decoder's. (Our
# first k19 runs also dropped the encoder's words, the `*-encdrop` rows of docs/results.md; it is not what kept
# their KL below the paper's: with the fix, validation KL after 10 epochs is the same 0.8 nats.)
_KRUENGKRAI = {
    "emb_dim": 100, "hidden_dim": 400, "latent_dim": 32,
    "z_concat": True, "z_to_init": True, "init_state": "linear",          # h_0 = M2 z, c_0 = 0; z at every input
    "emb_dropout": 0.5, "out_dropout": 0.5, "encoder_emb_dropout": False,  # dropout in the decoder only
    "init_uniform": 0.1, "optimizer": "sgd", "lr": 1.0,
    "batch_size": 32, "clip": 5.0, "lr_decay": 0.5, "lr_patience": 0, "epochs": 30,
    "early_stop": 3,                                  # "until the validation perplexity has not improved for 3 times"
    "kl_anneal": "linear", "kl_anneal_steps": 10 * PTB_STEPS_PER_EPOCH_32, "word_keep": 1.0,
}

# Livne et al. 2020, Sec. 4.1 (PTB): 1-layer GRU, 512 hidden, 300 embeddings, z in {16, 128, 512}, 50% embedding
# dropout, Adam 1e-3, batch 20, lr x 0.25 after 2 epochs without improvement, reversed encoder input; the code's
# rule for that (train.py, `scheduler_counter`) drops the lr on the third miss since the last drop, misses in a
# row or not (lr_schedule "livne"; the zoo's sMIM runs used ReduceLROnPlateau(patience=2) before 2026-12-07). From
# their released code (seraphlabs-ca/SentenceMIM-demo, model.py / train.py) where the paper is silent: z mapped
# linearly to h_0 (`latent2hidden`) *and* concatenated to every decoder input, one embedding shared by encoder
# and decoder, embedding dropout in the decoder only, gradient norm clipped at 0.25, min_logv = -10 (the floor
# on log sigma^2 that keeps the A-MIM loss bounded), an encoder that reads the decoder's input sequence
# `<sos> w_1 .. w_n` (reversed: it ends on `<sos>`), not `w_1 .. w_n <eos>` (encoder_bos), and batches of
# randomly drawn sentences (their DataLoader shuffles; bucket False). The last two matter together: at z = 512
# one PTB epoch reached validation reconstruction 102.8 / 103.3 (seeds 0, 1) with both, as the authors' code
# (102.9 / 103.0), but 106-113 with either alone or neither (docs/runs-ledger.md, 2026-12-04 16:05). Epoch
# budget and early stop are ours (their code runs up to 200 epochs and stops when the learning rate falls
# below 1e-8).
_LIVNE = {
    "rnn": "gru", "encoder_reverse": True, "encoder_bos": True, "z_concat": True, "z_to_init": True,
    "init_state": "linear",
    "tie_embeddings": True, "encoder_emb_dropout": False, "emb_dim": 300, "hidden_dim": 512, "latent_dim": 512,
    "emb_dropout": 0.5, "optimizer": "adam", "lr": 1e-3, "batch_size": 20, "clip": 0.25,
    "lr_decay": 0.25, "lr_patience": 2, "lr_schedule": "livne", "epochs": 40, "early_stop": 6, "logvar_min": -10.0,
    "bucket": False,
}

# The standard setting of He et al. 2019 on PTB, which the posterior-collapse remedies compare on (Li et al. 2020,
# Optimus, App. Table 8). From Li et al. 2019's code (bohanli/vae-pretraining-encoder: config/config_ptb.py and
# text_anneal_fb.py; the same training loop as He et al.'s jxhe/vae-lagging-encoder text.py): 1-layer LSTM
# 256/256, z = 32, 0.5 dropout on the decoder's word vectors and before its output layer (none in the encoder),
# z to c_0 with h_0 = tanh(c_0) and to every decoder input, no biases on those Linears nor on the output layer,
# U(-0.01, 0.01) init with U(-0.1, 0.1) embeddings, SGD lr 1 clipped at 5, batch 32, the lr halved after 5
# epochs worse than the reference once 15 are done, with the best model loaded back, and at most 5 halvings of
# 100 epochs; KL weight linear from 0.1 to 1 over 10 epochs (their anneal_rate = 0.9 / (10 * 42068 / 32) a
# step, so anneal_steps = 10 * 1315 / 0.9 in our convention, `schedules.kl_weight`).
_HE = {
    "emb_dim": 256, "hidden_dim": 256, "latent_dim": 32, "rnn": "lstm", "z_to_init": True, "z_concat": True,
    "init_state": "tanh", "emb_dropout": 0.5, "out_dropout": 0.5, "encoder_emb_dropout": False, "linear_bias": False,
    "init_uniform": 0.01, "init_emb_uniform": 0.1, "optimizer": "sgd", "lr": 1.0, "clip": 5.0, "batch_size": 32,
    "lr_schedule": "he2019", "lr_decay": 0.5, "lr_patience": 5, "lr_decay_start": 15, "max_lr_decays": 5,
    "epochs": 100, "early_stop": 0, "kl_anneal": "linear", "kl_start": 0.1,
    "kl_anneal_steps": round(10 * PTB_STEPS_PER_EPOCH_32 / 0.9),
}

# Xu & Durrett 2018's PTB run (jiacheng-xu/vmf_vae_nlp: the base command of NVLL/util/hyp_tune_nvrnn.py with
# the setting confirmed in their issue #7): 1-layer LSTM 400 with 100-d embeddings shared by encoder and
# decoder, z = 50, vMF kappa = 35; the encoder reads `<bos> w_1 .. w_n` (nvrnn.py: it reads the decoder's
# input embeddings); z to h_0 and c_0 by two Linears (`convert_z_to_hidden`) and to every decoder input
# (--input_z); 0.5 dropout on the embeddings and before the output layer; PyTorch's default init; SGD lr 10,
# clip 0.25, batch 20 of equal-length sentences; the lr divided by 1.2 after every validation miss and
# training stopped after 15 misses in a row, 100 epochs (framework/train_eval_nvrnn.py); KL weight 1 from
# the start (--anneal 0). Where we differ: their encoder summary is [h_n; c_n] through two Linears, ours
# the last h; their decoder reads the mean of 3 vMF draws (--nsample 3), which is no draw from q (it lies
# inside the sphere, where the uniform prior has no density), ours one draw, so that the objective is the
# ELBO; their 1e-4 (|mu_raw| - 1)^2 term only keeps the head's raw norm near 1 and is left out; their KL
# is Guu et al.'s approximation (7.63 nats), ours the exact 7.74 (`vae_core.posterior`).
_XU = {"model": "vae", "emb_dim": 100, "hidden_dim": 400, "latent_dim": 50, "rnn": "lstm", "tie_embeddings": True,
       "encoder_bos": True, "encoder_emb_dropout": True, "emb_dropout": 0.5, "out_dropout": 0.5, "z_to_init": True,
       "init_state": "linear-hc", "z_concat": True, "optimizer": "sgd", "lr": 10.0, "clip": 0.25, "batch_size": 20,
       "lr_schedule": "plateau", "lr_decay": 1 / 1.2, "lr_patience": 0, "early_stop": 15, "epochs": 100,
       "kl_anneal": "none"}

PRESETS: dict[str, dict] = {
    # Bowman et al. 2016, Table 11 (PTB, standard setting): VAE 353 / 191 / z 13, word keep rate 0.62, z through
    # the decoder's initial state only (Fig. 1); sigmoid KL annealing (Sec. 3.1, Fig. 2). Adam 1e-3, the
    # annealing midpoint and slope, and the budget are ours (the paper gives none; its code is not public).
    # Adam, not the LM's SGD: with SGD the posterior collapsed (KL 0.00 by epoch 5, run bowman-vae-sgd in
    # docs/runs-ledger.md), and the paper kept only VAEs "which encode a non-trivial amount" in z (Sec. 4).
    "bowman2016": {"model": "vae", "emb_dim": 353, "hidden_dim": 191, "latent_dim": 13, "word_keep": 0.62,
                   "z_to_init": True, "z_concat": False, "kl_anneal": "logistic", "kl_anneal_steps": 2500,
                   "kl_logistic_k": 0.0025, "epochs": 30, "early_stop": 3},
    # Bowman et al. 2016, Table 11: the RNNLM baseline, 464 / 337, word keep rate 0.66. The optimiser is ours
    # (the paper gives none): Kruengkrai's SGD protocol (lr 1 halved on each validation miss, stop after 3, clip
    # 5, U(-0.1, 0.1) init), which reproduces Table 2's RNNLM per token (PPL 113.2 against 116: run
    # bowman-lm-sgd, docs/results.md), where Adam 1e-3 gave 126.3 (run bowman-lm).
    "bowman2016-lm": {"model": "lm", "emb_dim": 464, "hidden_dim": 337, "word_keep": 0.66, "epochs": 30,
                      "early_stop": 3, "optimizer": "sgd", "lr": 1.0, "lr_decay": 0.5, "lr_patience": 0,
                      "clip": 5.0, "init_uniform": 0.1},
    "lstm-lm": {"model": "lm", "emb_dim": 256, "hidden_dim": 256, "epochs": 10},
    "kruengkrai2019-lm": {**_KRUENGKRAI, "model": "lm"},
    "kruengkrai2019-vae": {**_KRUENGKRAI, "model": "vae"},
    # one input-dropout mask per decoder run (avg_shared_dropout False): a shared mask regularised training but
    # left the validation KL as it was (run k19-avg5-shared, docs/runs-ledger.md 2026-12-04)
    "kruengkrai2019-avg": {**_KRUENGKRAI, "model": "vae-avg", "avg_samples": 5},
    # Vani & Birodkar, Sec. 4-5: bi-GRU encoder with attention summary, highway on z concatenated to the decoder
    # inputs, shared embeddings, logistic KL annealing, lambda 1 (MI-1; --mi-weight 5 / 10 for MI-5 / MI-10).
    # Word-dropout annealing (rate 1.0 at step 2000 to 0.0 at 20000) is their separate baseline: add
    # --word-dropout-anneal linear (and --mi-weight 0 for the plain VAE).
    "vani-mi": {"model": "mi-vae", "rnn": "gru", "encoder_bidirectional": True, "encoder_summary": "attention",
                "z_highway": True, "z_concat": True, "z_to_init": False, "tie_embeddings": True,
                "emb_dim": 256, "hidden_dim": 256, "latent_dim": 32, "kl_anneal": "logistic",
                "word_dropout_start": 2000, "word_dropout_end": 20000, "mi_weight": 1.0, "epochs": 20,
                "early_stop": 3},
    "livne2020-smim": {**_LIVNE, "model": "smim", "kl_anneal": "none"},
    # He et al. 2019's setting (above): the LSTM-LM and the VAE with monotonic KL annealing (Optimus Table 8's
    # baselines), and aggressive inference-network training (He et al. 2019, Algorithm 1; text.py --aggressive 1)
    # Xu & Durrett 2018, Table 3 (PTB): the vMF VAE and their Gaussian VAE of the same size (--dist nor), above.
    "xu2018-vmf": {**_XU, "posterior": "vmf", "vmf_kappa": 35.0},
    "xu2018-gauss": {**_XU},
    "he2019-lm": {**_HE, "model": "lm"},
    "he2019-vae": {**_HE, "model": "vae"},
    "he2019-aggressive": {**_HE, "model": "vae", "aggressive": True},
    # Li et al. 2019, autoencoder pre-training then free bits (Optimus Table 8, "AE-BP"; bohanli/vae-pretraining-
    # encoder): stage 1, text_beta.py --beta 0, He et al.'s setting with the KL weight 0; stage 2, text_anneal_fb.py
    # --reset_dec --kl_start 0 --warm_up 10 --fb 2 --target_kl 5: the stage-1 encoder, a fresh decoder, the KL
    # weight from 0 over 10 epochs, and each sentence's KL per dimension free below 5 / 32 nats
    # (`--init-from STAGE1/best`).
    "li2019-ae": {**_HE, "model": "vae", "kl_anneal": "constant", "kl_start": 0.0},
    "li2019-fb": {**_HE, "model": "vae", "kl_start": 0.0, "kl_anneal_steps": 10 * PTB_STEPS_PER_EPOCH_32,
                  "free_bits": 5 / 32, "free_bits_mode": "example", "reset_decoder": True},
    # BN-VAE (Zhu et al. 2020; valdersoul/bn-vae, text_anneal_fb.py on Li et al.'s code): He et al.'s setting with
    # mu batch-normalised at a fixed scale gamma = 0.5 (their README's --gamma 0.5), KL weight from 0 over 10
    # epochs (--kl_start 0 --warm_up 10), no free bits (--fb 0). They give no PTB figure; the claim is the KL
    # floor n gamma^2 / 2 = 4 nats and no collapsed unit.
    "zhu2020-bnvae": {**_HE, "model": "vae", "mu_batchnorm_gamma": 0.5, "kl_start": 0.0,
                      "kl_anneal_steps": 10 * PTB_STEPS_PER_EPOCH_32},
    # Fu et al. 2019's PTB run (haofuml/cyclical_annealing, language_model/train_text_cyc_ptb.py, Kim et al.'s
    # sa-vae code underneath): LSTM 256/256/32, h_0 = Linear(z) with c_0 = 0 and z at every decoder input, 0.5
    # dropout on the decoder's words and before its output, U(-0.1, 0.1) init, Adam 1e-3 with a cosine lr that
    # restarts every 10 epochs, clip 5, 40 epochs; the KL weight from 0.1 up by 1 / (5 epochs) a step, back to
    # 0.1 every 10 epochs (4 cycles). The best epoch on validation is kept, as their checkpoint is.
    "fu2019-cyclical": {"model": "vae", "emb_dim": 256, "hidden_dim": 256, "latent_dim": 32, "rnn": "lstm",
                        "z_to_init": True, "z_concat": True, "init_state": "linear", "emb_dropout": 0.5,
                        "out_dropout": 0.5, "encoder_emb_dropout": False, "init_uniform": 0.1, "optimizer": "adam",
                        "lr": 1e-3, "clip": 5.0, "batch_size": 32, "epochs": 40, "early_stop": 0,
                        "lr_schedule": "cosine-restarts", "lr_cycle_epochs": 10, "kl_anneal": "cyclical",
                        "kl_start": 0.1, "kl_anneal_steps": 5 * PTB_STEPS_PER_EPOCH_32,
                        "kl_cycle_steps": 10 * PTB_STEPS_PER_EPOCH_32},
    # The sVAE rows of Livne et al. 2020, Table 2: the same network trained with the ELBO. On PTB "annealing
    # produced over-fitting", so no KL annealing beyond the code's logistic default with x0 = 0 (train.py:
    # k = 0.0025, weight 0.5 at step 0 and above 0.99 by step 2000; their README trains x0 in {0, 10000}).
    "livne2020-svae": {**_LIVNE, "model": "vae", "latent_dim": 16, "kl_anneal": "logistic", "kl_anneal_steps": 0,
                       "kl_logistic_k": 0.0025},
    # Krishnan, Liang & Hoffman 2018 as their code runs it (rahulk90/vae_sparse: optvaeutils/parse_args.py and
    # expt/setupExperiments.py): MLP encoder with 2 hidden layers on L2-normalised TF-IDF, decoder with 2 hidden
    # layers (-pl 2), 400 units, z = 100, ReLU, U(-0.1, 0.1) init, Adam lr 8e-4, batch 500, no KL annealing,
    # secondary optimisation with 100 steps at lr 0.01 (-otype finopt -ns 100). Epochs and early stop are ours.
    "krishnan2018-bow": {"model": "bow", "bow_features": "tfidf", "hidden_dim": 400, "latent_dim": 100,
                         "bow_decoder_layers": 2, "init_uniform": 0.1, "optimizer": "adam", "lr": 8e-4,
                         "batch_size": 500, "kl_anneal": "none", "refine_steps": 100, "refine_lr": 0.01,
                         "epochs": 50, "early_stop": 5},
}


def apply_preset(name: str) -> dict:
    """The settings of preset `name` (a copy). Raises ValueError naming the known presets."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; known: {sorted(PRESETS)}")
    return dict(PRESETS[name])
