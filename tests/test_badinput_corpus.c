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
#include "tests/util/testutil.h"

/* ---- building files ----------------------------------------------------------------------------------- */

static void put_bytes(const char *path, const void *data, size_t n)
{
    tu_write_file(path, data, n);
}

/* Seeded bytes, so a "random" case is the same case on every run. */
static void random_bytes(unsigned char *b, size_t n, uint64_t seed)
{
    aa_rng r;
    aa_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)aa_rng_u64(&r);
}

/* A canonical 44-byte WAV header, every field given, so each can lie on its own. */
typedef struct {
    uint32_t riff_size, fmt_size, rate, byte_rate, data_size;
    uint16_t tag, channels, block_align, bits;
} wav_fields;

static wav_fields pcm16(uint16_t channels, uint32_t rate, uint32_t frames)
{
    wav_fields w = {.fmt_size = 16, .rate = rate, .tag = 1, .channels = channels, .bits = 16};
    w.block_align = (uint16_t)(2 * channels);
    w.byte_rate = rate * w.block_align;
    w.data_size = frames * w.block_align;
    w.riff_size = 36 + w.data_size;
    return w;
}

/* Header, then `payload` bytes of a 440 Hz tone (or of zeros when tone is 0). */
static void write_wav_fields(const char *path, const wav_fields *w, size_t payload, int tone)
{
    unsigned char *b = calloc(44 + payload, 1);
    ck_assert_ptr_nonnull(b);
    memcpy(b, "RIFF", 4);
    aa_put_u32(b + 4, w->riff_size);
    memcpy(b + 8, "WAVEfmt ", 8);
    aa_put_u32(b + 16, w->fmt_size);
    b[20] = (unsigned char)w->tag, b[21] = (unsigned char)(w->tag >> 8);
    b[22] = (unsigned char)w->channels, b[23] = (unsigned char)(w->channels >> 8);
    aa_put_u32(b + 24, w->rate);
    aa_put_u32(b + 28, w->byte_rate);
    b[32] = (unsigned char)w->block_align, b[33] = (unsigned char)(w->block_align >> 8);
    b[34] = (unsigned char)w->bits, b[35] = (unsigned char)(w->bits >> 8);
    memcpy(b + 36, "data", 4);
    aa_put_u32(b + 40, w->data_size);
    for (size_t i = 0; tone && i + 1 < payload; i += 2) {
        int16_t v = (int16_t)(8000 * sin(2 * M_PI * 440.0 * (double)(i / 2) / 16000.0));
        b[44 + i] = (unsigned char)v, b[45 + i] = (unsigned char)((uint16_t)v >> 8);
    }
    put_bytes(path, b, 44 + payload);
    free(b);
}

static void tone(const char *path, int format, int rate, int channels, size_t frames)
{
    double amp[DSP_MAX_CHANNELS + 1];
    for (int c = 0; c <= DSP_MAX_CHANNELS; c++)
        amp[c] = 0.5 / (c + 1);
    ck_assert_msg(ag_write_sines(path, format, rate, channels, frames, 440, amp) == 0, "cannot write %s", path);
}

/* Keeps the first `keep` bytes (keep <= 0: the size plus keep) of a file. */
static void cut(const char *path, long keep)
{
    size_t size;
    void *b = tu_read_file(path, &size);
    ck_assert_ptr_nonnull(b);
    size_t n = keep > 0 ? (size_t)keep : size - (size_t)(-keep);
    if (keep > 0 && n > size)
        n = size;
    put_bytes(path, b, n);
    free(b);
}

static void half(const char *path)
{
    size_t size;
    void *b = tu_read_file(path, &size);
    ck_assert_ptr_nonnull(b);
    put_bytes(path, b, size / 2);
    free(b);
}

