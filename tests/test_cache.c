/* datasets/cache*.c: the feature cache holds each file's decoded signal bit for bit, and the features
 * computed from it equal direct decoding + windowing + log-mel bit for bit, whatever the thread count; it is reused while nothing changed and rebuilt when a file, the file list or the
 * settings change; a damaged cache file is refused with the right error and rebuilt; undecodable audio is
 * skipped with a warning; writes are atomic; the default location is outside the data folder. */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datasets/datasets.h"
#include "demo/demo.h"
#include "tests/util/testutil.h"

#define SR 16000

typedef struct {
    char root[512];
    char data[600];
} corpus;

/* The demo corpus with 6 clips per class (mostly 4 s, some 1.5-8 s) plus a 30 s background recording,
 * which gives more windows than a cap of 12 at a 2 s hop would keep (14). */
static void make_corpus(corpus *c)
{
    tu_mkdtemp(c->root, sizeof c->root);
    tu_path(c->data, sizeof c->data, c->root, "data");
    demo_corpus_opts o;
    demo_corpus_opts_default(&o);
    o.per_class = 6;
    aa_error err;
    ck_assert_msg(demo_corpus_write(c->data, &o, &err) == 0, "%s", err.msg);
    size_t n = 30 * SR;
    float *x = malloc(n * sizeof *x);
    uint32_t r = 12345;
    for (size_t i = 0; i < n; i++) {
        r = r * 1664525u + 1013904223u;
        /* noise with a slow loudness swell, so that windows differ */
        x[i] = 0.1f * (float)(sin((double)i / n * 6.28) + 1.2) * ((float)(r >> 8) / 16777216.0f - 0.5f);
    }
    char p[700];
    tu_write_wav(tu_path(p, sizeof p, c->data, "background_noise/zz_long.wav"), x, n, 1, SR,
                 SF_FORMAT_PCM_16);
    free(x);
}

static ds_list *list_of(const char *data)
{
    ds_list *l = NULL;
    ds_list_opts lo = {0};
    aa_error err;
    ck_assert_msg(ds_list_load(&l, data, &lo, &err) == 0, "%s", err.msg);
    return l;
}

/* The cache of l as built, with its features computed (both on `threads` threads). */
static ds_cache *build(const ds_list *l, const dsp_settings *s, int threads)
{
    ds_cache_opts o;
    ds_cache_opts_default(&o);
    o.threads = threads;
    ds_cache *c = NULL;
    aa_error err;
    ck_assert_msg(ds_cache_build(&c, l, s, &o, &err) == 0, "%s", err.msg);
    ck_assert_ptr_null(c->feat);
    ck_assert_msg(ds_cache_compute_features(c, threads, NULL, &err) == 0, "%s", err.msg);
    return c;
}

static void features(ds_cache *c, int threads)
{
    aa_error err;
    ck_assert_msg(ds_cache_compute_features(c, threads, NULL, &err) == 0, "%s", err.msg);
}

/* Two caches hold the same files, windows, signal bits and feature bits. */
static void assert_same(const ds_cache *a, const ds_cache *b)
{
    ck_assert_uint_eq(a->n_files, b->n_files);
    ck_assert_uint_eq(a->n_windows, b->n_windows);
    ck_assert_uint_eq(a->n_skipped, b->n_skipped);
    ck_assert_int_eq(a->n_classes, b->n_classes);
    for (size_t f = 0; f < a->n_files; f++) {
        ck_assert_str_eq(a->files[f].rel, b->files[f].rel);
        ck_assert_uint_eq(a->files[f].n_windows, b->files[f].n_windows);
        ck_assert_uint_eq(a->files[f].n_samples, b->files[f].n_samples);
        ck_assert_int_eq(a->files[f].status, b->files[f].status);
        ck_assert_int_eq(a->signal[f] == NULL, b->signal[f] == NULL);
        ck_assert_int_eq(a->signal[f] == NULL, a->files[f].status != 0);
        if (a->signal[f])
            ck_assert_msg(memcmp(a->signal[f], b->signal[f], a->files[f].n_samples * sizeof(float)) == 0,
                          "file %zu: signals differ", f);
    }
    for (size_t w = 0; w < a->n_windows; w++) {
        ck_assert_int_eq(a->windows[w].cls, b->windows[w].cls);
        ck_assert_uint_eq(a->windows[w].group, b->windows[w].group);
        ck_assert_uint_eq(a->windows[w].file, b->windows[w].file);
        ck_assert_uint_eq(a->windows[w].offset, b->windows[w].offset);
        ck_assert_msg(memcmp(ds_cache_features(a, w), ds_cache_features(b, w),
                             a->n_mels * a->n_frames * sizeof(float)) == 0,
                      "window %zu features differ", w);
    }
}

