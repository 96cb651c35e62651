/* demo/ (synth*.c and corpus.c): the demo corpus is deterministic, clean (no NaN, no clipping), its classes
 * differ in the intended ways, loudness alone does not separate them, and it lands on disk readable. */
#include <check.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "datasets/datasets.h"
#include "demo/demo.h"
#include "tests/util/testutil.h"

#define FS DEMO_RATE
#define HOP (FS / 50) /* 20 ms frames */

static float *clip(int cls, uint64_t index, uint64_t speaker, uint64_t seed, size_t *n)
{
    float *x = NULL;
    aa_error err;
    ck_assert_msg(demo_clip(&x, n, cls, index, speaker, seed, &err) == 0, "%s", err.msg);
    ck_assert_ptr_nonnull(x);
    return x;
}

/* 20 ms frame RMS in dB; returns the frame count. out: [n / HOP] */
static size_t frames_db(const float *x, size_t n, double *out)
{
    size_t m = 0;
    for (size_t i = 0; i + HOP <= n; i += HOP) {
        double s = 0;
        for (size_t j = 0; j < HOP; j++)
            s += (double)x[i + j] * x[i + j];
        out[m++] = 10 * log10(s / HOP + 1e-20);
    }
    return m;
}

static double clip_rms_db(const float *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)x[i] * x[i];
    return 10 * log10(s / (double)n + 1e-20);
}

/* Largest rise of frame level from one 20 ms frame to the next (dB): a cough's attack takes a few ms. */
static double max_rise_db(const double *f, size_t m)
{
    double r = 0;
    for (size_t i = 1; i < m; i++)
        r = fmax(r, f[i] - f[i - 1]);
    return r;
}

/* Share of frames within 6 dB of the loudest: small for short bursts, large for sustained sounds. */
static double loud_share(const double *f, size_t m)
{
    double mx = -1e9;
    for (size_t i = 0; i < m; i++)
        mx = fmax(mx, f[i]);
    size_t k = 0;
    for (size_t i = 0; i < m; i++)
        k += f[i] > mx - 6;
    return (double)k / (double)m;
}

/* Envelope cycles per second: upward crossings of the mean of a 100 ms-smoothed frame-level curve. An inhale
 * and an exhale each make one, so this is about twice the breathing rate. */
static double crossings_per_s(const double *f, size_t m)
{
    double *s = malloc(m * sizeof *s), mean = 0;
    for (size_t i = 0; i < m; i++) {
        double a = 0;
        int c = 0;
        for (size_t j = i >= 2 ? i - 2 : 0; j <= i + 2 && j < m; j++)
            a += f[j], c++;
        s[i] = a / c;
        mean += s[i];
    }
    mean /= (double)m;
    int up = 0;
    for (size_t i = 1; i < m; i++)
        up += s[i - 1] < mean && s[i] >= mean;
    free(s);
    return up / ((double)m * HOP / FS);
}

START_TEST(synth_deterministic_per_clip)
{
    for (int c = 0; c < DEMO_N_CLASSES; c++) {
        size_t n1, n2, n3, n4;
        float *a = clip(c, 5, 2, 7, &n1);
        float *other = clip(c, 4, 2, 7, &n3); /* generating another clip in between changes nothing */
        float *b = clip(c, 5, 2, 7, &n2);
        ck_assert_uint_eq(n1, n2);
        ck_assert_int_eq(memcmp(a, b, n1 * sizeof *a), 0);
        float *d = clip(c, 5, 2, 8, &n4); /* another seed: another clip */
        ck_assert(n4 != n1 || memcmp(a, d, n1 * sizeof *a) != 0);
        free(a), free(b), free(other), free(d);
    }
    /* A pinned sample: a change of generator would silently change every demo corpus and its results. */
    size_t n;
    float *x = clip(DEMO_COUGH, 0, 0, 1, &n);
    ck_assert_uint_eq(n, 4 * FS);
    /* Pinned to a level rather than to bits: libm's sin/exp/pow may differ in the last bit between C
     * libraries, which moves this by ~1e-12 dB, while any change to the generator moves it by far more. */
    ck_assert_double_eq_tol(clip_rms_db(x, n), -30.0136285, 1e-4);
    free(x);
    ck_assert_str_eq(demo_class_name(DEMO_HEAVY), "heavy_breathing");
    ck_assert_ptr_null(demo_class_name(4));
    aa_error err;
    ck_assert_int_eq(demo_clip(&x, &n, 9, 0, 0, 1, &err), AA_ERR_ARG);
}
END_TEST

