/* Resampler quality and speed, per libsoxr recipe (through dsp_converter, as dsp_load uses them) and, when
 * libsamplerate is installed, per libsamplerate converter (the old front end's): the evidence behind the
 * default in dsp/resample.c.
 *
 * Quality at 44.1 kHz -> 16 kHz (the corpus' most common non-16 kHz rate): a sine through the converter is
 * fitted with a least-squares sine at its own frequency over the middle of the output; SNR is fit power over
 * residual power, gain is fit amplitude over input amplitude (0 dB = flat): 7 and 7.5 kHz are where the top
 * mel filters (64 Slaney mels to 8 kHz) sit. A 9 kHz input, above the new Nyquist rate, measures how much
 * aliases back (as 7 kHz) into the band those filters see.
 * Speed: milliseconds to convert one 4 s clip of 44.1 kHz mono noise, converter made and freed included (a
 * file costs that), median of 21 runs (the machine is shared).
 *
 * libsamplerate is not linked: nothing in Audio Audit may depend on it. When its header was there at build
 * time and its library loads at run time (dlopen), its converters are measured too; otherwise their rows
 * are skipped with a note. */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/dsp.h"
#include "util/util.h"

#if defined(__has_include)
#if __has_include(<samplerate.h>)
#include <samplerate.h>
#define HAVE_LSR_HEADER 1
#endif
#endif

#define IN_RATE 44100
#define OUT_RATE 16000
#define CLIP_SECONDS 4
#define RUNS 21

static const double FREQS[] = {1000, 4000, 6000, 7000, 7500, 7800};
#define NF (int)(sizeof FREQS / sizeof *FREQS)

/* One converter: converts in[0..n) to out (cap), returns the output length or -1. */
typedef struct {
    char name[48];
    long (*run)(const void *ctx, const float *in, long n, float *out, long cap);
    const void *ctx;
} converter;

static long run_soxr(const void *ctx, const float *in, long n, float *out, long cap)
{
    dsp_resampler recipe = *(const dsp_resampler *)ctx;
    dsp_converter *c = dsp_converter_new(IN_RATE, OUT_RATE, recipe, NULL, NULL);
    if (!c)
        return -1;
    /* fed as dsp_load feeds it (dsp/load.c's FEED), the output buffer large enough to take everything */
    size_t got, len = 0;
    for (long at = 0; at < n; at += 1024) {
        size_t k = n - at < 1024 ? (size_t)(n - at) : 1024;
        if (dsp_converter_process(c, in + at, k, out + len, (size_t)cap - len, &got, NULL)) {
            dsp_converter_free(c);
            return -1;
        }
        len += got;
    }
    do {
        if (dsp_converter_flush(c, out + len, (size_t)cap - len, &got, NULL)) {
            dsp_converter_free(c);
            return -1;
        }
        len += got;
    } while (got > 0 && len < (size_t)cap);
    dsp_converter_free(c);
    return (long)len;
}

#ifdef HAVE_LSR_HEADER
typedef struct {
    int type;
    int (*simple)(SRC_DATA *, int, int);
} lsr_ctx;

