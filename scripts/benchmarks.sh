#!/usr/bin/env bash
# Public spoken-word benchmarks, trained with aa-train's defaults (FSDD also with the speech recipe) and
# cross-validated by speaker, printed beside published figures (make benchmarks; not part of make check: it
# trains 23 networks).
#
#   scripts/benchmarks.sh [fsdd] [speech_commands]      (default: both)
#
# Environment: AA_BUILD (build) holds aa-train; AA_DATA (../shared/data beside the checkout) holds fsdd/
# and speech_commands_mini/; AA_BENCH_DIR (a new temporary folder) receives the manifests, logs and the
# --report-json of each run; AA_TRAIN_OPTS adds options to every aa-train run (e.g. "--epochs 5" for a
# quick look; the table then says so). Needs jq to read the reports.
#
#   FSDD: 3000 recordings of the digits 0-9 by 6 speakers at 8 kHz. Leave-one-speaker-out: a manifest with
#         fold = speaker, aa-train --cv (each fold's validation side is taken from the other 5 speakers,
#         whole). Mean ± sd over the 6 folds of per-recording accuracy and macro-F1.
#   Speech Commands mini: 300 one-second clips of 30 words (10 each, 41 speakers), one class folder per
#         word made of links; aa-train --cv --folds 5, folds made of whole speakers, stratified by word.
set -euo pipefail
export LC_ALL=C # the figures are printed with a decimal point whatever the locale

