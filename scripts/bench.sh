#!/usr/bin/env bash
# make bench: runs every bench/*.sh in name order. Each section prints human lines and a JSON line per
# measurement; this script notes the machine first, since absolute times here are noisy and only ratios
# measured in the same run mean much.
#   BENCH_DATA=DIR   a folder of real clips for the sections that take one (default: generated clips)
#   BENCH_ONLY=name  run only bench/name.sh
set -uo pipefail
cd "$(dirname "$0")/.."
export AA_BUILD=${AA_BUILD:-build}
export PEER_DIR=${PEER_DIR:-$(cd .. && pwd)/shared/bench}
export PEER_PY=/usr/bin/python3

# A section calls peer_available before running a peer script; the peers are optional.
peers=no
if [[ -d "$PEER_DIR" ]] && "$PEER_PY" -c 'import torch, torchaudio, soundfile, scipy' 2>/dev/null; then
  peers=yes
fi
export PEERS_AVAILABLE=$peers

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
echo "== Audio Audit benchmarks — $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "   machine: $cpu, $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; peers: $peers${PEER_DIR:+ ($PEER_DIR)}"
echo "   load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

status=0
for s in bench/*.sh; do
  [[ -e "$s" ]] || continue
  name=$(basename "$s" .sh)
  [[ -n "${BENCH_ONLY:-}" && "$BENCH_ONLY" != "$name" ]] && continue
  echo
  echo "== $name"
  bash "$s" || { echo "bench $name failed" >&2; status=1; }
done
exit $status
