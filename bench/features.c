/* Front-end throughput: decode + resample + crop + log-mel, clips per second over a folder of recordings,
 * on one thread and on every core (OpenMP over files, one log-mel thread slot per OpenMP thread), and where
 * one thread's time goes.
 *
 *   features [--threads N] [--repeat R] [--resampler NAME] [--no-warmup] DIR    measure (JSON line last)
 *   features --make-corpus DIR COUNT SEED [RATES]                  write COUNT test recordings into DIR
 *
 * The file list is the peers' (peer_common.find_audio): .wav .flac .ogg .mp3 under DIR, sorted. Timings
 * are medians of R passes after one warm-up pass (which also fills the page cache, as the peer's would). */
#include <dirent.h>
#include <fftw3.h>
#include <math.h>
#include <omp.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "dsp/dsp.h"
#include "util/util.h"

/* ---- file list ---------------------------------------------------------------------------------------- */

typedef struct {
    char **v;
    size_t n, cap;
} list;

static int is_audio(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".wav") || !strcasecmp(dot, ".flac") || !strcasecmp(dot, ".ogg") ||
                   !strcasecmp(dot, ".mp3"));
}

static void walk(const char *dir, list *l)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        size_t n = strlen(dir) + strlen(e->d_name) + 2;
        char *p = malloc(n);
        snprintf(p, n, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            walk(p, l);
            free(p);
        } else if (is_audio(e->d_name)) {
            if (l->n == l->cap) {
                l->cap = l->cap ? 2 * l->cap : 256;
                l->v = realloc(l->v, sizeof(char *) * l->cap);
            }
            l->v[l->n++] = p;
        } else {
            free(p);
        }
    }
    closedir(d);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- the pipeline ------------------------------------------------------------------------------------- */

typedef struct {
    double load, clip, power, db; /* seconds, summed over files */
    double audio_s;               /* seconds of audio decoded */
} stage_times;

/* One recording through the whole front end; returns 0 or the dsp status. clip: [len], mel: [64 x 401]. */
static int one_file(const char *path, const dsp_settings *s, dsp_logmel *m, int slot, float *clip, float *mel,
                    stage_times *t)
{
    aa_error err;
    dsp_audio a;
    double t0 = aa_now();
    int e = dsp_load(path, s, 0, &a, &err);
    if (e) {
        fprintf(stderr, "features: %s\n", err.msg);
        return e;
    }
    double t1 = aa_now();
    size_t len = dsp_clip_samples(s);
    dsp_clip(s, a.samples, a.n, clip, NULL);
    double t2 = aa_now();
    e = dsp_logmel_power(m, slot, clip, len, mel, &err);
    double t3 = aa_now();
    dsp_power_to_db(s, mel, dsp_logmel_size(m, len));
    double t4 = aa_now();
    if (t) {
        t->load += t1 - t0, t->clip += t2 - t1, t->power += t3 - t2, t->db += t4 - t3;
        t->audio_s += a.src.duration;
    }
    dsp_audio_free(&a);
    return e;
}

/* Seconds for one pass over every file with nt threads. */
static double pass(const list *files, const dsp_settings *s, dsp_logmel *m, int nt, stage_times *t, int *bad)
{
    size_t len = dsp_clip_samples(s), msz = dsp_logmel_size(m, len);
    int failures = 0;
    double t0 = aa_now();
#pragma omp parallel num_threads(nt) reduction(+ : failures)
    {
        int slot = omp_get_thread_num();
        float *clip = malloc(sizeof(float) * len), *mel = malloc(sizeof(float) * msz);
#pragma omp for schedule(dynamic, 1)
        for (size_t i = 0; i < files->n; i++)
            failures += one_file(files->v[i], s, m, slot, clip, mel, nt == 1 ? t : NULL) != 0;
        free(clip);
        free(mel);
    }
    *bad = failures;
    return aa_now() - t0;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_dbl);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Decoding alone (libsndfile to float, the chunk size dsp/load.c uses), to split the load time. */
static double decode_only(const list *files)
{
    float *buf = malloc(sizeof(float) * 4096 * 8);
    double t0 = aa_now();
    for (size_t i = 0; i < files->n; i++) {
        SF_INFO info = {0};
        SNDFILE *f = sf_open(files->v[i], SFM_READ, &info);
        if (!f)
            continue;
        while (sf_readf_float(f, buf, 4096) > 0)
        {
        }
        sf_close(f);
    }
    double t = aa_now() - t0;
    free(buf);
    return t;
}

