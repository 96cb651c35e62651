#!/usr/bin/env bash
# The Debian packages: built from a copy of this checkout with dpkg-buildpackage -us -uc -b, checked by
# lintian (no error allowed), then, as root, installed with apt-get (which pulls their dependencies) and
# used: the binaries from /usr/bin, examples/classify.c against the installed -dev package through
# pkg-config, the Python package with /usr/bin/python3; finally purged again.
#   bash scripts/deb-test.sh [--no-install]        (about three minutes on two cores)
# Needs debhelper, dh-python, dpkg-dev and lintian (as root: apt-get install -y debhelper dh-python
# dpkg-dev lintian), besides what the build needs.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
install=1
[[ ${1:-} == --no-install ]] && install=0
fail() { echo "deb-test: $*" >&2; exit 1; }
for t in dpkg-buildpackage dh lintian; do
  command -v "$t" >/dev/null || fail "$t is missing (apt-get install -y debhelper dh-python dpkg-dev lintian)"
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== dpkg-buildpackage -us -uc -b (in a copy of the checkout)"
src=$work/audio-audit
mkdir "$src"
# the files of the checkout as they are now, without any build output
git ls-files -z --cached --others --exclude-standard | grep -zv '^build/' | (tar --null -T - -cf - ) | tar -C "$src" -xf -
(cd "$src" && DEB_BUILD_OPTIONS="parallel=$(nproc 2>/dev/null || echo 2)" dpkg-buildpackage -us -uc -b \
  > "$work/build.log" 2>&1) || { tail -40 "$work/build.log"; fail "dpkg-buildpackage failed"; }
# files make install put in debian/tmp that no package took, or libraries the binaries need that no
# package declares
warn=$(grep -E 'dh_missing: warning|dpkg-shlibdeps: warning|dpkg-gensymbols: warning' "$work/build.log" || true)
[[ -z $warn ]] || fail "the build warns: $warn"
mapfile -t debs < <(ls "$work"/*.deb | grep -v -- -dbgsym_)
[[ ${#debs[@]} -eq 4 ]] || fail "expected 4 packages, got: ${debs[*]}"
for d in "${debs[@]}"; do echo "   $(basename "$d")  $(dpkg-deb -f "$d" Installed-Size) kB"; done

echo "== lintian"
changes=$(ls "$work"/*.changes)
lintian -I --fail-on error --tag-display-limit 0 "$changes" > "$work/lintian.log" 2>&1 || {
  cat "$work/lintian.log"; fail "lintian reports errors"; }
sed 's/^/   /' "$work/lintian.log"
echo "   no errors"

deb() { ls "$work"/"$1"_*.deb; }
# the -dev package holds exactly the header, the static library, the .so link and the .pc
dev=$(dpkg-deb -c "$(deb libaudioaudit-dev)" | awk '$1 !~ /^d/ {print $6}' | grep -v '/usr/share/doc/' | sort | tr '\n' ' ')
for want in usr/include/audioaudit.h libaudioaudit.a libaudioaudit.so pkgconfig/audioaudit.pc; do
  grep -q "$want" <<<"$dev" || fail "libaudioaudit-dev lacks $want: $dev"
done

# dpkg's hardening flags reached the compiler and the linker: read-only relocations, bound at start-up,
# fortified calls
x=$work/x
for d in "$(deb audio-audit)" "$(deb libaudioaudit0)"; do dpkg-deb -x "$d" "$x"; done
for f in "$x"/usr/bin/aa-infer "$x"/usr/bin/aa-train "$x"/usr/lib/*/libaudioaudit.so.0.*; do
  # read whole before grep: grep -q would end the pipe early, and pipefail count the writer's SIGPIPE
  ph=$(readelf -lW "$f") dyn=$(readelf -dW "$f") syms=$(nm -D "$f")
  grep -q GNU_RELRO <<<"$ph" || fail "$(basename "$f"): no RELRO"
  grep -qE 'BIND_NOW|FLAGS.*NOW' <<<"$dyn" || fail "$(basename "$f"): not bound now"
  grep -q '_chk@' <<<"$syms" || fail "$(basename "$f"): no fortified calls"
done
echo "   binaries and library: RELRO, BIND_NOW, _FORTIFY_SOURCE"

if [[ $install -eq 0 || $(id -u) -ne 0 ]]; then
  echo "== not installing (needs root; --no-install given or not root)"
  exit 0
fi
echo "== apt-get install the four packages"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq "${debs[@]}" > "$work/apt.log" 2>&1 || { cat "$work/apt.log"; fail "apt-get install failed"; }
trap 'apt-get purge -y -qq audio-audit libaudioaudit0 libaudioaudit-dev python3-audioaudit >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
[[ $(command -v aa-infer) == /usr/bin/aa-infer ]] || fail "aa-infer is not /usr/bin/aa-infer"
/usr/bin/aa-infer --version
man -w aa-train >/dev/null || fail "man aa-train finds no page"
(cd "$work" && /usr/bin/aa-train --make-demo data --per-class 12 --seed 3 >/dev/null &&
  /usr/bin/aa-train data -o model.aam --arch "p2 p2 c12 bn relu p2 c24 bn relu p2 c32 bn relu gap fc" \
    --epochs 15 --lr 0.01 --no-cache --quiet)
clip=$work/data/cough/0001.wav
want=$(/usr/bin/aa-infer -m "$work/model.aam" --json "$clip" | sed -E 's/.*"label": "([^"]*)".*"confidence": ([0-9.e+-]+),.*/\1 \2/')
# shellcheck disable=SC2046 # the flags are words
cc -std=c11 -Wall -Wextra -Werror examples/classify.c -o "$work/classify" $(pkg-config --cflags --libs audioaudit)
got=$("$work/classify" "$work/model.aam" "$clip")
echo "   classify (against the installed library): $got; aa-infer: $want"
[[ ${got% *} == "${want% *}" ]] || fail "labels differ"
awk -v a="${got##* }" -v b="${want##* }" 'BEGIN { d = a - b; exit !(d < 1e-5 && d > -1e-5) }' || fail "confidences differ"
py=$(cd / && /usr/bin/python3 -c "
import audioaudit, sys
assert audioaudit.__file__.startswith('/usr/lib/python3/dist-packages/'), audioaudit.__file__
r = audioaudit.Model(sys.argv[1]).classify(sys.argv[2])
print(r['label'], '%.6f' % r['confidence'])" "$work/model.aam" "$clip")
echo "   python3 (installed package): $py"
[[ ${py% *} == "${want% *}" ]] || fail "python label differs"
echo "== packages built, lint-clean, installed and used"