START_TEST(build_equals_direct_computation)
{
    corpus cp;
    make_corpus(&cp);
    ds_list *l = list_of(cp.data);
    dsp_settings s = dsp_settings_default();
    ds_cache *c = build(l, &s, 1);
    ck_assert_uint_eq(c->n_files, l->n_items);
    ck_assert_uint_eq(c->n_files, 25);
    ck_assert_uint_eq(c->n_skipped, 0);
    ck_assert_uint_eq(c->n_mels, 64);
    ck_assert_uint_eq(c->n_frames, 401);

    aa_error err;
    dsp_logmel *lm = dsp_logmel_new(&s, 1, &err);
    ck_assert_ptr_nonnull(lm);
    const size_t len = dsp_clip_samples(&s), per = 64 * 401;
    float *clip = malloc(len * sizeof *clip), *mel = malloc(per * sizeof *mel);
    ds_window_opts wo;
    ds_window_opts_default(&wo);
    size_t w = 0, longest = 0, shorts = 0;
    for (size_t f = 0; f < l->n_items; f++) {
        dsp_audio a;
        ck_assert_msg(dsp_load(l->items[f].path, &s, 0, &a, &err) == 0, "%s", err.msg);
        ck_assert_uint_eq(c->files[f].n_samples, a.n);
        /* the cache holds the decoded signal itself */
        ck_assert_msg(memcmp(c->signal[f], a.samples, a.n * sizeof *a.samples) == 0, "%s: signal differs",
                      l->items[f].rel);
        ck_assert_uint_eq(c->files[f].first_window, w);
        size_t offs[64];
        size_t nw = ds_window_plan(&s, &wo, a.n, offs, 64);
        ck_assert_uint_eq(c->files[f].n_windows, nw);
        longest = nw > longest ? nw : longest;
        for (size_t k = 0; k < nw; k++, w++) {
            if (a.n <= len) {
                /* a short file: exactly the clip dsp_clip makes (padded with zeros at the end) */
                size_t at = 99;
                dsp_clip(&s, a.samples, a.n, clip, &at);
                ck_assert_uint_eq(at, 0);
                shorts++;
            } else {
                ck_assert_uint_le(offs[k] + len, a.n);
                memcpy(clip, a.samples + offs[k], len * sizeof *clip);
            }
            ck_assert_int_eq(dsp_logmel_compute(lm, 0, clip, len, mel, &err), 0);
            ck_assert_uint_eq(c->windows[w].file, f);
            ck_assert_uint_eq(c->windows[w].offset, offs[k]);
            ck_assert_int_eq(c->windows[w].cls, l->items[f].cls);
            ck_assert_uint_eq(c->windows[w].group, l->items[f].group);
            ck_assert_msg(memcmp(ds_cache_features(c, w), mel, per * sizeof *mel) == 0,
                          "%s window %zu differs from the direct log-mel", l->items[f].rel, k);
        }
        dsp_audio_free(&a);
    }
    ck_assert_uint_eq(w, c->n_windows);
    ck_assert_uint_eq(longest, 12); /* the 30 s file: 14 windows capped to 12 */
    ck_assert_uint_gt(shorts, 0);   /* the corpus has clips shorter than 4 s */
    ck_assert_uint_gt(c->n_windows, c->n_files);

    /* File weights for the split and side windows */
    double *wt = malloc(c->n_files * sizeof *wt);
    ds_cache_file_weights(c, wt);
    for (size_t f = 0; f < c->n_files; f++)
        ck_assert(wt[f] == (double)c->files[f].n_windows);
    ds_split_opts so;
    ds_split_opts_default(&so);
    so.weights = wt;
    ds_split *sp = NULL;
    ck_assert_msg(ds_split_make(&sp, l, &so, &err) == 0, "%s", err.msg);
    size_t total = 0;
    for (int side = 0; side < DS_N_SIDES; side++) {
        size_t *idx, n;
        ck_assert_int_eq(ds_cache_side_windows(c, sp, side, &idx, &n, &err), 0);
        for (size_t i = 0; i < n; i++) {
            ck_assert_int_eq(sp->side[c->windows[idx[i]].file], side);
            if (i)
                ck_assert_uint_gt(idx[i], idx[i - 1]);
        }
        total += n;
        free(idx);
    }
    ck_assert_uint_eq(total, c->n_windows);

    /* A released signal: the features computed from it stay; without them it cannot be recomputed, and
     * without it the cache cannot be written (nothing is left behind). */
    ds_cache_release_signal(c, 0);
    ck_assert_ptr_null(c->signal[0]);
    ck_assert_int_eq(ds_cache_compute_features(c, 1, NULL, &err), 0);
    ck_assert_ptr_nonnull(c->feat[0]);
    free(c->feat[0]);
    c->feat[0] = NULL;
    ck_assert_int_eq(ds_cache_compute_features(c, 1, NULL, &err), DS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, c->files[0].rel));
    char out[700];
    tu_path(out, sizeof out, cp.root, "released.aacache");
    ck_assert_int_eq(ds_cache_write(c, out, &err), DS_ERR_ARG);
    ck_assert(!tu_exists(out));
    /* Computing features can give up the signals it no longer needs as it goes, and only those. */
    ds_cache *d = build(l, &s, 1);
    unsigned char *release = calloc(d->n_files, 1);
    for (size_t f = 0; f < d->n_files; f += 2)
        release[f] = 1;
    for (size_t f = 0; f < d->n_files; f++) {
        free(d->feat[f]);
        d->feat[f] = NULL;
    }
    ck_assert_int_eq(ds_cache_compute_features(d, 2, release, &err), 0);
    for (size_t f = 0; f < d->n_files; f++) {
        ck_assert_int_eq(d->signal[f] == NULL, release[f]);
        ck_assert_ptr_nonnull(d->feat[f]);
    }
    for (size_t k = 0; k < d->n_windows; k++)
        ck_assert(d->windows[k].file == 0 /* c gave its own up above */ ||
                  memcmp(ds_cache_features(d, k), ds_cache_features(c, k), per * sizeof(float)) == 0);
    free(release);
    ds_cache_free(d);
    ds_split_free(sp);
    free(wt);
    free(clip);
    free(mel);
    dsp_logmel_free(lm);
    ds_cache_free(c);
    ds_list_free(l);
    tu_rmtree(cp.root);
}
END_TEST

