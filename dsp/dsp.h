#ifndef AA_DSP_H
#define AA_DSP_H

/* The audio front end: any recording libsndfile reads -> mono float32 at the model rate (libsoxr, as
 * librosa 0.10.1's default load) -> fixed-length clips -> log-mel spectrogram equal to librosa 0.10.1's
 * melspectrogram + power_to_db.
 *
 *   dsp_settings s = dsp_settings_default();
 *   dsp_audio a;  dsp_load("clip.flac", &s, 0, &a, &err);
 *   float *clip = malloc(dsp_clip_samples(&s) * sizeof *clip);   dsp_clip(&s, a.samples, a.n, clip, NULL);
 *   dsp_logmel *lm = dsp_logmel_new(&s, 1, &err);
 *   float *mel = malloc(dsp_logmel_size(lm, dsp_clip_samples(&s)) * sizeof *mel);
 *   dsp_logmel_compute(lm, 0, clip, dsp_clip_samples(&s), mel, &err);      // mel: [n_mels][n_frames] dB
 * or, for the windows of a whole recording (the route every caller of the model takes):
 *   size_t at = dsp_crop_offset(a.samples, a.n, dsp_clip_samples(&s), s.crop);
 *   dsp_windows_logmel(lm, 0, a.samples, a.n, &at, 1, mel, &err);
 *   dsp_normalise(mean, std, s.n_mels, dsp_clip_frames(&s), mel);          // what the network is given
 *
 * Every function that can fail returns 0 or a dsp_status and fills an aa_error (may be NULL) with that code
 * and one line naming the file and the reason. Nothing here prints, exits or keeps global state; the only
 * process-wide object is a mutex around FFTW's planner, which is itself process-wide. */

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/* ---- status codes ------------------------------------------------------------------------------------- */

/* Error codes: DSP_ERR_* in util/util.h, described by aa_strerror. */
/* 1 when code says the recording itself cannot be used (missing, unreadable, malformed, too long, ...), 0 for
 * success and for failures that are not the recording's (out of memory, settings, a caller's error). */
int dsp_status_is_input(int code);

/* ---- settings ----------------------------------------------------------------------------------------- */

typedef enum { DSP_CROP_START, DSP_CROP_CENTER, DSP_CROP_LOUDEST } dsp_crop;
typedef enum { DSP_MEL_SLANEY, DSP_MEL_HTK } dsp_mel_scale;
typedef enum { DSP_NORM_SLANEY, DSP_NORM_NONE } dsp_mel_norm;
/* libsoxr's recipes (soxr_quality_spec(SOXR_xx, 0), float32 in and out), named soxr_hq ... soxr_qq in the
 * settings text. HQ is librosa 0.10.1's default (res_type "soxr_hq") and comes first, so that a zeroed
 * dsp_settings resamples as librosa does; bench/resample.sh measures them all. */
typedef enum {
    DSP_RESAMPLE_SOXR_HQ,  /* 20-bit: flat (< 0.01 dB) to 91.3 % of the lower Nyquist rate (7.3 kHz at 16 kHz) */
    DSP_RESAMPLE_SOXR_VHQ, /* 28-bit, the same band, computed in double */
    DSP_RESAMPLE_SOXR_MQ,  /* 16-bit, medium roll-off (-0.05 dB at 7 kHz) */
    DSP_RESAMPLE_SOXR_LQ,  /* 16-bit, the band ends at 67.6 % (5.4 kHz at 16 kHz) */
    DSP_RESAMPLE_SOXR_QQ   /* cubic interpolation, no anti-aliasing filter: for tests and fuzzing */
} dsp_resampler;

/* Every parameter of the front end. The model file and the feature cache carry it (dsp_settings_format),
 * so a model always hears what it was trained on. Defaults (dsp_settings_default) in brackets. */
