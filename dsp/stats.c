/* Recording statistics behind a quality verdict: level, peak and clipping. */
#include <math.h>

#include "dsp/dsp_internal.h"

double dsp_full_scale(int bits)
{
    /* The largest positive integer sample, normalised: 32767/32768 for 16-bit. Float and compressed
     * sources mostly come from 16-bit material, so they are judged as 16-bit. */
    if (bits < 8 || bits > 32)
        bits = 16;
    return 1.0 - ldexp(1.0, -(bits - 1));
}

double dsp_rms_dbfs(double sum_squares, double n)
{
    double rms = n > 0 ? sqrt(sum_squares / n) : 0;
    /* -120 dBFS is below any 16- or 24-bit recording's noise floor: digital silence, not -inf. */
    return rms > 1e-6 ? 20 * log10(rms) : -120.0;
}

void dsp_stats_compute(const float *x, size_t n, int rate, dsp_stats *out)
{
    double ss = 0, peak = 0, fs = dsp_full_scale(16);
    size_t full = 0;
    for (size_t i = 0; i < n; i++) {
        double a = fabs((double)x[i]);
        ss += a * a;
        peak = a > peak ? a : peak;
        full += a >= fs;
    }
    out->duration = rate > 0 ? (double)n / rate : 0;
    out->rms_dbfs = dsp_rms_dbfs(ss, (double)n);
    out->peak = peak;
    out->clip_fraction = n ? (double)full / (double)n : 0;
}