static void count_progress(void *user, size_t done, size_t total)
{
    size_t *calls = user;
    ck_assert_uint_le(done, total);
    calls[0]++;
    ck_assert_uint_ge(done, calls[1]); /* never goes back */
    calls[1] = done;
    calls[2] = total;
}

START_TEST(same_with_one_and_two_threads)
{
    corpus cp;
    make_corpus(&cp);
    ds_list *l = list_of(cp.data);
    dsp_settings s = dsp_settings_default();
    ds_cache *a = build(l, &s, 1);
    ds_cache_opts o;
    ds_cache_opts_default(&o);
    o.threads = 2;
    size_t calls[3] = {0};
    o.progress = count_progress;
    o.progress_user = calls;
    ds_cache *b = NULL;
    aa_error err;
    ck_assert_int_eq(ds_cache_build(&b, l, &s, &o, &err), 0);
    features(b, 2);
    assert_same(a, b);
    ck_assert_uint_ge(calls[0], 2); /* at least the start and the end */
    ck_assert_uint_eq(calls[1], l->n_items);
    ck_assert_uint_eq(calls[2], l->n_items);
    ds_cache_free(a);
    ds_cache_free(b);
    ds_list_free(l);
    tu_rmtree(cp.root);
}
END_TEST

/* ds_cache_open on path; returns the cache and checks loaded/built as expected; reason must contain `why`
 * when built (NULL: don't check). */
static ds_cache *open_expect(const ds_list *l, const dsp_settings *s, const char *path, int loaded,
                             const char *why, size_t *progress_calls)
{
    ds_cache_opts o;
    ds_cache_opts_default(&o);
    o.threads = 2;
    size_t calls[3] = {0};
    o.progress = count_progress;
    o.progress_user = calls;
    ds_cache_info info;
    ds_cache *c = NULL;
    aa_error err;
    ck_assert_msg(ds_cache_open(&c, l, s, &o, path, &info, &err) == 0, "%s", err.msg);
    ck_assert_msg(info.loaded == loaded, "loaded %d, expected %d (reason: %s)", info.loaded, loaded, info.reason);
    ck_assert_ptr_null(c->feat); /* the caller computes them */
    features(c, 2);
    ck_assert_int_eq(info.write_failed, 0);
    ck_assert_str_eq(info.path, path);
    if (!loaded && why)
        ck_assert_msg(strstr(info.reason, why), "reason \"%s\" lacks \"%s\"", info.reason, why);
    if (progress_calls)
        *progress_calls = calls[0];
    return c;
}

