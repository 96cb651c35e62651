#!/usr/bin/env bash
# bash scripts/demo.sh (or make demo): the whole pipeline on the built-in demo corpus, in a few minutes on two cores.
#   1. generate a synthetic, labelled corpus of the four classes (and one long recording)
#   2. train aa-cnn-s on it: grouped split, calibration, gate, test report with a confusion matrix
#   3. check the model file with its self-test, classify a few clips, follow the long recording
# Everything goes to build/demo/ (DEMO_DIR); a second run reuses the corpus and the feature cache.
# The demo corpus shows the pipeline working; it is not a substitute for real recordings.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${AA_BUILD:-build}
D=${DEMO_DIR:-$B/demo}
PER_CLASS=${DEMO_PER_CLASS:-100}
SEED=${DEMO_SEED:-1}
train="$B/aa-train"
infer="$B/aa-infer"

step() { printf '\n\033[1m== %s\033[0m\n' "$*" 2>/dev/null || printf '\n== %s\n' "$*"; }
[[ -t 1 ]] || step() { printf '\n== %s\n' "$*"; }

# A fresh Debian 12 machine may lack even make and gcc: install what is missing (with Check, for the
# `make check` the README runs next), then build. A plain `make` never installs anything itself.
bash scripts/install-deps.sh build test
make -j"$(nproc 2>/dev/null || echo 2)" --no-print-directory BUILD="$B" all >/dev/null
echo "(built $B/aa-train and $B/aa-infer)"
mkdir -p "$D"
step "1/4  Demo corpus: $PER_CLASS synthetic clips per class in $D/data"
if [[ ! -f "$D/data/manifest.tsv" ]]; then
  rm -rf "$D/data"
  "$train" --make-demo "$D/data" --per-class "$PER_CLASS" --seed "$SEED" --long "$D/long.wav" --long-seconds 40
else
  echo "(already there; delete $D to make it again)"
fi

step "2/4  Training (grouped split, calibration on validation, report on the test split)"
start=$(date +%s)
"$train" "$D/data" -o "$D/model.aam" --cache "$D/features.aacache" --seed "$SEED" \
  --svg "$D/plots" --report-json "$D/test-report.json" --log "$D/train.jsonl"
echo "(trained in $(( $(date +%s) - start )) s; plots in $D/plots/, test report in $D/test-report.json)"

step "3/4  The model file proves what it computes (self-test), then one held-out clip of each class"
"$infer" -m "$D/model.aam" --selftest
# One recording of each class from the test split: files the model never trained on.
mapfile -t clips < <(awk -F'\t' 'NR > 1 && $4 == "test" && !seen[$2]++ { print $1 }' "$D/model.aam.split.tsv")
"$infer" -m "$D/model.aam" "${clips[@]}"

step "4/4  A 40 s recording with coughs and breathing at known times (--timeline)"
"$infer" -m "$D/model.aam" --timeline "$D/long.wav"
echo
echo "Where the events really are ($D/long.events.tsv):"
column -t -s $'\t' "$D/long.events.tsv" 2>/dev/null || cat "$D/long.events.tsv"

cat <<EOF

Done. Next:
  - The web page (upload a file or record from the microphone):
        $infer -m $D/model.aam --serve        then open http://127.0.0.1:8501
  - Evaluate the model on the exact test files the trainer held out:
        $infer -m $D/model.aam --eval $D/model.aam.split.tsv --side test
  - Train on your own recordings: put them in folders named after their classes,
        mydata/cough/*.wav  mydata/normal_breathing/*.flac  ...
    (add mydata/manifest.tsv with path and group columns to keep each person's files together), then
        $train mydata -o my.aam --svg plots
    See README.md for every option. Audio Audit is not a medical device: its output is not a diagnosis.
EOF
