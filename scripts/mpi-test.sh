#!/usr/bin/env bash
# Two ranks on loopback (mpirun --oversubscribe -np 2) against one process, on a small generated corpus:
#   1. aa-infer --eval: the same report bytes (text and --json), also with 3 ranks
#   2. aa-train: the same model file bytes (cmp), plain, with 0.6 s clips (a derived clip length) and with
#      mixup, dropout and --ema, 2 threads per
#      rank; --stop-after then --resume under mpirun gives the uninterrupted run's file
#   3. a rank killed with SIGKILL mid-run: the run ends (no hang: every run is under `timeout`), non-zero,
#      and no model file is there
# Skipped (exit 0, says so) when the binaries were built without Open MPI or mpirun is missing.
#   AA_BUILD=DIR  the binaries (default build)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${AA_BUILD:-build}
train=$B/aa-train infer=$B/aa-infer
for b in "$train" "$infer"; do
  [[ -x "$b" ]] || { echo "mpi-test: $b not built (make)" >&2; exit 1; }
done
if ! command -v mpirun >/dev/null || ! ldd "$train" | grep -q libmpi; then
  echo "mpi-test: skipped (no mpirun, or $train built without Open MPI: apt-get install openmpi-bin libopenmpi-dev)"
  exit 0
fi
# CI machines run as root; Open MPI refuses that unless told
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# loopback only: no probing of other interfaces
export OMPI_MCA_btl=self,vader,tcp OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
mpi() { local np=$1; shift; timeout 120 mpirun --oversubscribe -np "$np" "$@"; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0 passes=0
ok() { echo "ok   $*"; passes=$((passes + 1)); }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
same() { if cmp -s "$2" "$3"; then ok "$1"; else bad "$1 ($2 and $3 differ)"; fi; }

"$train" --make-demo "$tmp/data" --per-class 10 --seed 5 >/dev/null
small=(--arch "c8 bn relu p2 c16 bn relu drop0.2 gap fc" --seed 3 --cache "$tmp/cache" -q)
"$train" "$tmp/data" -o "$tmp/m.aam" "${small[@]}" --epochs 2 -j 1 2>/dev/null

echo "== aa-infer --eval shared out among ranks"
"$infer" -m "$tmp/m.aam" --eval "$tmp/data" >"$tmp/eval1.txt"
mpi 2 "$infer" -m "$tmp/m.aam" --eval "$tmp/data" >"$tmp/eval2.txt"
same "eval, 2 ranks: the one-process report" "$tmp/eval1.txt" "$tmp/eval2.txt"
mpi 3 "$infer" -m "$tmp/m.aam" --eval "$tmp/data" >"$tmp/eval3.txt"
same "eval, 3 ranks: the one-process report" "$tmp/eval1.txt" "$tmp/eval3.txt"
"$infer" -m "$tmp/m.aam" --eval "$tmp/m.aam.split.tsv" --side test --json >"$tmp/eval1.json"
mpi 2 "$infer" -m "$tmp/m.aam" --eval "$tmp/m.aam.split.tsv" --side test --json >"$tmp/eval2.json"
same "eval --json of the test side, 2 ranks" "$tmp/eval1.json" "$tmp/eval2.json"
if mpi 2 "$infer" -m "$tmp/m.aam" "$tmp/data/cough/0001.wav" >/dev/null 2>"$tmp/err"; then
  bad "classifying under mpirun should be refused"
else
  grep -q "only --eval" "$tmp/err" && ok "other modes refused under mpirun" || bad "no clear refusal: $(cat "$tmp/err")"
fi

echo "== aa-train data-parallel: the one-process model bytes"
train_pair() { # name np options...
  local name=$1 np=$2; shift 2
  rm -f "$tmp/one.aam" "$tmp/two.aam"
  "$train" "$tmp/data" -o "$tmp/one.aam" "${small[@]}" "$@" 2>/dev/null
  mpi "$np" "$train" "$tmp/data" -o "$tmp/two.aam" "${small[@]}" "$@" 2>/dev/null
  same "$name" "$tmp/one.aam" "$tmp/two.aam"
}
train_pair "2 ranks, 1 thread each" 2 --epochs 2 -j 1
train_pair "2 ranks, 2 threads each, mixup, --ema, batch 7" 2 --epochs 2 -j 2 --batch 7 --mixup-p 0.5 --ema 0.9
train_pair "3 ranks, batch 10 (shares of 3, 3, 4)" 3 --epochs 1 -j 1 --batch 10
# clips of 0.6 s: the clip length and front end derived from the files (train/clip.c) on every rank alike
python3 - "$tmp/short" <<'PY'
import math, os, random, struct, sys, wave
random.seed(7)
for c, f0 in (("low", 300.0), ("high", 2400.0)):
    os.makedirs(os.path.join(sys.argv[1], c), exist_ok=True)
    for i in range(8):
        with wave.open(os.path.join(sys.argv[1], c, "%02d.wav" % i), "wb") as w:
            w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000)
            n = 9600 + 160 * i
            w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * f0 * (1 + 0.01 * i) * t / 16000)
                                                        + random.gauss(0, 500))) for t in range(n)))
