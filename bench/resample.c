/* Resampler quality and speed, per libsamplerate converter: the evidence behind the default in dsp/.
 *
 * Quality at 44.1 kHz -> 16 kHz (the corpus' most common non-16 kHz rate): a sine through the converter is
 * fitted with a least-squares sine at its own frequency over the middle of the output; SNR is fit power over
 * residual power, gain is fit amplitude over input amplitude (0 dB = flat). A 9 kHz input, above the new
 * Nyquist, measures how much aliases back (as 7 kHz) into the band the top mel filters see.
 * Speed: milliseconds to convert one minute of 44.1 kHz mono noise, best of three (the machine is shared). */
#include <math.h>
#include <samplerate.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/util.h"

#define IN_RATE 44100
#define OUT_RATE 16000

static long convert(int type, const float *in, long n, float *out, long cap)
{
    SRC_DATA d = {.data_in = in, .data_out = out, .input_frames = n, .output_frames = cap,
                  .end_of_input = 1, .src_ratio = (double)OUT_RATE / IN_RATE};
    if (src_simple(&d, type, 1) != 0)
        return -1;
    return d.output_frames_gen;
}

/* Least-squares fit of a*sin + b*cos at f over y[lo..hi); returns amplitude, sets snr_db. */
static double fit_sine(const float *y, long lo, long hi, double f, double *snr_db)
{
    double ss = 0, cc = 0, sc = 0, ys = 0, yc = 0;
    for (long i = lo; i < hi; i++) {
        double w = 2 * M_PI * f * i / OUT_RATE, s = sin(w), c = cos(w);
        ss += s * s, cc += c * c, sc += s * c, ys += y[i] * s, yc += y[i] * c;
    }
    double det = ss * cc - sc * sc, a = (ys * cc - yc * sc) / det, b = (yc * ss - ys * sc) / det;
    double sig = 0, res = 0;
    for (long i = lo; i < hi; i++) {
        double w = 2 * M_PI * f * i / OUT_RATE, m = a * sin(w) + b * cos(w);
        sig += m * m, res += (y[i] - m) * (y[i] - m);
    }
    *snr_db = 10 * log10(sig / (res > 0 ? res : 1e-300));
    return sqrt(a * a + b * b);
}

int main(void)
{
    const long n = 10L * IN_RATE, cap = n * OUT_RATE / IN_RATE + 64;
    const long nspeed = 60L * IN_RATE;
    float *in = malloc(sizeof(float) * nspeed), *out = malloc(sizeof(float) * (nspeed * OUT_RATE / IN_RATE + 64));
    if (!in || !out)
        return 1;
    const double freqs[] = {1000, 4000, 6000, 7000, 7500, 7800};
    const int nf = sizeof freqs / sizeof *freqs;
    char json[2048] = "";
    size_t json_len = 0;
    printf("44.1 kHz -> 16 kHz, amplitude 0.5 sines; gain in dB at each frequency, SNR at 1 kHz\n");
    printf("%-26s %8s", "converter", "SNR1k");
    for (int k = 0; k < nf; k++)
        printf(" %7.0fHz", freqs[k]);
    printf(" %9s %11s\n", "alias9k", "ms/min44k");
    for (int type = SRC_SINC_BEST_QUALITY; type <= SRC_LINEAR; type++) {
        double snr1k = 0, gains[16], alias = 0;
        for (int k = 0; k <= nf; k++) {
            double f = k < nf ? freqs[k] : 9000.0, snr;
            for (long i = 0; i < n; i++)
                in[i] = (float)(0.5 * sin(2 * M_PI * f * i / IN_RATE));
            long got = convert(type, in, n, out, cap);
            if (got < 2 * OUT_RATE)
                return 1;
            if (k < nf) {
                gains[k] = 20 * log10(fit_sine(out, OUT_RATE / 2, got - OUT_RATE / 2, f, &snr) / 0.5);
                if (f == 1000)
                    snr1k = snr;
            } else {
                double e = 0;
                for (long i = OUT_RATE / 2; i < got - OUT_RATE / 2; i++)
                    e += (double)out[i] * out[i];
                alias = 10 * log10(e / (got - OUT_RATE) / 0.125 + 1e-300);
            }
        }
        aa_rng r;
        aa_rng_seed(&r, 1);
        for (long i = 0; i < nspeed; i++)
            in[i] = aa_rng_uniform(&r) - 0.5f;
        double best = 1e9;
        for (int rep = 0; rep < 3; rep++) {
            double t0 = aa_now();
            if (convert(type, in, nspeed, out, nspeed * OUT_RATE / IN_RATE + 64) < 0)
                return 1;
            double t = aa_now() - t0;
            best = t < best ? t : best;
        }
        printf("%-26s %8.1f", src_get_name(type), snr1k);
        for (int k = 0; k < nf; k++)
            printf(" %9.3f", gains[k]);
        printf(" %9.1f %11.1f\n", alias, best * 1e3);
        json_len += (size_t)snprintf(json + json_len, sizeof json - json_len,
                                     "%s{\"converter\":\"%s\",\"snr_1k_db\":%.1f,\"gain_7k_db\":%.3f,"
                                     "\"gain_7500_db\":%.3f,\"alias_9k_db\":%.1f,\"ms_per_min_44k\":%.1f}",
                                     type ? "," : "", src_get_name(type), snr1k, gains[3], gains[4], alias,
                                     best * 1e3);
    }
    printf("{\"bench\":\"resample\",\"from_hz\":%d,\"to_hz\":%d,\"converters\":[%s]}\n", IN_RATE, OUT_RATE,
           json);
    free(in);
    free(out);
    return 0;
}
