#!/usr/bin/env bash
# Installs the Debian packages Audio Audit needs, only those that are missing.
#
#   scripts/install-deps.sh [--check] [GROUP...]
#
# Groups (default: build):
#   build    compilers' libraries and the test framework: everything `make` and `make check` need
#   browser  Chromium and Node.js for the real-browser test of the web page
#   fuzz     clang with its sanitizer runtimes and OpenMP runtime, for `make fuzz`
#   peers    PyTorch/torchaudio, the optional peers `make bench` compares against
#
# --check only reports what is missing (exit 1 if anything is). Installing needs root or sudo; the
# script never downloads anything but Debian packages.
set -euo pipefail

declare -A GROUP=(
  [build]="gcc make pkg-config libopenblas-dev libsndfile1-dev libfftw3-dev libsoxr-dev check libmicrohttpd-dev"
  [browser]="chromium fonts-dejavu-core nodejs npm"
  [fuzz]="clang libclang-rt-14-dev libomp-dev"
  [peers]="python3-torch python3-torchaudio python3-soundfile python3-scipy python3-sklearn python3-threadpoolctl"
)

check_only=0
groups=()
for a in "$@"; do
  case "$a" in
    --check) check_only=1 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) [[ -n "${GROUP[$a]+x}" ]] || { echo "install-deps: unknown group '$a' (build, browser, fuzz, peers)" >&2; exit 2; }
       groups+=("$a") ;;
  esac
done
[[ ${#groups[@]} -gt 0 ]] || groups=(build)

missing=()
for g in "${groups[@]}"; do
  for p in ${GROUP[$g]}; do
    # a Node.js installed some other way (it brings its own npm) is kept: Debian's would conflict with it
    case $p in nodejs) cmd=node ;; npm) cmd=npm ;; *) cmd= ;; esac
    if [[ -n $cmd ]] && command -v "$cmd" >/dev/null 2>&1; then continue; fi
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [[ "$status" == installed ]] || missing+=("$p")
  done
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
if [[ $check_only -eq 1 ]]; then
  echo "install-deps: missing Debian packages: ${missing[*]}" >&2
  exit 1
fi

if [[ $(id -u) -eq 0 ]]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "install-deps: missing ${missing[*]}; run as root: apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has empty package lists; a failed update (offline mirror) should not hide a usable cache.
"${SUDO[@]}" apt-get update -qq || echo "install-deps: apt-get update failed; trying the existing package lists" >&2
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
