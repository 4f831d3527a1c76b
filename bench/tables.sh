#!/usr/bin/env bash
# Benchmarks kiln's table-format input (--format parquet, --format arrow) beside JSONL on the
# same documents, and beside polars reading the same files, in the same run:
#   - the corpus: every SOTU address a document, COPIES times over (default 10: 2,330
#     documents, 107 MB of text), as JSONL (python3), then Parquet (snappy, zstd; row groups
#     of 256 rows) and Arrow IPC (file, stream; batches of 256 rows) written by nodejs-polars
#     from that JSONL (bench/tables.js write);
#   - read: bench/source (pipeline.Source alone: every document read and split into
#     paragraphs, one goroutine) beside polars (readParquet / readIPC / readIPCStream /
#     readJSON lines, all its threads) on each file; MB/s is the corpus's text bytes over the
#     seconds, best of REPS, the runs of kiln and polars interleaved;
#   - prep: kiln prep --workers WORKERS on the JSONL, the zstd Parquet and the Arrow stream,
#     interleaved: the seconds of prep-stats.json (tokenizer loading excluded), best of REPS.
# Usage: bench/tables.sh [WORKERS]   (env: SHARED=../shared/data, REPS=3, COPIES=10)
set -euo pipefail
cd "$(dirname "$0")/.."
workers=${1:-2}
reps=${REPS:-3}
copies=${COPIES:-10}
shared=${SHARED:-../shared/data}
vocab=$shared/vocab/bert-base-uncased-vocab.txt
export NODE_PATH=$PWD/tools/peers/node_modules

echo "# machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD 2>/dev/null || echo no-git)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/kiln" ./cmd/kiln
go build -o "$tmp/source" ./bench/source
textbytes=$(python3 - "$shared/corpora/sotu" "$copies" "$tmp/corpus.jsonl" <<'PY'
import glob, json, os, sys
src, copies, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
files = sorted(glob.glob(os.path.join(src, "*.txt")))
n = 0
with open(out, "w") as f:
    for _ in range(copies):
        for p in files:
            text = open(p, encoding="utf-8").read()
            n += len(text.encode("utf-8"))
            f.write(json.dumps({"text": text}) + "\n")
print(n)
PY
)
node bench/tables.js write "$tmp/corpus.jsonl" "$tmp"
echo "# corpus: $copies x SOTU, $(wc -l < "$tmp/corpus.jsonl") documents, $textbytes bytes of text"
ls -l "$tmp"/corpus* | awk '{print "#   " $5 " " $9}' | sed "s|$tmp/||"

best() { printf '%s\n' "$@" | sort -g | head -1; } # the least seconds
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
mbps() { python3 -c "print('%.1f' % ($textbytes / 1e6 / $1))"; }

# name kiln-format polars-reader file
cases=(
  "jsonl jsonl jsonl corpus.jsonl"
  "parquet-snappy parquet parquet corpus-snappy.parquet"
  "parquet-zstd parquet parquet corpus-zstd.parquet"
  "arrow-file arrow arrow-file corpus-file.arrow"
  "arrow-stream arrow arrow-stream corpus-stream.arrow"
)
echo
echo "| input | kiln Source MB/s | polars read MB/s | kiln / polars | documents (kiln, polars) |"
echo "|---|---|---|---|---|"
for c in "${cases[@]}"; do
  read -r name kfmt pfmt file <<<"$c"
  ks=() ps=()
  for _ in $(seq "$reps"); do
    k=$("$tmp/source" -format "$kfmt" "$tmp/$file")
    p=$(node bench/tables.js read "$pfmt" "$tmp/$file")
    ks+=("$(echo "$k" | field seconds)")
    ps+=("$(echo "$p" | field seconds)")
    kd=$(echo "$k" | field documents)
    pd=$(echo "$p" | field documents)
  done
  kb=$(best "${ks[@]}") pb=$(best "${ps[@]}")
  echo "| $name | $(mbps "$kb") | $(mbps "$pb") | $(python3 -c "print('%.2f' % ($pb / $kb))")x | $kd, $pd |"
done

echo
echo "| input | kiln prep --workers $workers MB/s | prep / JSONL prep |"
echo "|---|---|---|"
preps=("jsonl corpus.jsonl" "parquet corpus-zstd.parquet" "arrow corpus-stream.arrow")
declare -A secs
for _ in $(seq "$reps"); do # the formats interleaved, rep by rep
  for c in "${preps[@]}"; do
    read -r fmt file <<<"$c"
    rm -rf "$tmp/out"
    "$tmp/kiln" prep --format "$fmt" --input "$tmp/$file" --vocab "$vocab" --output "$tmp/out" --workers "$workers" --no-progress > /dev/null
    secs[$fmt]="${secs[$fmt]:-} $(field seconds < "$tmp/out/prep-stats.json")"
  done
done
base=""
for c in "${preps[@]}"; do
  read -r fmt file <<<"$c"
  # shellcheck disable=SC2086
  s=$(best ${secs[$fmt]})
  [ -z "$base" ] && base=$s
  echo "| $fmt ($file) | $(mbps "$s") | $(python3 -c "print('%.2f' % ($base / $s))") |"
done
