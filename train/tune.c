/* aa-train's timeline tuning: the event rule aa-infer --timeline uses, fitted where the trainer's other
 * choices are, on the validation side, never the test side.
 *
 * The mixtures are issue 14's: 30 recordings of 60 s, each a validation background (a background-class
 * recording, or a quiet stretch of at least 1 s of another validation recording) at -50 to -30 dBFS RMS,
 * with 4 events cut from validation recordings by energy (ds_events_find), 8 to 25 dB over it, at least
 * 6 s apart: single events in quiet rooms, which the corpus's own long recordings do not show. The
 * windows are judged by the calibrated model exactly as aa-infer --timeline judges them (hop 0.5 s), and
 * the sweep scores every setting with the overlap rule and a 1 s collar. */
#include <stdlib.h>
#include <unistd.h>

#include "datasets/mixset.h"
#include "model/timeline.h"
#include "train/tune.h"

#define TUNE_HOP_S 0.5
#define TUNE_STREAM 1
/* Fewer events than this on the validation side, or no background, and the sweep would choose on noise. */
#define TUNE_MIN_EVENTS 4

/* The validation side's material: events of target (or of every class but background when target < 0). */
static int material(const tr_data *d, int target, int background, ds_mix_material *mm, aa_error *err)
{
    for (size_t i = 0; i < d->n_rec[DS_VAL]; i++) {
        size_t f = d->rec[DS_VAL][i];
        const float *x = d->cache->signal[f];
        if (!x)
            return aa_error_set(err, AA_ERR_ARG, "timeline tuning: the signal of %s was released",
                                d->cache->files[f].rel);
        int cls = tr_data_rec_class(d, DS_VAL, i);
        int ev = cls >= 0 && cls != background && (target < 0 || cls == target) ? cls : -1;
        if (ds_mix_material_add(mm, x, (size_t)d->cache->files[f].n_samples, d->dsp.sample_rate, ev,
                                cls >= 0 && cls == background, err))
            return err->code;
    }
    return 0;
}

int tr_tune_timeline(am_timeline *out, const tr_data *d, nn_model *net, const am_spec *sp, const tr_options *o,
                     FILE *to, aa_error *err)
{
    *out = (am_timeline){0};
    if (!o->timeline_tune)
        return 0;
    am_model *m = am_borrow(net, sp, err);
    if (!m)
        return err->code;
    int target = am_timeline_target(m), background = am_background_class(m), rc = 0;
    if (target < 0 && am_is_respiratory(m)) {
        if (!o->quiet)
            fprintf(to, "Timeline not tuned: the model has no cough class (aa-infer --timeline keeps the gate's "
                    "rule)\n");
        am_free(m);
        return 0;
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    am_set_threads(m, o->threads > 0 ? o->threads : cpus > 0 ? (int)cpus : 1);
    ds_mix_material *mm = ds_mix_material_new();
    ds_mixset_opts mo;
    ds_mixset_opts_default(&mo);
    mo.seed = o->seed;
    mo.stream = TUNE_STREAM;
    int rate = d->dsp.sample_rate;
    size_t n = ds_mixset_samples(&mo, rate);
    float *x = malloc(n * sizeof *x);
    am_tune_recording *recs = calloc((size_t)mo.count, sizeof *recs);
    float **probs = calloc((size_t)mo.count, sizeof *probs);
    ev_event *ref = malloc((size_t)mo.count * DS_MIX_MAX_EVENTS * sizeof *ref);
    am_tune_sweep *s = malloc(sizeof *s);
    if (!mm || !x || !recs || !probs || !ref || !s)
        rc = aa_error_set(err, AA_ERR_NOMEM, "timeline tuning: out of memory");
    if (!rc)
        rc = material(d, target, background, mm, err);
    const char *what = target >= 0 ? am_class_label(m, target) : "event";
    if (!rc && (ds_mix_material_events(mm) < TUNE_MIN_EVENTS || !ds_mix_material_backgrounds(mm))) {
        if (!o->quiet)
            fprintf(to, "Timeline not tuned: the validation recordings give %zu %s events and %zu backgrounds (at "
                    "least %d and 1 are needed); aa-infer --timeline keeps the gate's rule\n",
                    ds_mix_material_events(mm), what, ds_mix_material_backgrounds(mm), TUNE_MIN_EVENTS);
        goto done;
    }
    size_t n_ref = 0;
    double t0 = aa_now();
    for (int i = 0; !rc && i < mo.count; i++) {
        ds_mixture mx;
        size_t nw = 0;
        if ((rc = ds_mixset_one(mm, rate, &mo, i, x, n, &mx, err)) ||
            (rc = am_timeline_probs(m, 0, x, n, TUNE_HOP_S, &probs[i], &nw, err)))
            break;
        recs[i] = (am_tune_recording){.probs = probs[i], .n_windows = nw, .hop_s = TUNE_HOP_S,
                                      .window_s = (double)dsp_clip_samples(&d->dsp) / rate,
                                      .duration_s = (double)n / rate};
        for (size_t j = 0; j < mx.n_events; j++)
            ref[n_ref++] = (ev_event){.onset = (double)mx.events[j].onset / rate,
                                      .offset = (double)mx.events[j].offset / rate,
                                      .cls = ds_mix_material_event_class(mm, mx.events[j].source), .file = (size_t)i};
    }
    ev_event_opts eo = ev_event_opts_default();
    eo.overlap = 1;
    if (!rc)
        rc = am_tune_run(m, recs, (size_t)mo.count, ref, n_ref, background, target, o->timeline_fa_budget, &eo, s,
                         err);
    if (!rc) {
        const am_tune_row *c = &s->rows[s->chosen], *b = &s->rows[s->baseline];
        *out = c->setting;
        out->tuned = 1;
        if (!o->quiet) {
            char th[32];
            if (c->setting.threshold == AM_TIMELINE_GATE)
                snprintf(th, sizeof th, "the gate's rule");
            else
                snprintf(th, sizeof th, "threshold %.2f", c->setting.threshold);
            fprintf(to, "Timeline tuned on %d validation mixtures (%zu %s events, %.0f min; %.1f s): %s, smooth %d, "
                    "min duration %g s: %zu found, %.1f false alarms per 10 min (budget %g%s; the default rule: %zu "
                    "found, %.1f)\n",
                    mo.count, c->reference, what, s->duration_s / 60, aa_now() - t0, th, c->setting.smooth,
                    c->setting.min_duration_s, c->hits, c->fa_per_10min, o->timeline_fa_budget,
                    s->within_budget ? "" : ", not met", b->hits, b->fa_per_10min);
        }
    }
done:
    for (int i = 0; probs && i < mo.count; i++)
        free(probs[i]);
    free(probs);
    free(recs);
    free(ref);
    free(s);
    free(x);
    ds_mix_material_free(mm);
    am_free(m);
    return rc;
}
