#!/usr/bin/env bash
# Seconds per BERT pretraining step at batch 32 x 128 (20 masked positions per row, vocab
# 30,522), tiny and mini, in one session: kiln with gonum's pure-Go BLAS (the default build),
# kiln with OpenBLAS (-tags openblas; needs apt-get install libopenblas-dev), and PyTorch CPU
# (bench/torch_step.py: Debian's python3-torch, 2 threads, OPENBLAS_CORETYPE=SkylakeX), with
# the ratios kiln/PyTorch (target, issue 5: <= 2 with OpenBLAS) and kiln's allocations per step.
# Each figure is the median of STEPS timed steps after WARMUP untimed ones. PyTorch's OpenMP
# threads spin while descheduled, so on a loaded machine its wall time balloons: the load is
# printed first, and the CPU seconds per step are shown beside the wall seconds.
# Usage: bench/train_step.sh   (env: STEPS=10 WARMUP=3 PRESETS=tiny,mini PYTHON=/usr/bin/python3)
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${STEPS:-10}
warmup=${WARMUP:-3}
presets=${PRESETS:-tiny,mini}
py=${PYTHON:-/usr/bin/python3}
args=(-presets "$presets" -batch 32 -seq 128 -masked 20 -vocab 30522 -warmup "$warmup" -steps "$steps")

echo "# machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD 2>/dev/null || echo no-git), $(go version | cut -d' ' -f3)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/kiln-gonum" ./bench/train_step
openblas=yes
if ! go build -tags openblas -o "$tmp/kiln-openblas" ./bench/train_step 2>"$tmp/openblas.err"; then
  echo "# kiln OpenBLAS build failed (apt-get install libopenblas-dev?): $(head -c 300 "$tmp/openblas.err")"
  openblas=no
fi

echo "# PyTorch: OPENBLAS_CORETYPE=SkylakeX $py bench/torch_step.py --threads 2"
OPENBLAS_CORETYPE=SkylakeX "$py" bench/torch_step.py --presets "$presets" --batch 32 --seq 128 --masked 20 \
  --vocab 30522 --warmup "$warmup" --steps "$steps" --threads 2 | tee "$tmp/torch.jsonl"
echo "# load $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$openblas" = yes ]; then
  echo "# kiln OpenBLAS: go run -tags openblas ./bench/train_step"
  "$tmp/kiln-openblas" "${args[@]}" | tee "$tmp/kiln-openblas.jsonl"
  echo "# load $(cut -d' ' -f1-3 /proc/loadavg)"
fi
echo "# kiln pure Go: go run ./bench/train_step"
"$tmp/kiln-gonum" "${args[@]}" | tee "$tmp/kiln-gonum.jsonl"
echo "# load $(cut -d' ' -f1-3 /proc/loadavg)"

"$py" - "$tmp" "$presets" <<'PY'
import json, os, sys
tmp = sys.argv[1]
def load(name):
    p = os.path.join(tmp, name + ".jsonl")
    if not os.path.exists(p):
        return {}
    return {r["preset"]: r for r in map(json.loads, open(p))}
torch, ob, go = load("torch"), load("kiln-openblas"), load("kiln-gonum")
print()
print("| model | PyTorch s/step (cpu s) | kiln OpenBLAS s/step (cpu s) | ratio | kiln pure Go s/step (cpu s) | ratio | kiln alloc/step (OpenBLAS; pure Go) |")
print("|---|---|---|---|---|---|---|")
def cell(r):
    return "%.3f (%.2f)" % (r["step_seconds_median"], r["cpu_seconds_median"]) if r else "-"
def ratio(r, t):
    return "%.2fx" % (r["step_seconds_median"] / t["step_seconds_median"]) if r and t else "-"
def alloc(r):
    return "%.2f MB, %d objects" % (r["alloc_bytes_per_step"] / 1e6, r["allocs_per_step"]) if r else "-"
for p in sys.argv[2].split(","):
    t, o, g = torch.get(p), ob.get(p), go.get(p)
    print("| %s | %s | %s | %s | %s | %s | %s; %s |" % (p, cell(t), cell(o), ratio(o, t), cell(g), ratio(g, t), alloc(o), alloc(g)))
PY
