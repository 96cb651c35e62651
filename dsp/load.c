/* Audio in: a file or an in-memory file -> checked, decoded in bounded chunks, mixed to mono (mean of the
 * channels, before resampling, as librosa.load does), resampled to the model rate (dsp/resample.c).
 * dsp_load collects the whole recording; dsp_reader streams it. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dsp/dsp_internal.h"

/* Frames decoded per libsndfile call: 4096 x 8 channels x 4 bytes = 128 KB of interleaved samples. */
#define CHUNK 4096
/* Mono samples per converter call. libsoxr is fastest fed about this much at a time: its internal buffers
 * stay in the first-level caches (a 4 s clip at 8/22.05/44.1 kHz: 0.11/0.51/0.64 ms fed 1024 at a time,
 * 0.25/0.74/0.68 ms fed 4096, best of 60 on the bench machine), and smaller pieces cost calls. */
#define FEED 1024

struct dsp_reader {
    char *name;             /* for messages */
    int fd;                 /* -1 when reading from memory */
    dsp_memfile mem;
    dsp_fdfile file;        /* a regular file: read through fd with dsp_fdfile_io */
    SF_VIRTUAL_IO vio;
    SNDFILE *sf;
    SF_INFO info;
    dsp_source src;
    dsp_converter *cv;      /* NULL when the file is already at the target rate */
    float *chunk;           /* [CHUNK][channels] interleaved, as decoded */
    int16_t *ichunk;        /* [CHUNK][channels] the same as integers, for sources of 16 bits or fewer */
    float *mono;            /* [CHUNK] the channel mean (= chunk for mono files) */
    size_t in_n, in_pos;    /* mono[in_pos..in_n) not yet given to the converter */
    float *pend;            /* converted samples not yet returned: pend[pend_pos..pend_n) */
    size_t pend_cap, pend_n, pend_pos;
    int cv_more;            /* the converter filled pend: it may hold more output */
    int64_t frames_read;
    int64_t header_frames;  /* the header's length, -1 if unknown */
    int eof_in;             /* the decoder has nothing more */
    int done;               /* nothing more will be produced */
    int failed;             /* an error was reported: further reads repeat it */
    aa_error fail;
    /* statistics */
    double sum_sq_mono, peak, full_scale;
    uint64_t n_full;
};

static void reader_free(dsp_reader *r)
{
    if (!r)
        return;
    if (r->sf)
        sf_close(r->sf);
    if (r->fd >= 0)
        close(r->fd);
    dsp_converter_free(r->cv);
    free(r->chunk);
    free(r->ichunk);
    if (r->mono != r->chunk)
        free(r->mono);
    free(r->pend);
    free(r->name);
    free(r);
}

void dsp_reader_close(dsp_reader *r)
{
    reader_free(r);
}

static int subtype_bits(int format)
{
    switch (format & SF_FORMAT_SUBMASK) {
    case SF_FORMAT_PCM_S8: case SF_FORMAT_PCM_U8: return 8;
    case SF_FORMAT_PCM_16: case SF_FORMAT_ALAC_16: return 16;
    case SF_FORMAT_ALAC_20: return 20;
    case SF_FORMAT_PCM_24: case SF_FORMAT_ALAC_24: return 24;
    case SF_FORMAT_PCM_32: case SF_FORMAT_ALAC_32: case SF_FORMAT_FLOAT: return 32;
    case SF_FORMAT_DOUBLE: return 64;
    default: return 0;
    }
}

/* Sources of 16 bits or fewer (8- and 16-bit PCM in any container, FLAC among them) are read as integers
 * and scaled here: libsndfile's float read scales the same integers by 2^-15 (after its own 8 -> 16 bit
 * shift), a product that is exact in float32, so the samples are bit for bit those of sf_readf_float
 * (tests/test_load.c compares them) at a third of its cost (a 4 s 44.1 kHz stereo WAV: 0.15 against 0.33 ms,
 * best of 200 on the bench machine), since libsndfile converts one sample at a time. */