/* Only the cache file itself in dir: the atomic writer left no temporary file behind. */
static void assert_only(const char *dir, const char *name)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        ck_assert_msg(!strcmp(e->d_name, name), "unexpected file %s in %s", e->d_name, dir);
        n++;
    }
    closedir(d);
    ck_assert_int_eq(n, 1);
}

START_TEST(reused_until_something_changes)
{
    corpus cp;
    make_corpus(&cp);
    char cdir[600], path[700], p[700];
    tu_path(cdir, sizeof cdir, cp.root, "cache");
    ck_assert_int_eq(mkdir(cdir, 0755), 0);
    tu_path(path, sizeof path, cdir, "c.aacache");
    dsp_settings s = dsp_settings_default();
    ds_list *l = list_of(cp.data);
    size_t calls;

    ds_cache *first = open_expect(l, &s, path, 0, "no cache file yet", &calls);
    ck_assert_uint_gt(calls, 0);
    assert_only(cdir, "c.aacache");
    ds_cache *again = open_expect(l, &s, path, 1, NULL, &calls);
    ck_assert_uint_eq(calls, 0); /* nothing decoded */
    assert_same(first, again);
    for (size_t f = 0; f < first->n_files; f++) {
        ck_assert_int_eq(first->files[f].size, again->files[f].size);
        ck_assert_int_eq(first->files[f].mtime_ns, again->files[f].mtime_ns);
        ck_assert_int_eq(first->files[f].size, l->items[f].size);
        ck_assert_int_eq(first->files[f].mtime_ns, l->items[f].mtime_ns);
    }
    for (int k = 0; k < first->n_classes; k++)
        ck_assert_str_eq(first->classes[k], again->classes[k]);
    ds_cache_free(again);

    /* A file's modification time changes: rebuilt, and then reused again. */
    char rel[256];
    snprintf(rel, sizeof rel, "%s", l->items[3].rel);
    tu_path(p, sizeof p, cp.data, rel);
    struct timespec ts[2] = {{.tv_sec = 1000000000, .tv_nsec = 5}, {.tv_sec = 1000000000, .tv_nsec = 5}};
    ck_assert_int_eq(utimensat(AT_FDCWD, p, ts, 0), 0);
    ds_list_free(l);
    l = list_of(cp.data);
    ds_cache *c = open_expect(l, &s, path, 0, "changed (modification time)", NULL);
    ck_assert_str_eq(c->files[3].rel, rel);
    assert_same(first, c); /* same audio, same features */
    ck_assert_int_eq(c->files[3].mtime_ns, 1000000000000000005LL);
    ds_cache_free(c);
    ds_cache_free(open_expect(l, &s, path, 1, NULL, NULL));

    /* A file's size changes (rewritten 1 s shorter). */
    tu_path(p, sizeof p, cp.data, "cough/0000.wav");
    float *x = calloc(SR, sizeof *x);
    x[100] = 0.5f;
    tu_write_wav(p, x, SR, 1, SR, SF_FORMAT_PCM_16);
    ds_list_free(l);
    l = list_of(cp.data);
    c = open_expect(l, &s, path, 0, "cough/0000.wav changed (size)", NULL);
    size_t f0 = 0;
    while (strcmp(c->files[f0].rel, "cough/0000.wav"))
        f0++;
    ck_assert_uint_eq(c->files[f0].n_samples, SR);
    ck_assert_uint_eq(c->files[f0].n_windows, 1);
    ds_cache_free(c);

    /* A file is added, then removed. */
    tu_path(p, sizeof p, cp.data, "cough/new.wav");
    tu_write_wav(p, x, SR, 1, SR, SF_FORMAT_PCM_16);
    ds_list_free(l);
    l = list_of(cp.data);
    c = open_expect(l, &s, path, 0, "cough/new.wav added", NULL);
    ck_assert_uint_eq(c->n_files, 26);
    ds_cache_free(c);
    ck_assert_int_eq(remove(p), 0);
    ds_list_free(l);
    l = list_of(cp.data);
    c = open_expect(l, &s, path, 0, "cough/new.wav removed", NULL);
    ck_assert_uint_eq(c->n_files, 25);
    ds_cache_free(c);

    /* Settings change, then the window options. */
    dsp_settings s2 = s;
    s2.n_mels = 32;
    c = open_expect(l, &s2, path, 0, "DSP settings differ: n_mels=64 in the cache, n_mels=32 now", NULL);
    ck_assert_uint_eq(c->n_mels, 32);
    ds_cache_free(c);
    ds_cache_opts o;
    ds_cache_opts_default(&o);
    o.win.hop_seconds = 1.0;
    ds_cache_info info;
    aa_error err;
    ck_assert_int_eq(ds_cache_open(&c, l, &s2, &o, path, &info, &err), 0);
    ck_assert_int_eq(info.loaded, 0);
    ck_assert_ptr_nonnull(strstr(info.reason, "window options differ"));
    ds_cache_free(c);
    ck_assert_int_eq(ds_cache_open(&c, l, &s2, &o, path, &info, &err), 0);
    ck_assert_int_eq(info.loaded, 1);
    ds_cache_free(c);
    assert_only(cdir, "c.aacache");

    /* A cache that cannot be written (its folder is missing) is built and returned all the same. */
    char nowhere[700];
    tu_path(nowhere, sizeof nowhere, cp.root, "missing/dir/c.aacache");
    ck_assert_int_eq(ds_cache_open(&c, l, &s, NULL, nowhere, &info, &err), 0);
    ck_assert_int_eq(info.loaded, 0);
    ck_assert_int_eq(info.write_failed, 1);
    ck_assert_ptr_nonnull(strstr(info.write_error, "missing/dir/c.aacache"));
    ck_assert_uint_eq(c->n_files, 25);
    ds_cache_free(c);

    free(x);
    ds_cache_free(first);
    ds_list_free(l);
    tu_rmtree(cp.root);
}
END_TEST

