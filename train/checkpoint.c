/* Checkpoints of a training run. Numbers that reach the model file (the best score, the history behind the
 * training summary) are stored as text with 17 significant digits, so they read back to the same doubles
 * and a resumed run writes the same bytes as an uninterrupted one. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/checkpoint.h"

#define KEY_FINGERPRINT "tr.options"
#define KEY_EPOCHS "tr.epochs_done"
#define KEY_BEST_EPOCH "tr.best_epoch"
#define KEY_BEST_F1 "tr.best_f1"
#define KEY_BEST_LOSS "tr.best_loss"
#define KEY_BAD "tr.bad_epochs"
#define KEY_FINISHED "tr.finished"
#define KEY_HISTORY "tr.history"
#define T_BEST_PARAMS "tr.best_params"
#define T_BEST_STATS "tr.best_stats"
#define T_EMA_PARAMS "tr.ema_params"
#define T_EMA_STATS "tr.ema_stats"

int tr_state_init(tr_state *s, nn_model *net, int max_epochs, int ema, aa_error *err)
{
    memset(s, 0, sizeof *s);
    nn_model_info info = nn_model_get_info(net);
    s->n_params = info.n_params;
    s->n_stats = info.n_stats;
    s->best_f1 = -1;
    s->best_loss = 1e300; /* "no loss yet", a finite number so that the metadata stores it as any other */
    s->cap_history = max_epochs > 0 ? max_epochs : 1;
    s->best_params = malloc((s->n_params ? s->n_params : 1) * sizeof *s->best_params);
    s->best_stats = s->n_stats ? malloc(s->n_stats * sizeof *s->best_stats) : NULL;
    s->history = calloc((size_t)s->cap_history, sizeof *s->history);
    int ok = s->best_params && (!s->n_stats || s->best_stats) && s->history;
    if (ok && ema) {
        s->ema_params = malloc((s->n_params ? s->n_params : 1) * sizeof *s->ema_params);
        s->ema_stats = s->n_stats ? malloc(s->n_stats * sizeof *s->ema_stats) : NULL;
        ok = s->ema_params && (!s->n_stats || s->ema_stats);
    }
    if (!ok) {
        tr_state_free(s);
        return aa_error_set(err, AA_ERR_NOMEM, "out of memory for the training state");
    }
    tr_state_keep_best(s, net);
    if (ema) {
        memcpy(s->ema_params, nn_params(net), s->n_params * sizeof *s->ema_params);
        if (s->n_stats)
            memcpy(s->ema_stats, nn_stats(net), s->n_stats * sizeof *s->ema_stats);
    }
    return 0;
}

void tr_state_free(tr_state *s)
{
    if (!s)
        return;
    free(s->best_params);
    free(s->best_stats);
    free(s->ema_params);
    free(s->ema_stats);
    free(s->history);
    memset(s, 0, sizeof *s);
}

void tr_state_keep_best(tr_state *s, nn_model *net)
{
    memcpy(s->best_params, nn_params(net), s->n_params * sizeof *s->best_params);
    if (s->n_stats)
        memcpy(s->best_stats, nn_stats(net), s->n_stats * sizeof *s->best_stats);
}

void tr_state_restore_best(const tr_state *s, nn_model *net)
{
    memcpy(nn_params(net), s->best_params, s->n_params * sizeof *s->best_params);
    if (s->n_stats)
        memcpy(nn_stats(net), s->best_stats, s->n_stats * sizeof *s->best_stats);
}

static void ema_mix(float *avg, const float *cur, size_t n, float d)
{
    for (size_t i = 0; i < n; i++)
        avg[i] = d * avg[i] + (1 - d) * cur[i];
}

void tr_state_ema_update(tr_state *s, nn_model *net, double decay, uint64_t step)
{
    if (!s->ema_params)
        return;
    double warm = (1.0 + (double)step) / (10.0 + (double)step);
    float d = (float)(decay < warm ? decay : warm);
    ema_mix(s->ema_params, nn_params(net), s->n_params, d);
    if (s->n_stats)
        ema_mix(s->ema_stats, nn_stats(net), s->n_stats, d);
}

static void swap(float *a, float *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float t = a[i];
        a[i] = b[i];
        b[i] = t;
    }
}

