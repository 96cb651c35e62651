/* The clip length and the front end a corpus asks for, from its files' headers. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>

#include "datasets/datasets.h"
#include "dsp/dsp.h"
#include "train/clip.h"

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Why the 90th percentile: nine recordings in ten then fit whole in one clip (nothing of them is cut away,
 * and each is judged as one window), while the few long outliers of a corpus of short clips (FSDD's
 * recordings are 0.42 s at the median, 2.3 s at the longest) do not make every clip mostly padding.
 * Why 0.25 s at least: fewer than about 25 frames leave the network's pooling next to nothing in time, and a
 * word or a click needs its onset and decay. Why 4 s at most: it is the length the default network,
 * augmentation and gate were chosen at on the respiratory corpus (whose recordings are mostly longer, so
 * it keeps exactly today's front end); a longer recording is already cut into several windows that the
 * aggregation policy combines, and a longer clip would only cost time and memory per window. */
double tr_clip_from_durations(double *durations, size_t n, double *percentile)
{
    if (percentile)
        *percentile = 0;
    if (!n)
        return TR_CLIP_MAX_S;
    qsort(durations, n, sizeof *durations, by_value);
    size_t rank = (size_t)ceil(TR_CLIP_PERCENTILE * (double)n); /* nearest rank, 1-based */
    double p = durations[(rank ? rank : 1) - 1];
    if (percentile)
        *percentile = p;
    /* 10 ms steps: a value the log and --clip-seconds can repeat exactly; the small margin keeps a
     * duration already on the grid (0.61 from a header's 4880 samples at 8 kHz) from rounding up a step. */
    double c = ceil(p * 100 - 1e-6) / 100;
    return c < TR_CLIP_MIN_S ? TR_CLIP_MIN_S : c > TR_CLIP_MAX_S ? TR_CLIP_MAX_S : c;
}

int tr_clip_is_narrow_band(const int *rates, size_t n)
{
    if (!n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (rates[i] <= 0 || rates[i] > TR_NARROW_MAX_RATE)
            return 0;
    return 1;
}

/* Durations and rates [n_items] from the headers (rate 0 where a header could not be read), in parallel:
 * a corpus of thousands of short clips is as many file opens. */
static void probe(const ds_list *l, const dsp_settings *s, int threads, double *dur, int *rate)
{
    int nt = threads > 0 ? threads : omp_get_max_threads();
#pragma omp parallel for schedule(dynamic, 16) num_threads(nt)
    for (size_t i = 0; i < l->n_items; i++) {
        aa_error e;
        dsp_reader *r = dsp_reader_open(l->items[i].path, s, &e);
        dur[i] = 0;
        rate[i] = 0;
        if (r) {
            const dsp_source *src = dsp_reader_source(r);
            if (src->rate > 0 && src->frames > 0) {
                rate[i] = src->rate;
                dur[i] = (double)src->frames / src->rate;
            }
            dsp_reader_close(r);
        }
    }
}

int tr_clip_derive(tr_options *o, tr_clip_choice *out, aa_error *err)
{
    aa_error_clear(err);
    *out = (tr_clip_choice){.clip_seconds = o->dsp.clip_seconds};
    if (o->given.clip_seconds && o->given.front_end)
        return 0; /* nothing left to derive: the headers need not be read */
    ds_list_opts lo = {.classes = o->classes, .group_regex = o->group_regex, .manifest = o->manifest};
    ds_list *l = NULL;
    aa_error e;
    if (!o->data_dir || ds_list_load(&l, o->data_dir, &lo, &e))
        return 0; /* tr_data_load lists again and says what is wrong */
    size_t n = l->n_items;
    double *dur = malloc((n ? n : 1) * sizeof *dur);
    int *rate = malloc((n ? n : 1) * sizeof *rate);
    if (!dur || !rate) {
        free(dur), free(rate), ds_list_free(l);
        return aa_error_set(err, AA_ERR_NOMEM, "out of memory");
    }
    probe(l, &o->dsp, o->threads, dur, rate);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (rate[i]) {
            dur[k] = dur[i], rate[k] = rate[i], k++;
            out->max_rate = rate[k - 1] > out->max_rate ? rate[k - 1] : out->max_rate;
        }
    out->n_files = n;
    out->n_probed = k;
    int narrow = tr_clip_is_narrow_band(rate, k);
    double clip = tr_clip_from_durations(dur, k, &out->percentile_s);
    free(dur), free(rate), ds_list_free(l);
    if (!k)
        return 0;
    if (!o->given.clip_seconds) {
        o->dsp.clip_seconds = clip;
        out->clip_derived = 1;
        /* Recordings longer than a short clip are judged on windows hop apart: a hop longer than the clip
         * would judge them with gaps, so it is half a clip then (as the training windows' hop is). */
        if (!o->given.aggregate && o->aggregate.hop_s > clip / 2)
            o->aggregate.hop_s = clip / 2;
    }
    /* A front end at 16 kHz with 64 mels spends its upper half on nothing in a corpus recorded at 8 kHz:
     * 40 mels up to 4 kHz, with a 32 ms FFT and 10 ms hop (the default's time resolution), measured on
     * a validation speaker of the spoken-digit corpus (README, "Spoken digits and words"). */
    if (!o->given.front_end && narrow) {
        o->dsp.sample_rate = TR_NARROW_RATE;
        o->dsp.n_mels = TR_NARROW_N_MELS;
        o->dsp.n_fft = TR_NARROW_N_FFT;
        o->dsp.hop_length = TR_NARROW_HOP;
        out->narrow_band = 1;
    }
    out->clip_seconds = o->dsp.clip_seconds;
    if (!out->clip_derived && !out->narrow_band)
        return 0;
    return tr_options_rederive(o, err);
}

void tr_clip_print(const tr_clip_choice *c, const tr_options *o, FILE *to)
{
    if (c->clip_derived)
        fprintf(to, "Clip length %g s: the %.0fth percentile of %zu recordings' durations is %.3f s (kept within "
                "%g-%g s; --clip-seconds sets it)\n", c->clip_seconds, TR_CLIP_PERCENTILE * 100, c->n_probed,
                c->percentile_s, TR_CLIP_MIN_S, TR_CLIP_MAX_S);
    if (c->narrow_band)
        fprintf(to, "Front end for narrow-band recordings (every one at %d Hz or less): %d Hz, %d mels, n_fft %d, "
                "hop %d (any front-end option sets it)\n", c->max_rate, o->dsp.sample_rate, o->dsp.n_mels,
                o->dsp.n_fft, o->dsp.hop_length);
}