static int integer16(int format)
{
    switch (format & SF_FORMAT_SUBMASK) {
    case SF_FORMAT_PCM_S8: case SF_FORMAT_PCM_U8: case SF_FORMAT_PCM_16: return 1;
    default: return 0;
    }
}

static void format_name(int format, char *out, size_t cap)
{
    SF_FORMAT_INFO major = {.format = format & SF_FORMAT_TYPEMASK};
    SF_FORMAT_INFO sub = {.format = format & SF_FORMAT_SUBMASK};
    /* SFC_GET_FORMAT_INFO only reads libsndfile's constant tables: safe from any thread. */
    int okm = sf_command(NULL, SFC_GET_FORMAT_INFO, &major, sizeof major) == 0;
    int oks = sf_command(NULL, SFC_GET_FORMAT_INFO, &sub, sizeof sub) == 0;
    snprintf(out, cap, "%s, %s", okm ? major.name : "unknown container", oks ? sub.name : "unknown encoding");
}

/* Everything after the file or buffer is open: header checks and buffers. Consumes r on failure. */
static dsp_reader *reader_start(dsp_reader *r, const dsp_settings *s, aa_error *err)
{
    const char *name = r->name;
    int rate = r->info.samplerate, ch = r->info.channels;
    if (rate < DSP_MIN_RATE || rate > DSP_MAX_RATE) {
        aa_error_set(err, DSP_ERR_RATE, "%s: sample rate %d Hz out of range (%d-%d Hz)", name, rate,
                     DSP_MIN_RATE, DSP_MAX_RATE);
        goto fail;
    }
    if (ch < 1 || ch > DSP_MAX_CHANNELS) {
        aa_error_set(err, DSP_ERR_CHANNELS, "%s: %d channels out of range (1-%d)", name, ch, DSP_MAX_CHANNELS);
        goto fail;
    }
    /* libsndfile reports SF_COUNT_MAX when it cannot know (a pipe); the end of the stream decides then. */
    if (r->info.frames >= 0 && r->info.frames < 2) {
        aa_error_set(err, DSP_ERR_TOO_SHORT, "%s: too short (%lld sample%s; at least 2 needed)", name,
                     (long long)r->info.frames, r->info.frames == 1 ? "" : "s");
        goto fail;
    }
    r->src.rate = rate;
    r->src.channels = ch;
    r->src.frames = r->header_frames = r->info.frames == SF_COUNT_MAX ? -1 : r->info.frames;
    r->src.duration = r->src.frames >= 0 ? (double)r->src.frames / rate : -1;
    r->src.bits = subtype_bits(r->info.format);
    format_name(r->info.format, r->src.format, sizeof r->src.format);
    r->full_scale = dsp_full_scale(r->src.bits);

    /* Float files are read as they are; integer files are scaled to [-1, 1) (libsndfile's default), as
     * soundfile and librosa read them. */
    r->chunk = malloc(sizeof(float) * CHUNK * (size_t)ch);
    /* A mono file's chunk is its own mix. */
    r->mono = ch == 1 ? r->chunk : malloc(sizeof(float) * CHUNK);
    if (integer16(r->info.format) && !(r->ichunk = malloc(sizeof(int16_t) * CHUNK * (size_t)ch)))
        goto nomem;
    if (!r->chunk || !r->mono)
        goto nomem;
    if (rate != s->sample_rate) {
        if (!(r->cv = dsp_converter_new(rate, s->sample_rate, s->resampler, name, err)))
            goto fail;
        r->pend_cap = dsp_converter_capacity(r->cv, FEED);
        if (!(r->pend = malloc(sizeof(float) * r->pend_cap)))
            goto nomem;
    }
    aa_error_clear(err);
    return r;
nomem:
    aa_error_set(err, DSP_ERR_NOMEM, "%s: out of memory", name);
fail:
    reader_free(r);
    return NULL;
}

static dsp_reader *reader_alloc(const char *name, aa_error *err)
{
    dsp_reader *r = calloc(1, sizeof *r);
    if (r && !(r->name = strdup(name))) {
        free(r);
        r = NULL;
    }
    if (!r)
        aa_error_set(err, DSP_ERR_NOMEM, "%s: out of memory", name);
    else
        r->fd = -1;
    return r;
}

