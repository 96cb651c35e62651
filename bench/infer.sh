#!/usr/bin/env bash
# aa-infer speed, beside PyTorch (peer_infer.py: aa-cnn-s with torchaudio features) measured in the same run:
#   cold   a fresh process classifying one 4 s clip, start to printed result (the process's whole life),
#          median of BENCH_RUNS runs (hyperfine when installed, else a loop timed with date +%s%N), for the
#          clip at 16 kHz mono and as phones record it, 44.1 kHz stereo (mixed and resampled: issue 13);
#          PyTorch's figure is its time to first prediction of a fresh python3 (peer_infer.py cold start)
#   steady clips/s over a folder of BENCH_CLIPS clips (one process, startup included) on 1 thread and on all
#          cores, against PyTorch's batch-1 rate on 1 thread (1000 / its per-clip latency, features + forward)
# Targets: cold <= 20 ms (issue 5), <= 15 ms at 44.1 kHz stereo (issue 13); steady >= 3x PyTorch's batch-1 rate.
# The model is aa-cnn-s with random weights (bench/infer_setup.c): speed does not depend on what it learned;
# the clips are 4 s of 16 kHz noise, as peer_infer.py's default clip.
#   BENCH_RUNS=N   cold runs (default 30)      BENCH_CLIPS=N   clips in the folder (default 200)
set -uo pipefail
B=${AA_BUILD:-build}
runs=${BENCH_RUNS:-30}
clips=${BENCH_CLIPS:-200}
cores=$(nproc)
[[ -x "$B/bench/infer_setup" && -x "$B/aa-infer" ]] || { echo "infer.sh: build first (make bench-bins)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$B/bench/infer_setup" "$work" "$clips" || exit 1
model=$work/model.aam
clip=$work/clip.wav

jget() { sed -n "s/.*\"$1\": *\"\{0,1\}\([-0-9.eE+]*\)\"\{0,1\}.*/\1/p" <<<"$2" | head -n1; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
now_ns() { date +%s%N; }

"$B/aa-infer" -m "$model" "$clip" >/dev/null || { echo "infer.sh: aa-infer failed" >&2; exit 1; }

# ---- cold start
# cold_ms CLIP: median ms of a fresh process classifying CLIP
cold_ms() {
  local c=$1
  if command -v hyperfine >/dev/null 2>&1; then
    hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/hf.json" "$B/aa-infer -m $model $c" >/dev/null
    awk -v s="$(jget median "$(tr -d '\n' <"$work/hf.json")")" 'BEGIN {printf "%.2f", s * 1000}'
  else
    local ts=() i s e
    for ((i = 0; i < 3; i++)); do "$B/aa-infer" -m "$model" "$c" >/dev/null; done
    for ((i = 0; i < runs; i++)); do
      s=$(now_ns)
      "$B/aa-infer" -m "$model" "$c" >/dev/null
      e=$(now_ns)
      ts+=("$(awk -v d=$((e - s)) 'BEGIN {printf "%.2f", d / 1e6}')")
    done
    median "${ts[@]}"
  fi
}
how="loop timed with date +%s%N, $runs runs"
command -v hyperfine >/dev/null 2>&1 && how="hyperfine, $runs runs"
clip44=$work/clip44s.wav
"$B/aa-infer" -m "$model" "$clip44" >/dev/null || { echo "infer.sh: aa-infer failed on $clip44" >&2; exit 1; }
cold=$(cold_ms "$clip")
cold44=$(cold_ms "$clip44")

peer_cold=0 peer_clip_ms=0 peer_cps=0
if [[ "${PEERS_AVAILABLE:-no}" == yes ]]; then
  p=$("$PEER_PY" "$PEER_DIR/peer_infer.py" --threads 1 --clip "$clip" --cold-runs 5 --reps 50 2>/dev/null | tail -n1)
  peer_cold=$(jget cold_ttfp_ms_median "$p")
  peer_clip_ms=$(jget clip_latency_ms "$p")
  peer_cps=$(awk -v l="$peer_clip_ms" 'BEGIN {printf "%.1f", (l > 0 ? 1000 / l : 0)}')
fi

echo "-- one 4 s clip in a fresh process (aa-cnn-s; $how)"
echo "   ours:    $cold ms median (target <= 20 ms); the clip at 44.1 kHz stereo: $cold44 ms (target <= 15 ms)"
if [[ "$peer_cold" != 0 ]]; then
  echo "   PyTorch: $peer_cold ms median time to first prediction (peer_infer.py --threads 1, 5 runs) -> $(ratio "$peer_cold" "$cold")x faster"
else
  echo "   PyTorch: not installed (scripts/install-deps.sh peers), no ratio"
fi

# ---- steady state over a folder
rows=()
echo
echo "-- $clips clips in one process (decode, log-mel, network, one CSV line each; startup included)"
for t in 1 "$cores"; do
  s=$(now_ns)
  "$B/aa-infer" -m "$model" --threads "$t" --csv "$work/clips" >/dev/null || exit 1
  e=$(now_ns)
  cps=$(awk -v n="$clips" -v d=$((e - s)) 'BEGIN {printf "%.1f", n / (d / 1e9)}')
  r=$(ratio "$cps" "$peer_cps")
  line="   ours, $t thread(s): $cps clips/s"
  [[ "$peer_cps" != 0 ]] && line+=" -> ${r}x PyTorch's batch-1 rate (target >= 3x)"
  echo "$line"
  rows+=("{\"threads\": $t, \"clips_per_s\": $cps, \"ratio_vs_pytorch_batch1\": $r}")
done
if [[ "$peer_cps" != 0 ]]; then
  echo "   PyTorch, 1 thread, batch 1: $peer_cps clips/s ($peer_clip_ms ms per clip: features + forward)"
fi

printf '{"bench": "infer", "cold_ms_median": %s, "cold_44k_stereo_ms_median": %s, "cold_runs": %s, "pytorch_cold_ms_median": %s, "steady": [%s], "pytorch_batch1_clips_per_s": %s}\n' \
  "$cold" "$cold44" "$runs" "${peer_cold:-0}" "$(IFS=,; echo "${rows[*]}")" "$peer_cps"
