"""One figure of every kind the views show, built from the VAE demo with small sizes: for the export test
(every figure renders at one and two columns) and for looking at the paper exports by eye:

    python -m tests.gallery OUT_DIR        # writes OUT_DIR/NAME-{one,two}-column.{pdf,png}
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from app import figures

ROOT = Path(__file__).resolve().parents[1]


def every_figure() -> dict:
    from vae_core import analysis, diagnostics, jacobian, latent
    from vae_core.checkpoint import load_checkpoint
    from vae_core.data import Corpus, split_path
    from vae_core.projection import project
    ck = load_checkpoint(ROOT / "checkpoints" / "bowman-vae")
    m, v = ck.model, ck.vocab
    test = Corpus.from_file(split_path(ROOT.parent / "shared" / "data" / "ptb", "test"), v)
    sents = [" ".join(s) for s in test.sentences[:200]]
    post = latent.posterior_of_corpus(m, v, sents)
    stats = latent.aggregate_posterior(torch.from_numpy(post["mu"]), torch.from_numpy(post["logvar"]))
    dims = torch.argsort(stats["kl"], descending=True)[:4].tolist()
    coords, _ = project(post["mu"], "pca")
    ov = analysis.overlap(m, v, sents[:12])
    hom = latent.homotopy(m, v, "the company said it expects a loss", "stock prices fell sharply", steps=7)
    history = dict(ck.history)
    history["epochs"] = [{**e, "val_kl_per_dim": [0.1 * (i % 5) * e["epoch"] for i in range(32)]} for e in history["epochs"]]
    uses = diagnostics.decoder_uses_z(m, Corpus(test.sentences[:40], v), n=40)
    J = jacobian.expected_jacobian(m, 8)
    return {
        "posterior": figures.posterior_figure(latent.encode_sentences(m, v, [sents[0]]).per_dimension(0)),
        "perturbation": figures.perturbation_figure(analysis.perturb(m, v, sents[0], (0, 1, 2, 5, 10), 4)),
        "projection": figures.projection_figure(coords, sents, post["length"].tolist(), "length", [
            {"name": "typed", "xy": coords[:2], "text": sents[:2]},
            {"name": "homotopy", "xy": coords[2:9], "text": hom["sentences"], "path": True}]),
        "overlap": figures.overlap_figure(ov["loglik"], "log p(x_i | z_j)", "nats per sentence", ov["auroc_loglik"]),
        "overlap-compare": figures.overlap_compare_figure(
            [{"name": "bowman-vae", "matrix": ov["loglik"], "auroc": ov["auroc_loglik"]},
             {"name": "bowman-vae again", "matrix": ov["logq"], "auroc": ov["auroc_logq"]}], "nats"),
        "spectrum": figures.spectrum_figure(jacobian.singular_values(J).tolist(), 9, 5),
        "training-curves": figures.training_curves_figure(ck.history),
        "traversal": figures.traversal_figure(latent.traverse(m, v, stats, dims, sents[0], steps=7)),
        "kl-history": figures.kl_history_figure(history),
        "active-units-history": figures.active_units_history_figure(ck.history),
        "decoder-use": figures.decoder_use_figure(uses),
        "kl-per-dimension": figures.kl_per_dimension_figure(stats["kl"].tolist()),
        "rate-distortion": figures.rate_distortion_figure(figures.rate_distortion_points(
            json.loads((ROOT / "docs" / "results.json").read_text()),
            json.loads((ROOT / "checkpoints" / "zoo.json").read_text()))),
    }


if __name__ == "__main__":
    from app import export
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/gallery")
    out.mkdir(parents=True, exist_ok=True)
    for name, fig in every_figure().items():
        for layout in export.LAYOUTS:
            for fmt in ("pdf", "png"):
                (out / f"{name}-{layout}.{fmt}").write_bytes(export.figure_bytes(fig, fmt, layout))
        print(name)
