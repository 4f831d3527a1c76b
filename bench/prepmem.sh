#!/usr/bin/env bash
# Peak resident memory of kiln prep on long documents, this tree beside an earlier commit (BASE)
# in the same run, interleaved: one 11 MB document (the SOTU corpus as one paragraph) at
# --dupe-factor 1, 10 and 20; a 193 MB paragraph (SOTU x18), cut into --max-doc-bytes documents,
# with 1 and 4 workers and at --max-doc-bytes 16 and 32 MiB; and the SOTU corpus itself (233
# files), for the time a normal corpus takes. Peak RSS and wall time from /usr/bin/time.
# The peer for memory is kiln before the change: Google's create_pretraining_data.py holds the
# whole corpus (14x its size, issue 3) and cannot run here (TensorFlow).
# Usage: bench/prepmem.sh [BASE]   (env: SHARED=../shared/data; default BASE 8b4a744)
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-8b4a744}
shared=${SHARED:-../shared/data}
vocab=$(cd "$shared/vocab" && pwd)/bert-base-uncased-vocab.txt
sotu=$(cd "$shared/corpora/sotu" && pwd)
echo "# machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ) $(git rev-parse --short HEAD) vs $base"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/new" ./cmd/kiln
mkdir "$tmp/base-src" && git archive "$base" | tar -x -C "$tmp/base-src"
(cd "$tmp/base-src" && go build -o "$tmp/old" ./cmd/kiln)
cat "$sotu"/*.txt | grep -v '^[[:space:]]*$' > "$tmp/one.txt"
for _ in $(seq 18); do cat "$tmp/one.txt"; done > "$tmp/para.txt"
run() { # label binary prep-args...
	local label=$1 bin=$2
	shift 2
	rm -rf "$tmp/out"
	/usr/bin/time -f "%M %e" -o "$tmp/time" "$tmp/$bin" prep --output "$tmp/out" --no-progress --vocab "$vocab" "$@" >/dev/null 2>"$tmp/err" ||
		{ echo "$label $bin FAILED: $(tail -1 "$tmp/err")"; return; }
	read -r kb secs <"$tmp/time"
	printf "%-50s %-4s peak %5d MiB %7.1f s\n" "$label" "$bin" $((kb / 1024)) "$secs"
}
for d in 1 10 20; do for b in old new; do run "11 MB document, --dupe-factor $d" $b --input "$tmp/one.txt" --format text --dupe-factor $d --workers 2; done; done
for w in 1 4; do for b in old new; do run "193 MB paragraph, 64 MiB documents, --workers $w" $b --input "$tmp/para.txt" --format text --workers $w; done; done
for m in 16 32; do for b in old new; do run "193 MB paragraph, --max-doc-bytes $m MiB, 2 workers" $b --input "$tmp/para.txt" --format text --workers 2 --max-doc-bytes $((m << 20)); done; done
for b in old new old new; do run "SOTU (233 files, 10.8 MB), 2 workers" $b --input "$sotu" --format text --workers 2; done