START_TEST(synth_clean_lengths_and_levels)
{
    int per = tu_sanitized() ? 12 : 30;
    size_t four = 0, total = 0;
    for (int c = 0; c < DEMO_N_CLASSES; c++) {
        for (int i = 0; i < per; i++) {
            size_t n;
            float *x = clip(c, (uint64_t)i, (uint64_t)i / 2, 3, &n);
            ck_assert(n >= (size_t)(1.5 * FS) && n <= 8 * FS);
            four += n == 4 * FS;
            total++;
            double peak = 0;
            for (size_t j = 0; j < n; j++) {
                ck_assert_msg(isfinite(x[j]), "class %d clip %d sample %zu not finite", c, i, j);
                peak = fmax(peak, fabs(x[j]));
            }
            /* The generator keeps 1 dB of headroom (0.89); nothing may reach full scale. */
            ck_assert_msg(peak <= 0.8901, "class %d clip %d peak %.4f", c, i, peak);
            /* Audible, never silent: -60 dBFS is far below every class's lowest level. */
            ck_assert_msg(clip_rms_db(x, n) > -60, "class %d clip %d too quiet", c, i);
            free(x);
        }
    }
    /* Two thirds of clips are exactly 4 s; over 120 clips the share is 0.67 +- 0.04 (1 sd), so 0.5-0.85 is
     * > 4 sd wide and still catches a broken length draw. */
    double share = (double)four / (double)total;
    ck_assert_msg(share > 0.5 && share < 0.85, "share of 4 s clips %.2f", share);
}
END_TEST

START_TEST(synth_classes_differ_as_intended)
{
    int per = tu_sanitized() ? 16 : 40;
    double rise[DEMO_N_CLASSES] = {0}, loud[DEMO_N_CLASSES] = {0}, cross[DEMO_N_CLASSES] = {0};
    double *f = malloc((8 * FS / HOP + 1) * sizeof *f);
    for (int c = 0; c < DEMO_N_CLASSES; c++) {
        for (int i = 0; i < per; i++) {
            size_t n;
            float *x = clip(c, (uint64_t)i, (uint64_t)i / 2, 11, &n);
            size_t m = frames_db(x, n, f);
            rise[c] += max_rise_db(f, m) / per;
            loud[c] += loud_share(f, m) / per;
            cross[c] += crossings_per_s(f, m) / per;
            free(x);
        }
    }
    free(f);
    /* Measured (seed 11, 40 clips a class): largest 20 ms rise cough 44 dB, deep 3.5, shallow 5.6; share of
     * frames within 6 dB of the loudest: cough 0.05, deep 0.38, shallow 0.34; envelope crossings: deep 0.50/s,
     * shallow 1.08/s. The bounds sit about halfway between the classes.
     * Coughs: short bursts with a sudden onset. */
    ck_assert(rise[DEMO_COUGH] > 15.0);
    ck_assert(loud[DEMO_COUGH] < 0.1);
    for (int c = DEMO_HEAVY; c <= DEMO_NORMAL; c++) {
        ck_assert(rise[c] < rise[DEMO_COUGH] - 6);
        ck_assert(loud[c] > 2 * loud[DEMO_COUGH]);
    }
    /* Deep breathing cycles more slowly than shallow breathing. */
    ck_assert(cross[DEMO_NORMAL] > 1.5 * cross[DEMO_HEAVY]);
}
END_TEST

