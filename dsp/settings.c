/* The front end's settings: defaults, validation, equality and the key=value text the model file and the
 * feature cache carry. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/dsp_internal.h"

dsp_settings dsp_settings_default(void)
{
    return (dsp_settings){
        .sample_rate = 16000,
        .clip_seconds = 4.0,
        .crop = DSP_CROP_LOUDEST,
        .resampler = DSP_RESAMPLE_SOXR_HQ,
        .n_fft = 512,
        .win_length = 512,
        .hop_length = 160,
        .center = 1,
        .n_mels = 64,
        .fmin = 0.0,
        .fmax = 8000.0,
        .mel_scale = DSP_MEL_SLANEY,
        .mel_norm = DSP_NORM_SLANEY,
        .power = 2.0,
        .amin = 1e-10,
        .ref = 1.0,
        .top_db = 80.0,
    };
}

/* ---- names of enum values (the text form) --------------------------------------------------------------- */

static const char *const CROP_NAMES[] = {"start", "center", "loudest"};
static const char *const SCALE_NAMES[] = {"slaney", "htk"};
static const char *const NORM_NAMES[] = {"slaney", "none"};
static const char *const RESAMPLER_NAMES[] = {"soxr_hq", "soxr_vhq", "soxr_mq", "soxr_lq", "soxr_qq"};
/* libsamplerate's converters, which earlier versions resampled with and wrote into model files and caches.
 * They are refused, not mapped to the nearest libsoxr recipe: no recipe reproduces them (sinc_medium is
 * -12.9 dB at 7.5 kHz where soxr_hq is flat), so a model trained on them would hear recordings at other
 * rates with brighter top mel bands than in training, with nothing to say so; and a feature cache whose
 * settings parsed as soxr_hq would pass as current and be reused. Refused, a cache is rebuilt (its reader
 * treats any settings error as stale) and a model gets one line saying to train it again. */
static const char *const RETIRED_RESAMPLERS[] = {"sinc_best", "sinc_medium", "sinc_fastest", "zoh", "linear"};
#define N_OF(a) ((int)(sizeof(a) / sizeof *(a)))

static const char *enum_name(const char *const *names, int n, int v)
{
    return v >= 0 && v < n ? names[v] : "?";
}

/* ---- validation --------------------------------------------------------------------------------------- */

int dsp_settings_validate(const dsp_settings *s, aa_error *err)
{
#define BAD(...) return aa_error_set(err, DSP_ERR_SETTINGS, "settings: " __VA_ARGS__)
    /* Limits are generous bounds on sense, not on what the code could compute; the rate's are the
     * loader's. Each message names every field it concerns, by its key. */
    if (s->sample_rate < DSP_MIN_RATE || s->sample_rate > DSP_MAX_RATE)
        BAD("sample_rate %d out of range (%d..%d Hz, the rates the loader converts between)", s->sample_rate,
            DSP_MIN_RATE, DSP_MAX_RATE);
    if (!(s->clip_seconds > 0 && s->clip_seconds <= 600))
        BAD("clip_seconds %g out of range (0..600]", s->clip_seconds);
    if ((int)s->crop < 0 || (int)s->crop >= N_OF(CROP_NAMES))
        BAD("crop %d is not a crop policy", (int)s->crop);
    if ((int)s->resampler < 0 || (int)s->resampler >= N_OF(RESAMPLER_NAMES))
        BAD("resampler %d is not a libsoxr recipe", (int)s->resampler);
    if (s->n_fft < 16 || s->n_fft > 65536)
        BAD("n_fft %d out of range (16..65536)", s->n_fft);
    if (s->win_length < 1)
        BAD("win_length %d out of range (1..n_fft %d)", s->win_length, s->n_fft);
    if (s->win_length > s->n_fft)
        BAD("win_length %d longer than n_fft %d (the window must fit in the FFT)", s->win_length, s->n_fft);
    if (s->hop_length < 1 || s->hop_length > 65536)
        BAD("hop_length %d out of range (1..65536)", s->hop_length);
    if (s->center != 0 && s->center != 1)
        BAD("center %d is not 0 or 1", s->center);
    if (s->n_mels < 1 || s->n_mels > DSP_MAX_MELS)
        BAD("n_mels %d out of range (1..%d)", s->n_mels, DSP_MAX_MELS);
    if (!(s->fmin >= 0))
        BAD("fmin %g is negative", s->fmin);
    if (!(s->fmin < s->fmax))
        BAD("fmin %g is not below fmax %g", s->fmin, s->fmax);
    if (!(s->fmax <= s->sample_rate / 2.0))
        BAD("fmax %g above the Nyquist frequency of sample_rate %d (%g Hz)", s->fmax, s->sample_rate,
            s->sample_rate / 2.0);
    if ((int)s->mel_scale < 0 || (int)s->mel_scale >= N_OF(SCALE_NAMES))
        BAD("mel_scale %d is not a mel scale", (int)s->mel_scale);
    if ((int)s->mel_norm < 0 || (int)s->mel_norm >= N_OF(NORM_NAMES))
        BAD("mel_norm %d is not a normalisation", (int)s->mel_norm);
    if (!(s->power > 0 && s->power <= 4))
        BAD("power %g out of range (0..4]", s->power);
    if (!(s->amin >= 1e-30 && s->amin <= 1))
        BAD("amin %g out of range [1e-30, 1]", s->amin);
    if (!(s->ref > 0 && isfinite(s->ref)))
        BAD("ref %g must be positive", s->ref);
    if (!(s->top_db > 0 && isfinite(s->top_db)))
        BAD("top_db %g must be positive", s->top_db);
    /* A clip must fill one FFT frame: shorter, every frame would be mostly padding (centred) or there
     * would be none at all. */
    size_t clip = dsp_clip_samples(s);
    if (clip < (size_t)s->n_fft)
        BAD("clip_seconds %g is %zu samples at sample_rate %d, shorter than one frame (n_fft %d)",
            s->clip_seconds, clip, s->sample_rate, s->n_fft);
    double lo, hi;
    int empty = dsp_mel_first_empty(s, &lo, &hi);
    if (empty >= 0)
        BAD("n_mels %d too many for n_fft %d at sample_rate %d between fmin %g and fmax %g: mel filter %d "
            "(%.1f-%.1f Hz) holds no FFT bin (bins are %.1f Hz apart)", s->n_mels, s->n_fft, s->sample_rate,
            s->fmin, s->fmax, empty, lo, hi, (double)s->sample_rate / s->n_fft);
    return 0;
#undef BAD
}