/* Float samples of a quiet tone with one bad value at frame `at`, channel `ch`. */
static void float_with(const char *path, int format, int channels, size_t frames, size_t at, int ch, double v)
{
    float *x = malloc(sizeof *x * frames * (size_t)channels);
    ck_assert_ptr_nonnull(x);
    for (size_t t = 0; t < frames; t++)
        for (int c = 0; c < channels; c++)
            x[t * (size_t)channels + (size_t)c] = 0.1f * (float)sin(0.03 * (double)t);
    x[at * (size_t)channels + (size_t)ch] = (float)v;
    if ((format & SF_FORMAT_SUBMASK) == SF_FORMAT_DOUBLE) {
        /* libsndfile writes floats to a double file; a double too large for float needs sf_writef_double */
        double *d = malloc(sizeof *d * frames * (size_t)channels);
        for (size_t i = 0; i < frames * (size_t)channels; i++)
            d[i] = x[i];
        d[at * (size_t)channels + (size_t)ch] = v;
        SF_INFO info = {.samplerate = 16000, .channels = channels, .format = format};
        SNDFILE *f = sf_open(path, SFM_WRITE, &info);
        ck_assert_ptr_nonnull(f);
        ck_assert(sf_writef_double(f, d, (sf_count_t)frames) == (sf_count_t)frames);
        ck_assert_int_eq(sf_close(f), 0);
        free(d);
    } else {
        ag_write_samples(path, format, 16000, channels, x, frames);
    }
    free(x);
}

/* A sparse WAV (16-bit mono 16 kHz) announcing `frames` frames whose data is a hole: silence that costs no
 * disk and no time to write. */
static void sparse_wav(const char *path, uint32_t frames)
{
    wav_fields w = pcm16(1, 16000, frames);
    write_wav_fields(path, &w, 0, 0);
    ck_assert_int_eq(truncate(path, 44 + (off_t)w.data_size), 0);
}

/* ---- the audio cases ----------------------------------------------------------------------------------- */

typedef enum { LOADS, FAILS } outcome;

typedef struct {
    const char *file;   /* name in the case's folder */
    outcome out;
    int code;           /* FAILS: the dsp status */
    const char *reason; /* FAILS: a phrase of the message; LOADS: NULL */
    double seconds;     /* LOADS: expected duration of what loads (source frames / rate), -1 unchecked */
} audio_case;