void tr_state_ema_swap(tr_state *s, nn_model *net)
{
    if (!s->ema_params)
        return;
    swap(s->ema_params, nn_params(net), s->n_params);
    if (s->n_stats)
        swap(s->ema_stats, nn_stats(net), s->n_stats);
}

/* One line per epoch: epoch lr train_loss train_acc val_loss val_acc val_f1 val_rec_acc val_rec_f1 seconds
 * best. */
static char *history_text(const tr_state *s)
{
    char *t = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&t, &n);
    if (!f)
        return NULL;
    for (int i = 0; i < s->n_history; i++) {
        const tr_epoch *e = &s->history[i];
        fprintf(f, "%d %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %d\n", e->epoch, e->lr,
                e->train_loss, e->train_accuracy, e->val_loss, e->val_accuracy, e->val_macro_f1,
                e->val_rec_accuracy, e->val_rec_macro_f1, e->seconds, e->best);
    }
    if (fclose(f)) {
        free(t);
        return NULL;
    }
    return t;
}

static int parse_history(tr_state *s, const char *t)
{
    s->n_history = 0;
    while (t && *t) {
        if (s->n_history >= s->cap_history)
            return -1;
        tr_epoch *e = &s->history[s->n_history];
        int used = 0;
        /* %lf reads "nan" and "inf" back, as printed for epochs without a figure. */
        if (sscanf(t, "%d %lf %lf %lf %lf %lf %lf %lf %lf %lf %d%n", &e->epoch, &e->lr, &e->train_loss,
                   &e->train_accuracy, &e->val_loss, &e->val_accuracy, &e->val_macro_f1, &e->val_rec_accuracy,
                   &e->val_rec_macro_f1, &e->seconds, &e->best, &used) != 11)
            return -1;
        s->n_history++;
        t += used;
        if (*t == '\n')
            t++;
    }
    return 0;
}

int tr_checkpoint_save(const char *path, const nn_model *net, const nn_optimizer *opt, const aa_rng *rng,
                       const tr_state *s, const char *fingerprint, aa_error *err)
{
    nn_meta *meta = nn_meta_new();
    char *hist = history_text(s);
    if (!meta || !hist) {
        nn_meta_free(meta);
        free(hist);
        return aa_error_set(err, AA_ERR_NOMEM, "%s: out of memory", path);
    }
    int np = (int)s->n_params, ns = (int)s->n_stats;
    int rc = nn_meta_set_str(meta, KEY_FINGERPRINT, fingerprint, err) ||
             nn_meta_set_num(meta, KEY_EPOCHS, s->epochs_done, err) ||
             nn_meta_set_num(meta, KEY_BEST_EPOCH, s->best_epoch, err) ||
             nn_meta_set_num(meta, KEY_BEST_F1, s->best_f1, err) ||
             nn_meta_set_num(meta, KEY_BEST_LOSS, s->best_loss, err) ||
             nn_meta_set_num(meta, KEY_BAD, s->bad_epochs, err) ||
             nn_meta_set_num(meta, KEY_FINISHED, s->finished, err) ||
             (s->n_history && nn_meta_set_str(meta, KEY_HISTORY, hist, err)) ||
             nn_meta_set_tensor(meta, T_BEST_PARAMS, s->best_params, 1, &np, err) ||
             (s->n_stats && nn_meta_set_tensor(meta, T_BEST_STATS, s->best_stats, 1, &ns, err)) ||
             (s->ema_params && nn_meta_set_tensor(meta, T_EMA_PARAMS, s->ema_params, 1, &np, err)) ||
             (s->ema_params && s->n_stats && nn_meta_set_tensor(meta, T_EMA_STATS, s->ema_stats, 1, &ns, err));
    free(hist);
    if (!rc)
        rc = nn_checkpoint_save(path, net, opt, rng, meta, err);
    nn_meta_free(meta);
    return rc ? 1 : 0;
}

