/* The bad-input corpus, library level: every file here is made by the test (nothing is stored), handed to
 * the loaders, and answered with a clear error (its status, one line naming the file and the reason) or a
 * documented outcome (a WAV cut short loads what it holds). The recordings also go through
 * `aa-infer --mel`: exit 1 with one line on stderr and nothing left in the output folder, or exit 0 and a
 * complete output. docs/RELIABILITY.md lists every case with its outcome; the two must stay in step.
 *
 * Model, checkpoint and feature cache files are cut at every section boundary and have single bits flipped
 * (every bit of the header and the checksums, a seeded sample elsewhere); a data folder holds the file-system oddities
 * the listing must step around (symlink loops, a folder named x.wav, unreadable, empty and oddly named
 * files). */
#define _GNU_SOURCE /* O_PATH-free mkdirat/openat helpers, prctl */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datasets/datasets.h"
#include "dsp/dsp.h"
#include "model/model.h"
#include "nn/nn.h"
#include "tests/util/audiogen.h"
#include "tests/util/badaudio.h"
#include "tests/util/testutil.h"

static void put_bytes(const char *path, const void *data, size_t n)
{
    tu_write_file(path, data, n);
}

static int one_line(const char *s)
{
    return strchr(s, '\n') == NULL;
}

START_TEST(audio_library)
{
    const tu_audio_case *c = &TU_BAD_AUDIO[_i];
    char dir[256], path[PATH_MAX + 256];
    tu_mkdtemp(dir, sizeof dir);
    if (!tu_make_audio_case(dir, c, path, sizeof path)) {
        tu_rmtree(dir);
        return;
    }
    dsp_settings s = dsp_settings_default();
    aa_error err;
    if (c->out == TU_LOADS && c->seconds > 600) {
        /* an hour: read through the streaming reader in bounded memory; dsp_load would hold 230 MB */
        dsp_reader *r = dsp_reader_open(path, &s, &err);
        ck_assert_msg(r != NULL, "%s", err.msg);
        static float chunk[1 << 16];
        size_t got, total = 0;
        int e;
        while ((e = dsp_reader_read(r, chunk, sizeof chunk / sizeof *chunk, &got, &err)) == 0 && got)
            total += got;
        ck_assert_int_eq(e, 0);
        ck_assert_uint_eq(total, (size_t)(c->seconds * s.sample_rate));
        ck_assert(fabs(dsp_reader_source(r)->duration - c->seconds) < 1e-9);
        dsp_reader_close(r);
        /* a caller's shorter limit is met from the header alone */
        dsp_audio a;
        ck_assert_int_eq(dsp_load(path, &s, 600, &a, &err), DSP_ERR_TOO_LONG);
        ck_assert_ptr_null(a.samples);
        tu_rmtree(dir);
        return;
    }
    dsp_audio a;
    memset(&err, 0, sizeof err);
    int e = dsp_load(path, &s, 0, &a, &err);
    if (c->out == TU_FAILS) {
        ck_assert_msg(e == c->code, "%s: status %d (%s), expected %d", c->file, e, err.msg, c->code);
        ck_assert_int_eq(err.code, c->code);
        /* a path longer than the message keeps its start and the reason at the end */
        size_t named = strlen(path) < 100 ? strlen(path) : 100;
        ck_assert_msg(strncmp(err.msg, path, named) == 0, "%s: message does not name the file: %s", c->file,
                      err.msg);
        ck_assert_msg(strstr(err.msg, c->reason) != NULL, "%s: '%s' lacks '%s'", c->file, err.msg, c->reason);
        ck_assert_msg(one_line(err.msg), "%s: message is not one line", c->file);
        ck_assert_ptr_null(a.samples);
    } else {
        ck_assert_msg(e == 0, "%s: %s", c->file, err.msg);
        ck_assert_msg(c->seconds < 0 || fabs(a.src.duration - c->seconds) < 1e-9, "%s: %.6f s, expected %.6f",
                      c->file, a.src.duration, c->seconds);
        ck_assert(a.n > 0 || a.src.duration < 1e-3);
        for (size_t i = 0; i < a.n; i++)
            ck_assert(isfinite(a.samples[i]) && fabsf(a.samples[i]) <= DSP_MAX_SAMPLE);
        dsp_audio_free(&a);
    }
    tu_rmtree(dir);
}
END_TEST