/* The FFTs alone, as dsp/logmel.c makes them: one complex split-format transform per pair of frames. */
static double fft_only(const dsp_settings *s, size_t clips)
{
    size_t bytes = sizeof(float) * (size_t)s->n_fft;
    float *re = fftwf_malloc(bytes), *im = fftwf_malloc(bytes), *zr = fftwf_malloc(bytes), *zi = fftwf_malloc(bytes);
    fftwf_iodim dim = {.n = s->n_fft, .is = 1, .os = 1};
    fftwf_plan p = fftwf_plan_guru_split_dft(1, &dim, 0, NULL, re, im, zr, zi, FFTW_ESTIMATE);
    for (int i = 0; i < s->n_fft; i++)
        re[i] = (float)sin(0.1 * i), im[i] = (float)cos(0.3 * i);
    size_t pairs = (dsp_clip_frames(s) + 1) / 2 * clips;
    double t0 = aa_now();
    for (size_t i = 0; i < pairs; i++)
        fftwf_execute_split_dft(p, re, im, zr, zi);
    double t = aa_now() - t0;
    fftwf_destroy_plan(p);
    fftwf_free(re);
    fftwf_free(im);
    fftwf_free(zr);
    fftwf_free(zi);
    return t;
}

/* ---- a generated corpus ------------------------------------------------------------------------------- */

/* COUNT WAV files, 16-bit, 4-6 s, rates drawn from RATES (default 8000,16000,22050,44100,48000), one or two
 * channels; each a quiet noise floor with two or three louder events (tones, noise bursts) placed at
 * random, so the loudest-window crop has something to find. Deterministic for a given seed. */
