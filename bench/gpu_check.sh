#!/bin/bash
# CUDA checks for a machine with a GPU, then (optionally) reproduction runs trained there in float32.
#
#     bash bench/gpu_check.sh                          # smoke + the vae_core tests with CUDA visible
#     MIN=6 bash bench/gpu_check.sh bow-refine smim512 # ... and train these runs (6 min each, side by side), evaluate
#
# Smoke: a tiny VAE trained 2 epochs on CUDA with bf16 autocast, resumed to 3, evaluated on CUDA and on the
# CPU (the GPU checkpoint must load there; the two NLLs differ only by the posterior samples' RNG). Tests:
# everything but the app's (the GPU image lacks streamlit, plotly and nbmake, hence `-o addopts=`).
# Runs go through `bench/reproduce.py train NAME --device cuda` (float32 unless the run's spec names --amp)
# and are scored with `evaluate --unfinished` on CUDA. Outputs go to $OUT (default /tmp/gpu-check).
# Its steps ran on an H200 on 2026-12-04 (one session script; docs/runs-ledger.md): the smoke and the two runs;
# the tests did not start there (pytest.ini's --nbmake), which `-o addopts=` now avoids (checked on the
# CPU, DEVICE=cpu).
# Environment: PY (python), DATA (PTB directory, default ../shared/data/ptb), RUNS (default ../runs),
# TINY (the smoke's data: default DATA's first 400/80/80 sentences), MIN (minutes a run), EVAL_TIMEOUT (s).
set -u
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
PY=${PY:-python3}; DATA=${DATA:-../shared/data/ptb}; RUNS=${RUNS:-../runs}; OUT=${OUT:-/tmp/gpu-check}
MIN=${MIN:-6}; EVAL_TIMEOUT=${EVAL_TIMEOUT:-110}; DEVICE=${DEVICE:-cuda}   # DEVICE=cpu: a dry run here
mkdir -p "$OUT" "$RUNS"
T0=$(date +%s); el() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | head -1
$PY -c "import torch, sys; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), sys.version.split()[0])"

for n in "$@"; do           # runs first, in the background, so the checks below overlap with them
  $PY bench/reproduce.py train "$n" --device "$DEVICE" --threads 2 --max-minutes "$MIN" --runs "$RUNS" \
    --data "$DATA" > "$OUT/train-$n.log" 2>&1 &
done

el "smoke"
TINY=${TINY:-$OUT/tiny}; S=$OUT/smoke
if [ ! -f "$TINY/ptb.test.txt" ]; then
  mkdir -p "$TINY"
  for s in train:400 valid:80 test:80; do head -n "${s#*:}" "$DATA/ptb.${s%:*}.txt" > "$TINY/ptb.${s%:*}.txt"; done
fi
rm -rf "$S"
$PY -m vae_core.train --data "$TINY" --out "$S" --model vae --emb-dim 32 --hidden-dim 32 --latent-dim 8 \
  --batch-size 16 --epochs 2 --device "$DEVICE" --amp bf16 --threads 1 > "$OUT/smoke.log" 2>&1 && \
$PY -m vae_core.train --out "$S" --resume --epochs 3 --device "$DEVICE" --threads 1 >> "$OUT/smoke.log" 2>&1
echo "smoke train+resume rc $?"
EV=(-m vae_core.evaluate "$S/best" --data "$TINY" --iw-samples 5 --json)
$PY "${EV[@]}" --device "$DEVICE" 2>>"$OUT/smoke.log" | tail -1 > "$OUT/smoke-eval-gpu.json"
CUDA_VISIBLE_DEVICES= $PY "${EV[@]}" --device cpu 2>>"$OUT/smoke.log" | tail -1 > "$OUT/smoke-eval-cpu.json"
$PY -c "
import json; g, c = (json.load(open('$OUT/smoke-eval-' + d + '.json')) for d in ('gpu', 'cpu'))
print('smoke: NLL gpu', round(g['nll'], 3), 'cpu', round(c['nll'], 3), '| KL', round(g['kl'], 4), round(c['kl'], 4))" \
  || tail -5 "$OUT/smoke.log"

el "vae_core tests with CUDA visible"
# the zoo's 105 MB of weights do not fit the device tool's 64 MiB tree; without them test_zoo.py cannot run
ZOO_TESTS=(); [ -f checkpoints/smim128/weights.safetensors ] || ZOO_TESTS=(--ignore tests/test_zoo.py)
timeout 300 $PY -m pytest -q -p no:cacheprovider -o addopts= tests --ignore tests/test_app.py \
  --ignore tests/test_browser.py --ignore tests/test_downstream.py --ignore tests/test_export.py "${ZOO_TESTS[@]}" \
  > "$OUT/tests.log" 2>&1; echo "tests rc $?"; tail -3 "$OUT/tests.log"

wait
for n in "$@"; do
  el "evaluate $n"
  timeout "$EVAL_TIMEOUT" $PY bench/reproduce.py evaluate "$n" --unfinished --threads 4 --runs "$RUNS" \
    --data "$DATA" > "$OUT/eval-$n.log" 2>&1; echo "evaluate $n rc $?"
done
el "done"