START_TEST(audio_cli)
{
    const tu_audio_case *c = &TU_BAD_AUDIO[_i];
    char dir[256], outdir[256], path[PATH_MAX + 256], out[512], se[8192], so[4096];
    tu_mkdtemp(dir, sizeof dir);
    tu_mkdtemp(outdir, sizeof outdir);
    if (!strcmp(c->file, "unreadable.wav"))
        ck_assert_int_eq(chmod(outdir, 0777), 0); /* written by "nobody" when the test dropped root */
    if (!tu_make_audio_case(dir, c, path, sizeof path)) {
        tu_rmtree(dir);
        tu_rmtree(outdir);
        return;
    }
    tu_path(out, sizeof out, outdir, "mel.f32");
    size_t cmd_cap = strlen(path) + 1024;
    char *cmd = malloc(cmd_cap);
    snprintf(cmd, cmd_cap, "%s/aa-infer --mel '%s' -o '%s'", tu_build_dir(), path, out);
    int st = tu_run(cmd, so, sizeof so, se, sizeof se);
    free(cmd);
    if (c->out == TU_FAILS) {
        ck_assert_msg(st == 1, "%s: exit %d, stderr '%s'", c->file, st, se);
        ck_assert_msg(tu_count_lines(se) == 1, "%s: stderr is not one line: '%s'", c->file, se);
        ck_assert_msg(strstr(se, c->reason) != NULL, "%s: stderr '%s'", c->file, se);
        ck_assert_msg(tu_count_entries(outdir, NULL) == 0, "%s: something was left in the output folder", c->file);
        ck_assert_str_eq(so, "");
    } else {
        ck_assert_msg(st == 0, "%s: exit %d, stderr '%s'", c->file, st, se);
        struct stat sb;
        ck_assert_int_eq(stat(out, &sb), 0);
        ck_assert_int_eq(sb.st_size, 64 * 401 * 4);
        ck_assert_int_eq(tu_count_entries(outdir, NULL), 1); /* no temporary file beside it */
    }
    tu_rmtree(dir);
    tu_rmtree(outdir);
}
END_TEST

/* A message over the buffer (AA_ERROR_MSG_MAX) used to lose its end, where the reason is. */
START_TEST(long_message_keeps_reason)
{
    char path[3000];
    memset(path, 'p', sizeof path - 1);
    path[sizeof path - 1] = 0;
    aa_error err;
    ck_assert_int_eq(aa_error_set(&err, 7, "%s: cannot open (%s)", path, "File name too long"), 7);
    size_t n = strlen(err.msg);
    ck_assert_uint_eq(n, AA_ERROR_MSG_MAX - 1);
    ck_assert(strncmp(err.msg, path, 100) == 0 && strstr(err.msg, "p...p") != NULL);
    ck_assert_str_eq(err.msg + n - 32, "cannot open (File name too long)");
    /* a message that fits is untouched */
    ck_assert_int_eq(aa_error_set(&err, 1, "%s: %d", "x.wav", 3), 1);
    ck_assert_str_eq(err.msg, "x.wav: 3");
}
END_TEST

/* ---- model and checkpoint files ------------------------------------------------------------------------ */

