#!/usr/bin/env bash
# Beam on Prism beside the local partitioned run (issue 9 item 2): kiln-beam prep (Prism,
# in-process) and kiln prep --partitions N on the same corpus and settings, interleaved REPS
# times each by bench/runstat (wall and CPU seconds of the whole process, peak RSS), then a
# check that the two outputs are the same bytes (prep-stats.json's timings aside).
# COPIES=k reads k copies of the corpus (k directories in a temporary folder), to see what grows
# with its size.
# Usage: bench/beam.sh   (env: SHARED=../shared/data CORPUS=corpora/sotu COPIES=1 PARTS=8 REPS=3 WORKERS=2)
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${SHARED:-../shared/data}
corpus=$shared/${CORPUS:-corpora/sotu}
parts=${PARTS:-8}
reps=${REPS:-3}
workers=${WORKERS:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ "${COPIES:-1}" -gt 1 ]; then
  for i in $(seq "$COPIES"); do mkdir -p "$tmp/corpus"; cp -r "$corpus" "$tmp/corpus/copy-$i"; done
  corpus=$tmp/corpus
fi
go build -o "$tmp/kiln" ./cmd/kiln
(cd cmd/kiln-beam && go build -o "$tmp/kiln-beam" .)
go build -o "$tmp/runstat" ./bench/runstat
flags=(--input "$corpus" --vocab "$shared/vocab/bert-base-uncased-vocab.txt" --partitions "$parts" --workers "$workers")
echo "corpus $corpus: $(du -sb "$corpus" | cut -f1) bytes; --partitions $parts --workers $workers; GOMAXPROCS ${GOMAXPROCS:-all} of $(nproc) cores"
"$tmp/runstat" -reps "$reps" \
  local -clean "$tmp/local" -- "$tmp/kiln" prep --no-progress "${flags[@]}" --output "$tmp/local" --- \
  beam-prism -clean "$tmp/beam" -- "$tmp/kiln-beam" prep "${flags[@]}" --output "$tmp/beam"
strip() { (cd "$1" && find . -type f ! -name prep-stats.json | sort | xargs sha256sum); }
if [ "$(strip "$tmp/local")" = "$(strip "$tmp/beam")" ]; then echo "outputs: the same bytes"; else echo "outputs DIFFER"; exit 1; fi