/* libsndfile keeps the reason an open failed in a process-wide variable; two opens failing at the same
 * moment could swap reasons, which costs a less precise message, never a wrong status. */
/* The frame count an MP3's Xing or Info header (LAME's, in its first frame) states, or -1 when the bytes
 * hold none. head: the file's first bytes. */
static long long mp3_xing_frames(const unsigned char *head, size_t n)
{
    size_t at = 0;
    if (n >= 10 && !memcmp(head, "ID3", 3)) /* ID3v2 tag first: its size is 4 x 7 bits */
        at = 10 + (((size_t)head[6] & 0x7F) << 21 | ((size_t)head[7] & 0x7F) << 14 | ((size_t)head[8] & 0x7F) << 7 |
                   ((size_t)head[9] & 0x7F));
    if (at + 4 > n || head[at] != 0xFF || (head[at + 1] & 0xE0) != 0xE0)
        return -1;
    /* the tag sits after the side information, 4..36 bytes into the frame: searched, not computed */
    for (size_t i = at + 4; i + 12 <= n && i < at + 64; i++)
        if (!memcmp(head + i, "Xing", 4) || !memcmp(head + i, "Info", 4)) {
            if (!(head[i + 7] & 1)) /* no frame count given */
                return -1;
            return (long long)head[i + 8] << 24 | head[i + 9] << 16 | head[i + 10] << 8 | head[i + 11];
        }
    return -1;
}

static void format_error(dsp_reader *r, aa_error *err)
{
    /* libsndfile has one message for several refusals of its MP3 reader, "File does not exist or is not a
     * regular file (possibly a pipe?)", even for a regular file or bytes in memory; an MP3 whose header
     * says it holds one frame (nothing left once the encoder's delay is taken off) is refused with it. The
     * file's own header gives the real reason. */
    unsigned char head[4096];
    size_t n = 0;
    if (r->fd >= 0) {
        ssize_t got = pread(r->fd, head, sizeof head, 0);
        n = got > 0 ? (size_t)got : 0;
    } else if (r->mem.data) {
        n = r->mem.size < (sf_count_t)sizeof head ? (size_t)r->mem.size : sizeof head;
        memcpy(head, r->mem.data, n);
    }
    long long frames = mp3_xing_frames(head, n);
    if (frames >= 0 && frames <= 1) {
        aa_error_set(err, DSP_ERR_FORMAT,
                     "%s: not a readable audio file (an MP3 whose Xing/Info header says it holds %lld frame%s: "
                     "no audio to decode)", r->name, frames, frames == 1 ? "" : "s");
        return;
    }
    const char *why = sf_strerror(NULL);
    if (why && strstr(why, "possibly a pipe"))
        why = "the decoder refused it; the file may be damaged";
    aa_error_set(err, DSP_ERR_FORMAT, "%s: not a readable audio file (%s)", r->name, why);
}

static int check_settings(const char *name, const dsp_settings *s, aa_error *err)
{
    aa_error sub;
    if (dsp_settings_validate(s, &sub) != 0)
        return aa_error_set(err, DSP_ERR_SETTINGS, "%s: %s", name, sub.msg);
    return 0;
}