/* A small valid model file (am_save: network, front end, classes, normalisation, gate, self-test). */
static void small_model(const char *path)
{
    dsp_settings s = dsp_settings_default();
    s.sample_rate = 8000, s.clip_seconds = 0.25, s.n_fft = 256, s.win_length = 256, s.hop_length = 128;
    s.n_mels = 8, s.fmax = 4000;
    aa_error err;
    nn_model *net = nn_model_new("c4 bn relu p2 c8 bn relu gap fc", 1, 8, (int)dsp_clip_frames(&s), 3, 1, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    float mean[8], sd[8];
    for (int i = 0; i < 8; i++)
        mean[i] = -30.0f, sd[i] = 12.0f;
    am_spec spec = {.dsp = s, .n_classes = 3, .classes = {"cough", "heavy_breathing", "background_noise"},
                    .norm_mean = mean, .norm_std = sd, .temperature = 1.5, .min_confidence = 0.5};
    ck_assert_msg(am_save(path, net, &spec, &err) == 0, "%s", err.msg);
    nn_model_free(net);
}

static void small_checkpoint(const char *path)
{
    aa_error err;
    nn_model *net = nn_model_new("c4 bn relu p2 c8 bn relu gap fc", 1, 8, 16, 3, 2, &err);
    ck_assert_ptr_nonnull(net);
    nn_opt_config oc = nn_opt_defaults(NN_OPT_ADAM);
    nn_optimizer *o = nn_opt_new(net, &oc, &err);
    aa_rng r;
    aa_rng_seed(&r, 3);
    ck_assert_int_eq(nn_checkpoint_save(path, net, o, &r, NULL, &err), 0);
    nn_opt_free(o);
    nn_model_free(net);
}

/* Offsets where a section of the container ends: the magic, each header field, the header, every entry
 * (walked with the format's own rules), the payload before the checksum. */
static size_t section_ends(const unsigned char *b, size_t size, size_t *ends, size_t cap)
{
    size_t n = 0, p = 32;
    static const size_t head[] = {8, 12, 16, 20, 24, 32};
    for (size_t i = 0; i < sizeof head / sizeof *head; i++)
        ends[n++] = head[i];
    uint32_t ns = aa_get_u32(b + 12), nt = aa_get_u32(b + 16);
    for (uint32_t i = 0; i < ns + nt && n + 2 < cap; i++) {
        p += 4 + aa_get_u32(b + p); /* name */
        if (i < ns) {
            p += 4 + aa_get_u32(b + p); /* value */
        } else {
            uint32_t nd = aa_get_u32(b + p);
            size_t count = 1;
            for (uint32_t d = 0; d < nd; d++)
                count *= aa_get_u32(b + p + 4 + 4 * d);
            p += 4 + 4 * nd + 4 * count;
        }
        ends[n++] = p;
    }
    ck_assert_uint_eq(p, size - 4); /* the walk agrees with the file */
    ends[n++] = size - 1;
    return n;
}

typedef enum { AS_MODEL, AS_CHECKPOINT } load_kind;

/* Loads through the user-facing loader of that kind; 0 on success. */
static int load_as(load_kind k, const char *path, aa_error *err)
{
    if (k == AS_MODEL) {
        am_model *m = am_load(path, 1, err);
        am_free(m);
        return m ? 0 : err->code;
    }
    nn_model *net;
    nn_optimizer *o;
    aa_rng r;
    int rc = nn_checkpoint_load(path, 1, &net, &o, &r, NULL, err);
    if (!rc) {
        nn_model_free(net);
        nn_opt_free(o);
    }
    return rc;
}

static void expect_refused(load_kind k, const char *path, const char *what)
{
    aa_error err;
    memset(&err, 0, sizeof err);
    int rc = load_as(k, path, &err);
    ck_assert_msg(rc != 0, "%s: loaded", what);
    ck_assert_msg(rc == NN_ERR_TRUNCATED || rc == NN_ERR_FORMAT || rc == NN_ERR_VERSION || rc == NN_ERR_CHECKSUM,
                  "%s: status %d (%s)", what, rc, err.msg);
    ck_assert_msg(strncmp(err.msg, path, strlen(path)) == 0 && one_line(err.msg), "%s: '%s'", what, err.msg);
}

static void truncations(load_kind k)
{
    char dir[256], good[512], bad[512], what[96];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(good, sizeof good, dir, "good");
    tu_path(bad, sizeof bad, dir, "bad");
    if (k == AS_MODEL)
        small_model(good);
    else
        small_checkpoint(good);
    size_t size;
    unsigned char *b = tu_read_file(good, &size);
    aa_error err;
    ck_assert_msg(load_as(k, good, &err) == 0, "%s", err.msg); /* the untouched file loads */
    size_t ends[512];
    size_t n = section_ends(b, size, ends, 512);
    ck_assert_uint_ge(n, 12);
    put_bytes(bad, b, 0);
    expect_refused(k, bad, "empty");
    for (size_t i = 0; i < n; i++) {
        put_bytes(bad, b, ends[i]);
        snprintf(what, sizeof what, "cut at %zu of %zu", ends[i], size);
        expect_refused(k, bad, what);
        ck_assert_int_eq(load_as(k, bad, &err), NN_ERR_TRUNCATED);
    }
    free(b);
    tu_rmtree(dir);
}

static void bit_flips(load_kind k)
{
    char dir[256], good[512], bad[512], what[96];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(good, sizeof good, dir, "good");
    tu_path(bad, sizeof bad, dir, "bad");
    if (k == AS_MODEL)
        small_model(good);
    else
        small_checkpoint(good);
    size_t size;
    unsigned char *b = tu_read_file(good, &size);
    /* every bit of the 32-byte header and of the checksum, then a seeded sample of the rest: CRC-32 finds
     * every single-bit error, so each one must be refused, whatever field it hits */
    size_t bits[32 * 8 + 32 + 160], n = 0;
    for (size_t i = 0; i < 32 * 8; i++)
        bits[n++] = i;
    for (size_t i = 0; i < 32; i++)
        bits[n++] = 8 * (size - 4) + i;
    aa_rng r;
    aa_rng_seed(&r, 77);
    for (size_t i = 0; i < 160; i++)
        bits[n++] = 8 * 32 + (size_t)aa_rng_below(&r, 8 * (size - 36));
    for (size_t i = 0; i < n; i++) {
        b[bits[i] / 8] ^= (unsigned char)(1u << (bits[i] % 8));
        put_bytes(bad, b, size);
        snprintf(what, sizeof what, "bit %zu of %zu", bits[i], 8 * size);
        expect_refused(k, bad, what);
        b[bits[i] / 8] ^= (unsigned char)(1u << (bits[i] % 8));
    }
    free(b);
    tu_rmtree(dir);
}

START_TEST(model_truncated_at_every_section)
{
    truncations(AS_MODEL);
}
END_TEST

START_TEST(checkpoint_truncated_at_every_section)
{
    truncations(AS_CHECKPOINT);
}
END_TEST

START_TEST(model_single_bit_flips)
{
    bit_flips(AS_MODEL);
}
END_TEST

START_TEST(checkpoint_single_bit_flips)
{
    bit_flips(AS_CHECKPOINT);
}
END_TEST

/* ---- feature cache files ----------------------------------------------------------------------------- */

/* A feature cache of three short recordings and one undecodable file (a skipped entry), small settings. */
static void small_cache(const char *dir, const char *path)
{
    char data[512], f[600];
    tu_path(data, sizeof data, dir, "data");
    ck_assert_int_eq(mkdir(data, 0700), 0);
    static const char *const rel[] = {"cough/a.wav", "cough/b.wav", "normal_breathing/c.wav"};
    static const int frames[] = {4800, 2400, 7200};
    for (int i = 0; i < 2; i++) {
        snprintf(f, sizeof f, "%s/%s", data, i ? "normal_breathing" : "cough");
        ck_assert_int_eq(mkdir(f, 0700), 0);
    }
    for (int i = 0; i < 3; i++) {
        snprintf(f, sizeof f, "%s/%s", data, rel[i]);
        tu_bad_tone(f, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, (size_t)frames[i]);
    }
    snprintf(f, sizeof f, "%s/normal_breathing/bad.wav", data);
    tu_write_file(f, "not audio\n", 10);
    dsp_settings s = dsp_settings_default();
    s.sample_rate = 8000, s.clip_seconds = 0.25, s.n_fft = 256, s.win_length = 256, s.hop_length = 128;
    s.n_mels = 8, s.fmax = 4000;
    ds_list *l = NULL;
    ds_cache *c = NULL;
    aa_error err;
    ds_list_opts lo = {.manifest = ""};
    ds_cache_opts co;
    ds_cache_opts_default(&co);
    co.win = (ds_window_opts){.hop_seconds = 0.25, .max_per_file = 4};
    co.threads = 1;
    ck_assert_msg(ds_list_load(&l, data, &lo, &err) == 0, "%s", err.msg);
    ck_assert_msg(ds_cache_build(&c, l, &s, &co, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(c->n_skipped, 1);
    ck_assert_msg(ds_cache_write(c, path, &err) == 0, "%s", err.msg);
    ds_cache_free(c);
    ds_list_free(l);
}

/* Section ends of a cache file, walked with the format's rules (datasets/cache_io.c): each fixed header
 * field, the settings text, the window options, every class, group, file and window record, the header
 * checksum, every decoded file's signal, the file. */
static size_t cache_section_ends(const unsigned char *b, size_t size, size_t *ends, size_t cap)
{
    size_t n = 0, p = 32;
    static const size_t head[] = {8, 12, 16, 24, 32};
    for (size_t i = 0; i < sizeof head / sizeof *head; i++)
        ends[n++] = head[i];
    uint64_t header_len = aa_get_u64(b + 16);
    p += 4 + aa_get_u32(b + p), ends[n++] = p;       /* settings */
    p += 8 + 4 + 4 + 4, ends[n++] = p;               /* hop, cap, n_mels, n_frames */
    uint32_t nc = aa_get_u32(b + p);
    p += 4;
    for (uint32_t i = 0; i < nc && n < cap; i++)
        p += 4 + aa_get_u32(b + p), ends[n++] = p;
    uint64_t ng = aa_get_u64(b + p);
    p += 8;
    for (uint64_t i = 0; i < ng && n < cap; i++)
        p += 4 + aa_get_u32(b + p), ends[n++] = p;
    uint64_t nf = aa_get_u64(b + p);
    p += 8;
    uint64_t samples[64];
    ck_assert_uint_le(nf, 64);
    for (uint64_t i = 0; i < nf && n < cap; i++) {
        p += 4 + aa_get_u32(b + p) + 8 + 8;
        uint32_t status = aa_get_u32(b + p + 4);
        samples[i] = status ? 0 : aa_get_u64(b + p + 4 + 4 + 8);
        p += 4 + 4 + 8 + 8 + 8;
        p += 4 + aa_get_u32(b + p), ends[n++] = p;
    }
    uint64_t nw = aa_get_u64(b + p);
    p += 8;
    for (uint64_t i = 0; i < nw && n < cap; i++)
        p += 32, ends[n++] = p;
    ck_assert_uint_eq(p, header_len); /* the walk agrees with the file */
    p += 4, ends[n++] = p;
    for (uint64_t i = 0; i < nf && n < cap; i++)
        if (samples[i])
            p += 4 * (size_t)samples[i], ends[n++] = p;
    ck_assert_uint_eq(p + 4, size);
    ends[n++] = size - 1;
    return n;
}

static void expect_cache_refused(const char *path, const char *what)
{
    ds_cache *c = NULL;
    aa_error err;
    memset(&err, 0, sizeof err);
    int rc = ds_cache_read(&c, path, &err);
    ck_assert_msg(rc != 0 && c == NULL, "%s: read", what);
    ck_assert_msg(rc == DS_ERR_CACHE_CORRUPT || rc == DS_ERR_CACHE_FORMAT || rc == DS_ERR_CACHE_VERSION,
                  "%s: status %d (%s)", what, rc, err.msg);
    ck_assert_msg(strncmp(err.msg, path, strlen(path)) == 0 && one_line(err.msg), "%s: '%s'", what, err.msg);
}

START_TEST(cache_truncated_at_every_section)
{
    char dir[256], good[512], bad[512], what[96];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(good, sizeof good, dir, "good.aacache");
    tu_path(bad, sizeof bad, dir, "bad.aacache");
    small_cache(dir, good);
    size_t size;
    unsigned char *b = tu_read_file(good, &size);
    ds_cache *c = NULL;
    aa_error err;
    ck_assert_msg(ds_cache_read(&c, good, &err) == 0, "%s", err.msg);
    ds_cache_free(c);
    size_t ends[512];
    size_t n = cache_section_ends(b, size, ends, 512);
    ck_assert_uint_ge(n, 30);
    put_bytes(bad, b, 0);
    expect_cache_refused(bad, "empty");
    for (size_t i = 0; i < n; i++) {
        put_bytes(bad, b, ends[i]);
        snprintf(what, sizeof what, "cut at %zu of %zu", ends[i], size);
        expect_cache_refused(bad, what);
        ck_assert_int_eq(ds_cache_read(&c, bad, &err), DS_ERR_CACHE_CORRUPT);
        ck_assert_msg(strstr(err.msg, "truncated") != NULL, "%s: %s", what, err.msg);
    }
    free(b);
    tu_rmtree(dir);
}
END_TEST

START_TEST(cache_single_bit_flips)
{
    char dir[256], good[512], bad[512], what[96];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(good, sizeof good, dir, "good.aacache");
    tu_path(bad, sizeof bad, dir, "bad.aacache");
    small_cache(dir, good);
    size_t size;
    unsigned char *b = tu_read_file(good, &size);
    uint64_t header_len = aa_get_u64(b + 16);
    /* every bit of the fixed header, of both checksums, and a seeded sample of the rest */
    size_t bits[8 * 32 + 64 + 200], n = 0;
    for (size_t i = 0; i < 8 * 32; i++)
        bits[n++] = i;
    for (size_t i = 0; i < 32; i++)
        bits[n++] = 8 * (size_t)header_len + i, bits[n++] = 8 * (size - 4) + i;
    aa_rng r;
    aa_rng_seed(&r, 99);
    for (size_t i = 0; i < 200; i++)
        bits[n++] = 8 * 32 + (size_t)aa_rng_below(&r, 8 * (size - 36));
    for (size_t i = 0; i < n; i++) {
        b[bits[i] / 8] ^= (unsigned char)(1u << (bits[i] % 8));
        put_bytes(bad, b, size);
        snprintf(what, sizeof what, "bit %zu of %zu", bits[i], 8 * size);
        expect_cache_refused(bad, what);
        b[bits[i] / 8] ^= (unsigned char)(1u << (bits[i] % 8));
    }
    free(b);
    tu_rmtree(dir);
}
END_TEST

/* ---- a data folder full of oddities ------------------------------------------------------------------- */

static void put_audio(const char *dir, const char *rel)
{
    char path[PATH_MAX];
    tu_path(path, sizeof path, dir, rel);
    for (char *p = path + strlen(dir) + 1; (p = strchr(p, '/')); p++) {
        *p = 0;
        mkdir(path, 0700);
        *p = '/';
    }
    tu_bad_tone(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, 800);
}

static size_t warnings_of(const ds_list *l, int kind)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n_warnings; i++)
        n += l->warnings[i].kind == kind;
    return n;
}

static const ds_item *item(const ds_list *l, const char *rel)
{
    for (size_t i = 0; i < l->n_items; i++)
        if (!strcmp(l->items[i].rel, rel))
            return &l->items[i];
    return NULL;
}

START_TEST(data_folder_oddities)
{
    char d[256], path[PATH_MAX], target[PATH_MAX];
    tu_mkdtemp(d, sizeof d);
    int can_lock = tu_drop_root(d);
    put_audio(d, "cough/a.wav");
    put_audio(d, "cough/x.wav/inside.wav");               /* a folder named like a recording: walked */
    put_audio(d, "cough/caf\xe9\xff.wav");                 /* not UTF-8: kept, with a warning */
    char longname[300] = "cough/";
    memset(longname + 6, 'l', 251);
    memcpy(longname + 257, ".wav", 5);
    put_audio(d, longname);                                 /* a 255-byte name */
    put_audio(d, "normal_breathing/b.wav");
    put_audio(d, "normal_breathing/locked.wav");
    ck_assert_int_eq(symlink("..", tu_path(path, sizeof path, d, "cough/up")), 0);       /* loop to the root */
    ck_assert_int_eq(symlink(".", tu_path(path, sizeof path, d, "cough/self")), 0);      /* loop to itself */
    ck_assert_int_eq(symlink("loop2", tu_path(path, sizeof path, d, "cough/loop1.wav")), 0); /* ELOOP */
    ck_assert_int_eq(symlink("loop1.wav", tu_path(path, sizeof path, d, "cough/loop2")), 0);
    ck_assert_int_eq(symlink("gone.wav", tu_path(path, sizeof path, d, "cough/dangling.wav")), 0);
    tu_write_file(tu_path(path, sizeof path, d, "normal_breathing/empty.wav"), "", 0);
    ck_assert_int_eq(mkfifo(tu_path(path, sizeof path, d, "normal_breathing/pipe.wav"), 0600), 0);
    if (can_lock)
        ck_assert_int_eq(chmod(tu_path(target, sizeof target, d, "normal_breathing/locked.wav"), 0), 0);

    ds_list *l = NULL;
    aa_error err;
    ds_list_opts o = {.manifest = ""};
    ck_assert_msg(ds_list_load(&l, d, &o, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(l->n_classes, 2);
    ck_assert_ptr_nonnull(item(l, "cough/a.wav"));
    ck_assert_ptr_nonnull(item(l, "cough/x.wav/inside.wav"));
    ck_assert_ptr_nonnull(item(l, "cough/caf\xe9\xff.wav"));
    ck_assert_ptr_nonnull(item(l, longname));
    ck_assert_ptr_nonnull(item(l, "normal_breathing/b.wav"));
    ck_assert_uint_eq(l->n_items, can_lock ? 5 : 6);
    ck_assert_uint_ge(warnings_of(l, DS_WARN_LOOP), 2);      /* up/ and self/ */
    ck_assert_uint_ge(warnings_of(l, DS_WARN_UNREADABLE), can_lock ? 3 : 2); /* loop1, dangling, locked */
    ck_assert_uint_eq(warnings_of(l, DS_WARN_EMPTY_FILE), 1);
    ck_assert_uint_eq(warnings_of(l, DS_WARN_NOT_REGULAR), 1);
    ck_assert_uint_eq(warnings_of(l, DS_WARN_NOT_UTF8), 1);
    for (size_t i = 0; i < l->n_warnings; i++)
        ck_assert_msg(aa_utf8_valid(l->warnings[i].msg) && one_line(l->warnings[i].msg), "%s", l->warnings[i].msg);
    ds_list_free(l);
    if (can_lock)
        chmod(target, 0600);
    tu_rmtree(d);
}
END_TEST

Suite *badcorpus_suite(void)
{
    Suite *s = suite_create("badcorpus");
    TCase *tc = tcase_create("audio");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, audio_library, 0, TU_N_BAD_AUDIO);
    tcase_add_loop_test(tc, audio_cli, 0, TU_N_BAD_AUDIO);
    suite_add_tcase(s, tc);
    TCase *tm = tcase_create("files");
    tcase_set_timeout(tm, 60);
    tcase_add_test(tm, long_message_keeps_reason);
    tcase_add_test(tm, model_truncated_at_every_section);
    tcase_add_test(tm, checkpoint_truncated_at_every_section);
    tcase_add_test(tm, model_single_bit_flips);
    tcase_add_test(tm, checkpoint_single_bit_flips);
    tcase_add_test(tm, cache_truncated_at_every_section);
    tcase_add_test(tm, cache_single_bit_flips);
    tcase_add_test(tm, data_folder_oddities);
    suite_add_tcase(s, tm);
    return s;
}
