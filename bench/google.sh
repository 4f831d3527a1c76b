#!/usr/bin/env bash
# Benchmarks kiln beside its peers in one run on one machine (issue 13):
#   1. start-up: whole processes on a tiny input (kiln tokenize on 1 line, kiln prep on 50
#      lines) beside Hugging Face tokenizers (node, the same 1 line) and Google's
#      create_pretraining_data.py (the same 50 lines);
#   2. prep beside Google's script on MB megabytes of SOTU (whole files, in order): Google on
#      its one-sentence-per-line format (bench/googlefmt), kiln prep on the same file
#      (--format lines) and on the raw files (--format text), dupe factor 1 and 5, and the
#      tokenizer library alone on the same lines (bench/prep -mode tokenize, 1 worker);
#   3. `kiln tokenize` as a whole process on the same lines beside Hugging Face tokenizers
#      encoding one line at a time on one thread (bench/tokenize_cli_hf.js; same output).
# Section 1 also times `kiln pretrain` on the 50 lines for one step of the tiny model (batch 2,
# no Google peer): the whole process, its start-up (vocabulary, tables, the model's initial
# weights), the step, the checkpoint and the loss plot. SECTIONS picks the sections to run.
# Settings as Google's README: max_seq_len 128, 20 predictions, masked LM 0.15, short
# sequences 0.1, seed 12345. Every command is timed by bench/runstat (wall and CPU seconds of
# the whole process, the kernel's accounting; commands interleaved); Google runs GREPS times
# (slow), kiln REPS times. Figures: MB of text per CPU-second and the ratios; the CPU figures
# are the robust ones on a shared machine.
#
# Google's scripts are not in this repository: GOOGLE_DIR holds create_pretraining_data.py
# and tokenization.py from github.com/google-research/bert (HEAD eedf571), unmodified;
# SHIM is the TensorFlow stand-in (../shared/tools/google-bert-shim; it needs Debian's
# python3-crcmod and python3-protobuf).
# Usage: bench/google.sh GOOGLE_DIR   (env: SHARED=../shared/data SHIM=../shared/tools/google-bert-shim
#        MB=6 REPS=3 GREPS=1 DUPES="1 5" WORKERS=2 KILN=a kiln binary to measure instead of building one
#        KILN_BASE=an older kiln binary, measured beside it (rows kiln-base-*), for before/after,
#        SECTIONS="1 2 3")
set -euo pipefail
cd "$(dirname "$0")/.."
gdir=$(cd "${1:?usage: bench/google.sh GOOGLE_DIR}" && pwd)
shared=${SHARED:-../shared/data}
shim=$(cd "${SHIM:-../shared/tools/google-bert-shim}" && pwd)
mb=${MB:-6}
reps=${REPS:-3}
greps=${GREPS:-1}
dupes=${DUPES:-1 5}
workers=${WORKERS:-2}
py=${PY:-/usr/bin/python3}
sections=" ${SECTIONS:-1 2 3} "
vocab=$(cd "$(dirname "$shared/vocab/bert-base-uncased-vocab.txt")" && pwd)/bert-base-uncased-vocab.txt
sotu=$(cd "$shared/corpora/sotu" && pwd)
modules=$(pwd)/tools/peers/node_modules
[ -f "$modules/tokenizers/package.json" ] || { echo "npm ci --prefix tools/peers first"; exit 1; }

echo "# machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD 2>/dev/null || echo no-git), Google $(grep -c '' "$gdir/create_pretraining_data.py") lines"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -n "${KILN:-}" ]; then cp "$KILN" "$tmp/kiln"; else go build -o "$tmp/kiln" ./cmd/kiln; fi
base=()
[ -n "${KILN_BASE:-}" ] && cp "$KILN_BASE" "$tmp/kiln-base" && base=(base)
go build -o "$tmp/runstat" ./bench/runstat
go build -o "$tmp/googlefmt" ./bench/googlefmt
go build -o "$tmp/bench-prep" ./bench/prep