static int make_corpus(const char *dir, int count, uint64_t seed, const char *rates_arg)
{
    int rates[16], nr = 0;
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", rates_arg ? rates_arg : "8000,16000,22050,44100,48000");
    for (char *tok = strtok(tmp, ","); tok && nr < 16; tok = strtok(NULL, ","))
        rates[nr++] = atoi(tok);
    mkdir(dir, 0755);
    for (int k = 0; k < count; k++) {
        aa_rng r;
        aa_rng_seed3(&r, seed, 0, (uint64_t)k);
        int rate = rates[aa_rng_below(&r, (uint64_t)nr)], ch = 1 + (int)aa_rng_below(&r, 2);
        size_t frames = (size_t)((4.0 + 2.0 * aa_rng_uniform_d(&r)) * rate);
        float *x = malloc(sizeof(float) * frames * (size_t)ch);
        for (size_t i = 0; i < frames * (size_t)ch; i++)
            x[i] = 0.003f * (float)aa_rng_normal(&r);
        int events = 2 + (int)aa_rng_below(&r, 2);
        for (int e = 0; e < events; e++) {
            size_t len = (size_t)((0.2 + 0.6 * aa_rng_uniform_d(&r)) * rate);
            size_t at = (size_t)aa_rng_below(&r, frames - len);
            double f = 150 + 3000 * aa_rng_uniform_d(&r), amp = 0.05 + 0.4 * aa_rng_uniform_d(&r);
            int tone = aa_rng_below(&r, 2) == 0;
            for (size_t i = 0; i < len; i++) {
                double env = sin(M_PI * (double)i / (double)len);
                double v = tone ? sin(2 * M_PI * f * (double)i / rate) : aa_rng_normal(&r) * 0.5;
                for (int c = 0; c < ch; c++)
                    x[(at + i) * (size_t)ch + (size_t)c] += (float)(amp * env * v);
            }
        }
        char path[1024];
        snprintf(path, sizeof path, "%s/gen_%04d_%dHz_%dch.wav", dir, k, rate, ch);
        SF_INFO info = {.samplerate = rate, .channels = ch, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
        SNDFILE *f = sf_open(path, SFM_WRITE, &info);
        if (!f) {
            fprintf(stderr, "features: cannot write %s: %s\n", path, sf_strerror(NULL));
            free(x);
            return 1;
        }
        sf_command(f, SFC_SET_CLIPPING, NULL, SF_TRUE);
        sf_writef_float(f, x, (sf_count_t)frames);
        sf_close(f);
        free(x);
    }
    return 0;
}

/* ---- main --------------------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    if (argc >= 5 && !strcmp(argv[1], "--make-corpus"))
        return make_corpus(argv[2], atoi(argv[3]), strtoull(argv[4], NULL, 10), argc > 5 ? argv[5] : NULL);
    int threads = omp_get_num_procs(), repeat = 3, warmup = 1;
    const char *dir = NULL;
    dsp_settings s = dsp_settings_default();
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-warmup"))
            warmup = 0;
        else if (!strcmp(argv[i], "--resampler") && i + 1 < argc) {
            const char *names[] = {"soxr_hq", "soxr_vhq", "soxr_mq", "soxr_lq", "soxr_qq"};
            int k = 0;
            while (k < 5 && strcmp(argv[i + 1], names[k]))
                k++;
            if (k == 5) {
                fprintf(stderr, "features: unknown resampler '%s'\n", argv[i + 1]);
                return 2;
            }
            s.resampler = (dsp_resampler)k;
            i++;
        } else if (argv[i][0] != '-' && !dir)
            dir = argv[i];
        else {
            fprintf(stderr, "usage: features [--threads N] [--repeat R] [--resampler NAME] [--no-warmup] DIR\n"
                            "       features --make-corpus DIR COUNT SEED [RATES]\n");
            return 2;
        }
    }
    if (!dir || threads < 1 || repeat < 1 || repeat > 99) {
        fprintf(stderr, "usage: features [--threads N] [--repeat R] [--resampler NAME] [--no-warmup] DIR\n");
        return 2;
    }
    list files = {0};
    walk(dir, &files);
    if (files.n == 0) {
        fprintf(stderr, "features: no audio files under %s\n", dir);
        return 1;
    }
    qsort(files.v, files.n, sizeof(char *), cmp_str);
    aa_error err;
    dsp_logmel *m = dsp_logmel_new(&s, threads, &err);
    if (!m) {
        fprintf(stderr, "features: %s\n", err.msg);
        return 1;
    }
    int bad;
    stage_times warm = {0};
    if (warmup)
        pass(&files, &s, m, 1, &warm, &bad); /* page cache, FFTW, allocator */
    else
        bad = 0;
    if (bad)
        fprintf(stderr, "features: %d of %zu files failed and are counted as done\n", bad, files.n);

    double t1[99], tn[99];
    stage_times st = {0};
    /* 1-thread and all-core passes alternate, so a change in the machine's load hits both alike. */
    for (int r = 0; r < repeat; r++) {
        stage_times one = {0};
        t1[r] = pass(&files, &s, m, 1, &one, &bad);
        if (r == 0)
            st = one;
        tn[r] = threads > 1 ? pass(&files, &s, m, threads, NULL, &bad) : t1[r];
    }
    double m1 = median(t1, repeat), mn = median(tn, repeat);
    double n = (double)files.n;
    double dec = decode_only(&files), fft = fft_only(&s, files.n);
    double ms = 1e3 / n;
    double resample = st.load - dec > 0 ? st.load - dec : 0, mel = st.power - fft > 0 ? st.power - fft : 0;
    const char *rs[] = {"soxr_hq", "soxr_vhq", "soxr_mq", "soxr_lq", "soxr_qq"};
    printf("ours (%s), %zu files, %.1f s of audio:\n", rs[s.resampler], files.n, st.audio_s);
    printf("  1 thread : %8.1f clips/s  (%.3f ms/clip, median of %d)\n", n / m1, 1e3 * m1 / n, repeat);
    printf("  %d threads: %8.1f clips/s  (%.2fx one thread)\n", threads, n / mn, m1 / mn);
    printf("  one thread's time per clip: decode %.3f + resample/mix %.3f + crop %.3f + FFT %.3f + window/power/mel"
           " %.3f + log %.3f ms\n",
           dec * ms, resample * ms, st.clip * ms, fft * ms, mel * ms, st.db * ms);
    printf("{\"bench\":\"features\",\"lib\":\"audioaudit\",\"resampler\":\"%s\",\"files\":%zu,\"audio_s\":%.2f,"
           "\"threads\":%d,\"clips_per_s_1t\":%.2f,\"clips_per_s_nt\":%.2f,\"ms_per_clip_1t\":%.4f,"
           "\"decode_ms\":%.4f,\"resample_mix_ms\":%.4f,\"crop_ms\":%.4f,\"fft_ms\":%.4f,\"mel_ms\":%.4f,"
           "\"log_ms\":%.4f,\"failed\":%d}\n",
           rs[s.resampler], files.n, st.audio_s, threads, n / m1, n / mn, 1e3 * m1 / n, dec * ms, resample * ms,
           st.clip * ms, fft * ms, mel * ms, st.db * ms, bad);
    dsp_logmel_free(m);
    for (size_t i = 0; i < files.n; i++)
        free(files.v[i]);
    free(files.v);
    return 0;
}
