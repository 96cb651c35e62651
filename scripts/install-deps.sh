#!/usr/bin/env bash
# Installs the Debian packages Audio Audit needs, only those that are missing.
#
#   scripts/install-deps.sh [--check | --missing] [GROUP...]
#
# Groups (default: build):
#   build    compiler, make, pkg-config and the libraries: everything `make` needs
#   test     the test framework (Check): what `make check` and `make asan` add
#   browser  Chromium and Node.js for the real-browser test of the web page
#   fuzz     clang with its sanitizer runtimes and OpenMP runtime, for `make fuzz`
#   peers    PyTorch/torchaudio, the optional peers `make bench` compares against
#   benchmarks  jq, which `make benchmarks` reads the cross-validation reports with
#
# --check only reports what is missing (exit 1 if anything is). --missing prints the missing packages on
# one line (nothing when all are there) and exits 0: the Makefile runs it before building. Neither asks
# the package manager: a package counts as there when what it provides is (a command on PATH, a
# pkg-config module), so a library installed some other way counts too; only packages without such a
# sign (the fuzz runtimes, the peers) are looked up with dpkg-query. Installing needs root or sudo; the
# script never downloads anything but Debian packages.
set -euo pipefail

declare -A GROUP=(
  [build]="gcc make pkg-config libopenblas-dev libsndfile1-dev libfftw3-dev libsoxr-dev libmicrohttpd-dev"
  [test]="check"
  [browser]="chromium fonts-dejavu-core nodejs npm"
  [fuzz]="clang libclang-rt-14-dev libomp-dev"
  [benchmarks]="jq"
  [peers]="python3-torch python3-torchaudio python3-soundfile python3-scipy python3-sklearn python3-threadpoolctl"
)
# What shows that a package is there: cmd:NAME (a command on PATH) or pc:MODULE (pkg-config finds it).
declare -A SIGN=(
  [gcc]=cmd:gcc [make]=cmd:make [pkg-config]=cmd:pkg-config [libopenblas-dev]=pc:openblas
  [libsndfile1-dev]=pc:sndfile [libfftw3-dev]=pc:fftw3f [libsoxr-dev]=pc:soxr
  [libmicrohttpd-dev]=pc:libmicrohttpd [check]=pc:check [clang]=cmd:clang [chromium]=cmd:chromium
  # a Node.js installed some other way (it brings its own npm) is kept: Debian's would conflict with it
  [nodejs]=cmd:node [npm]=cmd:npm [jq]=cmd:jq
)

mode=install
groups=()
for a in "$@"; do
  case "$a" in
    --check) mode=check ;;
    --missing) mode=missing ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) [[ -n "${GROUP[$a]+x}" ]] || { echo "install-deps: unknown group '$a' (${!GROUP[*]})" >&2; exit 2; }
       groups+=("$a") ;;
  esac
done
[[ ${#groups[@]} -gt 0 ]] || groups=(build)

present() {
  local sign=${SIGN[$1]:-}
  case $sign in
    cmd:*) command -v "${sign#cmd:}" >/dev/null 2>&1 ;;
    pc:*) command -v pkg-config >/dev/null 2>&1 && pkg-config --exists "${sign#pc:}" ;;
    *) [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true) == installed ]] ;;
  esac
}

missing=()
for g in "${groups[@]}"; do
  for p in ${GROUP[$g]}; do
    present "$p" || missing+=("$p")
  done
done

if [[ $mode == missing ]]; then
  echo "${missing[*]}"
  exit 0
fi
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
if [[ $mode == check ]]; then
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