dsp_reader *dsp_reader_open(const char *path, const dsp_settings *s, aa_error *err)
{
    if (check_settings(path, s, err))
        return NULL;
    dsp_reader *r = reader_alloc(path, err);
    if (!r)
        return NULL;
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            aa_error_set(err, DSP_ERR_MISSING, "%s: no such file", path);
        else
            aa_error_set(err, DSP_ERR_IO, "%s: cannot open (%s)", path, strerror(errno));
        reader_free(r);
        return NULL;
    }
    struct stat st;
    int bad_stat = fstat(r->fd, &st) != 0;
    if (bad_stat || S_ISDIR(st.st_mode)) {
        aa_error_set(err, DSP_ERR_IO, "%s: cannot read (%s)", path, bad_stat ? strerror(errno) : "a directory");
        reader_free(r);
        return NULL;
    }
    if (S_ISREG(st.st_mode) && st.st_size == 0) {
        aa_error_set(err, DSP_ERR_EMPTY, "%s: empty file (0 bytes)", path);
        reader_free(r);
        return NULL;
    }
    /* A regular file goes through our own reads: libsndfile then never holds the descriptor, which
     * sf_open_fd closed on some refusals (an MP3 it found empty) although told not to, so that the close
     * below was a second one. A pipe or device, which cannot seek, still goes through sf_open_fd. */
    if (S_ISREG(st.st_mode)) {
        r->file = (dsp_fdfile){.fd = r->fd, .size = (sf_count_t)st.st_size, .pos = 0};
        r->vio = dsp_fdfile_io;
        r->sf = sf_open_virtual(&r->vio, SFM_READ, &r->info, &r->file);
    } else {
        r->sf = sf_open_fd(r->fd, SFM_READ, &r->info, SF_FALSE);
    }
    if (!r->sf) {
        format_error(r, err);
        reader_free(r);
        return NULL;
    }
    return reader_start(r, s, err);
}

dsp_reader *dsp_reader_open_memory(const void *data, size_t size, const char *name, const dsp_settings *s,
                                   aa_error *err)
{
    if (check_settings(name, s, err))
        return NULL;
    if (size == 0) {
        aa_error_set(err, DSP_ERR_EMPTY, "%s: empty file (0 bytes)", name);
        return NULL;
    }
    if (!data) {
        aa_error_set(err, DSP_ERR_ARG, "%s: no data", name);
        return NULL;
    }
    dsp_reader *r = reader_alloc(name, err);
    if (!r)
        return NULL;
    r->mem = (dsp_memfile){.data = data, .size = (sf_count_t)size, .pos = 0};
    r->vio = dsp_memfile_io;
    r->sf = sf_open_virtual(&r->vio, SFM_READ, &r->info, &r->mem);
    if (!r->sf) {
        format_error(r, err);
        reader_free(r);
        return NULL;
    }
    return reader_start(r, s, err);
}

const dsp_source *dsp_reader_source(const dsp_reader *r)
{
    return &r->src;
}

void dsp_reader_stats(const dsp_reader *r, dsp_stats *out)
{
    double n = (double)r->frames_read;
    out->duration = n / r->src.rate;
    out->rms_dbfs = dsp_rms_dbfs(r->sum_sq_mono, n);
    out->peak = r->peak;
    out->clip_fraction = n > 0 ? (double)r->n_full / (n * r->src.channels) : 0;
}

/* Errors met while reading stick: a later read reports the same error again. */
static int reader_failed(dsp_reader *r, aa_error *err)
{
    r->failed = 1;
    if (err)
        *err = r->fail;
    return r->fail.code;
}

/* The scaling for integer16() sources, compiled for AVX2 and the baseline like scan_chunk. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
__attribute__((target_clones("avx2", "default")))
#endif
static void shorts_to_floats(const int16_t *in /* [n] */, size_t n, float *out /* [n] */)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++)
        out[i] = (float)in[i] * (1.0f / 32768.0f);
}

typedef struct {
    int32_t bad, full; /* samples out of range (or NaN/Inf); samples at full scale */
    float peak;        /* largest |x| */
    float sum_sq;      /* sum of squares of the mono mix */
} chunk_scan;

/* One chunk of k frames of ch interleaved channels: the checks and statistics, and the channel mean into
 * mono (which is x itself for one channel). Compiled twice, for AVX2 and for the baseline (as dsp/db.c):
 * the checks run on every decoded sample, and AVX2 does them 6x faster than SSE2 (0.075 against 0.45 ns a
 * sample on the bench machine).
 * The mean is exact either way: the sum of the channels in channel order, then one division, as numpy's
 * mean over the channel axis computes it in float32 (librosa.to_mono). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
__attribute__((target_clones("avx2", "default")))
#endif
static void scan_chunk(const float *x, size_t k, int ch, double full_scale, float *mono, chunk_scan *out)
{
    size_t total = k * (size_t)ch;
    /* On the bit patterns (integer operations vectorise where float compares would not): |x| as bits
     * orders like |x|, and NaN and Inf lie above every finite value, so one compare refuses them with the
     * absurdly large samples. */
    float fs = (float)full_scale, lim = DSP_MAX_SAMPLE;
    int32_t fs_bits, lim_bits, peak_bits = 0;
    memcpy(&fs_bits, &fs, sizeof fs_bits);
    memcpy(&lim_bits, &lim, sizeof lim_bits);
    int32_t bad = 0, full = 0; /* a chunk holds at most CHUNK * 8 samples */
