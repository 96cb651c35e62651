#!/usr/bin/env bash
# Trains the shipped respiratory model from ../shared/data (or $AA_DATA): every folder it uses and every
# option is here, so anyone can rebuild it and the README's results come from it.
#
#   bash scripts/train-respiratory.sh OUT.aam [aa-train options...]
#
# The training corpus is assembled from symbolic links (no audio is copied) in OUT.corpus/:
#   cough, heavy_breathing, normal_breathing, background_noise   respiratory/ (the main corpus)
#   heavy_breathing                                    + confusers/heavy_breathing (other sources, other mics)
#   background_noise                                   + speech_commands_mini/household_noise (indoor rooms)
# and the sounds of no class come in as negatives (an internal output reported as Background Noise, split
# by group like the rest): confusers/confuser_* (speech, laughter, vocal sounds, footsteps, doors, knocks,
# hum, wind), speech_commands_mini/speech (41 speakers), keyboard_clicks/.
# Options after OUT.aam are passed to aa-train after the recipe's own, so they override them.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
[[ $# -ge 1 && $1 != -* ]] || { echo "usage: bash scripts/train-respiratory.sh OUT.aam [aa-train options...]" >&2; exit 2; }
out=$1
shift
data=${AA_DATA:-$here/../shared/data}
[[ -d $data/respiratory ]] || { echo "train-respiratory: $data/respiratory: no such folder (set AA_DATA)" >&2; exit 1; }
data=$(cd "$data" && pwd)
train=${AA_TRAIN:-$here/build/aa-train}
[[ -x $train ]] || { echo "train-respiratory: $train: not built (run make)" >&2; exit 1; }

corpus=$out.corpus
rm -rf "$corpus.tmp"
mkdir -p "$corpus.tmp/data" "$corpus.tmp/negatives"
# One manifest for the assembled corpus: path, class, source, group of every linked file, from the
# manifests of the folders it comes from.
{
  printf 'path\tclass\tsource\tgroup\n'
  awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
              { print $col["path"] "\t" $col["class"] "\t" $col["source"] "\t" $col["group"] }' \
      "$data/respiratory/manifest.tsv"
  awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
              $col["class"] == "heavy_breathing" { print $col["path"] "\t" $col["class"] "\t" $col["source"] "\t" $col["group"] }' \
      "$data/confusers/manifest.tsv"
  awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
              $col["path"] ~ /^household_noise\// { n = $col["path"]; sub(/^household_noise\//, "", n);
                print "background_noise/speech_commands__" n "\tbackground_noise\tspeech_commands\t" $col["group"] }' \
      "$data/speech_commands_mini/manifest.tsv"
} > "$corpus.tmp/data/manifest.tsv"
for c in cough heavy_breathing normal_breathing background_noise; do
  mkdir -p "$corpus.tmp/data/$c"
  for f in "$data/respiratory/$c"/*; do ln -s "$f" "$corpus.tmp/data/$c/"; done
done
for f in "$data/confusers/heavy_breathing"/*; do ln -s "$f" "$corpus.tmp/data/heavy_breathing/"; done
for f in "$data/speech_commands_mini/household_noise"/*; do
  ln -s "$f" "$corpus.tmp/data/background_noise/speech_commands__$(basename "$f")"
done
# Speech alone from speech_commands_mini (its household recordings are backgrounds above).
mkdir -p "$corpus.tmp/negatives/speech"
ln -s "$data/speech_commands_mini/speech"/* "$corpus.tmp/negatives/speech/"
awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; print "path\tgroup"; next }
            $col["path"] ~ /^speech\// { print $col["path"] "\t" $col["group"] }' \
    "$data/speech_commands_mini/manifest.tsv" > "$corpus.tmp/negatives/manifest.tsv"
rm -rf "$corpus"
mv "$corpus.tmp" "$corpus"

# The network and augmentation were chosen on the validation side (its recordings, negatives and 20
# validation-side mixtures holding 80 coughs), never on the test split:
#   lse5      log-sum-exp over time instead of the global average, so a 0.5 s cough is not averaged
#             away over a 4 s window (validation mixtures, threshold 0.5, overlap rule: 5/80 -> 47/80)
#   --mix-p 0.5 --mix-classes cough
#             half the windows remade as coughs cut by energy and placed into backgrounds at 0-30 dB
#             SNR and -60 to -10 dBFS: single coughs in quiet rooms exist in training
#   --gain 20 --gain-p 0.7
#             levels far from the phones' (47/80 -> 51/80 found, and fewer false coughs); validation
#             macro-F1 fell from 0.781 (defaults) to 0.742, the price of the mixtures' 5 -> 51 of 80
exec "$train" "$corpus/data" -o "$out" --seed 1 \
  --negatives "$data/confusers" --negatives "$corpus/negatives" --negatives "$data/keyboard_clicks" \
  --arch "c16 bn relu p2 c32 bn relu p2 c64 bn relu p2 c128 bn relu lse5 drop0.3 fc" \
  --mix-p 0.5 --mix-classes cough --gain 20 --gain-p 0.7 \
  --cache "$out.aacache" "$@"
