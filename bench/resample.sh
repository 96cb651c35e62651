#!/usr/bin/env bash
# Resampler quality and speed per libsoxr recipe (the measurements behind dsp/resample.c's default), beside
# libsamplerate's converters (the old front end's) when libsamplerate is installed, and scipy's resample_poly
# (what the peers use) when the peers are installed.
set -euo pipefail
bin=${AA_BUILD:-build}/bench/resample
[[ -x "$bin" ]] || { echo "resample.sh: $bin not built (make bench-bins)" >&2; exit 1; }
"$bin"
if [[ "${PEERS_AVAILABLE:-no}" == yes ]]; then
  "$PEER_PY" - <<'PY'
import json, time
import numpy as np
from scipy.signal import resample_poly
IN, OUT, n = 44100, 16000, 10 * 44100
i = np.arange(n)
def fit(y, f):
    j = np.arange(len(y)); lo, hi = OUT // 2, len(y) - OUT // 2
    A = np.stack([np.sin(2 * np.pi * f * j / OUT), np.cos(2 * np.pi * f * j / OUT)], 1)[lo:hi]
    c, *_ = np.linalg.lstsq(A, y[lo:hi], rcond=None)
    m = A @ c; r = y[lo:hi] - m
    return 20 * np.log10(np.hypot(*c) / 0.5), 10 * np.log10((m ** 2).sum() / (r ** 2).sum())
gains, snr1k = [], 0.0
for f in (1000, 4000, 6000, 7000, 7500, 7800):
    g, snr = fit(resample_poly((0.5 * np.sin(2 * np.pi * f * i / IN)).astype(np.float32), 160, 441).astype(np.float64), f)
    gains.append(g); snr1k = snr if f == 1000 else snr1k
y = resample_poly((0.5 * np.sin(2 * np.pi * 9000 * i / IN)).astype(np.float32), 160, 441).astype(np.float64)
alias = 10 * np.log10((y[OUT // 2:-OUT // 2] ** 2).mean() / 0.125)
x = (np.random.default_rng(1).random(4 * IN) - 0.5).astype(np.float32)
ts = []
for _ in range(21):
    t0 = time.perf_counter(); resample_poly(x, 160, 441); ts.append(time.perf_counter() - t0)
ms = sorted(ts)[len(ts) // 2] * 1e3
print("%-26s %8.1f" % ("scipy resample_poly (peer)", snr1k) + "".join(" %9.3f" % g for g in gains) + " %9.1f %10.3f" % (alias, ms))
print(json.dumps({"bench": "resample_peer", "lib": "scipy.resample_poly", "snr_1k_db": round(snr1k, 1),
                  "gain_db": dict(zip(["1k", "4k", "6k", "7k", "7.5k", "7.8k"], [round(g, 3) for g in gains])),
                  "alias_9k_db": round(alias, 1), "ms_per_4s_clip_44k": round(ms, 3)}))
PY
fi
