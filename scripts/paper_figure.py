"""Write the README's exported figure: overlap histograms of log p(x_i | z_j) for two zoo models side by
side (Livne et al. 2020, Fig. 3), in PNG, SVG and PDF (paper style, two-column) plus its data as CSV.

    python scripts/paper_figure.py [--n 100] [--out docs/figures]

Uses the same functions as the app's Export buttons (app.export) and the Overlap view (vae_core.analysis).
Needs the system Chromium for the static export.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import export, figures  # noqa: E402
from vae_core.analysis import overlap  # noqa: E402
from vae_core.checkpoint import load_checkpoint  # noqa: E402
from vae_core.data import read_corpus, split_path  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=100, help="sentences (the first N of PTB test)")
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "ptb"))
    p.add_argument("--out", default=str(ROOT / "docs" / "figures"))
    args = p.parse_args()
    sents = [" ".join(s) for s in read_corpus(split_path(args.data, "test"))[0][: args.n]]
    panels = []
    for name, d in (("VAE (bowman-vae)", "bowman-vae"), ("sentenceMIM (smim128-v2)", "smim128-v2")):
        ck = load_checkpoint(ROOT / "checkpoints" / d)
        res = overlap(ck.model, ck.vocab, sents, seed=0)
        panels.append({"name": name, "matrix": res["loglik"].numpy(), "auroc": res["auroc_loglik"]})
        print(f"{name}: AUROC log p(x_i|z_j) {res['auroc_loglik']:.3f}")
    fig = figures.overlap_compare_figure(panels, "log p(x_i | z_j), nats per sentence")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"overlap-vae-vs-smim-n{args.n}"
    for fmt in export.FORMATS:
        (out / f"{stem}.{fmt}").write_bytes(export.figure_bytes(fig, fmt, "two-column", aspect=0.4))
    (out / f"{stem}.csv").write_bytes(export.csv_bytes(export.figure_data(fig)))
    print(f"wrote {out}/{stem}.{{png,svg,pdf,csv}}")


if __name__ == "__main__":
    main()