typedef struct {
    int sample_rate;         /* [16000] Hz: everything is resampled to this rate */
    double clip_seconds;     /* [4.0] fixed clip length */
    dsp_crop crop;           /* [loudest] which window of a longer recording a clip keeps */
    dsp_resampler resampler; /* [soxr_hq] see dsp/resample.c for the measurements behind it */
    int n_fft;               /* [512] */
    int win_length;          /* [512] periodic Hann of this length, centred in n_fft (librosa's pad_center) */
    int hop_length;          /* [160] */
    int center;              /* [1] frame t is centred on sample t*hop; zero padding of n_fft/2 each side */
    int n_mels;              /* [64] */
    double fmin, fmax;       /* [0, 8000] Hz, fmax <= sample_rate / 2 */
    dsp_mel_scale mel_scale; /* [slaney] librosa htk=False */
    dsp_mel_norm mel_norm;   /* [slaney] area normalisation, librosa norm='slaney' */
    double power;            /* [2] |X|^power: 2 power, 1 magnitude */
    double amin;             /* [1e-10] dB = 10 log10(max(S, amin)) - 10 log10(max(ref, amin)) */
    double ref;              /* [1] */
    double top_db;           /* [80] each spectrogram is floored at its own max - top_db */
} dsp_settings;

#define DSP_MAX_MELS 1024

dsp_settings dsp_settings_default(void);
/* The one place of the front end's rules: 0 if every field is in range and the fields agree with each other;
 * otherwise DSP_ERR_SETTINGS with the first problem found, in one line that names the fields concerned by
 * their keys in the text form, e.g. "settings: n_mels 0 out of range (1..1024)". The rules: sample_rate
 * within the loader's DSP_MIN_RATE..DSP_MAX_RATE; 0 < clip_seconds <= 600; 16 <= n_fft <= 65536;
 * 1 <= win_length <= n_fft; 1 <= hop_length <= 65536; 1 <= n_mels <= DSP_MAX_MELS; 0 <= fmin < fmax <=
 * sample_rate / 2; a clip at least one frame (n_fft samples) long; every mel filter holding at least one
 * FFT bin (too many mels for the FFT's resolution leave filters empty, rows that would be constant); the
 * enums, center, power, amin, ref and top_db within their ranges. The trainer calls it before any work
 * (naming its options instead of the keys), and every reader of settings (model file, cache) through
 * dsp_settings_parse. */
int dsp_settings_validate(const dsp_settings *s, aa_error *err);
/* 1 if every field is equal (doubles compared exactly: settings are read back bit-exactly). */
int dsp_settings_equal(const dsp_settings *a, const dsp_settings *b);

/* Stable text form: one `key=value` line per field in a fixed order, doubles with 17 significant digits
 * (they parse back to the same bits), enums by name:
 *   sample_rate=16000\nclip_seconds=4\ncrop=loudest\n...
 * Writes at most cap bytes including the NUL; returns the length the whole text needs (like snprintf), so
 * a return >= cap means it was truncated. DSP_SETTINGS_TEXT_MAX always suffices. */
#define DSP_SETTINGS_TEXT_MAX 1024
size_t dsp_settings_format(const dsp_settings *s, char *buf, size_t cap);
/* Parses text of length len (need not be NUL-terminated). Every key must appear exactly once; blank lines
 * and "\r\n" endings are accepted; an unknown key, a repeated or missing key, or a bad value is an error
 * (DSP_ERR_SETTINGS, naming the line). The result is also validated. `what` names the source in messages
 * (e.g. the model file's path). On error *out is unchanged. */
int dsp_settings_parse(const char *text, size_t len, const char *what, dsp_settings *out, aa_error *err);

/* Samples in a clip: round(clip_seconds * sample_rate) (64000 by default). */
size_t dsp_clip_samples(const dsp_settings *s);
/* Frames the log-mel of n samples has: 1 + n / hop when centred (401 for a default clip); without centring,
 * 1 + (n - n_fft) / hop, or 0 when n < n_fft. */
size_t dsp_n_frames(const dsp_settings *s, size_t n_samples);
/* Shorthand for dsp_n_frames(s, dsp_clip_samples(s)). */
size_t dsp_clip_frames(const dsp_settings *s);

/* ---- loading ------------------------------------------------------------------------------------------ */

