#!/usr/bin/env bash
# The web page in a real browser: headless Chromium (Debian's) driven by playwright-core from npm.
#
#   scripts/browser-test.sh            (or: make browser-test)
#
# Installs what it needs (Debian packages: scripts/install-deps.sh build browser; npm: tests/browser's
# committed package-lock.json, reusing npm's cache when it has the package), builds the stub server and runs
# tests/browser/browser-test.mjs. No browser is downloaded: the test uses /usr/bin/chromium.
#
# AA_SERVE_CMD picks the server to test, with {port} where the port goes, e.g.
#   AA_SERVE_CMD='build/aa-infer -m model.aam --serve --port {port}' scripts/browser-test.sh
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

if [[ -z "${AA_SERVE_CMD:-}" ]]; then
  make -j"$(nproc 2>/dev/null || echo 2)" build/aa-stub-server
fi
node tests/browser/browser-test.mjs