#pragma omp simd reduction(+ : bad, full) reduction(max : peak_bits)
    for (size_t i = 0; i < total; i++) {
        int32_t b;
        memcpy(&b, &x[i], sizeof b);
        int32_t mag = b & 0x7fffffff;
        bad += mag > lim_bits;
        full += mag >= fs_bits;
        peak_bits = mag > peak_bits ? mag : peak_bits;
    }
    out->bad = bad;
    out->full = full;
    memcpy(&out->peak, &peak_bits, sizeof out->peak);
    if (bad)
        return;
    if (ch == 2) {
#pragma omp simd
        for (size_t t = 0; t < k; t++)
            mono[t] = (x[2 * t] + x[2 * t + 1]) / 2.0f;
    } else if (ch > 2) {
        for (size_t t = 0; t < k; t++) {
            float sum = x[t * (size_t)ch];
            for (int c = 1; c < ch; c++)
                sum += x[t * (size_t)ch + (size_t)c];
            mono[t] = sum / (float)ch;
        }
    }
    /* A chunk's sum of squares in float lanes (4096 terms: relative error ~1e-6, plenty for a level in
     * dBFS); the caller keeps the running total in double. */
    const float *m = ch == 1 ? x : mono;
    float ss = 0;
#pragma omp simd reduction(+ : ss)
    for (size_t t = 0; t < k; t++)
        ss += m[t] * m[t];
    out->sum_sq = ss;
}

/* Decodes the next chunk into mono[0..in_n): checks, statistics, channel mean. */
static int decode_chunk(dsp_reader *r, aa_error *err)
{
    int ch = r->src.channels;
    sf_count_t k;
    if (r->ichunk) {
        k = sf_readf_short(r->sf, r->ichunk, CHUNK);
        if (k > 0)
            shorts_to_floats(r->ichunk, (size_t)k * (size_t)ch, r->chunk);
    } else {
        k = sf_readf_float(r->sf, r->chunk, CHUNK);
    }
    if (k < CHUNK) {
        int e = sf_error(r->sf);
        if (e != SF_ERR_NO_ERROR) {
            aa_error_set(&r->fail, DSP_ERR_DECODE, "%s: decode error after %lld frames (%s)", r->name,
                         (long long)(r->frames_read + (k > 0 ? k : 0)), sf_error_number(e));
            return reader_failed(r, err);
        }
    }
    if (k <= 0) {
        r->eof_in = 1;
        r->in_n = r->in_pos = 0;
        /* A decoder that stops quietly short of the header's length means damage. Not for MP3: its length
         * is an estimate from the file size unless a Xing/Info header gives it, and a large ID3 tag makes
         * the estimate too long (one such file is in the respiratory corpus), so a truncated MP3 reads as
         * a shorter recording. libsndfile already cuts WAV lengths to the bytes present and measures Ogg
         * lengths up to the first damaged page, so a damaged Ogg file also reads as a shorter one. */
        int64_t h = r->header_frames;
        int exact = (r->info.format & SF_FORMAT_TYPEMASK) != SF_FORMAT_MPEG;
        if (exact && h >= 2 && r->frames_read < h) {
            aa_error_set(&r->fail, DSP_ERR_DECODE,
                         "%s: decode error: stream ends after %lld of %lld frames (damaged or truncated file)",
                         r->name, (long long)r->frames_read, (long long)h);
            return reader_failed(r, err);
        }
        if (r->frames_read == 0 && h < 0) {
            aa_error_set(&r->fail, DSP_ERR_DECODE, "%s: decode error: no samples decoded (damaged or truncated file)",
                         r->name);
            return reader_failed(r, err);
        }
        if (r->frames_read < 2) {
            aa_error_set(&r->fail, DSP_ERR_TOO_SHORT, "%s: too short (%lld sample%s; at least 2 needed)",
                         r->name, (long long)r->frames_read, r->frames_read == 1 ? "" : "s");
            return reader_failed(r, err);
        }
        r->src.frames = r->frames_read;
        r->src.duration = (double)r->frames_read / r->src.rate;
        return 0;
    }
    const float *x = r->chunk;
    chunk_scan sc;
    scan_chunk(x, (size_t)k, ch, r->full_scale, r->mono, &sc);
    if (sc.bad) {
        size_t i = 0;
        while (fabsf(x[i]) <= DSP_MAX_SAMPLE)
            i++;
        long long frame = (long long)(r->frames_read + (int64_t)(i / (size_t)ch));
        int chan = (int)(i % (size_t)ch) + 1;
        if (isfinite(x[i]))
            aa_error_set(&r->fail, DSP_ERR_NONFINITE, "%s: sample %.3g at frame %lld (channel %d) is out of range "
                         "(magnitude over %.0f)", r->name, (double)x[i], frame, chan, (double)DSP_MAX_SAMPLE);
        else
            aa_error_set(&r->fail, DSP_ERR_NONFINITE, "%s: %s sample at frame %lld (channel %d)", r->name,
                         isnan(x[i]) ? "NaN" : "infinite", frame, chan);
        return reader_failed(r, err);
    }
    r->peak = sc.peak > r->peak ? sc.peak : r->peak;
    r->n_full += (uint64_t)sc.full;
    r->sum_sq_mono += sc.sum_sq;
    r->frames_read += k;
    r->in_n = (size_t)k;
    r->in_pos = 0;
    return 0;
}

