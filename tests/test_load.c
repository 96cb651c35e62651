/* Loading: every format, bit depth, rate and channel count we claim, generated with libsndfile, comes back
 * as mono at 16 kHz with the right sine in it; memory and streaming reads give the same samples; the
 * recording statistics are right. */
#include <check.h>
#include <math.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/dsp.h"
#include "tests/util/audiogen.h"
#include "tests/util/testutil.h"

typedef struct {
    const char *file;
    int format;
    int rate;
    int channels;
    int bits;       /* what dsp_source.bits should say */
    double min_snr; /* dB, of the fitted 1 kHz sine in the output */
    double amp_tol; /* dB, fitted amplitude against the channel mean */
} fmt_case;

/* SNR floors: lossless PCM is limited by quantisation or by the resampler (soxr_hq: ~134 dB). A
 * full-scale 16-bit sine has 98 dB; the stereo mean (0.2) is 14 dB below full scale and carries two
 * channels' noise (+3 dB): ~81 dB, so 16-bit cases need 70 dB and 24/32-bit and float ones 80 dB (they
 * measure 120-165). 8-bit measures 44-61 dB and needs 35. Lossy codecs at their default quality measure
 * 28 dB (Vorbis at 8 kHz) to 44 dB: 20 dB. All of these still fail for a wrong rate, a wrong channel mix
 * or a glitch. Amplitudes: within 0.05 dB for 16 bits and up (resampler ripple at 1 kHz is ~1e-5 dB,
 * measured errors <= 1e-4 dB); 8-bit within 0.2 dB, since a tone of 8 samples per period quantises to a
 * fixed pattern whose fitted amplitude can move by half a step (1/256), 0.17 dB of the 0.2 stereo mean;
 * lossy within 0.5 dB (measured <= 0.06). */