#define DSP_MIN_RATE 8000
#define DSP_MAX_RATE 192000
#define DSP_MAX_CHANNELS 8
/* Largest sample magnitude a float file may hold: 2^24, 144 dB over full scale. Float files slightly over 1
 * are common, and some tools write float files at 16-bit scale (32768), but a larger value is damage, and
 * from about 1e16 up the power spectrum overflows float32 (the log-mel would be infinite). */
#define DSP_MAX_SAMPLE 16777216.0f
/* dsp_load refuses recordings longer than this unless the caller passes its own limit: one hour is 230 MB
 * of float32 at 16 kHz, the most a caller holding a whole recording should need. A longer recording can be
 * read in bounded memory with dsp_reader. */
#define DSP_LOAD_MAX_SECONDS 3600.0

/* What the file was, before conversion. */
typedef struct {
    int rate;            /* original sample rate, Hz */
    int channels;        /* original channel count */
    int64_t frames;      /* frames per channel actually decoded (the header's count until then) */
    double duration;     /* frames / rate, seconds */
    int bits;            /* bit depth of integer PCM (8, 16, 24, 32); 32 for float, 64 for double; 0 for
                          * compressed formats (Vorbis, Opus, MP3, ...) */
    char format[96];     /* libsndfile's names: "FLAC (Free Lossless Audio Codec), Signed 16 bit PCM" */
} dsp_source;

/* Recording statistics for a quality verdict (too quiet, clipped, too short). */
typedef struct {
    double duration;     /* seconds */
    double rms_dbfs;     /* 20 log10(RMS), RMS of the mono mix (full-scale sine: -3.01); floored at -120 */
    double peak;         /* max |x| over every channel's samples (float files may exceed 1) */
    double clip_fraction;/* fraction of samples (all channels) at full scale: |x| >= 1 - 2^-(bits-1), with
                          * bits = 16 for float and compressed formats */
} dsp_stats;

/* A whole recording: mono float32 at settings.sample_rate. */
typedef struct {
    float *samples;      /* [n] owned: dsp_audio_free */
    size_t n;
    int rate;            /* = settings.sample_rate */
    dsp_source src;
    dsp_stats stats;     /* of the original recording (before resampling) */
} dsp_audio;

/* Decodes a whole file (path) or an in-memory file (data, size; `name` appears in messages) to mono at
 * s->sample_rate with s->resampler: librosa.load(path, sr=s->sample_rate) with its default res_type when the
 * resampler is soxr_hq (float32 samples as libsndfile decodes them, the mean of the channels, then
 * dsp_converter; see there for the length). Formats: whatever libsndfile 1.2 reads (WAV, FLAC, Ogg
 * Vorbis/Opus, MP3, AIFF, ...). max_seconds <= 0 means DSP_LOAD_MAX_SECONDS. Decoding goes through bounded
 * chunks, so memory is the output (4 bytes per output sample) plus ~1 MB, whatever the source format.
 * On success fills *out (free with dsp_audio_free); on error *out is zeroed. */
int dsp_load(const char *path, const dsp_settings *s, double max_seconds, dsp_audio *out, aa_error *err);
int dsp_load_memory(const void *data, size_t size, const char *name, const dsp_settings *s, double max_seconds,
                    dsp_audio *out, aa_error *err);
/* Frees the samples and zeroes *a; a zeroed or NULL a is allowed. */
void dsp_audio_free(dsp_audio *a);

/* Streaming decode, for recordings too long to hold: the same conversion as dsp_load, chunk by chunk; the
 * samples delivered are those dsp_load returns, bit for bit, whatever the read sizes. */
typedef struct dsp_reader dsp_reader;
/* Opens and checks the header (existence, size, format, rate, channels). Caller closes with
 * dsp_reader_close. For _memory, data must stay valid until then. */
dsp_reader *dsp_reader_open(const char *path, const dsp_settings *s, aa_error *err);
dsp_reader *dsp_reader_open_memory(const void *data, size_t size, const char *name, const dsp_settings *s,
                                   aa_error *err);