/* Writes bytes[0..n) to path. */
static void put(const char *path, const void *bytes, size_t n)
{
    tu_write_file(path, bytes, n);
}

static void expect_read_error(const char *path, int code, const char *what)
{
    ds_cache *c = (ds_cache *)1;
    aa_error err;
    int rc = ds_cache_read(&c, path, &err);
    ck_assert_msg(rc == code, "expected %d (%s), got %d: %s", code, what, rc, rc ? err.msg : "ok");
    ck_assert_ptr_null(c);
    ck_assert_int_eq(err.code, code);
    ck_assert_msg(strstr(err.msg, what), "message \"%s\" lacks \"%s\"", err.msg, what);
    ck_assert_msg(strstr(err.msg, path), "message \"%s\" does not name the file", err.msg);
}

START_TEST(damaged_cache_files_refused_and_rebuilt)
{
    corpus cp;
    make_corpus(&cp);
    char path[700], bad[700];
    tu_path(path, sizeof path, cp.root, "good.aacache");
    tu_path(bad, sizeof bad, cp.root, "bad.aacache");
    dsp_settings s = dsp_settings_default();
    ds_list *l = list_of(cp.data);
    ds_cache *c = build(l, &s, 2);
    aa_error err;
    ck_assert_msg(ds_cache_write(c, path, &err) == 0, "%s", err.msg);
    size_t n;
    unsigned char *b = tu_read_file(path, &n);
    ck_assert_ptr_nonnull(b);
    size_t header_len = (size_t)aa_get_u64(b + 16), samples = 0;
    for (size_t f = 0; f < c->n_files; f++)
        samples += c->files[f].n_samples;
    ck_assert_uint_eq(aa_get_u64(b + 24), n);
    ck_assert_uint_eq(aa_get_u32(b + 8), 2);
    ck_assert_uint_eq(n, header_len + 8 + samples * 4); /* the signals, not the windows' log-mels */

    /* A sound file reads back equal: the same signals, and the same features computed from them. */
    ds_cache *r = NULL;
    ck_assert_msg(ds_cache_read(&r, path, &err) == 0, "%s", err.msg);
    ck_assert_ptr_null(r->feat);
    features(r, 1);
    assert_same(c, r);
    ds_cache_free(r);

    /* Truncated anywhere: in the magic, the fixed header, the names, the signals, the last checksum. */
    size_t cuts[] = {0, 5, 20, 31, 40, header_len / 2, header_len, header_len + 4 + 1000, n / 2, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        put(bad, b, cuts[i]);
        expect_read_error(bad, DS_ERR_CACHE_CORRUPT, "truncated");
    }
    /* Trailing bytes. */
    unsigned char *longer = malloc(n + 3);
    memcpy(longer, b, n);
    memset(longer + n, 0, 3);
    put(bad, longer, n + 3);
    expect_read_error(bad, DS_ERR_CACHE_CORRUPT, "3 bytes after its end");
    free(longer);
    /* One flipped bit in the header's names, its window records, a sample, the final checksum. */
    size_t flips[] = {40, header_len - 10, header_len + 4 + 12345, n - 2};
    const char *said[] = {"header checksum mismatch", "header checksum mismatch", "checksum mismatch",
                          "checksum mismatch"};
    for (size_t i = 0; i < sizeof flips / sizeof *flips; i++) {
        b[flips[i]] ^= 0x10;
        put(bad, b, n);
        b[flips[i]] ^= 0x10;
        expect_read_error(bad, DS_ERR_CACHE_CORRUPT, said[i]);
    }
    /* Wrong magic; a newer version (with every checksum right, so only the version can be blamed). */
    b[0] = 'X';
    put(bad, b, n);
    b[0] = 'A';
    expect_read_error(bad, DS_ERR_CACHE_FORMAT, "wrong magic");
    put(bad, "RIFF", 4);
    expect_read_error(bad, DS_ERR_CACHE_FORMAT, "wrong magic");
    aa_put_u32(b + 8, 3);
    aa_put_u32(b + header_len, aa_crc32(0, b, header_len));
    aa_put_u32(b + n - 4, aa_crc32(0, b, n - 4));
    put(bad, b, n);
    expect_read_error(bad, DS_ERR_CACHE_VERSION, "version 3 is newer");
    /* A version 1 cache (log-mels instead of signals) is not misread as this layout. */
    aa_put_u32(b + 8, 1);
    aa_put_u32(b + header_len, aa_crc32(0, b, header_len));
    aa_put_u32(b + n - 4, aa_crc32(0, b, n - 4));
    put(bad, b, n);
    expect_read_error(bad, DS_ERR_CACHE_VERSION, "version 1 (log-mels) is older");
    aa_put_u32(b + 8, 2);
    /* Consistent checksums over an inconsistent header: a window moved off its planned offset, a decoded
     * file claiming one sample more than the signals hold. */
    size_t rec = header_len - 32 * c->n_windows + 24; /* the first window's offset */
    ck_assert_uint_eq(aa_get_u64(b + rec), 0);
    aa_put_u64(b + rec, 1);
    aa_put_u32(b + header_len, aa_crc32(0, b, header_len));
    aa_put_u32(b + n - 4, aa_crc32(0, b, n - 4));
    put(bad, b, n);
    expect_read_error(bad, DS_ERR_CACHE_CORRUPT, "windows not planned");
    aa_put_u64(b + rec, 0);
    aa_put_u32(b + header_len, aa_crc32(0, b, header_len));
    aa_put_u32(b + n - 4, aa_crc32(0, b, n - 4));
    /* ... and a NaN sample under a checksum that matches: no decoder gives one. */
    unsigned char keep[4];
    memcpy(keep, b + header_len + 4 + 400, 4);
    aa_put_u32(b + header_len + 4 + 400, 0x7fc00000u);
    aa_put_u32(b + n - 4, aa_crc32(0, b, n - 4));
    put(bad, b, n);
    expect_read_error(bad, DS_ERR_CACHE_CORRUPT, "is not finite");
    memcpy(b + header_len + 4 + 400, keep, 4);
    aa_put_u32(b + n - 4, aa_crc32(0, b, n - 4));
    /* Missing file. */
    ck_assert_int_eq(ds_cache_read(&r, "/nonexistent/x.aacache", &err), DS_ERR_IO);

    /* Through the trainer's entry point, each of these caches is rebuilt, and the rebuilt file reads
     * cleanly; so is an empty file. */
    const struct {
        size_t cut;
        const char *why;
    } cases[] = {{n / 2, "truncated"}, {0, "newer"}, {n, "checksum mismatch"}};
    for (size_t i = 0; i < 3; i++) {
        unsigned char *v = tu_read_file(path, &n); /* the good file */
        if (i == 1)
            aa_put_u32(v + 8, 7);
        if (i == 2)
            v[n - 100] ^= 1;
        put(bad, v, cases[i].cut ? cases[i].cut : n);
        free(v);
        r = open_expect(l, &s, bad, 0, cases[i].why, NULL);
        assert_same(c, r);
        ds_cache_free(r);
        ck_assert_int_eq(ds_cache_read(&r, bad, &err), 0);
        ds_cache_free(r);
    }
    put(bad, "", 0);
    r = open_expect(l, &s, bad, 0, "truncated feature cache (0 bytes)", NULL);
    assert_same(c, r);
    ds_cache_free(r);

    /* What is not a cache is never written over: a file without the magic (a damaged one included: it can
     * no longer be told from someone's data), a folder, a FIFO (not opened, so nothing blocks). */
    ds_cache_opts o;
    ds_cache_opts_default(&o);
    ds_cache_info info;
    static const char text[] = "my notes, not a cache\n";
    put(bad, text, sizeof text - 1);
    ck_assert_int_eq(ds_cache_open(&r, l, &s, &o, bad, &info, &err), DS_ERR_CACHE_FORMAT);
    ck_assert_msg(strstr(err.msg, "not a feature cache (wrong magic), so it is not overwritten"), "%s", err.msg);
    ck_assert_ptr_null(r);
    size_t got_n = 0;
    char *got = tu_read_file(bad, &got_n);
    ck_assert(got && got_n == sizeof text - 1 && !memcmp(got, text, got_n));
    free(got);
    unsigned char *v = tu_read_file(path, &n);
    v[3] = '?';
    put(bad, v, n);
    ck_assert_int_eq(ds_cache_open(&r, l, &s, &o, bad, &info, &err), DS_ERR_CACHE_FORMAT);
    got = tu_read_file(bad, &got_n);
    ck_assert(got && got_n == n && !memcmp(got, v, n));
    free(got);
    free(v);
    char other[700];
    tu_path(other, sizeof other, cp.root, "a_folder");
    ck_assert_int_eq(mkdir(other, 0755), 0);
    ck_assert_int_eq(ds_cache_open(&r, l, &s, &o, other, &info, &err), DS_ERR_CACHE_FORMAT);
    ck_assert_msg(strstr(err.msg, "a directory"), "%s", err.msg);
    tu_path(other, sizeof other, cp.root, "a_fifo");
    ck_assert_int_eq(mkfifo(other, 0600), 0);
    ck_assert_int_eq(ds_cache_open(&r, l, &s, &o, other, &info, &err), DS_ERR_CACHE_FORMAT);
    ck_assert_msg(strstr(err.msg, "not a regular file"), "%s", err.msg);
    struct stat st;
    ck_assert(lstat(other, &st) == 0 && S_ISFIFO(st.st_mode));
    ck_assert_int_eq(tu_count_entries(cp.root, ".tmp."), 0);
    free(b);
    ds_cache_free(c);
    ds_list_free(l);
    tu_rmtree(cp.root);
}
END_TEST