static const fmt_case CASES[] = {
    {"u8.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_U8, 8000, 1, 8, 35, 0.2},
    {"s16.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, 16, 70, 0.05},
    {"s24.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_24, 44100, 2, 24, 80, 0.05},
    {"s32.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_32, 192000, 8, 32, 80, 0.05},
    {"f32.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 48000, 2, 32, 80, 0.05},
    {"f64.wav", SF_FORMAT_WAV | SF_FORMAT_DOUBLE, 22050, 1, 64, 80, 0.05},
    {"s8.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_S8, 8000, 2, 8, 35, 0.2},
    {"s16.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, 1, 16, 70, 0.05},
    {"s24.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_24, 96000, 8, 24, 80, 0.05},
    {"vorbis.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 44100, 2, 0, 20, 0.5},
    {"vorbis8k.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 8000, 1, 0, 20, 0.5},
    {"opus.opus", SF_FORMAT_OGG | SF_FORMAT_OPUS, 48000, 2, 0, 20, 0.5},
    {"opus16k.opus", SF_FORMAT_OGG | SF_FORMAT_OPUS, 16000, 1, 0, 20, 0.5},
    {"mp3.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 44100, 2, 0, 20, 0.5},
    {"mp3_8k.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 8000, 1, 0, 20, 0.5},
    {"s16.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 32000, 2, 16, 70, 0.05},
};
#define N_CASES (int)(sizeof CASES / sizeof *CASES)
#define SECONDS 1.5

/* Channel c carries amplitude amp(c) of the same 1 kHz sine: the mono mix must be their mean, so a
 * loader that took the first channel or the sum would be caught (stereo: mean 0.2, first 0.6, sum 0.4;
 * 8 channels: mean 0.25, first 0.8, sum 2.0). Lossy codecs get equal channels: their joint-stereo coding
 * is not required to keep a mean. */
static double channel_amp(const fmt_case *fc, int c)
{
    static const double stereo[2] = {0.6, -0.2};
    static const double eight[8] = {0.8, -0.1, 0.6, -0.2, 0.5, 0.1, -0.3, 0.6};
    if (fc->bits == 0 || fc->channels == 1)
        return 0.5;
    return fc->channels == 2 ? stereo[c] : eight[c];
}

static double mean_amp(const fmt_case *fc)
{
    double m = 0;
    for (int c = 0; c < fc->channels; c++)
        m += channel_amp(fc, c);
    return m / fc->channels;
}

static void write_case(const char *dir, const fmt_case *fc, char *path, size_t cap)
{
    double amp[8];
    for (int c = 0; c < fc->channels; c++)
        amp[c] = channel_amp(fc, c);
    tu_path(path, cap, dir, fc->file);
    int e = ag_write_sines(path, fc->format, fc->rate, fc->channels, (size_t)(SECONDS * fc->rate), 1000.0, amp);
    ck_assert_msg(e == 0, "libsndfile cannot write %s", fc->file);
}

START_TEST(every_format_rate_and_channel_count)
{
    const fmt_case *fc = &CASES[_i];
    char dir[256], path[512];
    tu_mkdtemp(dir, sizeof dir);
    write_case(dir, fc, path, sizeof path);
    dsp_settings s = dsp_settings_default();
    dsp_audio a;
    aa_error err;
    ck_assert_msg(dsp_load(path, &s, 0, &a, &err) == 0, "%s", err.msg);

    ck_assert_int_eq(a.rate, 16000);
    ck_assert_int_eq(a.src.rate, fc->rate);
    ck_assert_int_eq(a.src.channels, fc->channels);
    ck_assert_int_eq(a.src.bits, fc->bits);
    ck_assert_msg(a.src.format[0] != 0 && strstr(a.src.format, ", ") != NULL, "format '%s'", a.src.format);
    /* Lossless: exactly the frames written, and librosa's resampled length, ceil(frames * 16000 / rate).
     * Lossy: decoders trim their padding to within one codec frame (Opus 20 ms, MP3 1152 samples). */
    size_t want = (size_t)(SECONDS * 16000);
    if (fc->bits) {
        ck_assert_int_eq(a.src.frames, (int64_t)(SECONDS * fc->rate));
        size_t exact = (size_t)ceil((double)a.src.frames * 16000 / fc->rate);
        ck_assert_msg(a.n == exact, "%s: %zu samples, expected %zu", fc->file, a.n, exact);
    } else {
        double slack = 0.08 * 16000;
        ck_assert_msg(fabs((double)a.n - (double)want) <= slack, "%s: %zu samples, expected ~%zu", fc->file, a.n,
                      want);
    }
    ck_assert(fabs(a.src.duration - (double)a.src.frames / fc->rate) < 1e-9);

    /* The sine, fitted over the middle second (away from resampler and codec edges). */
    double sa, sb;
    double snr = ag_fit_sine(a.samples, 4000, a.n - 4000, 16000, 1000.0, &sa, &sb);
    double amp = hypot(sa, sb), expect = fabs(mean_amp(fc));
    double err_db = 20 * log10(amp / expect);
    ck_assert_msg(snr >= fc->min_snr, "%s: SNR %.1f dB < %.0f", fc->file, snr, fc->min_snr);
    ck_assert_msg(fabs(err_db) <= fc->amp_tol, "%s: amplitude %.5f, expected %.5f (%.3f dB)", fc->file, amp, expect,
                  err_db);
    /* Lossless sources keep the phase too: libsoxr's filters are linear-phase and it removes their delay,
     * so the fit is a pure sine with the mean's sign (a delay of one 16 kHz sample would put 0.39 of the
     * amplitude in the cosine). */
    if (fc->bits) {
        ck_assert_msg(fabs(sb) < 0.01 * amp, "%s: phase off (sin %.5f, cos %.5f)", fc->file, sa, sb);
        ck_assert_msg((sa > 0) == (mean_amp(fc) > 0), "%s: sign flipped", fc->file);
    }
    /* Statistics of the source: the peak is the largest channel amplitude, within 1% for lossless
     * formats; lossy codecs overshoot at the tone's abrupt start (Opus by ~35%), so only bounds there. */
    double peak = 0;
    for (int c = 0; c < fc->channels; c++)
        peak = fmax(peak, fabs(channel_amp(fc, c)));
    if (fc->bits)
        ck_assert_msg(fabs(a.stats.peak - peak) < 0.01 * peak, "%s: peak %.4f vs %.4f", fc->file, a.stats.peak,
                      peak);
    else
        ck_assert_msg(a.stats.peak > 0.9 * peak && a.stats.peak < 1.6 * peak, "%s: peak %.4f vs %.4f", fc->file,
                      a.stats.peak, peak);
    ck_assert(a.stats.clip_fraction == 0);
    ck_assert(fabs(a.stats.duration - a.src.duration) < 1e-9);
    dsp_audio_free(&a);
    ck_assert_ptr_null(a.samples);
    tu_rmtree(dir);
}
END_TEST

/* A memory buffer (a web upload) and a stream read in odd-sized pieces give the very same samples. */
START_TEST(memory_and_stream_equal_file)
{
    const fmt_case *fc = &CASES[_i];
    char dir[256], path[512];
    tu_mkdtemp(dir, sizeof dir);
    write_case(dir, fc, path, sizeof path);
    dsp_settings s = dsp_settings_default();
    dsp_audio a, b;
    aa_error err;
    ck_assert_msg(dsp_load(path, &s, 0, &a, &err) == 0, "%s", err.msg);
    size_t size;
    void *bytes = tu_read_file(path, &size);
    ck_assert_ptr_nonnull(bytes);
    ck_assert_msg(dsp_load_memory(bytes, size, "upload", &s, 0, &b, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(a.n, b.n);
    ck_assert(memcmp(a.samples, b.samples, sizeof(float) * a.n) == 0);
    ck_assert_str_eq(a.src.format, b.src.format);

    dsp_reader *r = dsp_reader_open(path, &s, &err);
    ck_assert_msg(r != NULL, "%s", err.msg);
    float *c = malloc(sizeof(float) * (a.n + 1000));
    size_t n = 0, got;
    do {
        ck_assert_int_eq(dsp_reader_read(r, c + n, 997, &got, &err), 0);
        n += got;
        ck_assert_uint_le(n, a.n);
    } while (got > 0);
    ck_assert_uint_eq(n, a.n);
    ck_assert(memcmp(a.samples, c, sizeof(float) * n) == 0);
    ck_assert_int_eq(dsp_reader_source(r)->frames, a.src.frames);
    dsp_stats st;
    dsp_reader_stats(r, &st);
    ck_assert(st.peak == a.stats.peak && st.rms_dbfs == a.stats.rms_dbfs);
    dsp_reader_close(r);
    free(c);
    free(bytes);
    dsp_audio_free(&a);
    dsp_audio_free(&b);
    tu_rmtree(dir);
}
END_TEST

/* Sources of 16 bits or fewer are read as integers and scaled by dsp/load.c itself: the samples must be
 * libsndfile's float read of the same file, bit for bit (what soundfile, hence librosa, reads), in every
 * container and at every depth that takes that path, full scale included; and the mono mix is their mean.
 * 24-bit and float files (libsndfile's float read) are the control. */
START_TEST(integer_sources_equal_libsndfile_floats)
{
    static const int formats[] = {SF_FORMAT_WAV | SF_FORMAT_PCM_16, SF_FORMAT_WAV | SF_FORMAT_PCM_U8,
                                  SF_FORMAT_FLAC | SF_FORMAT_PCM_16, SF_FORMAT_FLAC | SF_FORMAT_PCM_S8,
                                  SF_FORMAT_AIFF | SF_FORMAT_PCM_16, SF_FORMAT_AIFF | SF_FORMAT_PCM_S8,
                                  SF_FORMAT_WAV | SF_FORMAT_PCM_24, SF_FORMAT_WAV | SF_FORMAT_FLOAT};
    const size_t frames = 20000; /* several decode chunks */
    char dir[256], path[512];
    tu_mkdtemp(dir, sizeof dir);
    int16_t *x = malloc(sizeof(int16_t) * frames * 2);
    float *ref = malloc(sizeof(float) * frames * 2);
    aa_rng rng;
    aa_rng_seed(&rng, 7);
    for (size_t i = 0; i < frames * 2; i++)
        x[i] = (int16_t)((int)aa_rng_below(&rng, 65536) - 32768);
    x[0] = -32768, x[1] = 32767, x[2] = -32767, x[3] = 0; /* the extremes of every integer depth */
    for (size_t f = 0; f < sizeof formats / sizeof *formats; f++) {
        for (int ch = 1; ch <= 2; ch++) {
            snprintf(path, sizeof path, "%s/int%zu_%d.%s", dir, f, ch,
                     (formats[f] & SF_FORMAT_TYPEMASK) == SF_FORMAT_FLAC ? "flac"
                     : (formats[f] & SF_FORMAT_TYPEMASK) == SF_FORMAT_AIFF ? "aiff" : "wav");
            /* integers in, so that the negative full scale (-32768, -128) is in the file */
            SF_INFO info = {.samplerate = 16000, .channels = ch, .format = formats[f]};
            SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
            ck_assert_ptr_nonnull(sf);
            ck_assert_int_eq(sf_writef_short(sf, x, (sf_count_t)frames), (sf_count_t)frames);
            ck_assert_int_eq(sf_close(sf), 0);
            memset(&info, 0, sizeof info);
            sf = sf_open(path, SFM_READ, &info);
            ck_assert_ptr_nonnull(sf);
            ck_assert_int_eq(sf_readf_float(sf, ref, (sf_count_t)frames), (sf_count_t)frames);
            sf_close(sf);
            dsp_settings s = dsp_settings_default();
            dsp_audio a;
            aa_error err;
            ck_assert_msg(dsp_load(path, &s, 0, &a, &err) == 0, "%s", err.msg);
            ck_assert_uint_eq(a.n, frames);
            for (size_t i = 0; i < frames; i++) {
                float want = ch == 1 ? ref[i] : (ref[2 * i] + ref[2 * i + 1]) / 2.0f;
                ck_assert_msg(memcmp(&a.samples[i], &want, sizeof want) == 0, "%s: sample %zu is %.9g, libsndfile %.9g",
                              path, i, a.samples[i], want);
            }
            dsp_audio_free(&a);
        }
    }
    free(x);
    free(ref);
    tu_rmtree(dir);
}
END_TEST

/* Clipping and level: a sine of amplitude 2 written to 16-bit is clipped whenever |sin| >= 1/2, a third of
 * the time on each side: 2/3 of the samples sit at full scale (+-1 sample of rounding per crossing). */
START_TEST(stats_see_clipping_and_level)
{
    char dir[256], path[512];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(path, sizeof path, dir, "hot.wav");
    double amp[2] = {2.0, 2.0};
    ck_assert_int_eq(ag_write_sines(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 2, 16000, 50.0, amp), 0);
    dsp_settings s = dsp_settings_default();
    dsp_audio a;
    ck_assert_int_eq(dsp_load(path, &s, 0, &a, NULL), 0);
    ck_assert_msg(fabs(a.stats.clip_fraction - 2.0 / 3) < 0.01, "clip fraction %.4f", a.stats.clip_fraction);
    ck_assert(a.stats.peak >= 32767.0 / 32768 && a.stats.peak <= 1.0);
    dsp_audio_free(&a);

    /* A full-scale-ish sine of amplitude 0.5: RMS 0.5/sqrt(2), -9.03 dBFS, within 0.01 dB (16-bit). */
    amp[0] = 0.5;
    ck_assert_int_eq(ag_write_sines(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, 16000, 1000.0, amp), 0);
    ck_assert_int_eq(dsp_load(path, &s, 0, &a, NULL), 0);
    ck_assert_msg(fabs(a.stats.rms_dbfs - 20 * log10(0.5 / sqrt(2))) < 0.01, "rms %.4f", a.stats.rms_dbfs);
    ck_assert(a.stats.clip_fraction == 0);
    ck_assert(fabs(a.stats.duration - 1.0) < 1e-12);
    /* The same numbers from the buffer (16 kHz in, no resampling). The loader sums each 4096-sample chunk's
     * squares in float (~1e-6 relative), the buffer version in double: 1e-4 dB is 25 times that. */
    dsp_stats st;
    dsp_stats_compute(a.samples, a.n, 16000, &st);
    ck_assert(fabs(st.rms_dbfs - a.stats.rms_dbfs) < 1e-4 && st.peak == a.stats.peak);
    dsp_audio_free(&a);

    /* Digital silence is floored, not -inf. */
    float zeros[100] = {0};
    dsp_stats_compute(zeros, 100, 16000, &st);
    ck_assert(st.rms_dbfs == -120.0 && st.peak == 0);
    tu_rmtree(dir);
}
END_TEST

/* The caller's length limit: 1.5 s against a 1 s limit is refused from the header, before decoding. */
START_TEST(length_limit_is_enforced)
{
    char dir[256], path[512];
    tu_mkdtemp(dir, sizeof dir);
    write_case(dir, &CASES[1], path, sizeof path);
    dsp_settings s = dsp_settings_default();
    dsp_audio a;
    aa_error err;
    ck_assert_int_eq(dsp_load(path, &s, 1.0, &a, &err), DSP_ERR_TOO_LONG);
    ck_assert_msg(strstr(err.msg, path) && strstr(err.msg, "limit"), "got '%s'", err.msg);
    ck_assert_ptr_null(a.samples);
    ck_assert_int_eq(dsp_load(path, &s, 1.5, &a, &err), 0);
    ck_assert_uint_eq(a.n, 24000);
    dsp_audio_free(&a);
    tu_rmtree(dir);
}
END_TEST

/* A rate the model does not use: everything converts to s.sample_rate. */
START_TEST(other_target_rate)
{
    char dir[256], path[512];
    tu_mkdtemp(dir, sizeof dir);
    write_case(dir, &CASES[2], path, sizeof path); /* 44.1 kHz stereo */
    dsp_settings s = dsp_settings_default();
    s.sample_rate = 22050;
    s.fmax = 11025;
    dsp_audio a;
    aa_error err;
    ck_assert_msg(dsp_load(path, &s, 0, &a, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(a.rate, 22050);
    ck_assert_msg(a.n == 33075, "%zu samples", a.n); /* librosa's ceil(66150 * 22050 / 44100) */
    double sa, sb;
    ck_assert(ag_fit_sine(a.samples, 5000, a.n - 5000, 22050, 1000.0, &sa, &sb) > 80);
    dsp_audio_free(&a);
    tu_rmtree(dir);
}
END_TEST

/* An MP3 without a Xing/Info length header behind a large ID3 tag (as in the respiratory corpus): libsndfile
 * estimates the length from the file size, counting the tag, so the estimate is twice the truth. Reading
 * fewer frames than that estimate is not damage. */
START_TEST(mp3_length_estimate_is_not_a_promise)
{
    char dir[256], path[512];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(path, sizeof path, dir, "plain.mp3");
    double amp[1] = {0.5};
    ck_assert_int_eq(ag_write_sines(path, SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 16000, 1, 16000, 440, amp), 0);
    size_t size;
    unsigned char *b = tu_read_file(path, &size);
    /* LAME's first frame is the Info frame; the next frame starts at the next sync word with the same MPEG
     * version/layer byte and sample-rate bits (its bitrate bits may differ). */
    size_t next = 4;
    while (next + 2 < size && !(b[next] == 0xFF && b[next + 1] == b[1] && (b[next + 2] & 0x0C) == (b[2] & 0x0C) &&
                                (b[next + 2] & 0xF0) != 0xF0))
        next++;
    ck_assert_uint_lt(next + 2, size);
    const size_t pad = 20000;
    unsigned char *t = calloc(10 + pad + size, 1);
    memcpy(t, "ID3\x03\x00\x00", 6);
    t[6] = (pad >> 21) & 127, t[7] = (pad >> 14) & 127, t[8] = (pad >> 7) & 127, t[9] = pad & 127;
    memcpy(t + 10 + pad, b + next, size - next);
    tu_path(path, sizeof path, dir, "tagged.mp3");
    tu_write_file(path, t, 10 + pad + size - next);
    dsp_settings s = dsp_settings_default();
    dsp_audio a;
    aa_error err;
    ck_assert_msg(dsp_load(path, &s, 0, &a, &err) == 0, "%s", err.msg);
    /* One second was encoded; the decoder gives it back, give or take its frame padding. */
    ck_assert_msg(a.n >= 15000 && a.n <= 18500, "%zu samples", a.n);
    ck_assert_int_eq(a.src.frames, (int64_t)a.n);
    dsp_audio_free(&a);
    free(b);
    free(t);
    tu_rmtree(dir);
}
END_TEST

Suite *load_suite(void)
{
    Suite *s = suite_create("load");
    TCase *tc = tcase_create("formats");
    /* Each case decodes and resamples 1.5 s (8 channels at 192 kHz the largest): well under a second. */
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, every_format_rate_and_channel_count, 0, N_CASES);
    tcase_add_loop_test(tc, memory_and_stream_equal_file, 0, N_CASES);
    tcase_add_test(tc, integer_sources_equal_libsndfile_floats);
    tcase_add_test(tc, stats_see_clipping_and_level);
    tcase_add_test(tc, length_limit_is_enforced);
    tcase_add_test(tc, other_target_rate);
    tcase_add_test(tc, mp3_length_estimate_is_not_a_promise);
    suite_add_tcase(s, tc);
    return s;
}
