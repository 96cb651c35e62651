#!/usr/bin/env bash
# The web page in a real browser: headless Chromium (Debian's) driven by playwright-core from npm.
#
#   scripts/browser-test.sh            (or: make browser-test)
#
# Installs what it needs (Debian packages: scripts/install-deps.sh build browser; npm: tests/browser's
# committed package-lock.json, reusing npm's cache when it has the package), builds the binaries and runs
# tests/browser/browser-test.mjs. No browser is downloaded: the test uses /usr/bin/chromium.
#
# The server tested, by default: `aa-infer -m MODEL --serve` with a small model trained on the demo sounds
# (AA_MODEL, default build/browser/demo-model.aam; made when missing or when it fails its self-test, by
# aa-train on a demo corpus when aa-train can train, else by build/aa-demo-model: well under a minute).
#   AA_STUB=1          the stand-in server instead (build/aa-stub-server: the page and HTTP layer alone)
#   AA_SERVE_CMD=...   any other server, with {port} where the port goes, e.g.
#                      AA_SERVE_CMD='build/aa-infer -m model.aam --serve --port {port}' scripts/browser-test.sh
# The timeline and listening tests need a model whose events are known in advance: aa-infer --serve with the
# tests' tone model (build/aa-demo-model --tone; AA_TONE_SERVE_CMD to give another, "" to skip them, as the
# stand-in server does, which has no /api/timeline).
# Screenshots and generated clips go to build/browser/ (AA_OUT).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh build browser

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
want=$(sed -n 's/.*"playwright-core": "\(.*\)".*/\1/p' tests/browser/package.json)
have=$(node -p 'require("./tests/browser/node_modules/playwright-core/package.json").version' 2>/dev/null || true)
if [[ "$have" != "$want" ]]; then
  (cd tests/browser && npm ci --prefer-offline --no-audit --no-fund)
fi

jobs=$(nproc 2>/dev/null || echo 2)
# The architecture of the demo model, small enough to train in seconds.
TINY_ARCH="p2 p2 c12 bn relu p2 c24 bn relu p2 c32 bn relu gap fc"

# aa-train on its own demo corpus, when this aa-train has a training command; non-zero otherwise.
train_with_aa_train() {
  build/aa-train --help 2>/dev/null | grep -q -- '--epochs' || return 1
  local corpus=build/browser/demo-corpus
  [[ -d $corpus ]] || build/aa-train --make-demo "$corpus" --per-class 24 >/dev/null || return 1
  echo "browser-test: training a demo model with aa-train on $corpus" >&2
  timeout 120 build/aa-train "$corpus" -o "$1" --epochs 8 --arch "$TINY_ARCH" --threads "$jobs" --no-cache -q \
    >/dev/null
}

if [[ -z "${AA_SERVE_CMD:-}" && "${AA_STUB:-0}" == 1 ]]; then
  make -j"$jobs" build/aa-stub-server
  export AA_SERVE_CMD='build/aa-stub-server --port {port}'
elif [[ -z "${AA_SERVE_CMD:-}" ]]; then
  model=${AA_MODEL:-build/browser/demo-model.aam}
  make -j"$jobs" build/aa-infer build/aa-train build/aa-demo-model
  if ! build/aa-infer -m "$model" --selftest >/dev/null 2>&1; then
    mkdir -p "$(dirname "$model")"
    if ! train_with_aa_train "$model"; then
      echo "browser-test: training a demo model with build/aa-demo-model" >&2
      build/aa-demo-model "$model" --threads "$jobs"
    fi
  fi
  export AA_SERVE_CMD="build/aa-infer -m '$model' --serve --port {port}"
  if [[ -z "${AA_TONE_SERVE_CMD+set}" ]]; then
    build/aa-demo-model --tone build/browser/tone-model.aam >/dev/null
    export AA_TONE_SERVE_CMD="build/aa-infer -m build/browser/tone-model.aam --serve --port {port}"
  fi
fi
echo "browser-test: server: $AA_SERVE_CMD" >&2
node tests/browser/browser-test.mjs
