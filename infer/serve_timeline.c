/* POST /api/timeline: the events of a long upload, as `aa-infer --timeline --json` prints them for the same
 * bytes (inf_timeline_json over inf_timeline_run_slot: the one timeline code, on the worker's model slot).
 *
 * Limits. The timeline keeps one batch of samples whatever the length, so memory does not bound it; time
 * does: decoding costs per sample decoded, the network per window. An upload is therefore followed up to
 * max_seconds of 48 kHz stereo in samples (as POST /api/classify's budget: a source with more samples a
 * second gets proportionally fewer seconds) and up to max_seconds / INF_SERVE_TIMELINE_HOP windows (a
 * finer hop gets proportionally fewer seconds); the decoding stops where the limit is passed. The body
 * limit, the upload memory and the worker queue are the server's own (infer/serve.c), which also lets only
 * half the workers follow timelines at once.
 *
 * Query parameters: hop and smooth, set through the command line's own option table (inf_option_set), so
 * the ranges and rules are --hop's and --smooth's; anything else, or one given twice, is a 400. They are
 * checked with the headers, before the body is read, and again by the worker (which reads them from the
 * same copy). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer/http_internal.h"
#include "infer/infer.h"

struct inf_timeline_server {
    am_model *m;
    double max_seconds;
    int background; /* class never an event, -1: none */
    int n_slots;
};

/* hop and smooth from the query, or the command line's defaults; 0, or AA_SERVE_ERR_REQUEST with a
 * one-line reason. */
static int parse_query(const aa_serve_query *q, double *hop, int *smooth, aa_error *err)
{
    inf_options o;
    inf_options_default(&o);
    int seen_hop = 0, seen_smooth = 0;
    for (int i = 0; i < q->n; i++) {
        const char *key = q->key[i];
        int *seen = !strcmp(key, "hop") ? &seen_hop : !strcmp(key, "smooth") ? &seen_smooth : NULL;
        char kb[64];
        if (!seen)
            return aa_error_set(err, AA_SERVE_ERR_REQUEST, "unknown query parameter '%s' (known: hop, smooth)",
                                aa_printable_into(key, kb, sizeof kb));
        if (*seen)
            return aa_error_set(err, AA_SERVE_ERR_REQUEST, "query parameter '%s' given twice", key);
        *seen = 1;
        aa_error e = {0};
        if (inf_option_set(&o, key, q->value[i], &e) != 0) /* "--hop: ..." as the query names it: "hop: ..." */
            return aa_error_set(err, AA_SERVE_ERR_REQUEST, "%s", strncmp(e.msg, "--", 2) ? e.msg : e.msg + 2);
    }
    *hop = o.hop;
    *smooth = o.smooth;
    return 0;
}

static int check_query(void *ctx, const aa_serve_query *q, aa_error *err)
{
    (void)ctx;
    double hop;
    int smooth;
    return parse_query(q, &hop, &smooth, err);
}

static int timeline_cb(void *ctx, int slot, const void *audio, size_t n, const char *filename,
                       const aa_serve_query *q, char **json_out, aa_error *err)
{
    inf_timeline_server *t = ctx;
    if (slot < 0 || slot >= t->n_slots)
        return aa_error_set(err, AA_SERVE_ERR_INTERNAL, "worker %d has no model slot", slot);
    double hop;
    int smooth;
    int rc = parse_query(q, &hop, &smooth, err);
    if (rc)
        return rc;
    if (!smooth) /* not asked: the model's stored number, as --timeline's default */
        smooth = am_get_timeline(t->m).smooth;
    if (aa_http_ogg_check(audio, n, filename, err) != 0)
        return err->code;
    double max_s = 0;
    dsp_source src = {0};
    if ((rc = inf_upload_seconds(t->m, t->max_seconds, audio, n, filename, &max_s, &src, err)) != 0)
        return rc;
    int by_hop = hop < INF_SERVE_TIMELINE_HOP && t->max_seconds * hop / INF_SERVE_TIMELINE_HOP < max_s;
    if (by_hop)
        max_s = t->max_seconds * hop / INF_SERVE_TIMELINE_HOP;
    inf_timeline tl;
    rc = inf_timeline_run_slot(t->m, slot, max_s, filename, audio, n, hop, smooth, t->background, &tl, err);
    am_wipe_slot(t->m, slot);
    if (rc == DSP_ERR_TOO_LONG) { /* say which limit, and how to get more */
        char why[160] = "";
        if (by_hop)
            snprintf(why, sizeof why, " at a hop of %g s (%.0f windows; a hop of %g s allows %g s)", hop,
                     t->max_seconds / INF_SERVE_TIMELINE_HOP, INF_SERVE_TIMELINE_HOP, t->max_seconds);
        else if (max_s < t->max_seconds)
            snprintf(why, sizeof why, " of %d channel%s at %d Hz (%g s of 48 kHz stereo)", src.channels,
                     src.channels == 1 ? "" : "s", src.rate, t->max_seconds);
        return aa_error_set(err, rc, "%s: longer than %.1f s%s, the most this server follows as a timeline",
                            filename, max_s, why);
    }
    if (rc)
        return rc;
    char *json = inf_timeline_json(t->m, filename, &tl, smooth, t->background);
    explicit_bzero(tl.probs, tl.n_windows * (size_t)tl.k * sizeof *tl.probs);
    inf_timeline_free(&tl);
    size_t len = json ? strlen(json) : 0;
    char *line = json ? realloc(json, len + 2) : NULL;
    if (!line) {
        free(json);
        return aa_error_set(err, AA_SERVE_ERR_INTERNAL, "out of memory");
    }
    memcpy(line + len, "\n", 2); /* one line of JSON, as every answer */
    *json_out = line;
    return 0;
}

inf_timeline_server *inf_timeline_server_new(am_model *m, double max_seconds, const char *background)
{
    inf_timeline_server *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->m = m;
    t->max_seconds = max_seconds > 0 ? max_seconds : INF_SERVE_TIMELINE_SECONDS;
    t->background = inf_background_class(m, background);
    t->n_slots = am_n_slots(m);
    return t;
}

void inf_timeline_server_free(inf_timeline_server *t)
{
    free(t);
}

void inf_timeline_server_attach(inf_timeline_server *t, aa_serve_handler *h)
{
    h->timeline = timeline_cb;
    h->timeline_query = check_query;
    h->timeline_ctx = t;
}
