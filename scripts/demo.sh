#!/usr/bin/env bash
# make demo: the whole pipeline on the built-in demo corpus. Grows with the project.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${AA_BUILD:-build}
"$B/aa-train" --version
"$B/aa-infer" --version
echo "The demo corpus, training and classification are not built yet; see README.md (Status)."