START_TEST(corrupt_audio_skipped_with_warning)
{
    corpus cp;
    make_corpus(&cp);
    char p[700], path[700];
    /* A .wav that is not audio, and a FLAC whose stream is cut short after its header. */
    tu_path(p, sizeof p, cp.data, "cough/zz_garbage.wav");
    put(p, "this is not a wave file, just text pretending to be one", 55);
    dsp_settings s = dsp_settings_default();
    ds_list *l = list_of(cp.data);
    ck_assert_uint_eq(l->n_items, 26);
    ds_cache_opts o;
    ds_cache_opts_default(&o);
    o.threads = 2;
    ds_cache *c = NULL;
    aa_error err;
    ck_assert_msg(ds_cache_build(&c, l, &s, &o, &err) == 0, "%s", err.msg);
    features(c, 2);
    ck_assert_uint_eq(c->n_skipped, 1);
    size_t bad = 0;
    while (bad < c->n_files && !strstr(c->files[bad].rel, "zz_garbage"))
        bad++;
    ck_assert_uint_lt(bad, c->n_files);
    ck_assert_int_eq(c->files[bad].status, DSP_ERR_FORMAT);
    ck_assert_ptr_nonnull(c->files[bad].reason);
    ck_assert_msg(strstr(c->files[bad].reason, "zz_garbage.wav"), "%s", c->files[bad].reason);
    ck_assert_uint_eq(c->files[bad].n_windows, 0);
    for (size_t w = 0; w < c->n_windows; w++)
        ck_assert_uint_ne(c->windows[w].file, bad);
    /* The skip is remembered by the cache file, and reported again when it is reused. */
    tu_path(path, sizeof path, cp.root, "c.aacache");
    ds_cache_free(open_expect(l, &s, path, 0, NULL, NULL));
    ds_cache *r = open_expect(l, &s, path, 1, NULL, NULL);
    ck_assert_uint_eq(r->n_skipped, 1);
    ck_assert_str_eq(r->files[bad].reason, c->files[bad].reason);
    assert_same(c, r);
    ds_cache_free(r);
    ds_cache_free(c);
    ds_list_free(l);
    tu_rmtree(cp.root);
}
END_TEST

