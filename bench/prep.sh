#!/usr/bin/env bash
# Benchmarks kiln prep (the whole pipeline into shards) against the tokenizer alone, in the
# same run, on the SOTU corpus, SOTU repeated 10 times (symlinks) and Moby Dick:
#   - tokenizer-only MB/s: bench/prep -mode tokenize (the same documents split into sentences
#     and WordPiece-encoded on the same number of workers, nothing else), 1 and N workers;
#   - prep MB/s: `kiln prep` with --workers 1 and N (prep-stats.json: text bytes over the run's
#     seconds, tokenizer loading excluded, as for the tokenizer-only figure), the ratio to the
#     tokenizer-only figure, CPU seconds per MB (user+sys of the whole command: robust to a
#     loaded machine), bytes per token on disk (static masking, zstd), and peak RSS
#     (/usr/bin/time -v when present, else bench/prep's getrusage).
# Each figure is the best of REPS runs. Targets (issue 3): prep >= 70% of the tokenizer-only
# throughput, <= 2.0 bytes per token; peak RSS must not grow with the corpus (1x vs 10x).
# Peer: Google's create_pretraining_data.py is measured beside kiln prep by bench/google.sh.
# Usage: bench/prep.sh [WORKERS]   (env: SHARED=../shared/data, REPS=3)
set -euo pipefail
cd "$(dirname "$0")/.."
workers=${1:-2}
reps=${REPS:-3}
shared=${SHARED:-../shared/data}
vocab=$shared/vocab/bert-base-uncased-vocab.txt
sotu=$(cd "$shared/corpora/sotu" && pwd)
moby=$(cd "$shared/corpora/moby-dick" && pwd)

echo "# machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD 2>/dev/null || echo no-git)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/kiln" ./cmd/kiln
go build -o "$tmp/bench-prep" ./bench/prep
mkdir "$tmp/sotu10"
for i in 0 1 2 3 4 5 6 7 8 9; do
  mkdir "$tmp/sotu10/copy-$i"
  ln -s "$sotu"/*.txt "$tmp/sotu10/copy-$i/"
done
timev=""
[ -x /usr/bin/time ] && timev=/usr/bin/time

# best VALUES...: the largest of the values; least: the smallest.
best() { printf '%s\n' "$@" | sort -g | tail -1; }
least() { printf '%s\n' "$@" | sort -g | head -1; }

# tokonly CORPUS WORKERS: appends to t_mbs and t_cpu (CPU seconds per MB).
tokonly() {
  local j
  j=$("$tmp/bench-prep" -mode tokenize -workers "$2" -vocab "$vocab" -input "$1")
  t_mbs+=("$(jq .mb_per_second <<<"$j")")
  t_cpu+=("$(jq '.cpu_seconds / (.text_bytes / 1e6)' <<<"$j")")
}

# prep CORPUS WORKERS: appends to p_mbs, p_cpu (CPU s/MB), p_rss (MiB); sets p_bpt and text.
prep() {
  local out=$tmp/out
  rm -rf "$out"
  if [ -n "$timev" ]; then
    $timev -v "$tmp/kiln" prep --input "$1" --format text --vocab "$vocab" --output "$out" \
      --workers "$2" --no-progress >/dev/null 2>"$tmp/time.txt"
    p_rss+=("$(awk -F: '/Maximum resident set size/ {printf "%.1f", $2 / 1024}' "$tmp/time.txt")")
    local u s
    u=$(awk -F: '/User time/ {print $2}' "$tmp/time.txt")
    s=$(awk -F: '/System time/ {print $2}' "$tmp/time.txt")
    p_cpu+=("$(jq --argjson c "$(echo "$u + $s" | bc -l)" '$c / (.examples.source.text_bytes / 1e6)' "$out/prep-stats.json")")
  else
    local j
    j=$("$tmp/bench-prep" -mode prep -workers "$2" -vocab "$vocab" -input "$1" -output "$out")
    p_rss+=("$(jq .max_rss_mib <<<"$j")")
    p_cpu+=("$(jq '.cpu_seconds / (.text_bytes / 1e6)' <<<"$j")")
  fi
  p_mbs+=("$(jq .mb_per_second "$out/prep-stats.json")")
  p_bpt=$(jq .bytes_per_token "$out/prep-stats.json")
  text=$(jq '.examples.source.text_bytes / 1e6' "$out/prep-stats.json")
}

printf '%-7s %6s | %7s %7s %5s | %7s %7s %5s | %12s %12s | %5s | %6s %6s\n' \
  corpus MB "tok w1" "prep w1" ratio "tok w$workers" "prep w$workers" ratio "tok cpu s/MB" "prep cpu s/MB" "B/tok" "RSS w1" "RSS w$workers"
for corpus in sotu sotu10 moby; do
  case $corpus in
    sotu) in=$sotu ;;
    sotu10) in=$tmp/sotu10 ;;
    moby) in=$moby ;;
  esac
  # Interleaved, so that tokenizer-only and prep see the same load; best of REPS each.
  t1=() p1=() tn=() pn=() t1c=() pnc=() r1=() rn=()
  for ((i = 0; i < reps; i++)); do
    t_mbs=() t_cpu=(); tokonly "$in" 1; t1+=("${t_mbs[@]}"); t1c+=("${t_cpu[@]}")
    p_mbs=() p_cpu=() p_rss=(); prep "$in" 1; p1+=("${p_mbs[@]}"); r1+=("${p_rss[@]}")
    t_mbs=() t_cpu=(); tokonly "$in" "$workers"; tn+=("${t_mbs[@]}")
    p_mbs=() p_cpu=() p_rss=(); prep "$in" "$workers"; pn+=("${p_mbs[@]}"); pnc+=("${p_cpu[@]}"); rn+=("${p_rss[@]}")
  done
  a=$(best "${t1[@]}") b=$(best "${p1[@]}") c=$(best "${tn[@]}") d=$(best "${pn[@]}")
  printf '%-7s %6.1f | %7.1f %7.1f %4.0f%% | %7.1f %7.1f %4.0f%% | %12.4f %12.4f | %5.3f | %6s %6s\n' \
    "$corpus" "$text" "$a" "$b" "$(echo "100 * $b / $a" | bc -l)" "$c" "$d" "$(echo "100 * $d / $c" | bc -l)" \
    "$(least "${t1c[@]}")" "$(least "${pnc[@]}")" "$p_bpt" "$(best "${r1[@]}")" "$(best "${rn[@]}")"
done
echo "MB/s: text bytes per second (tokenizer loading excluded), best of $reps; ratio: prep / tokenizer-only at the same workers."
echo "cpu s/MB: user+sys seconds per MB of text of the whole process (tokenizer loading included), least of $reps:"
echo "  tokenizer-only with 1 worker, prep with $workers workers; robust to other load on the machine, unlike MB/s."
echo "RSS: peak resident set of kiln prep, MiB (largest of $reps). Default buffers: 10,000-row shuffle buffer,"
echo "  1,000-document reservoir (SOTU has 233 documents: only the 10x corpus fills it)."
echo "Google's create_pretraining_data.py beside kiln prep, in one run: bench/google.sh."
