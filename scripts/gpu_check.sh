#!/usr/bin/env bash
# The one prepared GPU check (issue 16): `make bench-gpu`, or on the lent GPU machine
#   bash scripts/gpu_check.sh
# One process, < 8 minutes on one H100 (a global budget inside, and a hard timeout here).
# Writes $OUT/gpu_check.json (every figure), $OUT/gpu_check.log, and the updated throughput
# profile both in place (src/xtransfer/reporting/throughput_profile.json) and as
# $OUT/throughput_profile.json (only $OUT comes back from the device machine). Without $OUT:
# bench-results/. Extra arguments go to scripts/gpu_check.py (e.g. --device cpu --quick).
#
# The GPU image has torch, transformers and accelerate but not hydra-core/omegaconf (pure
# Python): `bash scripts/gpu_deps.sh` copies them from the local venv into .pydeps/, which the
# device call carries (carry: [".pydeps"]).
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT_DIR=${OUT:-bench-results}
mkdir -p "$OUT_DIR"
export PYTHONPATH="$PWD/src:$PWD/.pydeps${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
"$PY" -c "import hydra, omegaconf" 2>/dev/null \
    || echo "gpu_check: hydra/omegaconf missing (run scripts/gpu_deps.sh, carry .pydeps); the pipeline section will fail" >&2
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv 2>/dev/null | tee "$OUT_DIR/nvidia-smi.txt"
set -o pipefail
timeout -k 10 470 "$PY" scripts/gpu_check.py --output "$OUT_DIR/gpu_check.json" \
    --copy-profile-to "$OUT_DIR/throughput_profile.json" "$@" 2>&1 | tee "$OUT_DIR/gpu_check.log"
