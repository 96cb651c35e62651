#!/usr/bin/env bash
# POST /api/classify under load on loopback: 4 s clips at concurrency 1, 8 and 64, each run bounded to
# 2000 requests or 10 s. Against the stand-in server (build/aa-stub-server: the HTTP layer alone, no model)
# unless AA_SERVE_CMD names another, with {port} where the port goes, e.g.
#   AA_SERVE_CMD='build/aa-infer -m model.aam --serve --port {port}' make bench BENCH_ONLY=serve
set -uo pipefail
cd "$(dirname "$0")/.."
B=${AA_BUILD:-build}
port=$(( 20000 + RANDOM % 20000 ))
cmd=${AA_SERVE_CMD:-"$B/aa-stub-server --port {port}"}
if [[ -z "${AA_SERVE_CMD:-}" ]]; then
  make -s "$B/aa-stub-server" BUILD="$B" >/dev/null || exit 1
  echo "server: the stand-in classifier (HTTP layer, raw WAV upload, a JSON answer with a 64x401 log-mel); no model"
else
  echo "server: $cmd"
fi
sh -c "exec ${cmd//\{port\}/$port}" >/dev/null 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null' EXIT
status=0
first=1
for c in 1 8 64; do
  if [[ $first -eq 1 ]]; then wait_arg=(--wait 10); first=0; else wait_arg=(); fi
  "$B/bench/http_load" --port "$port" --concurrency "$c" --requests 2000 --seconds 10 --clip-seconds 4 \
    "${wait_arg[@]}" || status=1
done
exit $status
