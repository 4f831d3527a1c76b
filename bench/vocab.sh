#!/usr/bin/env bash
# Benchmarks kiln vocab against Hugging Face's WordPieceTrainer (npm tokenizers 0.23.2, the
# reference of the parity tests), interleaved in the same run, on the same files:
#   - sotu:      the SOTU corpus (233 files, 11 MB);
#   - sotu10:    SOTU repeated 10 times (symlinks, 110 MB): the same distinct words;
#   - distinct10: SOTU 10 times, copy i with "qi" appended to every word of 4 letters or more
#                (110 MB, about 10x the distinct words): the word table grows with the corpus.
# Both sides train with Hugging Face's built-in defaults, all the binding can express
# (vocab_size 30000, min_frequency 0, no special tokens, no alphabet limit), uncased; kiln
# reads the files with --format lines and --workers 2 (the machine's cores).
# Per run: wall seconds, CPU seconds (user+sys: robust on a loaded machine) and peak RSS
# (/usr/bin/time). Each figure is the best of REPS runs. Then kiln alone with --max-words
# 10000 (below the 25k distinct words of SOTU itself), to show that peak RSS stays flat from
# 1x to 10x once the table is full.
# Targets (issue 12): >= 10x faster than Hugging Face; flat peak RSS with --max-words.
# Usage: bench/vocab.sh   (env: SHARED=../shared/data, REPS=2, HF=1 to run the peer on distinct10)
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${REPS:-2}
shared=${SHARED:-../shared/data}
sotu=$(cd "$shared/corpora/sotu" && pwd)
modules=$(pwd)/tools/peers/node_modules
[ -f "$modules/tokenizers/package.json" ] || npm ci --prefix tools/peers --no-audit --no-fund >/dev/null

echo "# machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD 2>/dev/null || echo no-git)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/kiln" ./cmd/kiln
mkdir "$tmp/sotu" "$tmp/sotu10" "$tmp/distinct10"
ln -s "$sotu"/*.txt "$tmp/sotu/"
for i in 0 1 2 3 4 5 6 7 8 9; do
  for f in "$sotu"/*.txt; do
    b=$(basename "$f")
    ln -s "$f" "$tmp/sotu10/c$i-$b"
    sed -E "s/([A-Za-z]{4,})/\\1q$i/g" "$f" >"$tmp/distinct10/c$i-$b"
  done
done

# measure NAME CMD...: runs CMD under /usr/bin/time; prints "wall cpu rss_mib".
measure() {
  /usr/bin/time -f '%e %U %S %M' -o "$tmp/time.txt" "$@" >/dev/null 2>"$tmp/err.txt" || { cat "$tmp/err.txt" >&2; exit 1; }
  awk '{printf "%.2f %.2f %.1f\n", $1, $2 + $3, $4 / 1024}' "$tmp/time.txt"
}
hf() { NODE_PATH=$modules measure node tokenize/wordpiece/testdata/hf_train.js "$tmp/hf.txt" uncased "$tmp/$1"/*.txt; }
kiln() {
  local c=$1
  shift
  measure "$tmp/kiln" vocab --input "$tmp/$c" --format lines --output "$tmp/kiln.txt" --min-frequency 0 \
    --limit-alphabet 0 --special-tokens "" --workers 2 --no-progress "$@"
}
# best "wall cpu rss" lines: the smallest of each column.
best() { sort -g -k1 | awk 'NR==1{w=$1;c=$2;r=$3} {if($1<w)w=$1; if($2<c)c=$2; if($3<r)r=$3} END{print w, c, r}'; }

printf '%-11s %-22s %9s %9s %9s\n' corpus run wall_s cpu_s rss_MiB
for c in sotu sotu10 distinct10; do
  hruns="" kruns=""
  for _ in $(seq "$reps"); do
    if [ "$c" != distinct10 ] || [ "${HF:-0}" = 1 ]; then hruns+="$(hf "$c")"$'\n'; fi
    kruns+="$(kiln "$c")"$'\n'
  done
  k=$(printf '%s' "$kruns" | best)
  printf '%-11s %-22s %9s %9s %9s\n' "$c" "kiln vocab" $k
  if [ -n "$hruns" ]; then
    h=$(printf '%s' "$hruns" | best)
    printf '%-11s %-22s %9s %9s %9s\n' "$c" "hf WordPieceTrainer" $h
    read -r hw hc hr <<<"$h"
    read -r kw kc kr <<<"$k"
    printf '%-11s %-22s %8.1fx %8.1fx %8.2fx\n' "$c" "hf / kiln" "$(echo "$hw / $kw" | bc -l)" "$(echo "$hc / $kc" | bc -l)" "$(echo "$hr / $kr" | bc -l)"
  fi
done
for c in sotu sotu10 distinct10; do
  runs=""
  for _ in $(seq "$reps"); do runs+="$(kiln "$c" --max-words 10000)"$'\n'; done
  printf '%-11s %-22s %9s %9s %9s\n' "$c" "kiln --max-words 10000" $(printf '%s' "$runs" | best)
done
