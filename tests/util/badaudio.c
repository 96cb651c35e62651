/* The bad recordings of the bad-input corpus, made on demand (nothing is stored): truncated, random,
 * lying headers, NaN/Inf, one sample, 8 channels at 192 kHz, an hour, file-system oddities. Shared by the
 * library-level corpus (test_badinput_corpus.c) and the runs through the binaries (test_badinput_bins.c);
 * docs/RELIABILITY.md lists every case with its outcome. */
#define _GNU_SOURCE /* prctl */
#include "tests/util/badaudio.h"

#include <check.h>
#include <limits.h>
#include <math.h>
#include <sndfile.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dsp/dsp.h"
#include "tests/util/audiogen.h"
#include "tests/util/testutil.h"
#include "util/util.h"

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

void tu_bad_tone(const char *path, int format, int rate, int channels, size_t frames)
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

const tu_audio_case TU_BAD_AUDIO[] = {
    /* empty and cut short */
    {"empty.wav", TU_FAILS, DSP_ERR_EMPTY, "empty file (0 bytes)", 0},
    {"empty.mp3", TU_FAILS, DSP_ERR_EMPTY, "empty file (0 bytes)", 0},
    {"riff_only.wav", TU_FAILS, DSP_ERR_FORMAT, "not a readable audio file", 0},
    {"cut_in_fmt.wav", TU_FAILS, DSP_ERR_FORMAT, "not a readable audio file", 0},
    {"header_only.wav", TU_FAILS, DSP_ERR_TOO_SHORT, "too short (0 samples", 0},
    {"half.wav", TU_LOADS, 0, NULL, 7989.0 / 16000}, /* 15978 of 32000 data bytes */
    {"half.flac", TU_FAILS, DSP_ERR_DECODE, "decode error", 0},
    {"header_only.flac", TU_FAILS, DSP_ERR_FORMAT, "not a readable audio file", 0},
    {"half.ogg", TU_FAILS, DSP_ERR_FORMAT, "file is malformed", 0},
    {"half.opus", TU_FAILS, DSP_ERR_FORMAT, "file is malformed", 0},
    {"half.mp3", TU_LOADS, 0, NULL, -1},
    /* LAME's Xing/Info header saying 1 frame: libsndfile refused it as "not a regular file (possibly a pipe?)" */
    {"xing_one_frame.mp3", TU_FAILS, DSP_ERR_FORMAT, "an MP3 whose Xing/Info header says it holds 1 frame", 0},
    {"last_byte_missing.flac", TU_FAILS, DSP_ERR_DECODE, "decode error", 0},
    /* random bytes and other non-audio with audio names */
    {"random.wav", TU_FAILS, DSP_ERR_FORMAT, "not a readable audio file", 0},
    {"random.flac", TU_FAILS, DSP_ERR_FORMAT, "not a readable audio file", 0},
    {"random.ogg", TU_FAILS, DSP_ERR_FORMAT, "not a readable audio file", 0},
    {"random.mp3", TU_FAILS, DSP_ERR_FORMAT, "not a readable audio file", 0},
    {"random.opus", TU_FAILS, DSP_ERR_FORMAT, "not a readable audio file", 0},
    {"text.wav", TU_FAILS, DSP_ERR_FORMAT, "not a readable audio file", 0},
    {"zeros.wav", TU_FAILS, DSP_ERR_FORMAT, "not a readable audio file", 0},
    /* WAV headers that lie */
    {"riff_size_max.wav", TU_LOADS, 0, NULL, 1.0},
    {"data_size_max.wav", TU_LOADS, 0, NULL, 1.0},
    {"data_size_odd.wav", TU_LOADS, 0, NULL, 1.0},
    {"rate_0.wav", TU_FAILS, DSP_ERR_FORMAT, "not a readable audio file", 0},
    {"rate_1.wav", TU_FAILS, DSP_ERR_RATE, "sample rate 1 Hz out of range", 0},
    {"rate_7999.wav", TU_FAILS, DSP_ERR_RATE, "sample rate 7999 Hz out of range", 0},
    {"rate_384000.wav", TU_FAILS, DSP_ERR_RATE, "sample rate 384000 Hz out of range", 0},
    {"rate_4294967295.wav", TU_FAILS, DSP_ERR_FORMAT, "not a readable audio file", 0},
    {"channels_0.wav", TU_FAILS, DSP_ERR_FORMAT, "not a readable audio file", 0},
    {"channels_9.wav", TU_FAILS, DSP_ERR_CHANNELS, "9 channels out of range", 0},
    {"channels_65535.wav", TU_FAILS, DSP_ERR_FORMAT, "not a readable audio file", 0},
    {"bits_0.wav", TU_FAILS, DSP_ERR_FORMAT, "not a readable audio file", 0},
    {"block_align_0.wav", TU_LOADS, 0, NULL, 1.0},
    {"fmt_size_huge.wav", TU_FAILS, DSP_ERR_FORMAT, "not a readable audio file", 0},
    {"format_tag_unknown.wav", TU_FAILS, DSP_ERR_FORMAT, "not a readable audio file", 0},
    /* sample values */
    {"nan.wav", TU_FAILS, DSP_ERR_NONFINITE, "NaN sample at frame 700 (channel 1)", 0},
    {"inf.wav", TU_FAILS, DSP_ERR_NONFINITE, "infinite sample at frame 9000 (channel 2)", 0},
    {"minus_inf_ch3.wav", TU_FAILS, DSP_ERR_NONFINITE, "infinite sample at frame 12 (channel 3)", 0},
    {"double_1e300.wav", TU_FAILS, DSP_ERR_NONFINITE, "infinite sample at frame 5 (channel 1)", 0},
    {"float_1e30.wav", TU_FAILS, DSP_ERR_NONFINITE, "out of range", 0},
    {"one_sample.wav", TU_FAILS, DSP_ERR_TOO_SHORT, "too short (1 sample;", 0},
    {"two_samples.wav", TU_LOADS, 0, NULL, 2.0 / 16000},
    {"ch8_192k.wav", TU_LOADS, 0, NULL, 1.0},
    {"ch9_16k.wav", TU_FAILS, DSP_ERR_CHANNELS, "9 channels out of range", 0},
    {"one_hour.wav", TU_LOADS, 0, NULL, 3600.0},
    {"hour_and_a_second.wav", TU_FAILS, DSP_ERR_TOO_LONG, "over the 3600 s limit", 0},
    /* the file system */
    {"missing.wav", TU_FAILS, DSP_ERR_MISSING, "no such file", 0},
    {"x.wav", TU_FAILS, DSP_ERR_IO, "a directory", 0},
    {"unreadable.wav", TU_FAILS, DSP_ERR_IO, "Permission denied", 0},
    {"broken_link.wav", TU_FAILS, DSP_ERR_MISSING, "no such file", 0},
    {"link_loop.wav", TU_FAILS, DSP_ERR_IO, "Too many levels of symbolic links", 0},
    {"caf\xe9-\xff\xfe.wav", TU_LOADS, 0, NULL, 1.0},
    {"<255 bytes>", TU_LOADS, 0, NULL, 1.0},
    {"<over PATH_MAX>", TU_FAILS, DSP_ERR_IO, "File name too long", 0},
};
const int TU_N_BAD_AUDIO = (int)(sizeof TU_BAD_AUDIO / sizeof *TU_BAD_AUDIO);