PY
rm -f "$tmp/one.aam" "$tmp/two.aam"
"$train" "$tmp/short" -o "$tmp/one.aam" "${small[@]}" --no-cache --epochs 2 -j 1 2>/dev/null
mpi 2 "$train" "$tmp/short" -o "$tmp/two.aam" "${small[@]}" --no-cache --epochs 2 -j 1 2>/dev/null
same "2 ranks, 0.6 s clips (a derived clip length)" "$tmp/one.aam" "$tmp/two.aam"
# default network (fused conv blocks) once
rm -f "$tmp/one.aam" "$tmp/two.aam"
"$train" "$tmp/data" -o "$tmp/one.aam" --seed 3 --cache "$tmp/cache" -q --epochs 1 -j 1 2>/dev/null
mpi 2 "$train" "$tmp/data" -o "$tmp/two.aam" --seed 3 --cache "$tmp/cache" -q --epochs 1 -j 1 2>/dev/null
same "2 ranks, the default aa-cnn-s" "$tmp/one.aam" "$tmp/two.aam"
# only rank 0 writes: the split and the log are the one-process ones too
rm -f "$tmp/one.aam" "$tmp/two.aam" "$tmp/ckpt"
"$train" "$tmp/data" -o "$tmp/one.aam" "${small[@]}" --epochs 3 -j 1 2>/dev/null
mpi 2 "$train" "$tmp/data" -o "$tmp/two.aam" "${small[@]}" --epochs 3 -j 1 --stop-after 1 --checkpoint "$tmp/ckpt" \
  2>/dev/null
[[ ! -e "$tmp/two.aam" && -s "$tmp/ckpt" ]] && ok "--stop-after under mpirun: a checkpoint, no model" ||
  bad "--stop-after under mpirun"
mpi 2 "$train" "$tmp/data" -o "$tmp/two.aam" "${small[@]}" --epochs 3 -j 1 --resume "$tmp/ckpt" 2>/dev/null
same "--resume under mpirun: the uninterrupted one-process model" "$tmp/one.aam" "$tmp/two.aam"
same "the split table, written by rank 0" "$tmp/one.aam.split.tsv" "$tmp/two.aam.split.tsv"

echo "== a rank killed mid-run"
rm -f "$tmp/dead.aam"
start=$(date +%s)
set +e
timeout 90 mpirun --oversubscribe -np 2 "$train" "$tmp/data" -o "$tmp/dead.aam" "${small[@]}" --epochs 400 -j 1 \
  --patience 0 >"$tmp/dead.out" 2>&1 &
runner=$!
# rank 1 is the process whose environment says so
victim=
for _ in $(seq 1 100); do
  for p in $(pgrep -f "$tmp/dead.aam" || true); do
    if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=1; then victim=$p; fi
  done
  [[ -n "$victim" ]] && break
  sleep 0.1
done
sleep 2 # into the training steps
[[ -n "$victim" ]] && kill -9 "$victim"
wait "$runner"
rc=$?
set -e
took=$(( $(date +%s) - start ))
if [[ -z "$victim" ]]; then
  bad "rank 1 of the run to kill was not found"
elif [[ $rc -eq 0 || $rc -eq 124 ]]; then
  bad "killed rank: exit $rc (0: not noticed; 124: hung until the timeout)"
elif compgen -G "$tmp/dead.aam*" >/dev/null; then
  bad "killed rank: a model file (or part of one) was written"
else
  ok "killed rank: the run ended in ${took} s with status $rc, no model file"
fi
grep -m1 -iE "signal|killed|exited" "$tmp/dead.out" | sed 's/^/     mpirun: /' || true

echo "mpi-test: $passes passed, $fails failed"
[[ $fails -eq 0 ]]
