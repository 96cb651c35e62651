#!/usr/bin/env bash
# aa-train under mpirun: one training epoch on one rank against two ranks on this machine (loopback), the
# share of the epoch's training time spent in the ranks' exchanges, and the bytes rank 0 hands over per step.
#
#   BENCH_DATA=DIR   labelled folders of recordings (default: a generated demo corpus, 60 clips per class)
#   BENCH_THREADS=N  threads per rank (default 1: two ranks on two cores)
#
# The figures come from the --log epoch line of the second epoch (the first pays for page faults):
# train_seconds, and under mpirun comm_seconds (time inside MPI calls, waiting for the other rank included)
# and comm_bytes. The two models are compared byte for byte as well: they must be the same file.
set -euo pipefail
B=${AA_BUILD:-build}
train=$B/aa-train
threads=${BENCH_THREADS:-1}
[[ -x "$train" ]] || { echo "mpi_epoch.sh: $train not built (make)" >&2; exit 1; }
if ! command -v mpirun >/dev/null || ! ldd "$train" | grep -q libmpi; then
  echo "mpi_epoch.sh: no mpirun, or aa-train built without Open MPI; skipped"
  echo '{"bench": "mpi_epoch", "skipped": "no Open MPI"}'
  exit 0
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl=self,vader,tcp OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
data=${BENCH_DATA:-}
if [[ -z "$data" ]]; then
  data=$tmp/data
  "$train" --make-demo "$data" --per-class 60 --seed 1 >/dev/null
fi
jget() { sed -n "s/.*\"$1\": *\([-0-9.eE+]*\).*/\1/p" <<<"$2" | head -n1; }
common=(--cache "$tmp/cache" --epochs 2 --patience 0 -j "$threads" -q --seed 1)
"$train" "$data" -o "$tmp/warm.aam" --epochs 1 --cache "$tmp/cache" -q 2>/dev/null # the cache, untimed

"$train" "$data" -o "$tmp/one.aam" "${common[@]}" --log "$tmp/one.log" 2>/dev/null
timeout 600 mpirun --oversubscribe -np 2 "$train" "$data" -o "$tmp/two.aam" "${common[@]}" --log "$tmp/two.log" \
  2>/dev/null
one=$(grep '"type": "epoch"' "$tmp/one.log" | sed -n 2p)
two=$(grep '"type": "epoch"' "$tmp/two.log" | sed -n 2p)
t1=$(jget train_seconds "$one") t2=$(jget train_seconds "$two") n=$(jget samples "$one")
cs=$(jget comm_seconds "$two") cb=$(jget comm_bytes "$two")
steps=$(awk -v n="$n" 'BEGIN {print int(n / 32)}')
same=$(cmp -s "$tmp/one.aam" "$tmp/two.aam" && echo true || echo false)
awk -v t1="$t1" -v t2="$t2" -v cs="$cs" -v cb="$cb" -v st="$steps" -v th="$threads" -v same="$same" 'BEGIN {
  printf "one epoch (%d steps of 32 windows, %d thread(s) per rank): 1 rank %.2f s, 2 ranks %.2f s (speed-up %.2f)\n",
         st, th, t1, t2, t1 / t2
  printf "  2 ranks: %.0f %% of the training time in MPI calls (waiting included), %.0f kB handed over per step by rank 0\n",
         100 * cs / t2, cb / st / 1000
  printf "  the two model files are the same bytes: %s\n", same
  printf "{\"bench\": \"mpi_epoch\", \"steps\": %d, \"threads_per_rank\": %d, \"one_rank_s\": %.3f, \"two_ranks_s\": %.3f, \"comm_share\": %.3f, \"bytes_per_step\": %.0f, \"same_model\": %s}\n",
         st, th, t1, t2, cs / t2, cb / st, same
}'
