#!/usr/bin/env bash
# Trainer throughput on one H100 in under 8 minutes: the 2 B and 4 B proxies at T=4096 on packed
# rows, flex attention vs SDPA, grouped-GEMM experts, chunked cross-entropy. Per row: tokens/s,
# model TFLOP/s and MFU (FLOPs of MLA + active experts + head over the real document-mask pairs, no
# recomputation counted), peak memory, share of device time in the expert grouped GEMMs
# (torch.profiler). Also writes the axk1-full memory plan for 512 GPUs.
#
#   bash benchmarks/gpu_trainer.sh [OUT_DIR]          # GPU: results in OUT_DIR (default below)
#   bash benchmarks/gpu_trainer.sh --dry-run [OUT_DIR] # CPU, tiny model: checks the script runs
set -euo pipefail
cd "$(dirname "$0")/.."
DRY=0
if [[ "${1:-}" == "--dry-run" ]]; then DRY=1; shift; fi
OUT=${1:-benchmarks/results/gpu_trainer}
PY=${PYTHON:-.venv/bin/python}
[[ -x "$PY" ]] || PY=python
mkdir -p "$OUT"
# Flex attention without max-autotune: compiles in seconds instead of minutes.
export AXK1_FLEX_COMPILE_MODE=${AXK1_FLEX_COMPILE_MODE:-default}
if [[ $DRY == 1 ]]; then
    "$PY" benchmarks/trainer.py --dry-run --out "$OUT" 2>&1 | tee "$OUT/dry_run.log"
    exit 0
fi
"$PY" -c "import torch; assert torch.cuda.is_available(), 'no GPU: use --dry-run'; print(torch.cuda.get_device_name())" \
    | tee "$OUT/device.txt"
# Each preset gets a hard limit so the whole script stays under 8 minutes.
timeout 210 "$PY" benchmarks/trainer.py --preset axk1-2b --seq-len 4096 --micro-batch 2 --steps 6 \
    --attn flex,sdpa --no-peer --out "$OUT" 2>&1 | tee "$OUT/axk1-2b.log" || echo "axk1-2b: exit $?" | tee -a "$OUT/failures.txt"
timeout 210 "$PY" benchmarks/trainer.py --preset axk1-4b --seq-len 4096 --micro-batch 1 --steps 6 \
    --attn flex,sdpa --no-peer --out "$OUT" 2>&1 | tee "$OUT/axk1-4b.log" || echo "axk1-4b: exit $?" | tee -a "$OUT/failures.txt"
"$PY" -m trainer.params --plan 512 > "$OUT/memory_plan_axk1-full_512.txt"
echo "results in $OUT"
