#!/usr/bin/env bash
# The installed library as a user meets it, checked against aa-infer on the same clips:
#   1. make install into a staging folder (DESTDIR, PREFIX=/usr): exactly the expected files; the
#      shared library exports audioaudit_ names only; the manual pages are clean roff that names every
#      option of --help
#   2. examples/classify.c built with nothing but `pkg-config --cflags --libs audioaudit` against the
#      staged tree (shared, and --static), run on one clip of each demo class: label and confidence as
#      aa-infer --json gives them
#   3. the Python package (Debian's /usr/bin/python3; numpy arrays too when python3-numpy is there) from the staged tree: files, bytes and samples give
#      aa-infer's answers (every probability, the gate, the quality figures); errors are exceptions
#   4. make uninstall: no file is left in the staging folder
# The model: build/demo/model.aam when scripts/demo.sh made one, else a small one trained here in a few
# seconds on a generated demo corpus.
#   bash scripts/library-test.sh          (about a minute after a build)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
B=${AA_BUILD:-build}
jobs=$(nproc 2>/dev/null || echo 2)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "library-test: $*" >&2; exit 1; }

command -v pkg-config >/dev/null || fail "pkg-config is missing (apt-get install pkg-config)"
# Debian's python3 (the one the python3-audioaudit package is for), not one earlier on PATH
py=${PYTHON:-/usr/bin/python3}
[[ -x $py ]] || fail "$py is missing (apt-get install python3)"
make -j"$jobs" --no-print-directory BUILD="$B" all man >/dev/null