static const audio_case AUDIO[] = {
    /* empty and cut short */
    {"empty.wav", FAILS, DSP_ERR_EMPTY, "empty file (0 bytes)", 0},
    {"empty.mp3", FAILS, DSP_ERR_EMPTY, "empty file (0 bytes)", 0},
    {"riff_only.wav", FAILS, DSP_ERR_FORMAT, "not a readable audio file", 0},
    {"cut_in_fmt.wav", FAILS, DSP_ERR_FORMAT, "not a readable audio file", 0},
    {"header_only.wav", FAILS, DSP_ERR_TOO_SHORT, "too short (0 samples", 0},
    {"half.wav", LOADS, 0, NULL, 7989.0 / 16000}, /* 15978 of 32000 data bytes */
    {"half.flac", FAILS, DSP_ERR_DECODE, "decode error", 0},
    {"header_only.flac", FAILS, DSP_ERR_FORMAT, "not a readable audio file", 0},
    {"half.ogg", FAILS, DSP_ERR_FORMAT, "file is malformed", 0},
    {"half.opus", FAILS, DSP_ERR_FORMAT, "file is malformed", 0},
    {"half.mp3", LOADS, 0, NULL, -1},
    {"last_byte_missing.flac", FAILS, DSP_ERR_DECODE, "decode error", 0},
    /* random bytes and other non-audio with audio names */
    {"random.wav", FAILS, DSP_ERR_FORMAT, "not a readable audio file", 0},
    {"random.flac", FAILS, DSP_ERR_FORMAT, "not a readable audio file", 0},
    {"random.ogg", FAILS, DSP_ERR_FORMAT, "not a readable audio file", 0},
    {"random.mp3", FAILS, DSP_ERR_FORMAT, "not a readable audio file", 0},
    {"random.opus", FAILS, DSP_ERR_FORMAT, "not a readable audio file", 0},
    {"text.wav", FAILS, DSP_ERR_FORMAT, "not a readable audio file", 0},
    {"zeros.wav", FAILS, DSP_ERR_FORMAT, "not a readable audio file", 0},
    /* WAV headers that lie */
    {"riff_size_max.wav", LOADS, 0, NULL, 1.0},
    {"data_size_max.wav", LOADS, 0, NULL, 1.0},
    {"data_size_odd.wav", LOADS, 0, NULL, 1.0},
    {"rate_0.wav", FAILS, DSP_ERR_FORMAT, "not a readable audio file", 0},
    {"rate_1.wav", FAILS, DSP_ERR_RATE, "sample rate 1 Hz out of range", 0},
    {"rate_7999.wav", FAILS, DSP_ERR_RATE, "sample rate 7999 Hz out of range", 0},
    {"rate_384000.wav", FAILS, DSP_ERR_RATE, "sample rate 384000 Hz out of range", 0},
    {"rate_4294967295.wav", FAILS, DSP_ERR_FORMAT, "not a readable audio file", 0},
    {"channels_0.wav", FAILS, DSP_ERR_FORMAT, "not a readable audio file", 0},
    {"channels_9.wav", FAILS, DSP_ERR_CHANNELS, "9 channels out of range", 0},
    {"channels_65535.wav", FAILS, DSP_ERR_FORMAT, "not a readable audio file", 0},
    {"bits_0.wav", FAILS, DSP_ERR_FORMAT, "not a readable audio file", 0},
    {"block_align_0.wav", LOADS, 0, NULL, 1.0},
    {"fmt_size_huge.wav", FAILS, DSP_ERR_FORMAT, "not a readable audio file", 0},
    {"format_tag_unknown.wav", FAILS, DSP_ERR_FORMAT, "not a readable audio file", 0},
    /* sample values */
    {"nan.wav", FAILS, DSP_ERR_NONFINITE, "NaN sample at frame 700 (channel 1)", 0},
    {"inf.wav", FAILS, DSP_ERR_NONFINITE, "infinite sample at frame 9000 (channel 2)", 0},
    {"minus_inf_ch3.wav", FAILS, DSP_ERR_NONFINITE, "infinite sample at frame 12 (channel 3)", 0},
    {"double_1e300.wav", FAILS, DSP_ERR_NONFINITE, "infinite sample at frame 5 (channel 1)", 0},
    {"float_1e30.wav", FAILS, DSP_ERR_NONFINITE, "out of range", 0},
    {"one_sample.wav", FAILS, DSP_ERR_TOO_SHORT, "too short (1 sample;", 0},
    {"two_samples.wav", LOADS, 0, NULL, 2.0 / 16000},
    {"ch8_192k.wav", LOADS, 0, NULL, 1.0},
    {"ch9_16k.wav", FAILS, DSP_ERR_CHANNELS, "9 channels out of range", 0},
    {"one_hour.wav", LOADS, 0, NULL, 3600.0},
    {"hour_and_a_second.wav", FAILS, DSP_ERR_TOO_LONG, "over the 3600 s limit", 0},
    /* the file system */
    {"missing.wav", FAILS, DSP_ERR_MISSING, "no such file", 0},
    {"x.wav", FAILS, DSP_ERR_IO, "a directory", 0},
    {"unreadable.wav", FAILS, DSP_ERR_IO, "Permission denied", 0},
    {"broken_link.wav", FAILS, DSP_ERR_MISSING, "no such file", 0},
    {"link_loop.wav", FAILS, DSP_ERR_IO, "Too many levels of symbolic links", 0},
    {"caf\xe9-\xff\xfe.wav", LOADS, 0, NULL, 1.0},
    {"<255 bytes>", LOADS, 0, NULL, 1.0},
    {"<over PATH_MAX>", FAILS, DSP_ERR_IO, "File name too long", 0},
};
#define N_AUDIO (int)(sizeof AUDIO / sizeof *AUDIO)