/* Up to cap mono samples at the target rate into out; *got = 0 means the end. An error (decode failure,
 * NaN/Inf, fewer than 2 samples in the whole file) is returned by the first call that has no good samples
 * left to deliver before it, and by every call after. */
int dsp_reader_read(dsp_reader *r, float *out /* [cap] */, size_t cap, size_t *got, aa_error *err);
/* The source description; frames and duration are final once dsp_reader_read has returned *got = 0. */
const dsp_source *dsp_reader_source(const dsp_reader *r);
/* Statistics of what has been decoded so far (all of it after the end). */
void dsp_reader_stats(const dsp_reader *r, dsp_stats *out);
void dsp_reader_close(dsp_reader *r);

/* ---- rate conversion ------------------------------------------------------------------------------------ */

/* Streaming mono rate conversion with a libsoxr recipe, for samples that do not come from a file
 * (aa-infer --stream's raw PCM); dsp_load and dsp_reader use the same object. With soxr_hq it is
 * librosa.resample(y, orig_sr=in_rate, target_sr=out_rate) (python-soxr) followed by librosa's fix_length:
 * n input samples give exactly ceil(n * out_rate / in_rate) outputs, libsoxr's own samples first (it is
 * linear-phase and delay-compensated, so output t is at input time t / ratio) and zeros if it made fewer.
 * The output does not depend on how the input is cut into calls. */
typedef struct dsp_converter dsp_converter;
/* in_rate and out_rate in DSP_MIN_RATE..DSP_MAX_RATE (they may be equal: the samples are copied). NULL on
 * failure with DSP_ERR_RESAMPLE, DSP_ERR_ARG or DSP_ERR_NOMEM; `name` (may be NULL) starts the message. */
dsp_converter *dsp_converter_new(int in_rate, int out_rate, dsp_resampler recipe, const char *name, aa_error *err);
void dsp_converter_free(dsp_converter *c);
/* A good output capacity for n_in input samples per call: ceil(n_in * ratio) plus libsoxr's block slack. */
size_t dsp_converter_capacity(const dsp_converter *c, size_t n_in);
/* Takes all of in[0..n_in) and writes up to cap converted samples; *got == cap means more may be waiting:
 * call again with n_in = 0 before giving up on output. */
int dsp_converter_process(dsp_converter *c, const float *in /* [n_in] */, size_t n_in, float *out /* [cap] */,
                          size_t cap, size_t *got, aa_error *err);
/* End of input: writes up to cap of the remaining samples (libsoxr's tail, then the length rule above);
 * call until *got == 0. No input may follow. */
int dsp_converter_flush(dsp_converter *c, float *out /* [cap] */, size_t cap, size_t *got, aa_error *err);

/* Statistics of a mono buffer with the given rate (for a clip or a window). */
void dsp_stats_compute(const float *x /* [n] */, size_t n, int rate, dsp_stats *out);

/* ---- fixed-length clips ------------------------------------------------------------------------------- */

/* Offset of the len-sample window of x[0..n) a policy keeps; 0 when n <= len. `loudest` is the window with
 * the largest sum of squares (earliest on ties), found in O(n) with a running sum in double. */
size_t dsp_crop_offset(const float *x /* [n] */, size_t n, size_t len, dsp_crop policy);
/* out[0..dsp_clip_samples(s)) = the window of x chosen by s->crop; a shorter x is copied to the start and
 * zero-padded at the end (as the original app's load_clip did), exactly as dsp_windows_logmel cuts it.
 * *offset (may be NULL) gets the window's start in x. */
void dsp_clip(const dsp_settings *s, const float *x /* [n] */, size_t n, float *out /* [clip_samples] */,
              size_t *offset);
/* Starts of len-sample windows over n samples, hop apart: 0, hop, 2 hop, ... while the window fits; with
 * cover_end, one more window ending at n if the last one stops short of it. n <= len gives one window at 0
 * (to be zero-padded). Writes at most cap offsets (offsets may be NULL with cap 0) and returns how many
 * windows there are, so a first call with cap 0 sizes the array. hop > 0. */