echo "== install into a staging folder"
D=$work/stage
make --no-print-directory BUILD="$B" install DESTDIR="$D" PREFIX=/usr LIBDIR=/usr/lib >/dev/null
so=$(cd "$B/lib" && ls libaudioaudit.so.*.*.*)
major=${so#libaudioaudit.so.}; major=${major%%.*}
expected=$(sort <<EOF
usr/bin/aa-infer
usr/bin/aa-train
usr/include/audioaudit.h
usr/lib/$so
usr/lib/libaudioaudit.a
usr/lib/libaudioaudit.so
usr/lib/libaudioaudit.so.$major
usr/lib/pkgconfig/audioaudit.pc
usr/lib/python3/dist-packages/audioaudit/__init__.py
usr/lib/python3/dist-packages/audioaudit/_build.py
usr/share/man/man1/aa-infer.1
usr/share/man/man1/aa-train.1
EOF
)
got=$(cd "$D" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort)
[[ "$got" == "$expected" ]] || fail "installed files differ from the expected ones:
$(diff <(echo "$expected") <(echo "$got") || true)"
[[ $(readlink "$D/usr/lib/libaudioaudit.so.$major") == "$so" ]] || fail "libaudioaudit.so.$major does not point at $so"
soname=$(readelf -d "$D/usr/lib/$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[[ $soname == "libaudioaudit.so.$major" ]] || fail "SONAME is '$soname'"
leaked=$(nm -D --defined-only "$D/usr/lib/$so" | awk '$2 != "A" && $3 !~ /^audioaudit_/ {print $3}')
[[ -z $leaked ]] || fail "the shared library exports names without the prefix: $leaked"
# Open MPI is the binaries' alone (aa-train, aa-infer --eval under mpirun); the library never loads it (the
# static build below links without it).
if readelf -d "$D/usr/lib/$so" | grep -q 'NEEDED.*libmpi'; then fail "the shared library needs libmpi"; fi
leaked=$(nm -g --defined-only "$D/usr/lib/libaudioaudit.a" | awk 'NF == 3 && $3 !~ /^audioaudit_/ {print $3}')
[[ -z $leaked ]] || fail "the static library defines global names without the prefix: $leaked"
echo "   $(echo "$got" | wc -l) files; $(nm -D --defined-only "$D/usr/lib/$so" | grep -c ' T audioaudit_') functions exported, nothing else"

echo "== manual pages"
for p in aa-train aa-infer; do
  page=$D/usr/share/man/man1/$p.1
  warn=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null)
  [[ -z $warn ]] || fail "$p.1: $warn"
  text=$(MANWIDTH=200 man -l "$page" 2>/dev/null)
  for opt in $("$B/$p" --help | grep -oE '(^|[ ,])--[a-z][a-z0-9-]*' | tr -d ' ,' | sort -u); do
    grep -qF -- "$opt" <<<"$text" || fail "$p.1 does not mention $opt"
  done
done
echo "   aa-train.1 and aa-infer.1: no warnings, every option of --help"

echo "== a model and one clip of each class"
model=$B/demo/model.aam
if [[ ! -f $model ]]; then
  model=$work/model.aam
  "$B/aa-train" --make-demo "$work/data" --per-class 12 --seed 3 >/dev/null
  "$B/aa-train" "$work/data" -o "$model" --arch "p2 p2 c12 bn relu p2 c24 bn relu p2 c32 bn relu gap fc" \
    --epochs 15 --lr 0.01 --no-cache --quiet
  clips=("$work"/data/*/0001.wav)
else
  mapfile -t clips < <(awk -F'\t' 'NR > 1 && $4 == "test" && !seen[$2]++ { print $1 }' "$model.split.tsv")
fi
[[ ${#clips[@]} -ge 4 ]] || fail "fewer than 4 clips"
for c in "${clips[@]}"; do "$B/aa-infer" -m "$model" --json "$c"; done > "$work/infer.jsonl"
"$B/aa-infer" -m "$model" --json --min-confidence 1 "${clips[0]}" > "$work/gated.jsonl"

echo "== examples/classify.c with pkg-config only"
export PKG_CONFIG_SYSROOT_DIR=$D PKG_CONFIG_PATH=$D/usr/lib/pkgconfig
flags=$(pkg-config --cflags --libs audioaudit)
grep -q -- "-I$D/usr/include" <<<"$flags" || fail "pkg-config --cflags does not point into the staged tree: $flags"
# shellcheck disable=SC2086 # the flags are words
cc -std=c11 -Wall -Wextra -Werror examples/classify.c -o "$work/classify" $flags
# shellcheck disable=SC2086
cc -std=c11 -Wall -Wextra -Werror examples/classify.c -o "$work/classify-static" \
  $(pkg-config --static --cflags audioaudit) "$D/usr/lib/libaudioaudit.a" \
  $(pkg-config --static --libs-only-other --libs-only-l audioaudit | sed 's/-laudioaudit//')
unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_PATH
needs=$(ldd "$work/classify-static")
grep -q libaudioaudit <<<"$needs" && fail "the static build still needs libaudioaudit.so"
i=0
for c in "${clips[@]}"; do
  i=$((i + 1))
  want=$(sed -n "${i}p" "$work/infer.jsonl" | sed -E 's/.*"label": "([^"]*)".*"confidence": ([0-9.e+-]+),.*/\1|\2/')
  for bin in classify classify-static; do
    out=$(LD_LIBRARY_PATH=$D/usr/lib "$work/$bin" "$model" "$c")
    label=${out% *} conf=${out##* }
    [[ $label == "${want%|*}" ]] || fail "$bin $c: '$label', aa-infer says '${want%|*}'"
    awk -v a="$conf" -v b="${want#*|}" 'BEGIN { d = a - b; exit !(d < 1e-5 && d > -1e-5) }' ||
      fail "$bin $c: confidence $conf, aa-infer says ${want#*|}"
  done
  echo "   $c: $out"
done
out=$(LD_LIBRARY_PATH=$D/usr/lib "$work/classify" "$model" "$work/missing.wav" 2>&1) && fail "a missing clip succeeded"
grep -q "missing.wav: no such file" <<<"$out" || fail "missing clip: $out"

echo "== Python package"
PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=$D/usr/lib/python3/dist-packages LD_LIBRARY_PATH=$D/usr/lib \
  "$py" - "$model" "$work" "${clips[@]}" <<'EOF'
import json, math, os, sys, wave, array
import audioaudit

model_path, work, clips = sys.argv[1], sys.argv[2], sys.argv[3:]
expect = [json.loads(l) for l in open(os.path.join(work, "infer.jsonl"))]
gated = json.loads(open(os.path.join(work, "gated.jsonl")).read())
assert audioaudit.__file__.startswith(os.environ["PYTHONPATH"]), audioaudit.__file__
assert audioaudit.library_version() == audioaudit.__version__

def close(a, b, what):
    # aa-infer prints 6 significant digits
    assert abs(a - b) <= 1e-5 * max(1.0, abs(b)), "%s: %r, aa-infer says %r" % (what, a, b)

def same(r, e, what):
    for k in ("label", "class", "gated", "windows"):
        assert r[k] == e[k], "%s: %s %r, aa-infer says %r" % (what, k, r[k], e[k])
    close(r["confidence"], e["confidence"], what + " confidence")
    assert list(r["probabilities"]) == list(e["probabilities"]), what
    for lab, p in e["probabilities"].items():
        close(r["probabilities"][lab], p, "%s P(%s)" % (what, lab))
    for k in ("verdict", "ok", "message"):
        assert r["quality"][k] == e["quality"][k], "%s quality %s" % (what, k)
    for k in ("rms_dbfs", "peak_dbfs"):
        assert abs(r["quality"][k] - e["quality"][k]) <= 0.005, "%s %s" % (what, k)
    assert abs(r["duration_s"] - e["duration_s"]) <= 0.0005 and abs(r["clip_start_s"] - e["clip_start_s"]) <= 0.0005
    assert r["drifted"] == e["drifted"], "%s: drifted %r, aa-infer says %r" % (what, r["drifted"], e["drifted"])
    if e["drift_score"] is None:
        assert r["drift_score"] is None, what
    else:
        close(r["drift_score"], e["drift_score"], what + " drift_score")

def samples(path):
    with wave.open(path) as w:
        assert w.getsampwidth() == 2
        raw = array.array("h", w.readframes(w.getnframes()))
        return [x / 32768.0 for x in raw], w.getframerate(), w.getnchannels()

m = audioaudit.Model(model_path, workers=2)
assert len(m.classes) == len(expect[0]["probabilities"]) and m.sample_rate > 0
# the task, as aa-infer shows it: the disclaimer in each result of a respiratory model, none otherwise
assert m.task in ("respiratory", "general") and m.is_respiratory == (m.task == "respiratory")
assert m.disclaimer == expect[0].get("disclaimer"), (m.disclaimer, expect[0].get("disclaimer"))
for clip, e in zip(clips, expect):
    r_file = m.classify(clip)
    same(r_file, e, clip)
    assert r_file.get("disclaimer") == e.get("disclaimer"), clip
    with open(clip, "rb") as f:
        r_bytes = m.classify(f.read())
    assert r_bytes == r_file, clip
    x, rate, ch = samples(clip)
    r_pcm = m.classify(x, rate=rate, channels=ch)
    # libsndfile reads 16-bit samples as x / 32768: the same samples, the same bits
    assert r_pcm == r_file, (clip, r_pcm, r_file)
    print("   %s: %s %.6f (file, bytes and samples agree)" % (clip, r_file["label"], r_file["confidence"]))

try:
    import numpy as np
except ImportError:
    np = None
if np is not None:
    x, rate, _ = samples(clips[1])
    st = np.stack([np.asarray(x, dtype=np.float32)] * 2, axis=1)
    r = m.classify(st, rate=rate)
    assert r == m.classify(np.asarray(x, dtype=np.float64), rate=rate), "two equal channels are the mono recording"
    print("   numpy: a (frames, 2) array, the same answer as mono")
else:
    print("   (numpy not installed: arrays not tried)")

t = m.timeline(clips[0], hop=1.0)
assert t["windows"] >= 1 and len(t["probabilities"]) == t["windows"], t

m2 = audioaudit.Model(data=open(model_path, "rb").read())
m2.min_confidence = 1.0
same(m2.classify(clips[0]), gated, "gate 1")
assert m2.classify(clips[0])["label"] == audioaudit.UNCLEAR_LABEL
m2.close()

for call, kind, text in [
    (lambda: m.classify(os.path.join(work, "missing.wav")), FileNotFoundError, "missing.wav: no such file"),
    (lambda: m.classify(b"not audio at all"), audioaudit.AudioError, "recording in memory"),
    (lambda: m.classify([0.0] * 100, rate=4000), ValueError, "rate 4000"),
    (lambda: audioaudit.Model(os.path.join(work, "missing.aam")), audioaudit.NotFoundError, "missing.aam"),
    (lambda: audioaudit.Model(data=b"junk"), audioaudit.ModelError, "model in memory"),
    (lambda: setattr(m, "min_confidence", 2), audioaudit.ArgumentError, "outside [0, 1]"),
]:
    try:
        call()
    except kind as e:
        assert isinstance(e, audioaudit.AudioAuditError) and text in str(e), (kind, str(e))
    else:
        raise AssertionError("no %s" % kind.__name__)
print("   errors: NotFoundError, AudioError, ArgumentError, ModelError with the library's messages")
m.close()
EOF

echo "== uninstall"
make --no-print-directory BUILD="$B" uninstall DESTDIR="$D" PREFIX=/usr LIBDIR=/usr/lib >/dev/null
left=$(cd "$D" && find . \( -type f -o -type l \))
[[ -z $left ]] || fail "make uninstall left: $left"
echo "   the staging folder holds no file"
echo "== library test passed"