/* The path of case c in dir (two cases stand for names that cannot be written in the table). */
static void case_path(const char *dir, const audio_case *c, char *path, size_t cap)
{
    if (!strcmp(c->file, "<255 bytes>")) {
        char name[256];
        memset(name, 'n', 251);
        memcpy(name + 251, ".wav", 5);
        tu_path(path, cap, dir, name);
    } else if (!strcmp(c->file, "<over PATH_MAX>")) {
        /* the name of an existing folder ("sub/") repeated: the path exists in spirit, the kernel refuses
         * its length before looking */
        size_t n = (size_t)snprintf(path, cap, "%s", dir);
        while (n + 5 < cap && n < PATH_MAX + 16)
            n += (size_t)snprintf(path + n, cap - n, "/sub");
        snprintf(path + n, cap - n, "/a.wav");
    } else {
        tu_path(path, cap, dir, c->file);
    }
}

/* Root reads every file: the permission case runs as "nobody" then (Check forks each test, so this ends
 * with the test). Returns 0 when that is impossible (no fork), and the case is skipped. */
static int drop_root(const char *dir)
{
    if (geteuid() != 0)
        return 1;
    const char *f = getenv("CK_FORK");
    if (f && !strcmp(f, "no"))
        return 0;
    ck_assert_int_eq(chown(dir, 65534, 65534), 0);
    ck_assert_int_eq(setgid(65534), 0);
    ck_assert_int_eq(setuid(65534), 0);
    prctl(PR_SET_DUMPABLE, 1); /* LeakSanitizer inspects the process at exit */
    return 1;
}