/* The path of case c in dir (two cases stand for names that cannot be written in the table). */
static void case_path(const char *dir, const tu_audio_case *c, char *path, size_t cap)
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
int tu_drop_root(const char *dir)
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
int tu_make_audio_case(const char *dir, const tu_audio_case *c, char *path, size_t cap)
{
    case_path(dir, c, path, cap);
    const char *f = c->file;
    unsigned char buf[65536];
    wav_fields w = pcm16(1, 16000, 16000);
    const int WAV16 = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    if (!strncmp(f, "empty.", 6)) {
        put_bytes(path, "", 0);
    } else if (!strcmp(f, "riff_only.wav") || !strcmp(f, "cut_in_fmt.wav") || !strcmp(f, "header_only.wav")) {
        tu_bad_tone(path, WAV16, 16000, 1, 16000);
        cut(path, f[0] == 'r' ? 12 : f[0] == 'c' ? 30 : 44);
    } else if (!strncmp(f, "half.", 5)) {
        const char *ext = strrchr(f, '.') + 1;
        int fmt = !strcmp(ext, "wav") ? WAV16
                  : !strcmp(ext, "flac") ? SF_FORMAT_FLAC | SF_FORMAT_PCM_16
                  : !strcmp(ext, "ogg") ? SF_FORMAT_OGG | SF_FORMAT_VORBIS
                  : !strcmp(ext, "opus") ? SF_FORMAT_OGG | SF_FORMAT_OPUS
                                          : SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III;
        tu_bad_tone(path, fmt, !strcmp(ext, "opus") ? 48000 : 16000, 1, !strcmp(ext, "opus") ? 48000 : 16000);
        half(path);
    } else if (!strcmp(f, "xing_one_frame.mp3")) {
        tu_bad_tone(path, SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 16000, 1, 16000);
        size_t n = 0;
        unsigned char *b = tu_read_file(path, &n);
        ck_assert_ptr_nonnull(b);
        size_t at = 0;
        while (at + 12 <= n && memcmp(b + at, "Xing", 4) && memcmp(b + at, "Info", 4))
            at++;
        ck_assert_msg(at + 12 <= n && (b[at + 7] & 1), "no Xing/Info frame count in the encoder's MP3");
        b[at + 8] = b[at + 9] = b[at + 10] = 0, b[at + 11] = 1;
        put_bytes(path, b, n);
        free(b);
    } else if (!strcmp(f, "header_only.flac")) {
        tu_bad_tone(path, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16000, 1, 16000);
        cut(path, 40);
    } else if (!strcmp(f, "last_byte_missing.flac")) {
        tu_bad_tone(path, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16000, 1, 16000);
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
        tu_bad_tone(path, WAV16, 192000, 8, 192000);
    } else if (!strcmp(f, "ch9_16k.wav")) {
        tu_bad_tone(path, WAV16, 16000, 9, 16000);
    } else if (!strcmp(f, "one_hour.wav")) {
        sparse_wav(path, 16000u * 3600u);
    } else if (!strcmp(f, "hour_and_a_second.wav")) {
        sparse_wav(path, 16000u * 3601u);
    } else if (!strcmp(f, "missing.wav")) {
        /* nothing */
    } else if (!strcmp(f, "x.wav")) {
        ck_assert_int_eq(mkdir(path, 0700), 0);
    } else if (!strcmp(f, "unreadable.wav")) {
        if (!tu_drop_root(dir))
            return 0;
        tu_bad_tone(path, WAV16, 16000, 1, 16000);
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
        tu_bad_tone(path, WAV16, 16000, 1, 16000); /* odd names holding a good recording */
    }
    return 1;
}
