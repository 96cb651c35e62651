/* aa-infer --mel: the front end on its own, so users and tests can see what the model is given. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/dsp.h"
#include "infer/mel_cmd.h"
#include "model/model.h"
#include "util/util.h"

/* Standard input is read whole into memory; a recording over this is refused rather than swapped. */
#define STDIN_MAX ((size_t)1 << 30)

static void mel_usage(FILE *to)
{
    /* The defaults quoted are the front end's own, so the help cannot go stale. */
    dsp_settings d = dsp_settings_default();
    fprintf(to,
            "Usage: aa-infer --mel CLIP -o OUT.f32 [-m MODEL]\n"
            "Write the log-mel spectrogram a model sees for CLIP: decoded, mixed to mono, resampled, cut to\n"
            "one clip (shorter recordings zero-padded at the end), mel bands in dB. With -m, exactly as MODEL\n"
            "hears it (the front-end settings it was trained with); without, with the default front end:\n"
            "%d Hz, %g s clips, %d Slaney mels up to %g Hz, dB floored at max - %g.\n"
            "OUT holds row-major little-endian float32 [n_mels][n_frames]; the shape is printed on stdout.\n"
            "\n"
            "  --mel CLIP     the recording (any format libsndfile reads; '-' reads standard input)\n"
            "  -m MODEL       use MODEL's front end (its sample rate, clip length, mels, FFT, ...)\n"
            "  -o OUT.f32     the output file, written atomically (a device or FIFO is written through;\n"
            "                 '-' writes standard output and prints the shape on standard error)\n"
            "  -h, --help     show this help and exit\n"
            "\n"
            "Exit status: 0 success, 1 runtime error, 2 usage error.\n",
            d.sample_rate, d.clip_seconds, d.n_mels, d.fmax, d.top_db);
}

static unsigned char *read_stdin(size_t *size, aa_error *err)
{
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, stdin);
        if (n < cap)
            break;
        if (cap >= STDIN_MAX) {
            free(buf);
            aa_error_set(err, DSP_ERR_TOO_LONG, "stdin: over %zu MB", STDIN_MAX >> 20);
            return NULL;
        }
        unsigned char *nb = realloc(buf, cap * 2);
        if (!nb)
            free(buf);
        buf = nb;
        cap *= 2;
    }
    if (!buf) {
        aa_error_set(err, DSP_ERR_NOMEM, "stdin: out of memory");
        return NULL;
    }
    if (ferror(stdin)) {
        free(buf);
        aa_error_set(err, DSP_ERR_IO, "stdin: read error (%s)", strerror(errno));
        return NULL;
    }
    *size = n;
    return buf;
}

/* Computes the log-mel of one recording into *mel (caller frees); fills the shape. */
static int clip_logmel(const char *clip, const dsp_settings *s, float **mel, size_t *n_mels, size_t *n_frames,
                       aa_error *err)
{
    dsp_audio a;
    int e;
    if (!strcmp(clip, "-")) {
        size_t size = 0;
        unsigned char *data = read_stdin(&size, err);
        if (!data)
            return err->code;
        e = dsp_load_memory(data, size, "stdin", s, 0, &a, err);
        free(data);
    } else {
        e = dsp_load(clip, s, 0, &a, err);
    }
    if (e)
        return e;
    size_t len = dsp_clip_samples(s);
    dsp_logmel *lm = dsp_logmel_new(s, 1, err);
    float *out = lm ? malloc(sizeof(float) * dsp_logmel_size(lm, len)) : NULL;
    if (!out) {
        if (lm) /* otherwise dsp_logmel_new said why */
            aa_error_set(err, DSP_ERR_NOMEM, "%s: out of memory", clip);
        e = err->code;
    } else {
        /* the window the model's crop policy keeps, cut as every window is (dsp_windows_logmel) */
        size_t at = dsp_crop_offset(a.samples, a.n, len, s->crop);
        e = dsp_windows_logmel(lm, 0, a.samples, a.n, &at, 1, out, err);
    }
    dsp_logmel_free(lm);
    dsp_audio_free(&a);
    if (e) {
        free(out);
        return e;
    }
    *mel = out;
    *n_mels = (size_t)s->n_mels;
    *n_frames = dsp_clip_frames(s);
    return 0;
}

static int write_f32(const char *path, const float *v, size_t n, aa_error *err)
{
    unsigned char *bytes = malloc(n * 4);
    if (!bytes)
        return aa_error_set(err, AA_ERR_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < n; i++)
        aa_put_f32(bytes + 4 * i, v[i]);
    /* a file atomically, a device or pipe through, '-' standard output (util's aa_afile) */
    int e = aa_write_output(path, bytes, n * 4, err);
    free(bytes);
    return e;
}

int aa_cmd_mel(int argc, char **argv)
{
    const char *clip = NULL, *out = NULL, *model = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            mel_usage(stdout);
            return 0;
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int is_model = !strcmp(a, "-m") || !strcmp(a, "--model");
        if ((!strcmp(a, "--mel") || !strcmp(a, "-o") || is_model) && i + 1 >= argc) {
            fprintf(stderr, "aa-infer: %s needs a value (see --mel --help)\n", a);
            return 2;
        }
        if (!strcmp(a, "--mel") && !clip) {
            clip = argv[++i];
        } else if (!strcmp(a, "-o") && !out) {
            out = argv[++i];
        } else if (is_model && !model) {
            model = argv[++i];
        } else {
            fprintf(stderr, "aa-infer: unexpected argument '%s' with --mel (see --mel --help)\n", a);
            return 2;
        }
    }
    if (!clip || !out) {
        fprintf(stderr, "aa-infer: --mel needs CLIP and -o OUT.f32 (see --mel --help)\n");
        return 2;
    }
    /* Writing the recording over itself would destroy it before it is read. */
    if (strcmp(clip, "-") && aa_path_same(clip, out)) {
        fprintf(stderr, "aa-infer: -o %s is the same file as --mel %s\n", out, clip);
        return 2;
    }
    dsp_settings s = dsp_settings_default();
    aa_error err;
    if (model) {
        /* The whole file is read and checked as inference reads it: a model it would refuse is refused. */
        am_model *m = am_load(model, 1, &err);
        if (!m) {
            fprintf(stderr, "aa-infer: %s\n", err.msg);
            return 1;
        }
        s = *am_dsp(m);
        am_free(m);
    }
    float *mel = NULL;
    size_t n_mels = 0, n_frames = 0;
    if (clip_logmel(clip, &s, &mel, &n_mels, &n_frames, &err) != 0 ||
        write_f32(out, mel, n_mels * n_frames, &err) != 0) {
        free(mel);
        fprintf(stderr, "aa-infer: %s\n", err.msg);
        return 1;
    }
    free(mel);
    fprintf(strcmp(out, "-") ? stdout : stderr, "%s: %zu x %zu (n_mels x n_frames) float32 log-mel of %s\n",
            out, n_mels, n_frames, clip);
    return 0;
}