# The corpus: whole SOTU files in order up to MB megabytes, raw (symlinks) and in Google's format.
mkdir "$tmp/raw"
total=0
for f in "$sotu"/*.txt; do
  [ "$total" -ge $((mb * 1000000)) ] && break
  ln -s "$f" "$tmp/raw/"
  total=$((total + $(stat -c %s "$f")))
done
"$tmp/googlefmt" -out "$tmp/lines.txt" "$tmp/raw"
head -50 "$tmp/lines.txt" >"$tmp/lines50.txt"
head -1 "$tmp/lines.txt" >"$tmp/line1.txt"
lmb=$(stat -c %s "$tmp/lines.txt" | awk '{print $1 / 1e6}')
echo "# corpus: $(ls "$tmp/raw" | wc -l) SOTU files, $(awk -v t="$total" 'BEGIN {print t / 1e6}') MB raw, $lmb MB in Google's format"

google() { # google INPUT DUPE OUT: the command line of Google's script
  echo env PYTHONPATH="$shim" "$py" "$gdir/create_pretraining_data.py" --input_file="$1" \
    --output_file="$3" --vocab_file="$vocab" --do_lower_case=True --max_seq_length=128 \
    --max_predictions_per_seq=20 --masked_lm_prob=0.15 --short_seq_prob=0.1 --dupe_factor="$2" \
    --random_seed=12345
}
kprep() { # kprep INPUT FORMAT DUPE OUT [BINARY]
  echo "${5:-$tmp/kiln}" prep --input "$1" --format "$2" --vocab "$vocab" --output "$4" --workers "$workers" \
    --max-seq-len 128 --max-predictions 20 --masked-lm-prob 0.15 --short-seq-prob 0.1 \
    --dupe-factor "$3" --seed 12345 --no-progress
}
hfcli() { echo env NODE_PATH="$modules" node bench/tokenize_cli_hf.js "$vocab" "$1"; }
field() { jq -r "select(.name == \"$1\") | .$2" "$3"; }

kpretrain() { # kpretrain OUT [BINARY]: one step of the tiny model on the 50 lines
  echo "${2:-$tmp/kiln}" pretrain --input "$tmp/lines50.txt" --format lines --vocab "$vocab" --out "$1" \
    --steps 1 --batch-size 2 --log-every 1 --seed 12345
}

if [[ $sections == *" 1 "* ]]; then
echo
echo "## 1. start-up (whole process on a tiny input; least and median of $reps)"
# shellcheck disable=SC2046
"$tmp/runstat" -reps "$reps" \
  kiln-pretrain -clean "$tmp/kp" -- $(kpretrain "$tmp/kp") --- \
  ${base:+kiln-base-pretrain -clean "$tmp/kpb" -- $(kpretrain "$tmp/kpb" "$tmp/kiln-base") ---} \
  kiln-tokenize -- $(echo "$tmp/kiln" tokenize --vocab "$vocab" --quiet "$tmp/line1.txt") --- \
  hf-tokenize -- $(hfcli "$tmp/line1.txt") --- \
  kiln-prep -clean "$tmp/k50" -- $(kprep "$tmp/lines50.txt" lines 1 "$tmp/k50") --- \
  ${base:+kiln-base-tokenize -- $(echo "$tmp/kiln-base" tokenize --vocab "$vocab" --quiet "$tmp/line1.txt") ---} \
  ${base:+kiln-base-prep -clean "$tmp/k50b" -- $(kprep "$tmp/lines50.txt" lines 1 "$tmp/k50b" "$tmp/kiln-base") ---} \
  google-prep -- $(google "$tmp/lines50.txt" 1 "$tmp/g50.tfrecord") | tee "$tmp/start.json"
printf '%-18s %10s %10s %10s %10s\n' process "wall min" "wall med" "cpu min" "cpu med"
for n in kiln-tokenize hf-tokenize kiln-prep google-prep kiln-pretrain ${base:+kiln-base-tokenize kiln-base-prep kiln-base-pretrain}; do
  printf '%-18s %9.3fs %9.3fs %9.3fs %9.3fs\n' "$n" "$(field $n wall_s_min "$tmp/start.json")" \
    "$(field $n wall_s_median "$tmp/start.json")" "$(field $n cpu_s_min "$tmp/start.json")" "$(field $n cpu_s_median "$tmp/start.json")"
done
fi

if [[ $sections == *" 2 "* ]]; then
for d in $dupes; do
  echo
  echo "## 2. prep, dupe factor $d, $lmb MB (Google $greps run(s), kiln $reps)"
  # shellcheck disable=SC2046
  "$tmp/runstat" -reps "$greps" google -- $(google "$tmp/lines.txt" "$d" "$tmp/g.tfrecord") | tee "$tmp/g$d.json"
  # shellcheck disable=SC2046
  "$tmp/runstat" -reps "$reps" \
    kiln-lines -clean "$tmp/kl" -- $(kprep "$tmp/lines.txt" lines "$d" "$tmp/kl") --- \
    kiln-text -clean "$tmp/kt" -- $(kprep "$tmp/raw" text "$d" "$tmp/kt") --- \
    ${base:+kiln-base-lines -clean "$tmp/kbl" -- $(kprep "$tmp/lines.txt" lines "$d" "$tmp/kbl" "$tmp/kiln-base") ---} \
    ${base:+kiln-base-text -clean "$tmp/kbt" -- $(kprep "$tmp/raw" text "$d" "$tmp/kbt" "$tmp/kiln-base") ---} \
    tokenizer-only -- "$tmp/bench-prep" -mode tokenize -format lines -workers 1 -vocab "$vocab" -input "$tmp/lines.txt" | tee "$tmp/k$d.json"
  gc=$(field google cpu_s_min "$tmp/g$d.json"); gw=$(field google wall_s_min "$tmp/g$d.json")
  tc=$(field tokenizer-only cpu_s_min "$tmp/k$d.json")
  printf '%-16s %8s %8s %12s %10s %10s\n' run "cpu s" "wall s" "MB/cpu-s" "vs Google" "vs tok-only"
  printf '%-16s %8.2f %8.2f %12.2f %10s %10s\n' google "$gc" "$gw" "$(echo "$lmb / $gc" | bc -l)" 1x -
  for n in kiln-lines kiln-text ${base:+kiln-base-lines kiln-base-text}; do
    c=$(field $n cpu_s_min "$tmp/k$d.json"); w=$(field $n wall_s_min "$tmp/k$d.json")
    printf '%-16s %8.3f %8.2f %12.2f %9.1fx %9.2fx\n' "$n" "$c" "$w" "$(echo "$lmb / $c" | bc -l)" "$(echo "$gc / $c" | bc -l)" "$(echo "$c / $tc" | bc -l)"
  done
  printf '%-16s %8.3f %8s %12.2f   (the tokenizer library alone, dupe 1 work)\n' tokenizer-only "$tc" - "$(echo "$lmb / $tc" | bc -l)"
  rm -rf "$tmp/kl" "$tmp/kt" "$tmp/kbl" "$tmp/kbt"
  rm -f "$tmp/g.tfrecord"
done
fi
rm -rf "$tmp/k50" "$tmp/k50b"
mkdir "$tmp/kb"
"$tmp/kiln" prep --input "$tmp/lines.txt" --format lines --vocab "$vocab" --output "$tmp/kb" --no-progress >/dev/null 2>&1
echo "bytes per token (lines, dupe 1): $(jq .bytes_per_token "$tmp/kb/prep-stats.json")"

[[ $sections == *" 3 "* ]] || exit 0
echo
echo "## 3. kiln tokenize (whole process, $workers workers and 1) vs Hugging Face encode, one line at a time"
"$tmp/kiln" tokenize --vocab "$vocab" --quiet "$tmp/lines.txt" | md5sum >"$tmp/k.md5"
# shellcheck disable=SC2046
$(hfcli "$tmp/lines.txt") | md5sum >"$tmp/h.md5"
cmp -s "$tmp/k.md5" "$tmp/h.md5" && echo "output: identical ids" || echo "WARNING: output differs"
# shellcheck disable=SC2046
"$tmp/runstat" -reps "$reps" \
  kiln-tokenize -- "$tmp/kiln" tokenize --vocab "$vocab" --quiet --workers "$workers" "$tmp/lines.txt" --- \
  kiln-tokenize-1 -- "$tmp/kiln" tokenize --vocab "$vocab" --quiet --workers 1 "$tmp/lines.txt" --- \
  ${base:+kiln-base-tokenize -- "$tmp/kiln-base" tokenize --vocab "$vocab" --quiet --workers "$workers" "$tmp/lines.txt" ---} \
  hf-tokenize -- $(hfcli "$tmp/lines.txt") | tee "$tmp/tok.json"
hw=$(field hf-tokenize wall_s_min "$tmp/tok.json"); hc=$(field hf-tokenize cpu_s_min "$tmp/tok.json")
for n in kiln-tokenize kiln-tokenize-1 ${base:+kiln-base-tokenize}; do
  w=$(field $n wall_s_min "$tmp/tok.json"); c=$(field $n cpu_s_min "$tmp/tok.json")
  printf '%-18s %6.1f MB/s wall (%5.1fx HF %5.2f MB/s), %6.1f MB/cpu-s (%5.1fx HF)\n' "$n" \
    "$(echo "$lmb / $w" | bc -l)" "$(echo "$hw / $w" | bc -l)" "$(echo "$lmb / $hw" | bc -l)" "$(echo "$lmb / $c" | bc -l)" "$(echo "$hc / $c" | bc -l)"
done
