/* The scale of the features: power to decibels, and the per-mel normalisation the network is given.
 *
 * Power to decibels, as librosa.power_to_db on a float32 spectrogram:
 *   max(10 log10(max(S, amin)) - 10 log10(max(ref, amin)),  max over the spectrogram - top_db).
 * The logarithm is Cephes' single-precision logf polynomial (about 1 ulp) written branch-free so the loop
 * vectorizes: a log-mel clip has 25 664 values, and libm's scalar log10f took a third of the log-mel time.
 * The difference from log10f is below 2e-5 dB over the whole float range (tests/test_logmel.c). */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "dsp/dsp.h"

/* 10 log10(x) for x >= 0, from x's bits: comparisons are done on the bit patterns (for non-negative
 * floats their order is the integers' order), which keeps the loop free of floating-point compares that
 * GCC will not if-convert under -ftrapping-math. amin_bits and max_bits clamp x to [amin, FLT_MAX]. */
static inline float db_of(float x, int32_t amin_bits)
{
    int32_t i;
    memcpy(&i, &x, sizeof i);
    i = i > amin_bits ? i : amin_bits;          /* max(x, amin); negative x (sign bit set) -> amin */
    i = i < 0x7f7fffff ? i : 0x7f7fffff;        /* inf or NaN -> FLT_MAX */
    float e = (float)((i >> 23) - 126);
    int32_t mb = (i & 0x007fffff) | 0x3f000000; /* mantissa in [0.5, 1) */
    /* Fold [0.5, sqrt(1/2)) onto [sqrt(1/2), 1.414) so the polynomial argument stays within +-0.29. */
    int32_t low = mb < 0x3f3504f3 ? 1 : 0;      /* bits of sqrt(1/2) */
    float m;
    memcpy(&m, &mb, sizeof m);
    e -= (float)low;
    float f = m + (float)low * m - 1.0f;
    /* Cephes logf: ln(1 + f) = f - f^2/2 + f^3 P(f), P of degree 8. */
    float z = f * f;
    float y = 7.0376836292e-2f;
    y = y * f - 1.1514610310e-1f;
    y = y * f + 1.1676998740e-1f;
    y = y * f - 1.2420140846e-1f;
    y = y * f + 1.4249322787e-1f;
    y = y * f - 1.6668057665e-1f;
    y = y * f + 2.0000714765e-1f;
    y = y * f - 2.4999993993e-1f;
    y = y * f + 3.3333331174e-1f;
    y = y * f * z;
    /* ln 2 split in two, so e * ln 2 adds with no rounding error in its first part. */
    y += -2.12194440e-4f * e;
    y += -0.5f * z;
    float ln = f + y + 0.693359375f * e;
    return (float)(10.0 / M_LN10) * ln;
}

/* An AVX2 build of this loop is chosen at load time where the CPU has it (GCC's function multi-versioning):
 * twice the lanes for the same element-wise arithmetic (no FMA: ISO C mode keeps contraction off), so the
 * results are bit-identical on every CPU. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
__attribute__((target_clones("avx2", "default")))
#endif
void dsp_power_to_db(const dsp_settings *s, float *v, size_t count)
{
    if (count == 0)
        return;
    /* amin >= 1e-30 (dsp_settings_validate) keeps every argument a normal float. */
    const float amin = (float)s->amin;
    int32_t amin_bits;
    memcpy(&amin_bits, &amin, sizeof amin_bits);
    const float offset = (float)(10.0 * log10(fmax(s->ref, s->amin)));
    /* The maximum is taken on order-preserving integer keys of the dB values (negative floats have their
     * magnitude bits flipped), which vectorises where a float max would not. */
    int32_t top_key = INT32_MIN;
#pragma omp simd reduction(max : top_key)
    for (size_t i = 0; i < count; i++) {
        float d = db_of(v[i], amin_bits) - offset;
        v[i] = d;
        int32_t b;
        memcpy(&b, &d, sizeof b);
        int32_t key = b ^ ((b >> 31) & 0x7fffffff);
        top_key = key > top_key ? key : top_key;
    }
    int32_t top_bits = top_key ^ ((top_key >> 31) & 0x7fffffff);
    float top;
    memcpy(&top, &top_bits, sizeof top);
    const float floor_db = top - (float)s->top_db;
#pragma omp simd
    for (size_t i = 0; i < count; i++)
        v[i] = v[i] > floor_db ? v[i] : floor_db;
}

void dsp_normalise(const float *mean, const float *std, size_t n_mels, size_t n_frames, float *x)
{
    for (size_t m = 0; m < n_mels; m++) {
        const float mu = mean[m], sd = std[m];
        float *row = x + m * n_frames;
        for (size_t t = 0; t < n_frames; t++)
            row[t] = (row[t] - mu) / sd;
    }
}