/* Makes case c's file (or folder, or link) in dir; returns 0 if the case cannot run here (skipped). */
static int make_audio_case(const char *dir, const audio_case *c, char *path, size_t cap)
{
    case_path(dir, c, path, cap);
    const char *f = c->file;
    unsigned char buf[65536];
    wav_fields w = pcm16(1, 16000, 16000);
    const int WAV16 = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    if (!strncmp(f, "empty.", 6)) {
        put_bytes(path, "", 0);
    } else if (!strcmp(f, "riff_only.wav") || !strcmp(f, "cut_in_fmt.wav") || !strcmp(f, "header_only.wav")) {
        tone(path, WAV16, 16000, 1, 16000);
        cut(path, f[0] == 'r' ? 12 : f[0] == 'c' ? 30 : 44);
    } else if (!strncmp(f, "half.", 5)) {
        const char *ext = strrchr(f, '.') + 1;
        int fmt = !strcmp(ext, "wav") ? WAV16
                  : !strcmp(ext, "flac") ? SF_FORMAT_FLAC | SF_FORMAT_PCM_16
                  : !strcmp(ext, "ogg") ? SF_FORMAT_OGG | SF_FORMAT_VORBIS
                  : !strcmp(ext, "opus") ? SF_FORMAT_OGG | SF_FORMAT_OPUS
                                          : SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III;
        tone(path, fmt, !strcmp(ext, "opus") ? 48000 : 16000, 1, !strcmp(ext, "opus") ? 48000 : 16000);
        half(path);
    } else if (!strcmp(f, "header_only.flac")) {
        tone(path, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16000, 1, 16000);
        cut(path, 40);
    } else if (!strcmp(f, "last_byte_missing.flac")) {
        tone(path, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16000, 1, 16000);
        cut(path, -1);
    } else if (!strncmp(f, "random.", 7)) {
        random_bytes(buf, sizeof buf, 1000 + (uint64_t)strlen(f) * 7 + (uint64_t)f[7]);
        put_bytes(path, buf, sizeof buf);
    } else if (!strcmp(f, "text.wav")) {
        const char *t = "RIFF? No: a text file that only has an audio file's name.\n";
        put_bytes(path, t, strlen(t));
    } else if (!strcmp(f, "zeros.wav")) {
        memset(buf, 0, sizeof buf);
        put_bytes(path, buf, sizeof buf);
    } else if (!strcmp(f, "riff_size_max.wav")) {
        w.riff_size = 0xFFFFFFFFu;
        write_wav_fields(path, &w, 32000, 1);
    } else if (!strcmp(f, "data_size_max.wav")) {
        w.data_size = 0x7FFFFFF0u;
        write_wav_fields(path, &w, 32000, 1);
    } else if (!strcmp(f, "data_size_odd.wav")) {
        w.data_size = 32001;
        w.riff_size = 36 + 32001;
        write_wav_fields(path, &w, 32001, 1);
    } else if (!strncmp(f, "rate_", 5)) {
        w.rate = (uint32_t)strtoul(f + 5, NULL, 10);
        w.byte_rate = w.rate * 2;
        write_wav_fields(path, &w, 32000, 1);
    } else if (!strncmp(f, "channels_", 9)) {
        w.channels = (uint16_t)strtoul(f + 9, NULL, 10);
        w.block_align = (uint16_t)(2 * w.channels);
        w.byte_rate = 16000u * w.block_align;
        write_wav_fields(path, &w, 32000, 1);
    } else if (!strcmp(f, "bits_0.wav")) {
        w.bits = 0;
        write_wav_fields(path, &w, 32000, 1);
    } else if (!strcmp(f, "block_align_0.wav")) {
        w.block_align = 0;
        write_wav_fields(path, &w, 32000, 1);
    } else if (!strcmp(f, "fmt_size_huge.wav")) {
        w.fmt_size = 0xFFFFFF00u;
        write_wav_fields(path, &w, 32000, 1);
    } else if (!strcmp(f, "format_tag_unknown.wav")) {
        w.tag = 0x1234;
        write_wav_fields(path, &w, 32000, 1);
    } else if (!strcmp(f, "nan.wav")) {
        float_with(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 1, 16000, 700, 0, NAN);
    } else if (!strcmp(f, "inf.wav")) {
        float_with(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 2, 16000, 9000, 1, INFINITY);
    } else if (!strcmp(f, "minus_inf_ch3.wav")) {
        float_with(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 4, 16000, 12, 2, -INFINITY);
    } else if (!strcmp(f, "double_1e300.wav")) {
        float_with(path, SF_FORMAT_WAV | SF_FORMAT_DOUBLE, 1, 16000, 5, 0, 1e300);
    } else if (!strcmp(f, "float_1e30.wav")) {
        float_with(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 1, 16000, 3, 0, 1e30);
    } else if (!strcmp(f, "one_sample.wav") || !strcmp(f, "two_samples.wav")) {
        float x[2] = {0.25f, -0.25f};
        ag_write_samples(path, WAV16, 16000, 1, x, f[0] == 'o' ? 1 : 2);
    } else if (!strcmp(f, "ch8_192k.wav")) {
        tone(path, WAV16, 192000, 8, 192000);
    } else if (!strcmp(f, "ch9_16k.wav")) {
        tone(path, WAV16, 16000, 9, 16000);
    } else if (!strcmp(f, "one_hour.wav")) {
        sparse_wav(path, 16000u * 3600u);
    } else if (!strcmp(f, "hour_and_a_second.wav")) {
        sparse_wav(path, 16000u * 3601u);
    } else if (!strcmp(f, "missing.wav")) {
        /* nothing */
    } else if (!strcmp(f, "x.wav")) {
        ck_assert_int_eq(mkdir(path, 0700), 0);
    } else if (!strcmp(f, "unreadable.wav")) {
        if (!drop_root(dir))
            return 0;
        tone(path, WAV16, 16000, 1, 16000);
        ck_assert_int_eq(chmod(path, 0), 0);
    } else if (!strcmp(f, "broken_link.wav")) {
        ck_assert_int_eq(symlink("nowhere.wav", path), 0);
    } else if (!strcmp(f, "link_loop.wav")) {
        char other[512];
        ck_assert_int_eq(symlink("link_loop_b.wav", path), 0);
        ck_assert_int_eq(symlink("link_loop.wav", tu_path(other, sizeof other, dir, "link_loop_b.wav")), 0);
    } else if (!strcmp(f, "<over PATH_MAX>")) {
        char sub[512];
        ck_assert_int_eq(mkdir(tu_path(sub, sizeof sub, dir, "sub"), 0700), 0);
    } else {
        tone(path, WAV16, 16000, 1, 16000); /* odd names holding a good recording */
    }
    return 1;
}