START_TEST(synth_loudness_alone_does_not_separate)
{
    int per = tu_sanitized() ? 25 : 60;
    int n = per * DEMO_N_CLASSES;
    double *lv = malloc((size_t)n * sizeof *lv), *sorted = malloc((size_t)n * sizeof *sorted);
    int *cls = malloc((size_t)n * sizeof *cls);
    for (int c = 0; c < DEMO_N_CLASSES; c++) {
        for (int i = 0; i < per; i++) {
            size_t len;
            float *x = clip(c, (uint64_t)i, (uint64_t)i / 2, 21, &len);
            lv[c * per + i] = clip_rms_db(x, len);
            cls[c * per + i] = c;
            free(x);
        }
    }
    memcpy(sorted, lv, (size_t)n * sizeof *lv);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
            double t = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = t;
        }
    /* The best any level-only rule can do, estimated optimistically on the same clips: cut the level axis
     * into 10 equal-count bins and label each bin with its majority class. */
    const int bins = 10;
    int hits = 0;
    for (int b = 0; b < bins; b++) {
        double lo = sorted[b * n / bins], hi = b + 1 < bins ? sorted[(b + 1) * n / bins] : 1e9;
        int votes[DEMO_N_CLASSES] = {0}, best = 0;
        for (int i = 0; i < n; i++)
            if (lv[i] >= lo && lv[i] < hi)
                votes[cls[i]]++;
        for (int c = 0; c < DEMO_N_CLASSES; c++)
            best = votes[c] > best ? votes[c] : best;
        hits += best;
    }
    double acc = (double)hits / n;
    /* Chance is 0.25; a level threshold solving the task would be near 1. Measured: 0.56 (60 clips a class),
     * 0.58 (25, under the sanitizers, where the estimate is more optimistic). */
    ck_assert_msg(acc < 0.65, "level alone separates the classes: %.2f", acc);
    free(lv), free(sorted), free(cls);
}
END_TEST

