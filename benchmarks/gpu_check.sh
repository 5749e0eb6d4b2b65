#!/usr/bin/env bash
# The checks to run when a CUDA GPU is at hand, in one go (they fit in about ten minutes on an H100):
# the test suite on the GPU's machine, the default Gatys command as a user types it (start-up
# included), Gatys per evaluation against the bare network step, the coarse-to-fine default at 512,
# 1024 and 2048 px, and the one-pass styles' speed. Every log goes to $OUT (default ./gpu-out).
#
#     bash benchmarks/gpu_check.sh
#
# A machine without the project's other dependencies: download their wheels here first into .whl/
# (platformdirs, filelock, and av plus opencv-python-headless for the video tests, which are skipped
# without them) and carry that folder; this script installs whatever .whl/ holds before it starts.
set -o pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
if compgen -G ".whl/*.whl" > /dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH}
PY=${PY:-python3}
DEVICE=${DEVICE:-cuda}  # DEVICE=cpu tries the script out elsewhere (slowly)

step() { echo; echo "== $*"; }

step "the machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee "$OUT/gpu.txt"
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" 2>&1 | tee -a "$OUT/gpu.txt"

step "tests"
timeout 240 $PY -m pytest -q -x -p no:cacheprovider 2>&1 | tee "$OUT/tests.log" | tail -15

step "the default command at 512 px, start-up included (issue 11: under 8 s on an H100)"
TIMEFORMAT="%R s wall, start-up included"
for run in 1 2; do
    { time $PY -m paintcli stylize docs/examples/tubingen.jpg --style docs/examples/starry_night.jpg --device "$DEVICE" \
        --json --overwrite -o "$OUT/default.png"; } 2>&1 | tee -a "$OUT/default.log" | tail -2
done

step "Gatys per evaluation against the bare network step (issue 11: within 1.3x)"
timeout 120 $PY benchmarks/stylize.py --sizes 512,1024 --device "$DEVICE" 2>&1 | tee "$OUT/speed.log" | tail -12

step "the default at 512, 1024 and 2048 px: time and style distance (issue 11: within 10% of 512 px)"
timeout 240 $PY benchmarks/stylize.py --quality --runs new --sizes 512,1024,2048 --device "$DEVICE" --save "$OUT/sizes" 2>&1 \
    | tee "$OUT/quality.log" | tail -12

step "one-pass styles on the GPU"
timeout 90 $PY benchmarks/stylize.py --one-pass --one-pass-sizes 512,1024 --device "$DEVICE" 2>&1 | tee "$OUT/one_pass.log" | tail -6
