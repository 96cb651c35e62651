#!/usr/bin/env bash
# aa-train: one training epoch on the real corpus, on 1 thread and on all cores, beside PyTorch's
# peer_train.py on the same number of training clips in the same run.
#
#   BENCH_DATA=DIR   labelled folders of recordings (default ../shared/data/respiratory; skipped when absent)
#   BENCH_ROUNDS=N   ours/PyTorch alternations per thread count (default 2; medians are reported)
#
# What each side does per epoch (an honest comparison, not the same work):
#   ours     the default aa-cnn-s, batches of 32 windows from the feature cache with the default
#            augmentation (shift, gain, background mixing, SpecAugment) and per-mel normalisation,
#            class-weighted smoothed loss, Adam with a cosine schedule; the epoch's training steps are
#            timed (`train_seconds` in the --log line), validation is not
#   PyTorch  the same network on N synthetic inputs held in memory (80 % trained on), plain cross-entropy,
#            Adam, no augmentation; its s/epoch is the median of the epochs after the first
# Both sides train on the same number of clips per epoch: N = our training windows / 0.8.
set -euo pipefail
B=${AA_BUILD:-build}
bin=$B/aa-train
rounds=${BENCH_ROUNDS:-2}
data=${BENCH_DATA:-../shared/data/respiratory}
cores=$(nproc)
[[ -x "$bin" ]] || { echo "train_epoch.sh: $bin not built (make)" >&2; exit 1; }
if [[ ! -d "$data" ]]; then
  echo "train_epoch.sh: no corpus at $data (set BENCH_DATA); skipped"
  echo '{"bench": "train_epoch", "skipped": "no corpus"}'
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

jget() { sed -n "s/.*\"$1\": *\"\{0,1\}\([-0-9.eE+a-zA-Z_:]*\)\"\{0,1\}.*/\1/p" <<<"$2" | head -n1; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }

# The feature cache first, so that no timed run decodes audio.
echo "building the feature cache of $data ..."
"$bin" "$data" -o "$tmp/m.aam" --cache "$tmp/cache" --epochs 2 --stop-after 1 --checkpoint "$tmp/ckpt" -q

# Two epochs, the second timed: the first pays for page faults and thread start-up.
ours() { # threads -> "train_seconds samples peak_rss_kb"
  /usr/bin/time -f "%M" -o "$tmp/rss" "$bin" "$data" -o "$tmp/m.aam" --cache "$tmp/cache" --epochs 3 \
    --stop-after 2 --checkpoint "$tmp/ckpt" --log "$tmp/log" -j "$1" -q
  local line
  line=$(sed -n 2p "$tmp/log")
  echo "$(jget train_seconds "$line") $(jget samples "$line") $(cat "$tmp/rss")"
}

json_rows=()
for threads in 1 "$cores"; do
  ours_ms=() peer_ms=() rss=() n_train=0 peer_rss=""
  for ((r = 0; r < rounds; r++)); do
    read -r secs n_train kb <<<"$(ours "$threads")"
    ours_ms+=("$(awk -v s="$secs" -v n="$n_train" 'BEGIN {printf "%.3f", 1000 * s / n}')")
    rss+=("$kb")
    if [[ "${PEERS_AVAILABLE:-no}" == yes ]]; then
      clips=$(awk -v n="$n_train" 'BEGIN {printf "%d", n / 0.8 + 0.5}')
      p=$("$PEER_PY" "$PEER_DIR/peer_train.py" --synthetic "$clips" --epochs 2 --threads "$threads" 2>&1 | tail -n1)
      peer_ms+=("$(jget ms_per_train_sample "$p")")
      peer_rss=$(jget peak_rss_mb "$p")
    fi
  done
  o=$(median "${ours_ms[@]}")
  rss_mb=$(awk -v k="$(median "${rss[@]}")" 'BEGIN {printf "%.0f", k / 1024}')
  echo "aa-train, $threads thread(s): $o ms per training window ($n_train windows: $(awk -v m="$o" -v n="$n_train" \
    'BEGIN {printf "%.1f", m * n / 1000}') s per epoch), peak RSS $rss_mb MB"
  row="{\"threads\": $threads, \"windows\": $n_train, \"ours_ms_per_window\": $o, \"ours_peak_rss_mb\": $rss_mb"
  if ((${#peer_ms[@]})); then
    pm=$(median "${peer_ms[@]}")
    echo "PyTorch,  $threads thread(s): $pm ms per training clip, peak RSS ${peer_rss} MB" \
         " -> aa-train is $(ratio "$pm" "$o")x PyTorch's speed"
    row+=", \"peer_ms_per_clip\": $pm, \"peer_peak_rss_mb\": ${peer_rss:-0}, \"speedup\": $(ratio "$pm" "$o")"
  else
    echo "PyTorch peer not available (python3-torch); no ratio"
  fi
  json_rows+=("$row}")
done
printf '{"bench": "train_epoch", "data": "%s", "rounds": %d, "results": [%s]}\n' "$data" "$rounds" \
  "$(IFS=,; echo "${json_rows[*]}")"
