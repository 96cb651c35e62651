#include "tests/util/demomodel.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo/demo.h"
#include "dsp/dsp.h"
#include "model/model.h"
#include "nn/nn.h"

const char *const TU_DEMO_CLASSES[4] = {"cough", "heavy_breathing", "normal_breathing", "background_noise"};

static int fail(char *msg, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *msg, size_t cap, const char *fmt, ...)
{
    if (msg && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, cap, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static void demo_spec(am_spec *sp, float *mean, float *std, double temperature, double min_confidence)
{
    memset(sp, 0, sizeof *sp);
    sp->dsp = dsp_settings_default();
    sp->n_classes = 4;
    for (int c = 0; c < 4; c++)
        sp->classes[c] = TU_DEMO_CLASSES[c];
    sp->norm_mean = mean;
    sp->norm_std = std;
    sp->temperature = temperature;
    sp->min_confidence = min_confidence;
}

int tu_make_random_model(const char *path, const char *arch, uint64_t seed, double temperature,
                         double min_confidence, char *msg, size_t cap)
{
    dsp_settings s = dsp_settings_default();
    aa_error err;
    nn_model *net = nn_model_new(arch ? arch : TU_TINY_ARCH, 1, s.n_mels, (int)dsp_clip_frames(&s), 4, 1, &err);
    if (!net)
        return fail(msg, cap, "%s", err.msg);
    nn_init_he(net, seed);
    float mean[1024], std[1024];
    for (int i = 0; i < s.n_mels; i++) {
        mean[i] = -45.0f + 0.2f * (float)i; /* roughly where speech-band log-mels of a quiet room sit */
        std[i] = 15.0f;
    }
    am_spec sp;
    demo_spec(&sp, mean, std, temperature, min_confidence);
    int rc = am_save(path, net, &sp, &err);
    nn_model_free(net);
    return rc ? fail(msg, cap, "%s", err.msg) : 0;
}

void tu_demo_train_default(tu_demo_train *o)
{
    memset(o, 0, sizeof *o);
    o->recordings = 6;
    o->seconds = 90;
    o->hop = 1.0;
    o->clips_per_class = 12;
    o->epochs = 12;
    o->seed = 7;
    o->threads = 2;
    o->min_confidence = 0.5;
}

/* Training items: log-mels (dB) [n][n_mels][n_frames] and labels [n], grown as they come. */
typedef struct {
    float *x;
    int *y;
    size_t n, cap, per;
} items;

static int add_item(items *it, const float *mel, int label)
{
    if (it->n == it->cap) {
        size_t cap = it->cap ? 2 * it->cap : 256;
        float *x = realloc(it->x, cap * it->per * sizeof *x);
        if (!x)
            return -1;
        it->x = x;
        int *y = realloc(it->y, cap * sizeof *y);
        if (!y)
            return -1;
        it->y = y;
        it->cap = cap;
    }
    memcpy(it->x + it->n * it->per, mel, it->per * sizeof *mel);
    it->y[it->n++] = label;
    return 0;
}

static int collect(items *it, const tu_demo_train *o, dsp_logmel *lm, const dsp_settings *s, char *msg,
                   size_t cap)
{
    size_t len = dsp_clip_samples(s), hop = (size_t)lround(o->hop * s->sample_rate);
    float *clip = malloc(len * sizeof *clip), *mel = malloc(it->per * sizeof *mel);
    aa_error err;
    int rc = clip && mel ? 0 : fail(msg, cap, "out of memory");
    for (int r = 0; r < o->recordings && !rc; r++) {
        float *y = NULL;
        size_t n = 0, n_ev = 0;
        demo_event *ev = NULL;
        if (demo_long(&y, &n, &ev, &n_ev, o->seconds, o->seed * 1000 + (uint64_t)r, &err)) {
            rc = fail(msg, cap, "%s", err.msg);
            break;
        }
        for (size_t off = 0; off + len <= n && !rc; off += hop) {
            double t0 = (double)off / s->sample_rate, t1 = (double)(off + len) / s->sample_rate;
            if (dsp_logmel_compute(lm, 0, y + off, len, mel, &err))
                rc = fail(msg, cap, "%s", err.msg);
            else if (add_item(it, mel, demo_label_at(ev, n_ev, t0, t1)))
                rc = fail(msg, cap, "out of memory");
        }
        free(y);
        free(ev);
    }
    for (int c = 0; c < 4 && !rc; c++)
        for (int i = 0; i < o->clips_per_class && !rc; i++) {
            float *x = NULL;
            size_t n = 0;
            if (demo_clip(&x, &n, c, (uint64_t)i, (uint64_t)i / 2, o->seed * 1000 + 999, &err)) {
                rc = fail(msg, cap, "%s", err.msg);
                break;
            }
            dsp_clip(s, x, n, clip, NULL);
            free(x);
            if (dsp_logmel_compute(lm, 0, clip, len, mel, &err))
                rc = fail(msg, cap, "%s", err.msg);
            else if (add_item(it, mel, c))
                rc = fail(msg, cap, "out of memory");
        }
    free(clip);
    free(mel);
    return rc;
}

/* Per-mel mean and standard deviation over every frame of every item, in double. */
static void norm_stats(const items *it, int n_mels, size_t n_frames, float *mean, float *std)
{
    for (int m = 0; m < n_mels; m++) {
        double s1 = 0, s2 = 0;
        for (size_t i = 0; i < it->n; i++) {
            const float *row = it->x + i * it->per + (size_t)m * n_frames;
            for (size_t t = 0; t < n_frames; t++) {
                s1 += row[t];
                s2 += (double)row[t] * row[t];
            }
        }
        double cnt = (double)it->n * (double)n_frames, mu = s1 / cnt, var = s2 / cnt - mu * mu;
        mean[m] = (float)mu;
        std[m] = (float)sqrt(var > 1e-6 ? var : 1e-6);
    }
}

int tu_train_demo_model(const char *path, const tu_demo_train *o, double *train_accuracy, char *msg,
                        size_t cap)
{
    dsp_settings s = dsp_settings_default();
    size_t nf = dsp_clip_frames(&s);
    aa_error err;
    items it = {.per = (size_t)s.n_mels * nf};
    dsp_logmel *lm = dsp_logmel_new(&s, 1, &err);
    if (!lm)
        return fail(msg, cap, "%s", err.msg);
    int rc = collect(&it, o, lm, &s, msg, cap);
    dsp_logmel_free(lm);

    enum { B = 32 };
    float mean[1024], std[1024];
    nn_model *net = NULL;
    nn_optimizer *opt = NULL;
    float *batch = malloc(B * it.per * sizeof *batch);
    size_t *order = malloc((it.n ? it.n : 1) * sizeof *order);
    if (!rc && (!batch || !order))
        rc = fail(msg, cap, "out of memory");
    if (!rc) {
        norm_stats(&it, s.n_mels, nf, mean, std);
        net = nn_model_new(o->arch ? o->arch : TU_TINY_ARCH, 1, s.n_mels, (int)nf, 4, B, &err);
        nn_opt_config oc = nn_opt_defaults(NN_OPT_ADAM);
        oc.lr = 3e-3f;
        if (!net || !(opt = nn_opt_new(net, &oc, &err)))
            rc = fail(msg, cap, "%s", err.msg);
    }
    /* Inverse-frequency class weights, normalised to mean 1: background windows outnumber the rest. */
    float weights[4] = {0};
    size_t count[4] = {0};
    for (size_t i = 0; i < it.n; i++)
        count[it.y[i]]++;
    for (int c = 0; c < 4; c++)
        weights[c] = count[c] ? (float)((double)it.n / (4.0 * (double)count[c])) : 0.0f;
    nn_loss_opts lo = {.class_weights = weights, .label_smoothing = 0};
    double acc = 0;
    if (!rc) {
        nn_init_he(net, o->seed);
        nn_set_threads(net, o->threads > 0 ? o->threads : 1);
        aa_rng rng;
        aa_rng_seed(&rng, o->seed);
        for (size_t i = 0; i < it.n; i++)
            order[i] = i;
        for (int e = 0; e < o->epochs && !rc; e++) {
            aa_rng_shuffle(&rng, order, it.n);
            size_t correct = 0;
            for (size_t i = 0; i + B <= it.n && !rc; i += B) { /* full batches only: batch-norm needs company */
                int labels[B];
                for (int j = 0; j < B; j++) {
                    size_t k = order[i + (size_t)j];
                    float *dst = batch + (size_t)j * it.per;
                    const float *src = it.x + k * it.per;
                    for (int m = 0; m < s.n_mels; m++)
                        for (size_t t = 0; t < nf; t++)
                            dst[(size_t)m * nf + t] = (src[(size_t)m * nf + t] - mean[m]) / std[m];
                    labels[j] = it.y[k];
                }
                nn_step_result res;
                if (nn_train_step(net, opt, batch, labels, B, &lo, o->seed, 0, NULL, &res, &err))
                    rc = fail(msg, cap, "%s", err.msg);
                correct += (size_t)res.correct;
            }
            acc = it.n >= B ? (double)correct / (double)(it.n / B * B) : 0;
        }
    }
    if (!rc) {
        am_spec sp;
        demo_spec(&sp, mean, std, 1.0, o->min_confidence);
        if (am_save(path, net, &sp, &err))
            rc = fail(msg, cap, "%s", err.msg);
    }
    if (train_accuracy)
        *train_accuracy = acc;
    nn_opt_free(opt);
    nn_model_free(net);
    free(batch);
    free(order);
    free(it.x);
    free(it.y);
    return rc;
}

/* ---- the tone model -------------------------------------------------------------------------------------- */

double tu_tone_freq(int cls)
{
    static const double f[3] = {1000, 2500, 1600};
    return cls >= 0 && cls < 3 ? f[cls] : 0;
}

float *tu_tone_recording(size_t n, const tu_tone_event *ev, size_t n_ev, uint64_t seed)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    if (!x)
        return NULL;
    aa_rng r;
    aa_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(TU_TONE_NOISE * aa_rng_normal(&r));
    const double fs = DEMO_RATE, edge = 0.010;
    for (size_t e = 0; e < n_ev; e++) {
        double f = tu_tone_freq(ev[e].cls);
        size_t s0 = (size_t)lround(ev[e].start * fs), len = (size_t)lround(ev[e].len * fs);
        for (size_t i = 0; i < len && s0 + i < n; i++) {
            double t = (double)i / fs, g = 1;
            if (t < edge)
                g = 0.5 - 0.5 * cos(M_PI * t / edge);
            else if (ev[e].len - t < edge)
                g = 0.5 - 0.5 * cos(M_PI * (ev[e].len - t) / edge);
            x[s0 + i] += (float)(g * TU_TONE_AMP * sin(2 * M_PI * f * t));
        }
    }
    return x;
}

/* Mean log-mel (dB) per band of one clip. */
static int band_means(dsp_logmel *lm, const dsp_settings *s, const float *clip, double *out, char *msg, size_t cap)
{
    size_t len = dsp_clip_samples(s), nf = dsp_clip_frames(s);
    float *mel = malloc((size_t)s->n_mels * nf * sizeof *mel);
    aa_error err;
    if (!mel)
        return fail(msg, cap, "out of memory");
    if (dsp_logmel_compute(lm, 0, clip, len, mel, &err)) {
        free(mel);
        return fail(msg, cap, "%s", err.msg);
    }
    for (int m = 0; m < s->n_mels; m++) {
        double sum = 0;
        for (size_t t = 0; t < nf; t++)
            sum += mel[(size_t)m * nf + t];
        out[m] = sum / (double)nf;
    }
    free(mel);
    return 0;
}

const char *const TU_GENERAL_CLASSES[4] = {"low_beep", "high_whistle", "mid_hum", "Background"};

int tu_make_tone_model(const char *path, char *msg, size_t cap)
{
    return tu_make_tone_model_named(path, NULL, msg, cap);
}

int tu_make_tone_model_named(const char *path, const char *const *names, char *msg, size_t cap)
{
    dsp_settings s = dsp_settings_default();
    size_t len = dsp_clip_samples(&s), nf = dsp_clip_frames(&s), in = (size_t)s.n_mels * nf;
    aa_error err;
    dsp_logmel *lm = dsp_logmel_new(&s, 1, &err);
    if (!lm)
        return fail(msg, cap, "%s", err.msg);
    /* Calibration: each band's mean level with the noise alone (B) and with a tone filling the window (T). */
    double bg[1024], tone[3][1024];
    int rc = 0;
    float *x = tu_tone_recording(len, NULL, 0, 99);
    rc = x ? band_means(lm, &s, x, bg, msg, cap) : fail(msg, cap, "out of memory");
    free(x);
    for (int c = 0; c < 3 && !rc; c++) {
        tu_tone_event full = {0, (double)len / s.sample_rate, c};
        x = tu_tone_recording(len, &full, 1, 99);
        rc = x ? band_means(lm, &s, x, tone[c], msg, cap) : fail(msg, cap, "out of memory");
        free(x);
    }
    dsp_logmel_free(lm);
    if (rc)
        return rc;

    nn_model *net = nn_model_new("fc", 1, s.n_mels, (int)nf, 4, 1, &err);
    if (!net)
        return fail(msg, cap, "%s", err.msg);
    int wi = nn_tensor_find(net, "fc1.weight"), bi = nn_tensor_find(net, "fc1.bias");
    if (wi < 0 || bi < 0) {
        nn_model_free(net);
        return fail(msg, cap, "the dense layer's tensors are not called fc1.weight / fc1.bias");
    }
    float *w = nn_tensor_data(net, wi), *b = nn_tensor_data(net, bi); /* w: [4][n_mels * n_frames] */
    memset(w, 0, 4 * in * sizeof *w);
    memset(b, 0, 4 * sizeof *b);
    const double alpha = 30, fmin[3] = {0.1, 0.5, 0.5};
    for (int c = 0; c < 3; c++) {
        /* the tone's bands: its strongest and the neighbours within 10 dB of it */
        int peak = 0;
        for (int m = 1; m < s.n_mels; m++)
            if (tone[c][m] - bg[m] > tone[c][peak] - bg[peak])
                peak = m;
        double span = 0, base = 0;
        for (int m = 0; m < s.n_mels; m++)
            if (tone[c][m] - bg[m] >= tone[c][peak] - bg[peak] - 10) {
                span += tone[c][m] - bg[m];
                base += bg[m];
            }
        /* logit = alpha * ((sum over bands and frames of mel) / n_frames - base) / span - alpha * fmin */
        for (int m = 0; m < s.n_mels; m++)
            if (tone[c][m] - bg[m] >= tone[c][peak] - bg[peak] - 10)
                for (size_t t = 0; t < nf; t++)
                    w[(size_t)c * in + (size_t)m * nf + t] = (float)(alpha / (span * (double)nf));
        b[c] = (float)(-alpha * base / span - alpha * fmin[c]);
    }
    float mean[1024] = {0}, std[1024];
    for (int m = 0; m < s.n_mels; m++)
        std[m] = 1; /* the rule reads dB directly */
    am_spec sp;
    demo_spec(&sp, mean, std, 1.0, 0.5);
    for (int c = 0; names && c < 4; c++)
        sp.classes[c] = names[c];
    rc = am_save(path, net, &sp, &err) ? fail(msg, cap, "%s", err.msg) : 0;
    nn_model_free(net);
    return rc;
}
