#!/usr/bin/env bash
# Benchmarks partitioned kiln prep (issue 9 item 1) beside unpartitioned prep and the
# tokenizer alone, in the same run, interleaved, on SOTU and SOTU x10 (symlinks):
#   1. `kiln prep` and `kiln prep --partitions P` with GOMAXPROCS=W and --workers W, for W in
#      1 and 2: MB/s (prep-stats.json), CPU s/MB (user+sys of the command), peak RSS;
#   2. BenchmarkPartitioned10 (pipeline/): tokenizer alone, prep and partitioned in one test
#      process at -cpu 1,2, with CPU s/MB, the seconds of each phase and the spill's size; with
#      a CPU profile of the partitioned run at -cpu 2, whose stage labels give the serial share.
# Usage: bench/partitions.sh [P]   (env: SHARED=../shared/data, REPS=2)
set -euo pipefail
cd "$(dirname "$0")/.."
parts=${1:-16}
reps=${REPS:-2}
shared=${SHARED:-../shared/data}
shared=$(cd "$shared" && pwd)
vocab=$shared/vocab/bert-base-uncased-vocab.txt
sotu=$shared/corpora/sotu
echo "# machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ) $(git rev-parse --short HEAD)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/kiln" ./cmd/kiln
mkdir "$tmp/sotu10"
for i in 0 1 2 3 4 5 6 7 8 9; do
  mkdir "$tmp/sotu10/copy-$i"
  ln -s "$sotu"/*.txt "$tmp/sotu10/copy-$i/"
done
run() { # CORPUS WORKERS [--partitions P]
  local in=$1 w=$2
  shift 2
  rm -rf "$tmp/out"
  GOMAXPROCS=$w /usr/bin/time -v "$tmp/kiln" prep --input "$in" --format text --vocab "$vocab" --output "$tmp/out" \
    --workers "$w" --no-progress "$@" >/dev/null 2>"$tmp/time.txt"
  local u s rss
  u=$(awk -F: '/User time/ {print $2}' "$tmp/time.txt")
  s=$(awk -F: '/System time/ {print $2}' "$tmp/time.txt")
  rss=$(awk -F: '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$tmp/time.txt")
  jq -r --argjson c "$(echo "$u + $s" | bc -l)" --arg rss "$rss" --arg mode "${*:-plain}" --arg w "$w" \
    '"\($mode) w\($w): \(.mb_per_second * 10 | round / 10) MB/s, \($c / (.examples.source.text_bytes / 1e6) * 1000 | round / 1000) cpu-s/MB, \($rss) MiB, \(.shards) shards, \(.examples.rows) rows"' "$tmp/out/prep-stats.json"
}
for corpus in sotu sotu10; do
  in=$sotu
  [ $corpus = sotu10 ] && in=$tmp/sotu10
  echo "## $corpus"
  for ((i = 0; i < reps; i++)); do
    for w in 1 2; do
      run "$in" $w
      run "$in" $w --partitions "$parts"
    done
  done
done
echo "## BenchmarkPartitioned10, $parts partitions"
(cd pipeline && KILN_BENCH_DATA=$shared KILN_BENCH_PARTITIONS=$parts go test -run '^$' -bench 'BenchmarkPartitioned10$' -cpu 1,2 -benchtime 1x -count 1 | grep Bench)
(cd pipeline && KILN_BENCH_DATA=$shared KILN_BENCH_PARTITIONS=$parts go test -run '^$' -bench 'BenchmarkPartitioned10$/partitioned' -cpu 2 -benchtime 1x \
  -cpuprofile "$tmp/cpu.out" -o "$tmp/p.test" | grep Bench)
echo "## CPU by stage (partitioned, -cpu 2): serial = set-up and manifest; the rest is the runtime (GC workers)"
go tool pprof -tags "$tmp/p.test" "$tmp/cpu.out" 2>/dev/null | sed -n '1,6p'
