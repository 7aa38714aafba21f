"""Open the explorer on a checkpoint and, optionally, a corpus of your own:

    python -m app CHECKPOINT [--corpus FILE] [--host 127.0.0.1] [--port 8501]

CHECKPOINT is a checkpoint directory (safetensors + JSON, as `python -m vae_core.train` writes); FILE a text
file of one sentence a line, read under the CLI's rules (UTF-8, no control characters, at most 1,000 tokens a
line; a bad line is named with its number before anything starts). The corpus map opens on FILE, and every
view's corpus picker offers it. Both are checked before the server starts. The server listens on loopback
(127.0.0.1) unless --host says otherwise (0.0.0.0: every interface, for a shared machine).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m app", description="Open the sentence-VAE explorer.")
    p.add_argument("checkpoint", help="checkpoint directory")
    p.add_argument("--corpus", help="text file, one sentence a line: the corpus map's default corpus")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    p.add_argument("--port", type=int, default=8501)
    args = p.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from app.roots import CORPUS_ENV
    from vae_core.checkpoint import CheckpointError, load_checkpoint
    from vae_core.data import CorpusError, read_corpus
    ckpt = Path(args.checkpoint).resolve()
    try:
        load_checkpoint(ckpt)
    except CheckpointError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    env = dict(os.environ, VAE_APP_CHECKPOINT=str(ckpt))
    if args.corpus:
        corpus = Path(args.corpus).resolve()
        try:
            sentences, _ = read_corpus(corpus)
        except (CorpusError, OSError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        if not sentences:
            print(f"error: {args.corpus}: no sentence in it", file=sys.stderr)
            return 2
        env[CORPUS_ENV] = str(corpus)
        print(f"{len(sentences):,} sentences from {corpus.name}")
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app" / "main.py"), "--server.address", args.host,
           "--server.port", str(args.port), "--browser.gatherUsageStats", "false"]
    print(f"serving on http://{args.host}:{args.port}")
    return subprocess.call(cmd, env=env, cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main())