/* Makes pend[] non-empty, or sets done. */
static int produce(dsp_reader *r, aa_error *err)
{
    while (!r->done && r->pend_pos >= r->pend_n) {
        if (!r->cv) {
            if (r->in_pos >= r->in_n && !r->eof_in) {
                int e = decode_chunk(r, err);
                if (e)
                    return e;
            }
            /* Already at the target rate: hand out the mono chunk itself. */
            r->pend_n = r->in_n;
            r->pend_pos = r->in_pos;
            r->in_pos = r->in_n;
            if (r->eof_in)
                r->done = 1;
            continue;
        }
        size_t gen = 0;
        aa_error sub;
        int e = 0;
        if (r->in_pos < r->in_n || r->cv_more) {
            /* FEED samples at a time; output that did not fit waits in the converter. */
            size_t k = r->in_n - r->in_pos < FEED ? r->in_n - r->in_pos : FEED;
            e = dsp_converter_process(r->cv, r->mono + r->in_pos, k, r->pend, r->pend_cap, &gen, &sub);
            r->in_pos += k;
            r->cv_more = gen == r->pend_cap;
        } else if (!r->eof_in) {
            if ((e = decode_chunk(r, err)))
                return e;
            continue;
        } else {
            e = dsp_converter_flush(r->cv, r->pend, r->pend_cap, &gen, &sub);
            r->done = !e && gen == 0;
        }
        if (e) {
            aa_error_set(&r->fail, e, "%s: %s", r->name, sub.msg);
            return reader_failed(r, err);
        }
        r->pend_n = gen;
        r->pend_pos = 0;
    }
    return 0;
}

int dsp_reader_read(dsp_reader *r, float *out, size_t cap, size_t *got, aa_error *err)
{
    *got = 0;
    if (r->failed) {
        if (err)
            *err = r->fail;
        return r->fail.code;
    }
    while (*got < cap) {
        /* Samples already delivered by this call are returned first; the error sticks for the next. */
        int e = produce(r, *got ? NULL : err);
        if (e && *got)
            break;
        if (e)
            return e;
        if (r->pend_pos >= r->pend_n)
            break; /* done */
        const float *from = r->cv ? r->pend : r->mono;
        size_t n = r->pend_n - r->pend_pos;
        if (n > cap - *got)
            n = cap - *got;
        memcpy(out + *got, from + r->pend_pos, sizeof(float) * n);
        r->pend_pos += n;
        *got += n;
    }
    aa_error_clear(err);
    return 0;
}