START_TEST(synth_long_recording_events)
{
    float *x, *y;
    size_t n, ne, n2, ne2;
    demo_event *ev, *ev2;
    aa_error err;
    ck_assert_msg(demo_long(&x, &n, &ev, &ne, 30, 5, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(n, 30 * FS);
    ck_assert_msg(demo_long(&y, &n2, &ev2, &ne2, 30, 5, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(n2, n);
    ck_assert_uint_eq(ne2, ne);
    ck_assert_int_eq(memcmp(x, y, n * sizeof *x), 0);
    for (size_t e = 0; e < ne; e++)
        ck_assert(ev[e].start == ev2[e].start && ev[e].end == ev2[e].end && ev[e].cls == ev2[e].cls);
    free(y), free(ev2);

    int seen[DEMO_N_CLASSES] = {0};
    double peak = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert(isfinite(x[i]));
        peak = fmax(peak, fabs(x[i]));
    }
    ck_assert(peak <= 0.8901);
    double in_rms = 0, gap_rms = 0;
    size_t in_n = 0, gap_n = 0;
    for (size_t e = 0; e < ne; e++) {
        ck_assert(ev[e].end > ev[e].start);
        ck_assert(ev[e].start >= 1.0 - 1e-9 && ev[e].end <= 29.0 + 1e-9);
        if (e)
            ck_assert_msg(ev[e].start - ev[e - 1].end >= 1.5 - 1e-9, "events %zu and %zu closer than 1.5 s", e - 1, e);
        ck_assert(ev[e].cls >= DEMO_COUGH && ev[e].cls <= DEMO_NORMAL);
        seen[ev[e].cls]++;
        /* Label of a 4 s window over the event: coughs inside it; breathing bouts long enough to hold one. */
        if (ev[e].cls == DEMO_COUGH)
            ck_assert_int_eq(demo_label_at(ev, ne, ev[e].start - 1.0, ev[e].start + 3.0), DEMO_COUGH);
        else
            ck_assert_int_eq(demo_label_at(ev, ne, ev[e].start + 0.2, ev[e].start + 4.2), ev[e].cls);
    }
    ck_assert(seen[DEMO_COUGH] && seen[DEMO_HEAVY] && seen[DEMO_NORMAL]);
    /* Events stand out of the background: compare mean power inside events with that of the gaps (leaving
     * 0.7 s after each event for cough tails). */
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / FS;
        int inside = 0, near = 0;
        for (size_t e = 0; e < ne; e++) {
            inside |= t >= ev[e].start && t < ev[e].end;
            near |= t >= ev[e].start - 0.1 && t < ev[e].end + 0.7;
        }
        if (inside)
            in_rms += (double)x[i] * x[i], in_n++;
        else if (!near)
            gap_rms += (double)x[i] * x[i], gap_n++;
    }
    ck_assert_uint_gt(gap_n, FS);
    double ratio_db = 10 * log10((in_rms / in_n) / (gap_rms / gap_n));
    /* Events are mixed 8-26 dB over the background (active level); averaged over pauses within breathing
     * bouts the margin shrinks, 6 dB is the floor. */
    ck_assert_msg(ratio_db > 6, "events only %.1f dB over the background", ratio_db);
    /* A window wholly in a gap is background. */
    ck_assert_int_eq(demo_label_at(ev, ne, 0, 0.9), DEMO_BACKGROUND);
    free(x), free(ev);

    ck_assert_int_eq(demo_long(&x, &n, &ev, &ne, 4, 5, &err), AA_ERR_ARG);
    ck_assert_int_eq(demo_long(&x, &n, &ev, &ne, 601, 5, &err), AA_ERR_ARG);
    ck_assert_ptr_null(x);
}
END_TEST

START_TEST(synth_label_at_rules)
{
    demo_event ev[] = {{2.0, 2.5, DEMO_COUGH}, {5.0, 11.0, DEMO_HEAVY}, {13.0, 18.0, DEMO_NORMAL}};
    ck_assert_int_eq(demo_label_at(ev, 3, 0, 4), DEMO_COUGH);
    ck_assert_int_eq(demo_label_at(ev, 3, 1.9, 5.9), DEMO_COUGH);      /* a whole cough wins */
    ck_assert_int_eq(demo_label_at(ev, 3, 2.2, 6.2), DEMO_BACKGROUND); /* cough cut, 1.2 s of heavy */
    ck_assert_int_eq(demo_label_at(ev, 3, 6, 10), DEMO_HEAVY);
    ck_assert_int_eq(demo_label_at(ev, 3, 9, 13), DEMO_HEAVY);      /* 2 s of 4: half */
    ck_assert_int_eq(demo_label_at(ev, 3, 9.5, 13.5), DEMO_BACKGROUND);
    ck_assert_int_eq(demo_label_at(ev, 3, 14, 18), DEMO_NORMAL);
    ck_assert_int_eq(demo_label_at(ev, 3, 19, 23), DEMO_BACKGROUND);
}
END_TEST

/* Reads a mono 16 kHz file; returns samples (caller frees). */
static float *read_wav(const char *path, size_t *n)
{
    SF_INFO info = {0};
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    ck_assert_msg(f != NULL, "%s: %s", path, sf_strerror(NULL));
    ck_assert_int_eq(info.samplerate, FS);
    ck_assert_int_eq(info.channels, 1);
    ck_assert_int_eq(info.format, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
    float *x = malloc((size_t)info.frames * sizeof *x);
    ck_assert(sf_readf_float(f, x, info.frames) == info.frames);
    sf_close(f);
    *n = (size_t)info.frames;
    return x;
}

START_TEST(corpus_written_readable_and_listable)
{
    char d[256], dir[300], path[512];
    tu_mkdtemp(d, sizeof d);
    snprintf(dir, sizeof dir, "%s/demo", d);
    demo_corpus_opts o;
    demo_corpus_opts_default(&o);
    ck_assert_int_eq(o.per_class, 100);
    o.per_class = 6;
    o.seed = 4;
    aa_error err;
    ck_assert_msg(demo_corpus_write(dir, &o, &err) == 0, "%s", err.msg);

    for (int c = 0; c < DEMO_N_CLASSES; c++) {
        for (int i = 0; i < 6; i++) {
            snprintf(path, sizeof path, "%s/%s/%04d.wav", dir, demo_class_name(c), i);
            size_t n, m;
            float *got = read_wav(path, &n);
            float *want = clip(c, (uint64_t)i, (uint64_t)i / 2, 4, &m);
            ck_assert_uint_eq(n, m);
            /* 16-bit PCM: half a step of rounding (1.5e-5) plus libsndfile's 32767-in / 32768-out scaling
             * (|x| / 32768 <= 2.7e-5 at the 0.89 peak). */
            for (size_t j = 0; j < n; j++)
                ck_assert_msg(fabsf(got[j] - want[j]) <= 5e-5f, "%s[%zu]: %g vs %g", path, j, got[j], want[j]);
            free(got), free(want);
        }
    }
    char *man = tu_read_file(tu_path(path, sizeof path, dir, "manifest.tsv"), NULL);
    ck_assert_ptr_nonnull(man);
    ck_assert_int_eq(tu_count_lines(man), 1 + 24);
    ck_assert_ptr_nonnull(strstr(man, "path\tclass\tgroup\tduration_s\n"));
    ck_assert_ptr_nonnull(strstr(man, "heavy_breathing/0005.wav\theavy_breathing\tperson_002\t"));
    free(man);

    /* The listing takes it as it is: 4 classes, groups from the manifest (3 people across 3 classes, 3 places),
     * and the default split puts one person and one place on each side. */
    ds_list *l = NULL;
    ck_assert_msg(ds_list_load(&l, dir, NULL, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(l->n_classes, 4);
    ck_assert_uint_eq(l->n_items, 24);
    ck_assert_uint_eq(l->n_groups, 6);
    ck_assert_uint_eq(l->stats.group_manifest, 24);
    ck_assert_uint_eq(l->n_warnings, 0);
    ds_split *s = NULL;
    ck_assert_msg(ds_split_make(&s, l, NULL, &err) == 0, "%s", err.msg);
    for (int side = 0; side < DS_N_SIDES; side++)
        ck_assert_uint_eq(s->groups[side], 2);
    ds_split_free(s);
    ds_list_free(l);

    /* DIR must be new or empty; a refused write leaves nothing behind. */
    ck_assert_int_eq(demo_corpus_write(dir, &o, &err), AA_ERR_IO);
    ck_assert_msg(strstr(err.msg, "not empty") != NULL, "%s", err.msg);
    snprintf(path, sizeof path, "%s/empty", d);
    ck_assert_int_eq(mkdir(path, 0777), 0);
    ck_assert_msg(demo_corpus_write(path, &o, &err) == 0, "%s", err.msg);
    snprintf(path, sizeof path, "%s/no/such/parent", d);
    ck_assert_int_eq(demo_corpus_write(path, &o, &err), AA_ERR_IO);
    o.per_class = 5;
    ck_assert_int_eq(demo_corpus_write(path, &o, &err), AA_ERR_ARG);
    int entries = 0;
    char cmd[600], out[256];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", d);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, NULL, 0), 0);
    entries = atoi(out);
    ck_assert_int_eq(entries, 2); /* demo and empty: no temporary folders left */
    tu_rmtree(d);
}
END_TEST

START_TEST(long_written_with_events)
{
    char d[256], wav[300], tsv[300];
    tu_mkdtemp(d, sizeof d);
    snprintf(wav, sizeof wav, "%s/long.wav", d);
    snprintf(tsv, sizeof tsv, "%s/long.events.tsv", d);
    aa_error err;
    ck_assert_msg(demo_long_write(wav, tsv, 20, 2, &err) == 0, "%s", err.msg);
    size_t n;
    float *x = read_wav(wav, &n);
    ck_assert_uint_eq(n, 20 * FS);
    free(x);
    char *t = tu_read_file(tsv, NULL);
    ck_assert_ptr_nonnull(t);
    ck_assert(strncmp(t, "start_s\tend_s\tclass\n", 20) == 0);
    /* 20 s holds one event of each class at least. */
    ck_assert(strstr(t, "\tcough\n") && strstr(t, "\theavy_breathing\n") && strstr(t, "\tnormal_breathing\n"));
    free(t);
    tu_rmtree(d);
}
END_TEST

Suite *synth_suite(void)
{
    Suite *s = suite_create("synth");
    TCase *tc = tcase_create("synth");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, synth_deterministic_per_clip);
    tcase_add_test(tc, synth_clean_lengths_and_levels);
    tcase_add_test(tc, synth_classes_differ_as_intended);
    tcase_add_test(tc, synth_loudness_alone_does_not_separate);
    tcase_add_test(tc, synth_long_recording_events);
    tcase_add_test(tc, synth_label_at_rules);
    tcase_add_test(tc, corpus_written_readable_and_listable);
    tcase_add_test(tc, long_written_with_events);
    suite_add_tcase(s, tc);
    return s;
}