static int one_line(const char *s)
{
    return strchr(s, '\n') == NULL;
}

START_TEST(audio_library)
{
    const audio_case *c = &AUDIO[_i];
    char dir[256], path[PATH_MAX + 256];
    tu_mkdtemp(dir, sizeof dir);
    if (!make_audio_case(dir, c, path, sizeof path)) {
        tu_rmtree(dir);
        return;
    }
    dsp_settings s = dsp_settings_default();
    aa_error err;
    if (c->out == LOADS && c->seconds > 600) {
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
    if (c->out == FAILS) {
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

static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

START_TEST(audio_cli)
{
    const audio_case *c = &AUDIO[_i];
    char dir[256], outdir[256], path[PATH_MAX + 256], out[512], se[8192], so[4096];
    tu_mkdtemp(dir, sizeof dir);
    tu_mkdtemp(outdir, sizeof outdir);
    if (!strcmp(c->file, "unreadable.wav"))
        ck_assert_int_eq(chmod(outdir, 0777), 0); /* written by "nobody" when the test dropped root */
    if (!make_audio_case(dir, c, path, sizeof path)) {
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
    if (c->out == FAILS) {
        ck_assert_msg(st == 1, "%s: exit %d, stderr '%s'", c->file, st, se);
        ck_assert_msg(tu_count_lines(se) == 1, "%s: stderr is not one line: '%s'", c->file, se);
        ck_assert_msg(strstr(se, c->reason) != NULL, "%s: stderr '%s'", c->file, se);
        ck_assert_msg(dir_entries(outdir) == 0, "%s: something was left in the output folder", c->file);
        ck_assert_str_eq(so, "");
    } else {
        ck_assert_msg(st == 0, "%s: exit %d, stderr '%s'", c->file, st, se);
        struct stat sb;
        ck_assert_int_eq(stat(out, &sb), 0);
        ck_assert_int_eq(sb.st_size, 64 * 401 * 4);
        ck_assert_int_eq(dir_entries(outdir), 1); /* no temporary file beside it */
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
        tone(f, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, (size_t)frames[i]);
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
 * checksum, every window's features, the file. */
static size_t cache_section_ends(const unsigned char *b, size_t size, size_t *ends, size_t cap)
{
    size_t n = 0, p = 32;
    static const size_t head[] = {8, 12, 16, 24, 32};
    for (size_t i = 0; i < sizeof head / sizeof *head; i++)
        ends[n++] = head[i];
    uint64_t header_len = aa_get_u64(b + 16);
    p += 4 + aa_get_u32(b + p), ends[n++] = p;       /* settings */
    p += 8 + 4 + 4 + 4, ends[n++] = p;               /* hop, cap, n_mels, n_frames */
    uint32_t n_mels = aa_get_u32(b + p - 8), n_frames = aa_get_u32(b + p - 4);
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
    for (uint64_t i = 0; i < nf && n < cap; i++) {
        p += 4 + aa_get_u32(b + p) + 8 + 8 + 4 + 4 + 8 + 8 + 8;
        p += 4 + aa_get_u32(b + p), ends[n++] = p;
    }
    uint64_t nw = aa_get_u64(b + p);
    p += 8;
    for (uint64_t i = 0; i < nw && n < cap; i++)
        p += 32, ends[n++] = p;
    ck_assert_uint_eq(p, header_len); /* the walk agrees with the file */
    p += 4, ends[n++] = p;
    for (uint64_t i = 0; i < nw && n < cap; i++)
        p += 4 * (size_t)n_mels * n_frames, ends[n++] = p;
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
    tone(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, 800);
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
    int can_lock = drop_root(d);
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
        ck_assert_msg(ds_utf8_valid(l->warnings[i].msg) && one_line(l->warnings[i].msg), "%s", l->warnings[i].msg);
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
    tcase_add_loop_test(tc, audio_library, 0, N_AUDIO);
    tcase_add_loop_test(tc, audio_cli, 0, N_AUDIO);
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
