#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (one after the other: the machine's cores are shared) and prints
# executions and crashes per target. Non-zero exit if any target found a crash, leak, hang or property
# failure; the input that did it is kept in build/fuzz/crashes/NAME/ (replay: build/fuzz/fuzz_NAME FILE).
#
#   fuzz/run.sh [SECONDS]        FUZZ_TARGETS="audio model" limits the targets
#
# Corpora grow in build/fuzz/corpus/NAME/ from run to run; seeds are made afresh (fuzz/make-seeds.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
FUZZ_BUILD=${FUZZ_BUILD:-build/fuzz}
# third-party leaks only (see the file); ours still stop the run
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
bash fuzz/make-seeds.sh "$FUZZ_BUILD/seeds" >/dev/null || { echo "fuzz: seed generation failed" >&2; exit 1; }

# Largest input per target: room for a few seconds of compressed audio, a model file, a feature cache of the
# fixture folder (its decoded signals: 58 KB), a body past the server's 4 KB upload limit; the text parsers
# need little.
max_len() {
  case $1 in
    audio) echo 32768 ;; cache) echo 65536 ;; model) echo 16384 ;; serve) echo 12288 ;; multipart) echo 8192 ;;
    *) echo 4096 ;;
  esac
}

targets=${FUZZ_TARGETS:-$(cd "$FUZZ_BUILD" && ls fuzz_* 2>/dev/null | grep -v '\.' | sed 's/^fuzz_//')}
printf '%-10s %12s %10s %8s  %s\n' target executions exec/s crashes note
failed=0
for t in $targets; do
  bin=$FUZZ_BUILD/fuzz_$t
  [[ -x $bin ]] || { echo "fuzz: no target $bin" >&2; failed=1; continue; }
  corpus=$FUZZ_BUILD/corpus/$t crashes=$FUZZ_BUILD/crashes/$t log=$FUZZ_BUILD/logs/$t.log
  mkdir -p "$corpus" "$crashes" "$(dirname "$log")"
  dict=(); [[ -f fuzz/$t.dict ]] && dict=(-dict="fuzz/$t.dict")
  # slow-unit-* files are inputs over 10 s (reported, not failures); the rest are crashes, leaks, timeouts
  count() { find "$crashes" -type f ! -name 'slow-unit-*' | wc -l; }
  slow_before=$(find "$crashes" -type f -name 'slow-unit-*' | wc -l)
  before=$(count)
  # -timeout: one input taking 20 s is a hang; -rss_limit_mb also caps a single allocation (malloc_limit)
  "$bin" -max_total_time="$secs" -max_len="$(max_len "$t")" -timeout=20 -rss_limit_mb=2048 \
         -print_final_stats=1 -artifact_prefix="$crashes/" "${dict[@]}" "$corpus" "$FUZZ_BUILD/seeds/$t" \
         >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  # a crash stops libFuzzer before its final statistics; its last status line has the count
  [[ -n $runs ]] || runs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')
  runs=${runs:-0}
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  rate=${rate:-$(( runs / (secs > 0 ? secs : 1) ))}
  new=$(( $(count) - before ))
  slow=$(( $(find "$crashes" -type f -name 'slow-unit-*' | wc -l) - slow_before ))
  note=""
  [[ $slow -gt 0 ]] && note="$slow input(s) over 10 s in $crashes; "
  if [[ $rc -ne 0 || $new -gt 0 ]]; then
    failed=1
    note="$note$(grep -m1 -oE 'ERROR: [A-Za-z]+: [a-z-]+|property failed: .*|ERROR: libFuzzer: [a-z-]+' "$log" || echo "exit $rc"); see $log"
  fi
  printf '%-10s %12s %10s %8s  %s\n' "$t" "$runs" "$rate" "$new" "$note"
done
exit $failed
