#!/usr/bin/env bash
# Benchmarks kiln's tokenizer against Hugging Face tokenizers (npm, Rust) on the SOTU corpus in
# the same run: kiln with 1 worker and with N workers, Hugging Face with encode in a loop (one
# thread) and encodeBatch (N Rayon threads). Prints MB/s for each and the ratios.
# Usage: bench/tokenize.sh [WORKERS]   (env: SHARED=../shared/data, CASED=1, REPS=5)
set -euo pipefail
cd "$(dirname "$0")/.."
workers=${1:-2}
shared=${SHARED:-../shared/data}
vocab=$shared/vocab/bert-base-uncased-vocab.txt
corpus=$shared/corpora/sotu
cased=${CASED:+cased}

echo "# machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD 2>/dev/null || echo no-git)"
mkdir -p bin
go build -o bin/bench-tokenize ./bench/tokenize
out=$(mktemp)
trap 'rm -f "$out"' EXIT
bin/bench-tokenize -vocab "$vocab" -corpus "$corpus" -workers "$workers" -reps "${REPS:-5}" ${cased:+-cased} | tee -a "$out"
NODE_PATH=tools/peers/node_modules RAYON_NUM_THREADS=$workers node bench/tokenize_hf.js "$vocab" "$corpus" $cased | tee -a "$out"

awk -v w="$workers" '
  $1 == "RESULT" { mbs[$2] = $3; tok[$2] = $4; cpu[$2] = $5 }
  END {
    k1 = mbs["kiln_encode_1"]; b1 = mbs["kiln_batch_1"]; kn = mbs["kiln_batch_" w]; h1 = mbs["hf_encode_1"]; hn = mbs["hf_batch"]
    printf "kiln Encode, 1 goroutine     %8.2f MB/s   HF encode (1 thread)          %6.2f MB/s   ratio %6.1fx\n", k1, h1, k1 / h1
    printf "kiln EncodeBatch, %d workers  %8.2f MB/s   HF encodeBatch (%d threads)    %6.2f MB/s   ratio %6.1fx\n", w, kn, w, hn, kn / hn
    printf "kiln EncodeBatch 1 -> %d workers: %.2f -> %.2f MB/s, speed-up %.2fx wall-clock\n", w, b1, kn, kn / b1
    printf "kiln MB per CPU-second: Encode %.1f, EncodeBatch 1 worker %.1f, %d workers %.1f (parallel efficiency %.0f%%: on %d idle cores the speed-up would be about %.2fx)\n", cpu["kiln_encode_1"], cpu["kiln_batch_1"], w, cpu["kiln_batch_" w], 100 * cpu["kiln_batch_" w] / cpu["kiln_batch_1"], w, w * cpu["kiln_batch_" w] / cpu["kiln_batch_1"]
    if (tok["kiln_encode_1"] != tok["hf_encode_1"] || tok["kiln_batch_" w] != tok["hf_batch"])
      printf "WARNING: token counts differ: kiln %d, Hugging Face %d\n", tok["kiln_encode_1"], tok["hf_encode_1"]
    else
      printf "token counts agree: %d\n", tok["kiln_encode_1"]
  }' "$out"