int dsp_settings_equal(const dsp_settings *a, const dsp_settings *b)
{
    /* Field by field, not memcmp: padding bytes are unspecified. */
    return a->sample_rate == b->sample_rate && a->clip_seconds == b->clip_seconds && a->crop == b->crop &&
           a->resampler == b->resampler && a->n_fft == b->n_fft && a->win_length == b->win_length &&
           a->hop_length == b->hop_length && a->center == b->center && a->n_mels == b->n_mels &&
           a->fmin == b->fmin && a->fmax == b->fmax && a->mel_scale == b->mel_scale &&
           a->mel_norm == b->mel_norm && a->power == b->power && a->amin == b->amin && a->ref == b->ref &&
           a->top_db == b->top_db;
}

/* ---- derived sizes ------------------------------------------------------------------------------------ */

size_t dsp_clip_samples(const dsp_settings *s)
{
    double n = floor(s->clip_seconds * s->sample_rate + 0.5);
    return n > 0 ? (size_t)n : 0;
}

size_t dsp_n_frames(const dsp_settings *s, size_t n)
{
    size_t nfft = (size_t)s->n_fft, hop = (size_t)s->hop_length;
    if (s->center)
        n += 2 * (nfft / 2); /* librosa pads n_fft // 2 on each side */
    return n < nfft ? 0 : 1 + (n - nfft) / hop;
}

size_t dsp_clip_frames(const dsp_settings *s)
{
    return dsp_n_frames(s, dsp_clip_samples(s));
}

/* ---- text form ---------------------------------------------------------------------------------------- */

/* One table drives both directions, so a field cannot be written and forgotten by the parser. */
typedef enum { K_INT, K_DOUBLE, K_ENUM } kind;
typedef struct {
    const char *key;
    kind kind;
    size_t offset;
    const char *const *names; /* K_ENUM */
    int n_names;
} field;

#define F_INT(k) {#k, K_INT, offsetof(dsp_settings, k), NULL, 0}
#define F_DBL(k) {#k, K_DOUBLE, offsetof(dsp_settings, k), NULL, 0}
#define F_ENUM(k, names) {#k, K_ENUM, offsetof(dsp_settings, k), names, N_OF(names)}
static const field FIELDS[] = {
    F_INT(sample_rate),  F_DBL(clip_seconds),
    F_ENUM(crop, CROP_NAMES), F_ENUM(resampler, RESAMPLER_NAMES),
    F_INT(n_fft),        F_INT(win_length),
    F_INT(hop_length),   F_INT(center),
    F_INT(n_mels),       F_DBL(fmin),
    F_DBL(fmax),         F_ENUM(mel_scale, SCALE_NAMES),
    F_ENUM(mel_norm, NORM_NAMES), F_DBL(power),
    F_DBL(amin),         F_DBL(ref),
    F_DBL(top_db),
};
#define N_FIELDS N_OF(FIELDS)

/* Enums are stored as int-sized enum members; read and write them through int. */
static int *int_at(const dsp_settings *s, const field *f)
{
    return (int *)((char *)(uintptr_t)s + f->offset);
}
static double *dbl_at(const dsp_settings *s, const field *f)
{
    return (double *)((char *)(uintptr_t)s + f->offset);
}