here=$(cd "$(dirname "$0")/.." && pwd)
build=${AA_BUILD:-build}
[[ $build = /* ]] || build=$here/$build
# The shared data sit beside the checkout (../shared/data), or beside the folder of worktrees.
data=${AA_DATA:-}
if [[ -z $data ]]; then
  data=$here/../shared/data
  [[ -d $data ]] || data=$here/../../shared/data
fi
extra=${AA_TRAIN_OPTS:-}
# FSDD is also trained with the speech recipe (README, "spoken digits and words"): mean removal along time
# first (cmn: the speaker's and microphone's colour away), twice the default widths. Chosen on validation
# speakers (three designs of one validation and one test speaker); the defaults' row stays beside it.
# aa-cnn-speech is "cmn c32 bn relu p2 c64 bn relu p2 c128 bn relu p2 c256 bn relu gap drop0.3 fc".
speech_opts=(--arch aa-cnn-speech)
train=$build/aa-train

command -v jq >/dev/null || { echo "benchmarks: jq is missing (bash scripts/install-deps.sh benchmarks, or as root: apt-get install -y jq)" >&2; exit 1; }
[[ -x $train ]] || { echo "benchmarks: $train is missing (run make first)" >&2; exit 1; }

which=("$@")
[[ ${#which[@]} -gt 0 ]] || which=(fsdd speech_commands)
for w in "${which[@]}"; do
  case $w in fsdd|speech_commands) ;; *) echo "benchmarks: unknown benchmark '$w' (fsdd, speech_commands)" >&2; exit 2 ;; esac
done

work=${AA_BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/aa-benchmarks.XXXXXX")}
mkdir -p "$work"
# The feature caches of these corpora stay with the run, not in the user's cache folder.
export XDG_CACHE_HOME=${XDG_CACHE_HOME:-$work/cache}

declare -A ACC MF1
run_cv() { # name DATA log options...
  local name=$1 dir=$2; shift 2
  echo "== $name: aa-train $dir --cv $* $extra" >&2
  local t0=$SECONDS
  # shellcheck disable=SC2086
  nice "$train" "$dir" --cv --report-json "$work/$name.json" "$@" $extra > "$work/$name.log" 2>&1 || {
    echo "benchmarks: $name failed; its log: $work/$name.log" >&2; tail -5 "$work/$name.log" >&2; exit 1; }
  grep -E "^(Clip length|Front end|  mean ± sd)" "$work/$name.log" >&2 || true
  local v
  v=($(jq -r '[.mean.accuracy, .sd.accuracy, .mean.macro_f1, .sd.macro_f1] | @tsv' "$work/$name.json"))
  ACC[$name]=$(printf '%.3f ± %.3f' "${v[0]}" "${v[1]}")
  MF1[$name]=$(printf '%.3f ± %.3f' "${v[2]}" "${v[3]}")
  echo "   $name: $((SECONDS - t0)) s" >&2
}

for w in "${which[@]}"; do
  case $w in
    fsdd)
      src=$data/fsdd
      [[ -f $src/manifest.tsv ]] || { echo "benchmarks: $src/manifest.tsv is missing" >&2; exit 1; }
      # fold = the speaker's rank among the speakers' sorted names (1..6); the group stays the speaker.
      awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "group") g = i; next } { print $g }' \
        "$src/manifest.tsv" | LC_ALL=C sort -u > "$work/fsdd.speakers"
      awk -F'\t' 'BEGIN { OFS = "\t" } FNR == NR { rank[$1] = FNR; next }
                  FNR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; print "path", "group", "fold"; next }
                  { print $col["path"], $col["group"], rank[$col["group"]] }' \
        "$work/fsdd.speakers" "$src/manifest.tsv" > "$work/fsdd.tsv"
      run_cv fsdd "$src" --manifest "$work/fsdd.tsv"
      run_cv fsdd_speech "$src" --manifest "$work/fsdd.tsv" "${speech_opts[@]}"
      # The same folds with one group per recording: validation is then 15 % of the five training speakers'
      # recordings, so all five train (the held-out speaker is still never heard), but the validation
      # side, hence early stopping and the gate, is speaker-dependent.
      awk -F'\t' 'BEGIN { OFS = "\t" } NR == 1 { print; next } { print $1, $1, $3 }' "$work/fsdd.tsv" \
        > "$work/fsdd_rec.tsv"
      run_cv fsdd_speech_rec "$src" --manifest "$work/fsdd_rec.tsv" "${speech_opts[@]}"
      ;;
    speech_commands)
      src=$data/speech_commands_mini
      [[ -f $src/manifest.tsv ]] || { echo "benchmarks: $src/manifest.tsv is missing" >&2; exit 1; }
      words=$work/speech_commands
      rm -rf "$words"
      mkdir -p "$words"
      printf 'path\tgroup\n' > "$words/manifest.tsv"
      while IFS=$'\t' read -r path group word; do
        mkdir -p "$words/$word"
        ln -s "$src/$path" "$words/$word/$(basename "$path")"
        printf '%s/%s\t%s\n' "$word" "$(basename "$path")" "$group" >> "$words/manifest.tsv"
      done < <(awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
                          $col["word"] != "" { print $col["path"] "\t" $col["group"] "\t" $col["word"] }' "$src/manifest.tsv")
      run_cv speech_commands "$words" --folds 5
      ;;
  esac
done

note=${extra:+ (with $extra)}
echo
echo "Benchmarks$note, per recording, mean ± sd over folds; published figures beside them"
printf '%-22s %-44s %-15s %-15s\n' "corpus" "protocol" "accuracy" "macro-F1"
for w in "${which[@]}"; do
  case $w in
    fsdd)
      printf '%-22s %-44s %-15s %-15s\n' "FSDD (10 digits)" "aa-train, leave-one-speaker-out (6)" "${ACC[fsdd]}" "${MF1[fsdd]}"
      printf '%-22s %-44s %-15s %-15s\n' "" "the speech recipe, the same folds" "${ACC[fsdd_speech]}" "${MF1[fsdd_speech]}"
      printf '%-22s %-44s %-15s %-15s\n' "" "the same, validation from training voices" "${ACC[fsdd_speech_rec]}" "${MF1[fsdd_speech_rec]}"
      printf '%-22s %-44s %-15s %-15s\n' "" "published: CNN on MFCC, random 90/10" "0.97" "-"
      echo "  Not comparable: most published FSDD figures (the upstream split of recordings 0-4 as test, or a"
      echo "  random split) keep every speaker on both sides, which makes the task speaker-dependent and near"
      echo "  ceiling. Leave-one-speaker-out tests on a voice never heard; few publications report it."
      ;;
    speech_commands)
      printf '%-22s %-44s %-15s %-15s\n' "Speech Commands mini" "aa-train, 30 words, 5 speaker folds" "${ACC[speech_commands]}" "${MF1[speech_commands]}"
      printf '%-22s %-44s %-15s %-15s\n' "" "published: Warden 2018, v0.01, 12 classes" "0.854" "-"
      echo "  Not comparable: the published baseline trains on about 65,000 clips of the full dataset and"
      echo "  scores 10 words plus silence and unknown; this sample has 10 clips of each of 30 words (about 6"
      echo "  per word to train on in a fold). Both hold speakers out."
      ;;
  esac
done
echo "Reports and logs: $work"