size_t dsp_window_offsets(size_t n, size_t len, size_t hop, int cover_end, size_t *offsets, size_t cap);

/* ---- mel filterbank ----------------------------------------------------------------------------------- */

/* librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk, norm) in float32, computed in double the way
 * librosa does (including its float32 rounding before the Slaney normalisation). */
int dsp_mel_filterbank(const dsp_settings *s, float *out /* [n_mels][n_fft/2+1] */, aa_error *err);
/* Band m's centre frequency in Hz (0 <= m < n_mels; the filter's peak), and its inverse: the fractional band
 * whose centre hz would be, on the mel scale (linear between centres; below band 0 or above the last, the
 * scale's line continued). For warping a log-mel along frequency (datasets' frequency warp). */
double dsp_mel_centre_hz(const dsp_settings *s, double m);
double dsp_mel_band_of_hz(const dsp_settings *s, double hz);

/* ---- log-mel ------------------------------------------------------------------------------------------ */

/* Made once: window, filterbank (kept as one run of non-zero weights per mel), one FFTW plan (a complex
 * transform that takes two real frames at a time, see dsp/logmel.c; FFTW_ESTIMATE: the same plan, hence the
 * same bits, every run) and per-thread work buffers. Compute calls with different slots may run
 * concurrently; one slot must not be used by two threads at once. Creating and freeing take a process-wide
 * lock around FFTW's planner. */
typedef struct dsp_logmel dsp_logmel;

dsp_logmel *dsp_logmel_new(const dsp_settings *s, int n_threads, aa_error *err);
void dsp_logmel_free(dsp_logmel *m);
const dsp_settings *dsp_logmel_settings(const dsp_logmel *m);
int dsp_logmel_n_threads(const dsp_logmel *m);
/* Floats in the output for n input samples: n_mels * dsp_n_frames(s, n). */
size_t dsp_logmel_size(const dsp_logmel *m, size_t n_samples);
/* The dense filterbank the object uses: [n_mels][n_fft/2+1], owned by m. */
const float *dsp_logmel_filterbank(const dsp_logmel *m);

/* Power mel: out[m][t] = sum_k fb[m][k] |X_t[k]|^power. */
int dsp_logmel_power(dsp_logmel *m, int slot, const float *x /* [n] */, size_t n,
                     float *out /* [n_mels][n_frames] */, aa_error *err);
/* Log-mel in dB: dsp_logmel_power then dsp_power_to_db. */
int dsp_logmel_compute(dsp_logmel *m, int slot, const float *x /* [n] */, size_t n,
                       float *out /* [n_mels][n_frames] */, aa_error *err);
/* In place: 10 log10(max(S, amin)) - 10 log10(max(ref, amin)), then floored at the array's max - top_db
 * (one spectrogram at a time: top_db is per clip). */
void dsp_power_to_db(const dsp_settings *s, float *inout /* [count] */, size_t count);

/* The log-mels of `count` windows of a recording x[0..n) at the model rate, into out. Window i is the
 * dsp_clip_samples() samples from offsets[i] on, zero-padded past the end of x (a recording shorter than a
 * clip, or a window running past its end): this is the one place in the project where a window is cut out
 * of a signal, so the trainer's cache, its validation, aa-infer's every mode and the self-test all hear
 * the same samples. Offsets come from dsp_crop_offset, dsp_window_offsets or a caller's plan built on them;
 * each must be <= n. A window needing padding is assembled in the slot's own buffer, so calls with
 * different slots may run concurrently. DSP_ERR_ARG for a bad slot or offset. */
int dsp_windows_logmel(dsp_logmel *m, int slot, const float *x /* [n] */, size_t n, const size_t *offsets,
                       size_t count, float *out /* [count][n_mels][clip_frames] */, aa_error *err);
/* Zeroes a slot's work buffers (the last window's samples and spectra), so that nothing of a recording
 * outlives its request (the server's uploads). */
void dsp_logmel_wipe(dsp_logmel *m, int slot);