size_t dsp_settings_format(const dsp_settings *s, char *buf, size_t cap)
{
    size_t len = 0;
    for (int i = 0; i < N_FIELDS; i++) {
        const field *f = &FIELDS[i];
        char *at = len < cap ? buf + len : NULL;
        size_t room = len < cap ? cap - len : 0;
        int w;
        if (f->kind == K_INT)
            w = snprintf(at, room, "%s=%d\n", f->key, *int_at(s, f));
        else if (f->kind == K_DOUBLE)
            w = snprintf(at, room, "%s=%.17g\n", f->key, *dbl_at(s, f));
        else
            w = snprintf(at, room, "%s=%s\n", f->key, enum_name(f->names, f->n_names, *int_at(s, f)));
        len += w > 0 ? (size_t)w : 0;
    }
    if (cap > 0 && len >= cap)
        buf[cap - 1] = 0;
    return len;
}

static int parse_value(const field *f, const char *v, dsp_settings *s)
{
    char *end;
    errno = 0;
    if (f->kind == K_INT) {
        long x = strtol(v, &end, 10);
        if (end == v || *end || errno || x < -2147483647L || x > 2147483647L)
            return -1;
        *int_at(s, f) = (int)x;
    } else if (f->kind == K_DOUBLE) {
        double x = strtod(v, &end);
        if (end == v || *end || errno || !isfinite(x))
            return -1;
        *dbl_at(s, f) = x;
    } else {
        int k = 0;
        while (k < f->n_names && strcmp(v, f->names[k]) != 0)
            k++;
        if (k == f->n_names)
            return -1;
        *int_at(s, f) = k;
    }
    return 0;
}

static int is_retired_resampler(const char *v)
{
    for (int k = 0; k < N_OF(RETIRED_RESAMPLERS); k++)
        if (!strcmp(v, RETIRED_RESAMPLERS[k]))
            return 1;
    return 0;
}

/* The text may come from a damaged file and is quoted in messages, which are printable: other bytes show
 * as '?'. */
static void printable(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            *s = '?';
}

int dsp_settings_parse(const char *text, size_t len, const char *what, dsp_settings *out, aa_error *err)
{
    dsp_settings s = dsp_settings_default();
    int seen[N_FIELDS] = {0};
    char line[256];
    size_t pos = 0;
    for (int lineno = 1; pos < len; lineno++) {
        size_t end = pos;
        while (end < len && text[end] != '\n')
            end++;
        size_t n = end - pos;
        if (n > 0 && text[pos + n - 1] == '\r')
            n--;
        if (n >= sizeof line)
            return aa_error_set(err, DSP_ERR_SETTINGS, "%s: settings line %d too long", what, lineno);
        memcpy(line, text + pos, n);
        line[n] = 0;
        pos = end + 1;
        if (n == 0)
            continue;
        if (memchr(line, 0, n))
            return aa_error_set(err, DSP_ERR_SETTINGS, "%s: settings line %d contains a NUL byte", what, lineno);
        char shown[sizeof line];
        memcpy(shown, line, n + 1);
        printable(shown);
        char *eq = strchr(line, '=');
        if (!eq)
            return aa_error_set(err, DSP_ERR_SETTINGS, "%s: settings line %d is not key=value: '%s'", what,
                                lineno, shown);
        *eq = 0;
        shown[eq - line] = 0;
        int i = 0;
        while (i < N_FIELDS && strcmp(line, FIELDS[i].key) != 0)
            i++;
        if (i == N_FIELDS)
            return aa_error_set(err, DSP_ERR_SETTINGS, "%s: settings line %d: unknown key '%s'", what, lineno,
                                shown);
        if (seen[i]++)
            return aa_error_set(err, DSP_ERR_SETTINGS, "%s: settings line %d: key '%s' repeated", what, lineno,
                                line);
        if (FIELDS[i].names == RESAMPLER_NAMES && is_retired_resampler(eq + 1))
            return aa_error_set(err, DSP_ERR_SETTINGS,
                                "%s: settings line %d: resampler '%s' was libsamplerate's, which this version does "
                                "not have: it resamples with libsoxr (soxr_hq, librosa's default), so a model made "
                                "with '%s' must be trained again", what, lineno, eq + 1, eq + 1);
        if (parse_value(&FIELDS[i], eq + 1, &s) != 0)
            return aa_error_set(err, DSP_ERR_SETTINGS, "%s: settings line %d: bad value '%s' for %s", what,
                                lineno, shown + (eq - line) + 1, line);
    }
    for (int i = 0; i < N_FIELDS; i++)
        if (!seen[i])
            return aa_error_set(err, DSP_ERR_SETTINGS, "%s: settings: key '%s' missing", what, FIELDS[i].key);
    aa_error sub;
    if (dsp_settings_validate(&s, &sub) != 0)
        return aa_error_set(err, DSP_ERR_SETTINGS, "%s: %s", what, sub.msg);
    *out = s;
    return 0;
}