/* The first line of b that differs from a's, for a message. */
static void first_difference(const char *a, const char *b, char *out, size_t cap)
{
    while (*a || *b) {
        const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
        size_t la = ea ? (size_t)(ea - a) : strlen(a), lb = eb ? (size_t)(eb - b) : strlen(b);
        if (la != lb || memcmp(a, b, la)) {
            if (!la) /* a checkpoint from before this setting was recorded */
                snprintf(out, cap, "%.*s now, not recorded in the checkpoint", (int)(lb > 200 ? 200 : lb), b);
            else if (!lb)
                snprintf(out, cap, "%.*s in the checkpoint, not a setting now", (int)(la > 200 ? 200 : la), a);
            else
                snprintf(out, cap, "%.*s in the checkpoint, %.*s now", (int)(la > 200 ? 200 : la), a,
                         (int)(lb > 200 ? 200 : lb), b);
            return;
        }
        a += la + (ea != NULL);
        b += lb + (eb != NULL);
    }
    snprintf(out, cap, "options differ");
}

static int get_int(const nn_meta *m, const char *key, int *v)
{
    double d;
    if (nn_meta_get_num(m, key, &d, NULL) || d != floor(d) || d < -1e9 || d > 1e9)
        return -1;
    *v = (int)d;
    return 0;
}

/* A tensor of n floats called name, or NULL. */
static const float *vector(const nn_meta *meta, const char *name, size_t n)
{
    int nd = 0, dims[NN_MAX_DIMS];
    const float *v = nn_meta_get_tensor(meta, name, &nd, dims);
    return v && nd == 1 && (size_t)dims[0] == n ? v : NULL;
}

int tr_checkpoint_load(const char *path, int max_batch, int max_epochs, int ema, const char *fingerprint,
                       nn_model **net, nn_optimizer **opt, aa_rng *rng, tr_state *s, aa_error *err)
{
    *net = NULL;
    *opt = NULL;
    memset(s, 0, sizeof *s);
    nn_meta *meta = NULL;
    if (nn_checkpoint_load(path, max_batch, net, opt, rng, &meta, err))
        return 1;
    const char *fp = nn_meta_get_str(meta, KEY_FINGERPRINT);
    int rc = 0;
    if (!fp) {
        rc = aa_error_set(err, NN_ERR_FORMAT, "%s: not an aa-train checkpoint (no training options in it)", path);
        goto out;
    }
    if (strcmp(fp, fingerprint)) {
        char diff[512];
        first_difference(fp, fingerprint, diff, sizeof diff);
        rc = aa_error_set(err, NN_ERR_MISMATCH, "%s: made %s (%s)", path,
                          strncmp(diff, "data_", 5) ? "with other training options" : "on other data", diff);
        goto out;
    }
    if ((rc = tr_state_init(s, *net, max_epochs, ema, err)))
        goto out;
    const float *bp = vector(meta, T_BEST_PARAMS, s->n_params), *bs = vector(meta, T_BEST_STATS, s->n_stats);
    const float *ep = vector(meta, T_EMA_PARAMS, s->n_params), *es = vector(meta, T_EMA_STATS, s->n_stats);
    int ok = bp && (!s->n_stats || bs) && (!ema || (ep && (!s->n_stats || es)));
    ok = ok && !get_int(meta, KEY_EPOCHS, &s->epochs_done) && !get_int(meta, KEY_BEST_EPOCH, &s->best_epoch) &&
         !get_int(meta, KEY_BAD, &s->bad_epochs) && !get_int(meta, KEY_FINISHED, &s->finished) &&
         !nn_meta_get_num(meta, KEY_BEST_F1, &s->best_f1, NULL) &&
         !nn_meta_get_num(meta, KEY_BEST_LOSS, &s->best_loss, NULL) &&
         !parse_history(s, nn_meta_get_str(meta, KEY_HISTORY)) && s->n_history == s->epochs_done &&
         s->epochs_done >= 0 && s->epochs_done <= max_epochs;
    if (!ok) {
        rc = aa_error_set(err, NN_ERR_FORMAT, "%s: training state in the checkpoint is malformed", path);
        goto out;
    }
    memcpy(s->best_params, bp, s->n_params * sizeof *bp);
    if (s->n_stats)
        memcpy(s->best_stats, bs, s->n_stats * sizeof *bs);
    if (ema) {
        memcpy(s->ema_params, ep, s->n_params * sizeof *ep);
        if (s->n_stats)
            memcpy(s->ema_stats, es, s->n_stats * sizeof *es);
    }
out:
    nn_meta_free(meta);
    if (rc) {
        tr_state_free(s);
        nn_model_free(*net);
        nn_opt_free(*opt);
        *net = NULL;
        *opt = NULL;
    }
    return rc ? 1 : 0;
}