/* ---- normalisation ----------------------------------------------------------------------------------- */

/* In place, per mel row m: x = (x - mean[m]) / std[m] in float. The one normaliser: training batches,
 * validation, the test report and every inference mode give the network features made by it, and it is
 * the formula the statistics of a model file are meant for (a division, not a multiplication by 1 / std,
 * which differs in the last bit for about a quarter of the values). std[m] > 0. */
void dsp_normalise(const float *mean /* [n_mels] */, const float *std /* [n_mels] */, size_t n_mels,
                   size_t n_frames, float *x /* [n_mels][n_frames] */);

/* ---- filters, room responses and convolution (waveform augmentation) ------------------------------------ */

/* A second-order section: y = (b0 + b1 z^-1 + b2 z^-2) / (1 + a1 z^-1 + a2 z^-2) x. */
typedef struct {
    double b0, b1, b2, a1, a2;
} dsp_biquad;

/* Designs from R. Bristow-Johnson's Audio EQ Cookbook at `rate` Hz; fc is clamped into [1 Hz, 0.49 rate]. Q
 * 1/sqrt(2) is a Butterworth second order; DSP_BUTTER4_Q1 and _Q2 in cascade a fourth order. The shelves
 * have the cookbook's slope S = 1 and gain_db at the far end (0 dB at the other). */
#define DSP_BUTTER4_Q1 0.54119610014619701
#define DSP_BUTTER4_Q2 1.3065629648763766
dsp_biquad dsp_biquad_lowpass(double fc, double q, int rate);
dsp_biquad dsp_biquad_highpass(double fc, double q, int rate);
dsp_biquad dsp_biquad_low_shelf(double fc, double gain_db, int rate);
dsp_biquad dsp_biquad_high_shelf(double fc, double gain_db, int rate);
/* Filters x in place from rest (transposed direct form II, state in double). */
void dsp_biquad_run(const dsp_biquad *b, float *x /* [n] */, size_t n);
/* 20 log10 |H(e^{j 2 pi f / rate})|. */
double dsp_biquad_gain_db(const dsp_biquad *b, double f, int rate);

/* A synthetic room response of n samples: a direct path h[0] and an exponentially decaying Gaussian noise tail
 * (amplitude exp(-3 ln 10 t / rt60): 60 dB down after rt60 seconds) whose energy is drr_db below the direct
 * path's, the whole scaled to unit energy (a noise-like signal keeps its RMS). Noise from r. n is usually
 * dsp_room_length(rt60, rate). DSP_ERR_ARG for rt60 outside [0.01, 10] s, drr outside [-30, 60] dB, n < 2. */
int dsp_room_response(double rt60_s, double drr_db, int rate, aa_rng *r, float *h /* [n] */, size_t n,
                      aa_error *err);
/* ceil(rt60 * rate): the response down to -60 dB. */
size_t dsp_room_length(double rt60_s, int rate);
/* The RT60 of an impulse response by Schroeder's backward integration: the least-squares slope of the energy
 * decay curve between -5 and -25 dB (T20), extrapolated to 60 dB; NAN when the curve never reaches -25 dB. */
double dsp_rt60_measure(const float *h /* [n] */, size_t n, int rate);

/* Linear convolution through FFTW: one r2c/c2r plan pair (FFTW_ESTIMATE: the same plan, hence the same bits,
 * every run) of the smallest power of two holding n_signal + n_response - 1 samples, and per-thread buffers
 * as dsp_logmel has (calls with different slots may run concurrently). */
typedef struct dsp_convolver dsp_convolver;
dsp_convolver *dsp_convolver_new(size_t n_signal, size_t n_response, int n_threads, aa_error *err);
void dsp_convolver_free(dsp_convolver *c);
/* out[0..n) = the first n samples of x * h (out may be x). n <= n_signal, m <= n_response, else DSP_ERR_ARG. */
int dsp_convolve(dsp_convolver *c, int slot, const float *x /* [n] */, size_t n, const float *h /* [m] */, size_t m,
                 float *out /* [n] */, aa_error *err);

#endif
