/* Timelines of long recordings: aa-infer --timeline's own code (infer/timeline.c), on the whole model. */
#include <stdlib.h>
#include <string.h>

#include "infer/infer.h"
#include "lib/lib_internal.h"

/* aa-infer's defaults and limits for --hop and --smooth. */
#define HOP_DEFAULT 0.5
#define HOP_MIN 0.01
#define HOP_MAX 3600.0
#define SMOOTH_DEFAULT AM_TIMELINE_SMOOTH
#define SMOOTH_MAX 101
#define BACKGROUND_DEFAULT "background_noise"

struct audioaudit_timeline {
    inf_timeline t;
};

static int background_of(const audioaudit_model *m, const char *name, int *out, audioaudit_error *err)
{
    *out = -1;
    if (name && !*name)
        return 0;
    const char *want = name ? name : BACKGROUND_DEFAULT;
    for (int c = 0; c < am_n_classes(m->am); c++)
        if (!strcmp(am_class_name(m->am, c), want) || !strcmp(am_class_label(m->am, c), want)) {
            *out = c;
            return 0;
        }
    if (name)
        return aul_error_set(err, AUDIOAUDIT_ERR_ARG, "background: no class called '%s' in this model", name);
    return 0;
}

static audioaudit_timeline *run(audioaudit_model *m, const char *path, const void *data, size_t size, double hop_s,
                                int smooth, const char *background, audioaudit_error *err)
{
    if (hop_s <= 0)
        hop_s = HOP_DEFAULT;
    if (smooth <= 0) /* the model's stored number (aa-train tunes it), else SMOOTH_DEFAULT */
        smooth = am_get_timeline(m->am).smooth;
    if (!(hop_s >= HOP_MIN && hop_s <= HOP_MAX))
        return aul_error_set(err, AUDIOAUDIT_ERR_ARG, "hop %g s out of range (%g..%g)", hop_s, HOP_MIN, HOP_MAX),
               NULL;
    if (smooth > SMOOTH_MAX || smooth % 2 == 0)
        return aul_error_set(err, AUDIOAUDIT_ERR_ARG, "smooth %d: an odd count from 1 to %d", smooth, SMOOTH_MAX),
               NULL;
    int bg;
    if (background_of(m, background, &bg, err))
        return NULL;
    audioaudit_timeline *t = calloc(1, sizeof *t);
    if (!t)
        return aul_error_set(err, AUDIOAUDIT_ERR_NOMEM, "out of memory"), NULL;
    aa_error e = {0};
    /* The timeline runs its windows' log-mels on as many threads as the model has workers and sets the
     * networks' threads to match, which no classify call may see: it holds every worker. */
    aul_take_all(m);
    int rc = inf_timeline_run(m->am, path, data, size, hop_s, smooth, bg, m->workers, &t->t, &e);
    am_set_threads(m->am, 1);
    if (data)
        for (int s = 0; s < m->workers; s++)
            am_wipe_slot(m->am, s);
    aul_give_all(m);
    if (rc) {
        free(t);
        aul_error_from(err, &e, AUL_AUDIO);
        return NULL;
    }
    aul_error_clear(err);
    return t;
}

audioaudit_timeline *audioaudit_timeline_file(audioaudit_model *m, const char *path, double hop_s, int smooth,
                                              const char *background, audioaudit_error *err)
{
    if (!m || !path)
        return aul_error_set(err, AUDIOAUDIT_ERR_ARG, "%s is NULL", m ? "path" : "model"), NULL;
    return run(m, path, NULL, 0, hop_s, smooth, background, err);
}

audioaudit_timeline *audioaudit_timeline_pcm(audioaudit_model *m, const float *pcm, size_t frames, int rate,
                                             int channels, double hop_s, int smooth, const char *background,
                                             audioaudit_error *err)
{
    if (!m)
        return aul_error_set(err, AUDIOAUDIT_ERR_ARG, "model is NULL"), NULL;
    size_t size = 0;
    unsigned char *wav = aul_pcm_wav(pcm, frames, rate, channels, &size, err);
    if (!wav)
        return NULL;
    audioaudit_timeline *t = run(m, "samples", wav, size, hop_s, smooth, background, err);
    explicit_bzero(wav, size);
    free(wav);
    return t;
}

void audioaudit_timeline_free(audioaudit_timeline *t)
{
    if (!t)
        return;
    inf_timeline_free(&t->t);
    free(t);
}

size_t audioaudit_timeline_windows(const audioaudit_timeline *t) { return t ? t->t.n_windows : 0; }
int audioaudit_timeline_n_classes(const audioaudit_timeline *t) { return t ? t->t.k : -1; }
double audioaudit_timeline_hop(const audioaudit_timeline *t) { return t ? t->t.hop_s : -1; }
double audioaudit_timeline_window_seconds(const audioaudit_timeline *t) { return t ? t->t.window_s : -1; }
double audioaudit_timeline_duration(const audioaudit_timeline *t) { return t ? t->t.duration_s : -1; }
const float *audioaudit_timeline_probabilities(const audioaudit_timeline *t) { return t ? t->t.probs : NULL; }
size_t audioaudit_timeline_n_events(const audioaudit_timeline *t) { return t ? t->t.n_events : 0; }

int audioaudit_timeline_event(const audioaudit_timeline *t, size_t i, double *start, double *end, int *cls,
                              double *confidence)
{
    if (!t || i >= t->t.n_events)
        return AUDIOAUDIT_ERR_ARG;
    const inf_event *ev = &t->t.events[i];
    if (start)
        *start = ev->start;
    if (end)
        *end = ev->end;
    if (cls)
        *cls = ev->cls;
    if (confidence)
        *confidence = ev->peak;
    return AUDIOAUDIT_OK;
}
