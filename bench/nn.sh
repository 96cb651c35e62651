#!/usr/bin/env bash
# nn/ speed: aa-cnn-s training throughput (forward + backward + Adam, batch 32, 1x64x401 inputs) on 1 thread
# and on all cores, beside OpenBLAS's sgemm ceiling and PyTorch's peer_train.py measured in the same run;
# batch-1 inference latency; peak memory while training one epoch over 1000 clips held in memory.
#
#   BENCH_ROUNDS=N      ours/PyTorch alternations per thread count (default 2; medians are reported)
#   BENCH_PEER_CLIPS=N  synthetic clips for peer_train.py (default 400: 320 train, ~10 s per epoch)
#
# GFLOP/s count 0.5456 GFLOP per clip for forward + backward, conv and dense only (peer_common.py's
# train_flop_per_sample), for both sides. The sgemm ceiling runs OpenBLAS with the kernels nn uses
# (nn_blas_setup may replace OpenBLAS's fallback kernels on CPUs it does not know; see nn/nn.h).
set -euo pipefail
B=${AA_BUILD:-build}/bench
bin=$B/nn_train
rounds=${BENCH_ROUNDS:-2}
peer_clips=${BENCH_PEER_CLIPS:-400}
cores=$(nproc)
[[ -x "$bin" ]] || { echo "nn.sh: $bin not built (make bench-bins)" >&2; exit 1; }

jget() { sed -n "s/.*\"$1\": *\"\{0,1\}\([-0-9.eE+a-zA-Z]*\)\"\{0,1\}.*/\1/p" <<<"$2" | head -n1; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
# ", N% of the sgemm ceiling (C GFLOP/s)", or nothing when the ceiling could not be measured
pct() { awk -v a="$1" -v b="$2" -v w="$3" 'BEGIN {if (b > 0) printf ", %.0f%% of the %s", 100 * a / b, w}'; }
pctnum() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.0f", 100 * a / b; else printf "null"}'; }

core=$("$bin" core)
echo "OpenBLAS kernels used by nn: $core"

# The sgemm ceiling, built here from the peer directory's source, run with the same kernels.
ceil1=0 ceil2=0
if [[ -f "${PEER_DIR:-}/sgemm_peak.c" ]]; then
  gcc -O3 -fopenmp "$PEER_DIR/sgemm_peak.c" -o "$B/sgemm_peak" $(pkg-config --cflags --libs openblas)
  sg=$(OPENBLAS_CORETYPE=$core "$B/sgemm_peak" 32)
  sed -n '/^ceiling/p' <<<"$sg" | sed 's/^/   sgemm /'
  last=$(tail -n1 <<<"$sg")
  ceil1=$(sed -n 's/.*"blas1": \([0-9.]*\), "blas2".*"omp2x1": \([0-9.]*\)}, "results".*/\1/p' <<<"$last")
  ceil2=$(sed -n 's/.*"blas1": \([0-9.]*\), "blas2".*"omp2x1": \([0-9.]*\)}, "results".*/\2/p' <<<"$last")
else
  echo "   sgemm_peak.c not found (PEER_DIR=${PEER_DIR:-}); no ceiling"
fi

peer_train() { # threads -> last JSON line
  "$PEER_PY" "$PEER_DIR/peer_train.py" --synthetic "$peer_clips" --epochs 2 --threads "$1" 2>&1 | tail -n1
}

json_rows=()
for threads in 1 "$cores"; do
  ours=() gemm=() theirs=() rss_t=()
  for ((r = 0; r < rounds; r++)); do
    o=$("$bin" train --threads "$threads" --batch 32 --seconds 6 | tail -n1)
    ours+=("$(jget gflops "$o")")
    # The portable path (im2col + sgemm everywhere), to show what the direct AVX-512 kernels add.
    o=$(AA_NN_KERNELS=gemm "$bin" train --threads "$threads" --batch 32 --seconds 6 | tail -n1)
    gemm+=("$(jget gflops "$o")")
    if [[ "${PEERS_AVAILABLE:-no}" == yes ]]; then
      p=$(peer_train "$threads")
      theirs+=("$(jget achieved_gflops "$p")")
      rss_t+=("$(jget peak_rss_mb "$p")")
    fi
  done
  g=$(median "${ours[@]}")
  cps=$(awk -v g="$g" 'BEGIN {printf "%.1f", g / 0.5456}')
  ceil=$ceil1; [[ $threads -gt 1 ]] && ceil=$ceil2
  echo
  echo "-- training, $threads thread(s), batch 32"
  echo "   ours:    $cps clips/s, $g GFLOP/s (median of $rounds: ${ours[*]})$(pct "$g" "$ceil" "sgemm ceiling ($ceil GFLOP/s)")"
  gg=$(median "${gemm[@]}")
  echo "   ours, im2col + sgemm only (AA_NN_KERNELS=gemm): $(awk -v g="$gg" 'BEGIN {printf "%.1f", g / 0.5456}') clips/s, $gg GFLOP/s$(pct "$gg" "$ceil" "ceiling")"
  t=0
  if [[ ${#theirs[@]} -gt 0 ]]; then
    t=$(median "${theirs[@]}")
    target=""; [[ $threads -eq 1 ]] && target=" (target >= 3x)"
    echo "   PyTorch: $(awk -v g="$t" 'BEGIN {printf "%.1f", g / 0.5456}') clips/s, $t GFLOP/s (median of $rounds: ${theirs[*]}) -> ours/PyTorch $(ratio "$g" "$t")x$target"
  else
    echo "   PyTorch: not installed (scripts/install-deps.sh peers), no ratio"
  fi
  json_rows+=("{\"threads\": $threads, \"ours_gflops\": $g, \"gemm_only_gflops\": $gg, \"ours_clips_per_s\": $cps, \"pytorch_gflops\": $t, \"ratio\": $(ratio "$g" "$t"), \"ceiling_gflops\": $ceil, \"pct_of_ceiling\": $(pctnum "$g" "$ceil")}")
  [[ $threads -eq 1 && ${#rss_t[@]} -gt 0 ]] && peer_rss=$(median "${rss_t[@]}")
done

echo
echo "-- inference, 1 thread"
inf=$("$bin" infer --threads 1 --reps 300)
sed -n '1p' <<<"$inf" | sed 's/^/   /'
lat=$(jget batch1_ms "$(tail -n1 <<<"$inf")")
echo "   (PyTorch: 7-9 ms for the forward alone, ../shared/bench/README.md)"

echo
echo "-- memory, training one epoch over 1000 clips in memory (80% of them, as peer_train.py)"
rs=$("$bin" rss --threads 1 --clips 1000 --batch 32)
sed -n '1p' <<<"$rs" | sed 's/^/   /'
rss=$(jget peak_rss_mb "$(tail -n1 <<<"$rs")")
if [[ -n "${peer_rss:-}" ]]; then
  echo "   PyTorch: $peer_rss MB peak RSS in this run (peer_train.py, $peer_clips clips); 1200 MB with 1000 clips (README)"
else
  echo "   PyTorch: 1200 MB peak RSS with 1000 clips (README figure; not run)"
fi

printf '{"bench": "nn", "blas_core": "%s", "train": [%s], "batch1_ms": %s, "peak_rss_mb_1000_clips": %s}\n' \
  "$core" "$(IFS=,; echo "${json_rows[*]}")" "$lat" "$rss"
