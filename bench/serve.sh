#!/usr/bin/env bash
# POST /api/classify under load on loopback: 4 s clips at concurrency 1, 8 and 64, each run bounded to
# 2000 requests or 10 s. Targets (issue 6, 2 cores): >= 150 clips/s; p99 < 100 ms at concurrency 8.
# The server is `aa-infer --serve` with aa-cnn-s (random weights from bench/infer_setup.c: the speed does
# not depend on what the network learned), so every request is decoded, turned into a log-mel, classified
# and answered with the full JSON; then the stand-in server (build/aa-stub-server: the HTTP layer alone,
# no model) shows what the HTTP layer costs by itself. AA_SERVE_CMD names another server instead, with
# {port} where the port goes, e.g.
#   AA_SERVE_CMD='build/aa-infer -m my.aam --serve --port {port}' make bench BENCH_ONLY=serve
set -uo pipefail
cd "$(dirname "$0")/.."
B=${AA_BUILD:-build}
work=$(mktemp -d)
server=
trap '[[ -n "$server" ]] && { kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; }; rm -rf "$work"' EXIT

run_load() { # $1 = server command with {port}
  local port=$(( 20000 + RANDOM % 20000 )) status=0 first=1 c wait_arg
  sh -c "exec ${1//\{port\}/$port}" >/dev/null 2>&1 &
  server=$!
  for c in 1 8 64; do
    if [[ $first -eq 1 ]]; then wait_arg=(--wait 10); first=0; else wait_arg=(); fi
    "$B/bench/http_load" --port "$port" --concurrency "$c" --requests 2000 --seconds 10 --clip-seconds 4 \
      "${wait_arg[@]}" || status=1
  done
  kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; server=
  return $status
}

status=0
if [[ -n "${AA_SERVE_CMD:-}" ]]; then
  echo "server: $AA_SERVE_CMD"
  run_load "$AA_SERVE_CMD" || status=1
  exit $status
fi
"$B/bench/infer_setup" "$work" 1 >/dev/null || exit 1
echo "server: aa-infer --serve, aa-cnn-s ($(nproc) cores; decode, log-mel, network, JSON with the log-mel)"
run_load "$B/aa-infer -m $work/model.aam --serve --port {port}" || status=1
make -s "$B/aa-stub-server" BUILD="$B" >/dev/null || exit 1
echo "server: the stand-in classifier (the HTTP layer alone: raw WAV upload, a JSON answer with a 64x401 log-mel; no model)"
run_load "$B/aa-stub-server --port {port}" || status=1
exit $status
