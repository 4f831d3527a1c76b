#!/usr/bin/env bash
# The portable runner's path (what Flink and Spark run), checked offline on one machine: Prism
# as a stand-alone job server in place of Flink's or Spark's, Beam's boot program as the PROCESS
# environment in place of the SDK container, and the worker built with CGO_ENABLED=0 GOOS=linux
# (--worker_binary), which the job server stages and boot starts in worker mode. The output is
# compared, byte for byte, with kiln prep --partitions N (prep-stats.json's timings aside).
# It builds the Beam SDK a second time for the static worker: minutes of CPU, so it is not in CI.
# Usage: cmd/kiln-beam/portable_check.sh   (env: PARTS=4 PORT=18073)
set -euo pipefail
cd "$(dirname "$0")"
parts=${PARTS:-4}
port=${PORT:-18073}
tmp=$(mktemp -d)
server=
cleanup() { if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi; rm -rf "$tmp"; }
trap cleanup EXIT
go build -o "$tmp/kiln-beam" .
go build -o "$tmp/prism" github.com/apache/beam/sdks/v2/go/cmd/prism
go build -o "$tmp/boot" github.com/apache/beam/sdks/v2/go/container
CGO_ENABLED=0 GOOS=linux go build -o "$tmp/kiln-beam-worker" .
(cd ../.. && go build -o "$tmp/kiln" ./cmd/kiln)
# Prism 2.77's PROCESS environment passes --id='ID' with the quotes in the value: strip them.
cat > "$tmp/boot.sh" <<SH
#!/usr/bin/env bash
out=()
for a in "\$@"; do
  if [[ \$a == --id=* ]]; then v=\${a#--id=}; v=\${v//\\'/}; out+=("--id=\$v"); else out+=("\$a"); fi
done
exec "$tmp/boot" "\${out[@]}"
SH
chmod +x "$tmp/boot.sh"
# The job server runs in $tmp: the workers it starts (boot) write their files there.
(cd "$tmp" && exec "$tmp/prism" --job_port "$port" --serve_http=false) > "$tmp/prism.log" 2>&1 &
server=$!
sleep 3
# The workers run in their own directories: every path is absolute.
sample=$(cd ../kiln/sample && pwd)
flags=(--input "$sample/corpus" --vocab "$sample/vocab.txt" --partitions "$parts")
"$tmp/kiln-beam" prep "${flags[@]}" --output "$tmp/beam" \
  --runner universal --endpoint "localhost:$port" --environment_type PROCESS \
  --environment_config "{\"command\": \"$tmp/boot.sh\"}" --worker_binary "$tmp/kiln-beam-worker"
"$tmp/kiln" prep --no-progress "${flags[@]}" --output "$tmp/local" > /dev/null
files() { (cd "$1" && find . -type f ! -name prep-stats.json | sort | xargs sha256sum); }
if [ "$(files "$tmp/local")" = "$(files "$tmp/beam")" ]; then
  echo "portable runner (job server, PROCESS workers, static worker binary): the same bytes as kiln prep --partitions $parts"
else
  echo "portable runner: the output DIFFERS from kiln prep --partitions $parts"; exit 1
fi