/* ---- whole recordings ---------------------------------------------------------------------------------- */

static int load_all(dsp_reader *r, const dsp_settings *s, double max_seconds, dsp_audio *out, aa_error *err)
{
    if (max_seconds <= 0)
        max_seconds = DSP_LOAD_MAX_SECONDS;
    const dsp_source *src = &r->src;
    if (src->frames >= 0 && (double)src->frames / src->rate > max_seconds) {
        aa_error_set(err, DSP_ERR_TOO_LONG, "%s: %.1f s long, over the %.0f s limit", r->name,
                     (double)src->frames / src->rate, max_seconds);
        return DSP_ERR_TOO_LONG;
    }
    /* The header's length sizes the buffer once; growth covers formats whose length is an estimate. */
    size_t limit = (size_t)ceil(max_seconds * s->sample_rate) + 64;
    size_t cap = src->frames >= 0 ? (size_t)ceil((double)src->frames * s->sample_rate / src->rate) + 64
                                  : (size_t)1 << 16;
    if (cap > limit)
        cap = limit;
    float *buf = malloc(sizeof(float) * cap);
    size_t n = 0;
    for (;;) {
        if (!buf) {
            aa_error_set(err, DSP_ERR_NOMEM, "%s: out of memory (%.0f MB for the decoded audio)", r->name,
                         cap * sizeof(float) / 1e6);
            return DSP_ERR_NOMEM;
        }
        size_t got;
        int e = dsp_reader_read(r, buf + n, cap - n, &got, err);
        if (e) {
            free(buf);
            return e;
        }
        n += got;
        if (got == 0)
            break;
        if (n == cap) {
            if (cap >= limit) {
                free(buf);
                aa_error_set(err, DSP_ERR_TOO_LONG, "%s: longer than the %.0f s limit", r->name, max_seconds);
                return DSP_ERR_TOO_LONG;
            }
            size_t ncap = cap * 2 > limit ? limit : cap * 2;
            float *nb = realloc(buf, sizeof(float) * ncap);
            if (!nb)
                free(buf);
            buf = nb;
            cap = ncap;
        }
    }
    out->samples = buf;
    out->n = n;
    out->rate = s->sample_rate;
    out->src = r->src;
    dsp_reader_stats(r, &out->stats);
    aa_error_clear(err);
    return 0;
}

/* Status codes must not depend on whether the caller wants the message. */
static int finish(dsp_reader *r, const dsp_settings *s, double max_seconds, dsp_audio *out, aa_error *local,
                  aa_error *err)
{
    int e = r ? load_all(r, s, max_seconds, out, local) : local->code;
    dsp_reader_close(r);
    if (err)
        *err = *local;
    return e;
}

int dsp_load(const char *path, const dsp_settings *s, double max_seconds, dsp_audio *out, aa_error *err)
{
    aa_error local;
    memset(out, 0, sizeof *out);
    return finish(dsp_reader_open(path, s, &local), s, max_seconds, out, &local, err);
}

int dsp_load_memory(const void *data, size_t size, const char *name, const dsp_settings *s, double max_seconds,
                    dsp_audio *out, aa_error *err)
{
    aa_error local;
    memset(out, 0, sizeof *out);
    return finish(dsp_reader_open_memory(data, size, name, s, &local), s, max_seconds, out, &local, err);
}

void dsp_audio_free(dsp_audio *a)
{
    if (a) {
        free(a->samples);
        memset(a, 0, sizeof *a);
    }
}

int dsp_status_is_input(int code)
{
    switch (code) {
    case DSP_ERR_MISSING:
    case DSP_ERR_IO:
    case DSP_ERR_EMPTY:
    case DSP_ERR_FORMAT:
    case DSP_ERR_TOO_SHORT:
    case DSP_ERR_NONFINITE:
    case DSP_ERR_RATE:
    case DSP_ERR_CHANNELS:
    case DSP_ERR_DECODE:
    case DSP_ERR_TOO_LONG:
    case DSP_ERR_RESAMPLE: return 1;
    default: return 0;
    }
}