START_TEST(default_location_outside_data)
{
    corpus cp;
    tu_mkdtemp(cp.root, sizeof cp.root);
    tu_path(cp.data, sizeof cp.data, cp.root, "my data");
    ck_assert_int_eq(mkdir(cp.data, 0755), 0);
    char xdg[600], home[600];
    tu_path(xdg, sizeof xdg, cp.root, "xdg");
    tu_path(home, sizeof home, cp.root, "home");
    dsp_settings s = dsp_settings_default(), s2 = s;
    s2.hop_length = 256;
    ds_window_opts w;
    ds_window_opts_default(&w);
    char *a, *b, *c2, *d;
    aa_error err;
    setenv("XDG_CACHE_HOME", xdg, 1);
    ck_assert_int_eq(ds_cache_default_path(&a, cp.data, &s, &w, &err), 0);
    ck_assert_int_eq(ds_cache_default_path(&b, cp.data, &s, &w, &err), 0);
    ck_assert_int_eq(ds_cache_default_path(&c2, cp.data, &s2, &w, &err), 0);
    ck_assert_str_eq(a, b);   /* stable */
    ck_assert_str_ne(a, c2);  /* one file per settings */
    char prefix[700];
    snprintf(prefix, sizeof prefix, "%s/audio-audit/my_data-", xdg);
    ck_assert_msg(!strncmp(a, prefix, strlen(prefix)), "%s", a);
    ck_assert_ptr_nonnull(strstr(a, ".aacache"));
    ck_assert_ptr_null(strstr(a, cp.data));
    /* A relative XDG_CACHE_HOME is ignored (XDG base directories): $HOME/.cache then. */
    setenv("XDG_CACHE_HOME", "relative", 1);
    setenv("HOME", home, 1);
    ck_assert_int_eq(ds_cache_default_path(&d, cp.data, &s, &w, &err), 0);
    snprintf(prefix, sizeof prefix, "%s/.cache/audio-audit/", home);
    ck_assert_msg(!strncmp(d, prefix, strlen(prefix)), "%s", d);
    free(d);
    unsetenv("XDG_CACHE_HOME");
    unsetenv("HOME");
    ck_assert_int_eq(ds_cache_default_path(&d, cp.data, &s, &w, &err), DS_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "HOME"));
    free(a), free(b), free(c2);

    /* ds_cache_open with no path makes the folders and writes there. */
    setenv("HOME", home, 1);
    tu_rmtree(cp.data);
    corpus real;
    make_corpus(&real);
    ds_list *l = list_of(real.data);
    ds_cache *c = NULL;
    ds_cache_info info;
    ck_assert_msg(ds_cache_open(&c, l, &s, NULL, NULL, &info, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(info.loaded, 0);
    ck_assert_msg(!strncmp(info.path, prefix, strlen(prefix)), "%s", info.path);
    ck_assert(tu_exists(info.path));
    ds_cache_free(c);
    ck_assert_int_eq(ds_cache_open(&c, l, &s, NULL, NULL, &info, &err), 0);
    ck_assert_int_eq(info.loaded, 1);
    ds_cache_free(c);
    ds_list_free(l);
    tu_rmtree(real.root);
    tu_rmtree(cp.root);
}
END_TEST

Suite *cache_suite(void)
{
    Suite *s = suite_create("cache");
    TCase *tc = tcase_create("cache");
    /* Each case decodes a 25-file corpus (~140 s of audio) once or a few times: ~1 s each here. */
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, build_equals_direct_computation);
    tcase_add_test(tc, same_with_one_and_two_threads);
    tcase_add_test(tc, reused_until_something_changes);
    tcase_add_test(tc, damaged_cache_files_refused_and_rebuilt);
    tcase_add_test(tc, corrupt_audio_skipped_with_warning);
    tcase_add_test(tc, default_location_outside_data);
    suite_add_tcase(s, tc);
    return s;
}
