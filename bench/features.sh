#!/usr/bin/env bash
# Front-end throughput: decode + resample + crop + log-mel, clips per second, ours (1 thread and all cores)
# beside torchaudio (1 thread, ../shared/bench/peer_features.py) on the same folder, alternating runs.
#
#   BENCH_DATA=DIR   a folder of real recordings (e.g. ../shared/data/respiratory); default: two generated
#                    folders of 200 WAV clips of 4-6 s, one at mixed rates (8-48 kHz) and channels, one all
#                    at 16 kHz mono/stereo, so the resampler's share is visible
#   BENCH_ROUNDS=N   ours/peer alternations per folder (default 3; the medians are reported)
#
# What each side does per file (an honest comparison, not the same work):
#   ours        libsndfile decode of the whole file, mean of channels, libsoxr HQ to 16 kHz (librosa's load),
#               the loudest 4 s window (needs the whole file), log-mel 64 x 401 (FFTW, float32)
#   torchaudio  soundfile decode of the whole file, mean of channels, scipy resample_poly to 16 kHz, the
#               first 4 s, torchaudio MelSpectrogram + AmplitudeToDB 64 x 401
set -euo pipefail
bin=${AA_BUILD:-build}/bench/features
rounds=${BENCH_ROUNDS:-3}
librosa_readme=170 # clips/s, ../shared/bench/README.md (librosa 0.10.1 is not packaged in Debian)
[[ -x "$bin" ]] || { echo "features.sh: $bin not built (make bench-bins)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The peer script checks itself against librosa on its first clip; without librosa that check compares
# torchaudio with itself (the timing loop never calls librosa).
peer() {
  "$PEER_PY" - "$PEER_DIR" "$1" <<'PY'
import runpy, sys
peer_dir, folder = sys.argv[1], sys.argv[2]
sys.path.insert(0, peer_dir)
import peer_common
try:
    import librosa  # noqa: F401
except ImportError:
    import torch
    mel = peer_common.logmel_torchaudio()
    def stand_in(y):
        with torch.inference_mode():
            return mel(torch.from_numpy(y)[None, None])[0, 0].numpy()
    peer_common.logmel_librosa = stand_in
sys.argv = ["peer_features.py", folder, "--lib", "torchaudio", "--threads", "1"]
runpy.run_path(peer_dir + "/peer_features.py", run_name="__main__")
PY
}

# jget KEY JSON: a number from a flat JSON line.
jget() { sed -n "s/.*\"$1\": *\([-0-9.eE+]*\).*/\1/p" <<<"$2"; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }

if [[ -n "${BENCH_DATA:-}" ]]; then
  sets=("real|$BENCH_DATA")
else
  "$bin" --make-corpus "$tmp/mixed" 200 1
  "$bin" --make-corpus "$tmp/16k" 200 2 16000
  sets=("mixed rates|$tmp/mixed" "16 kHz|$tmp/16k")
fi
echo "ours: whole-file decode, libsoxr HQ (librosa's default), loudest 4 s window, log-mel; torchaudio: whole-file"
echo "decode, scipy resample_poly, first 4 s, log-mel. librosa: ${librosa_readme} clips/s (README figure, not run)."

for entry in "${sets[@]}"; do
  name=${entry%%|*} dir=${entry#*|}
  ours1=() oursn=() theirs=() last="" threads=1
  for ((r = 0; r < rounds; r++)); do
    warm=(); [[ $r -gt 0 ]] && warm=(--no-warmup)
    out=$("$bin" --repeat 1 "${warm[@]}" "$dir")
    last=$(tail -n1 <<<"$out")
    ours1+=("$(jget clips_per_s_1t "$last")") oursn+=("$(jget clips_per_s_nt "$last")")
    threads=$(jget threads "$last")
    if [[ "${PEERS_AVAILABLE:-no}" == yes ]]; then
      p=$(peer "$dir" 2>&1 | tail -n1)
      theirs+=("$(jget clips_per_s "$p")")
    fi
  done
  o1=$(median "${ours1[@]}") on=$(median "${oursn[@]}")
  echo
  echo "-- $name: $dir"
  sed -n '1p;4p' <<<"$out" | sed 's/^/   /'
  echo "   ours, 1 thread : $o1 clips/s (median of $rounds: ${ours1[*]})"
  echo "   ours, $threads threads: $on clips/s (median of $rounds: ${oursn[*]})"
  t1=0
  if [[ ${#theirs[@]} -gt 0 ]]; then
    t1=$(median "${theirs[@]}")
    echo "   torchaudio, 1 thread: $t1 clips/s (median of $rounds: ${theirs[*]}) -> ours/torchaudio $(ratio "$o1" "$t1")x (target >= 4x)"
  else
    echo "   torchaudio: not installed (scripts/install-deps.sh peers), no ratio"
  fi
  echo "   ours/librosa (README figure): $(ratio "$o1" "$librosa_readme")x (target >= 10x)"
  printf '{"bench":"features","set":"%s","files":%s,"ours_clips_per_s_1t":%s,"ours_clips_per_s_nt":%s,"threads":%s,"torchaudio_clips_per_s_1t":%s,"ratio_torchaudio_1t":%s,"librosa_readme_clips_per_s":%s,"ratio_librosa_readme":%s,"ours_last":%s}\n' \
    "$name" "$(jget files "$last")" "$o1" "$on" "$threads" "$t1" "$(ratio "$o1" "$t1")" "$librosa_readme" \
    "$(ratio "$o1" "$librosa_readme")" "$last"
done