static long run_lsr(const void *ctx, const float *in, long n, float *out, long cap)
{
    const lsr_ctx *l = ctx;
    SRC_DATA d = {.data_in = in, .data_out = out, .input_frames = n, .output_frames = cap, .end_of_input = 1,
                  .src_ratio = (double)OUT_RATE / IN_RATE};
    return l->simple(&d, l->type, 1) ? -1 : d.output_frames_gen;
}
#endif

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

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Measures one converter, prints its row and appends its JSON object; 0 or -1. */
static int measure(const converter *cv, float *in, float *out, char *json, size_t *json_len, size_t json_cap)
{
    const long n = 10L * IN_RATE, cap = n * OUT_RATE / IN_RATE + 4096;
    double snr1k = 0, gains[NF], alias = 0;
    for (int k = 0; k <= NF; k++) {
        double f = k < NF ? FREQS[k] : 9000.0, snr;
        for (long i = 0; i < n; i++)
            in[i] = (float)(0.5 * sin(2 * M_PI * f * i / IN_RATE));
        long got = cv->run(cv->ctx, in, n, out, cap);
        if (got < 2 * OUT_RATE)
            return -1;
        if (k < NF) {
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
    const long nclip = (long)CLIP_SECONDS * IN_RATE;
    aa_rng r;
    aa_rng_seed(&r, 1);
    for (long i = 0; i < nclip; i++)
        in[i] = aa_rng_uniform(&r) - 0.5f;
    double t[RUNS];
    for (int rep = 0; rep < RUNS; rep++) {
        double t0 = aa_now();
        if (cv->run(cv->ctx, in, nclip, out, nclip * OUT_RATE / IN_RATE + 4096) < 0)
            return -1;
        t[rep] = aa_now() - t0;
    }
    qsort(t, RUNS, sizeof *t, cmp_dbl);
    double ms = t[RUNS / 2] * 1e3;
    printf("%-26s %8.1f", cv->name, snr1k);
    for (int k = 0; k < NF; k++)
        printf(" %9.3f", gains[k]);
    printf(" %9.1f %10.3f\n", alias, ms);
    *json_len += (size_t)snprintf(json + *json_len, json_cap - *json_len,
                                  "%s{\"converter\":\"%s\",\"snr_1k_db\":%.1f,\"gain_7k_db\":%.3f,"
                                  "\"gain_7500_db\":%.3f,\"alias_9k_db\":%.1f,\"ms_per_4s_clip_44k\":%.3f}",
                                  *json_len ? "," : "", cv->name, snr1k, gains[3], gains[4], alias, ms);
    return 0;
}

int main(void)
{
    const long n = 10L * IN_RATE;
    float *in = malloc(sizeof(float) * n), *out = malloc(sizeof(float) * (n * OUT_RATE / IN_RATE + 4096));
    if (!in || !out)
        return 1;
    char json[4096] = "";
    size_t json_len = 0;
    printf("44.1 kHz -> 16 kHz, amplitude 0.5 sines; gain in dB at each frequency, SNR at 1 kHz; time for one\n"
           "4 s clip (median of %d, converter made and freed)\n", RUNS);
    printf("%-26s %8s", "converter", "SNR1k");
    for (int k = 0; k < NF; k++)
        printf(" %7.0fHz", FREQS[k]);
    printf(" %9s %10s\n", "alias9k", "ms/4s44k");

    static const dsp_resampler recipes[] = {DSP_RESAMPLE_SOXR_VHQ, DSP_RESAMPLE_SOXR_HQ, DSP_RESAMPLE_SOXR_MQ,
                                            DSP_RESAMPLE_SOXR_LQ, DSP_RESAMPLE_SOXR_QQ};
    static const char *const names[] = {"soxr_vhq", "soxr_hq (default)", "soxr_mq", "soxr_lq", "soxr_qq"};
    for (int i = 0; i < 5; i++) {
        converter cv = {.run = run_soxr, .ctx = &recipes[i]};
        snprintf(cv.name, sizeof cv.name, "%s", names[i]);
        if (measure(&cv, in, out, json, &json_len, sizeof json))
            return 1;
    }

    const char *lsr_note = "libsamplerate not installed (no <samplerate.h>): its converters are not measured";
#ifdef HAVE_LSR_HEADER
    void *lib = dlopen("libsamplerate.so.0", RTLD_NOW | RTLD_LOCAL);
    if (lib) {
        /* the names the old settings text used, in libsamplerate's order (SRC_SINC_BEST_QUALITY = 0) */
        static const char *const old[] = {"sinc_best", "sinc_medium", "sinc_fastest", "zoh", "linear"};
        lsr_ctx ctx[5];
        int (*simple)(SRC_DATA *, int, int) = (int (*)(SRC_DATA *, int, int))dlsym(lib, "src_simple");
        if (simple) {
            lsr_note = NULL;
            for (int type = SRC_SINC_BEST_QUALITY; type <= SRC_LINEAR; type++) {
                ctx[type] = (lsr_ctx){.type = type, .simple = simple};
                converter cv = {.run = run_lsr, .ctx = &ctx[type]};
                snprintf(cv.name, sizeof cv.name, "libsamplerate %s", old[type]);
                if (measure(&cv, in, out, json, &json_len, sizeof json))
                    return 1;
            }
        }
        dlclose(lib);
    } else {
        lsr_note = "libsamplerate.so.0 does not load: its converters are not measured";
    }
#endif
    if (lsr_note)
        printf("(%s)\n", lsr_note);
    printf("{\"bench\":\"resample\",\"from_hz\":%d,\"to_hz\":%d,\"converters\":[%s]}\n", IN_RATE, OUT_RATE, json);
    free(in);
    free(out);
    return 0;
}
