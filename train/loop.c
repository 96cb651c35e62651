/* Epochs: shuffle, augmented batches, optimiser steps on the schedule, validation, early stopping,
 * checkpoint. Every random draw comes from the run's seed through its own stream (initialisation,
 * shuffling, augmentation, dropout), so a run is reproduced bit for bit, and a resumed run continues the
 * same streams from the checkpoint. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"
#include "train/checkpoint.h"
#include "train/loop.h"
#include "train/schedule.h"
#include "train/step.h"
#include "util/dist.h"

/* Independent seeds of the run's random streams. */
enum { STREAM_SHUFFLE = 1, STREAM_AUGMENT = 2, STREAM_DROPOUT = 3 };

static uint64_t stream_seed(uint64_t seed, uint64_t stream)
{
    aa_rng r;
    aa_rng_seed3(&r, seed, stream, 0);
    return aa_rng_u64(&r);
}

void tr_run_free(tr_run *r)
{
    if (!r)
        return;
    nn_model_free(r->net);
    free(r->history);
    memset(r, 0, sizeof *r);
}

/* ---- evaluation ---------------------------------------------------------------------------------------------- */

/* Validation windows: loss (plain mean NLL), accuracy and macro-F1, all at temperature 1, no gate; judge
 * is the network being trained seen as an inference model; mels [n_win[DS_VAL]] the windows' features. */
static int validate(am_model *judge, const tr_data *d, const float *const *mels, float *logits, float *probs,
                    int *labels, tr_epoch *e, aa_error *err)
{
    size_t n = d->n_win[DS_VAL];
    int rc = am_logits_batch(judge, 0, mels, n, logits, err);
    if (rc == AM_ERR_NUMERIC)
        return aa_error_set(err, NN_ERR_NUMERIC, "validation: the network's output is not finite");
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++)
        labels[i] = d->cache->windows[d->win[DS_VAL][i]].cls;
    ev_softmax(n, d->k, logits, 1.0, probs);
    ev_eval *ev = ev_evaluate(n, d->k, labels, probs, NULL, err);
    if (!ev)
        return 1;
    e->val_loss = ev_nll_logits(n, d->k, labels, logits, 1.0);
    e->val_accuracy = ev->accuracy;
    e->val_macro_f1 = ev->macro_f1;
    ev_eval_free(ev);

    /* For the log: the recordings judged by the mean of their windows, beside the one-clip judgement
     * aa-infer makes, to show what more of a recording would be worth. */
    size_t *ids = malloc((n ? n : 1) * sizeof *ids);
    if (!ids)
        return aa_error_set(err, AA_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        ids[i] = d->cache->windows[d->win[DS_VAL][i]].file;
    ev_recordings *rec = ev_recordings_aggregate(n, d->k, labels, probs, ids, err);
    free(ids);
    if (!rec || !(ev = ev_evaluate(rec->n, d->k, rec->labels, rec->probs, NULL, err))) {
        ev_recordings_free(rec);
        return 1;
    }
    e->val_rec_mean_macro_f1 = ev->macro_f1;
    ev_eval_free(ev);
    ev_recordings_free(rec);

    /* The recordings too, for the log: they are the unit the test report judges. */
    size_t nr = d->n_rec[DS_VAL];
    if ((rc = am_windows_scores(judge, 0, d->rec_windows[DS_VAL], nr, logits, err)))
        return rc;
    ev_softmax(nr, d->k, logits, 1.0, probs);
    if (!(ev = ev_evaluate(nr, d->k, d->rec_label[DS_VAL], probs, NULL, err)))
        return 1;
    e->val_rec_accuracy = ev->accuracy;
    e->val_rec_macro_f1 = ev->macro_f1;
    ev_eval_free(ev);
    return 0;
}

/* ---- setup ----------------------------------------------------------------------------------------------------- */

static int fresh(const tr_options *o, const tr_data *d, nn_model **net, nn_optimizer **opt, aa_rng *rng,
                 aa_error *err)
{
    *net = nn_model_new(o->arch, 1, (int)d->n_mels, (int)d->n_frames, d->k, o->batch, err);
    if (!*net)
        return 1;
    nn_init_he(*net, o->seed);
    nn_opt_config cfg = nn_opt_defaults(o->optimizer == TR_OPT_ADAMW ? NN_OPT_ADAMW : NN_OPT_ADAM);
    cfg.lr = (float)o->lr;
    cfg.weight_decay = (float)o->weight_decay;
    cfg.clip_norm = (float)o->clip_norm;
    if (!(*opt = nn_opt_new(*net, &cfg, err)))
        return 1;
    aa_rng_seed(rng, stream_seed(o->seed, STREAM_SHUFFLE));
    return 0;
}

typedef struct {
    float *x, *targets;       /* [batch][1][n_mels][n_frames], [batch][k] */
    int *labels;              /* [batch] */
    size_t *order;            /* [n_train] */
    float *val_logits, *val_probs; /* [n_val][k] */
    int *val_labels;          /* [n_val] */
    const float **val_mels;   /* [n_val] the validation windows' features in the cache */
} buffers;

static void buffers_free(buffers *b)
{
    free(b->x);
    free(b->targets);
    free(b->labels);
    free(b->order);
    free(b->val_logits);
    free(b->val_probs);
    free(b->val_labels);
    free(b->val_mels);
}

static int buffers_new(buffers *b, const tr_data *d, int batch, aa_error *err)
{
    memset(b, 0, sizeof *b);
    size_t B = (size_t)batch, K = (size_t)d->k, nv = d->n_win[DS_VAL] ? d->n_win[DS_VAL] : 1;
    b->x = malloc(B * d->n_mels * d->n_frames * sizeof *b->x);
    b->targets = malloc(B * K * sizeof *b->targets);
    b->labels = malloc(B * sizeof *b->labels);
    b->order = malloc((d->n_win[DS_TRAIN] ? d->n_win[DS_TRAIN] : 1) * sizeof *b->order);
    b->val_logits = malloc(nv * K * sizeof *b->val_logits);
    b->val_probs = malloc(nv * K * sizeof *b->val_probs);
    b->val_labels = malloc(nv * sizeof *b->val_labels);
    b->val_mels = calloc(nv, sizeof *b->val_mels);
    if (!b->x || !b->targets || !b->labels || !b->order || !b->val_logits || !b->val_probs || !b->val_labels ||
        !b->val_mels) {
        buffers_free(b);
        return aa_error_set(err, AA_ERR_NOMEM, "out of memory for training buffers");
    }
    for (size_t i = 0; i < d->n_win[DS_VAL]; i++)
        b->val_mels[i] = ds_cache_features(d->cache, d->win[DS_VAL][i]);
    return 0;
}

/* The noise class named (--noise-class, default background_noise) when DATA has it; else DATA's background
 * class by the background rule (am_is_background_name: "Background", "background-noise"); else none, as
 * for a name DATA does not have. */
static void augment_opts(const tr_options *o, const tr_data *d, ds_augment_opts *a)
{
    if (!o->augment) {
        ds_augment_opts_off(a);
        return;
    }
    *a = o->aug;
    const ds_cache *c = d->cache;
    int exact = 0;
    for (int k = 0; a->background_class && k < c->n_classes; k++)
        exact |= !strcmp(c->classes[k], a->background_class);
    for (int k = 0; a->background_class && !exact && k < d->k_reported; k++)
        if (am_is_background_name(c->classes[k])) {
            a->background_class = c->classes[k];
            break;
        }
}

/* ---- the loop --------------------------------------------------------------------------------------------------- */

/* Better: a higher macro-F1, or an equal one with a lower validation loss. */
static int is_better(const tr_state *s, const tr_epoch *e)
{
    if (e->val_macro_f1 > s->best_f1 + 1e-12)
        return 1;
    return fabs(e->val_macro_f1 - s->best_f1) <= 1e-12 && e->val_loss < s->best_loss;
}

static int run_epoch(nn_model *net, nn_optimizer *opt, ds_batcher *bat, const tr_data *d, const tr_options *o,
                     const tr_schedule *sc, aa_rng *rng, buffers *bf, int epoch, tr_state *st, tr_progress *p,
                     tr_epoch *e, aa_error *err)
{
    size_t n = d->n_win[DS_TRAIN], B = (size_t)o->batch;
    memcpy(bf->order, d->win[DS_TRAIN], n * sizeof *bf->order);
    aa_rng_shuffle(rng, bf->order, n);
    /* The last, partial batch is left out (it comes out differently in every shuffle): a batch of one or
     * two would give batch-norm statistics of no meaning. */
    size_t steps = n >= B ? n / B : 1, bs = n >= B ? B : n;
    /* Under mpirun each rank fills and steps on its share of every batch (nn_set_shard): its items are
     * made exactly as one process makes them, from their places in the epoch. */
    int first = 0, mine = (int)bs;
    nn_shard_range((int)bs, dist_rank(), dist_size(), &first, &mine);
    uint64_t aug_seed = stream_seed(o->seed, STREAM_AUGMENT), drop_seed = stream_seed(o->seed, STREAM_DROPOUT);
    int mixup = o->augment && o->aug.mixup_p > 0;
    nn_loss_opts lo = {.class_weights = d->class_weight, .label_smoothing = (float)o->label_smoothing};
    double loss_sum = 0;
    size_t correct = 0, seen = 0;
    float lr = 0;
    for (size_t s = 0; s < steps; s++) {
        int rc = ds_batch_fill(bat, bf->order + s * bs + first, (size_t)mine, aug_seed, (uint64_t)epoch,
                               s * bs + (size_t)first, bf->x, bf->labels, mixup ? bf->targets : NULL, err);
        if (rc)
            return rc;
        lr = tr_schedule_lr(sc, nn_opt_steps(opt));
        nn_step_result res;
        if (mixup)
            rc = tr_soft_step(net, opt, bf->x, bf->targets, bf->labels, mine, d->class_weight,
                              (float)o->label_smoothing, drop_seed, lr, &res, err);
        else
            rc = nn_train_step(net, opt, bf->x, bf->labels, mine, &lo, drop_seed, lr, NULL, &res, err);
        if (rc == NN_ERR_NUMERIC)
            return aa_error_set(err, rc, "training diverged in epoch %d, step %zu (the loss is not finite); "
                                         "try a lower --lr", epoch + 1, s + 1);
        if (rc)
            return rc;
        tr_state_ema_update(st, net, o->ema, nn_opt_steps(opt) - 1);
        loss_sum += (double)res.loss * (double)bs;
        correct += (size_t)res.correct;
        seen += bs;
        tr_progress_step(p, epoch + 1, o->epochs, s + 1, steps, loss_sum / (double)seen);
    }
    e->lr = lr;
    e->train_loss = loss_sum / (double)seen;
    e->train_accuracy = (double)correct / (double)seen;
    e->samples = seen;
    return 0;
}

int tr_train(tr_run *r, const tr_data *d, const tr_options *o, tr_progress *p, aa_error *err)
{
    memset(r, 0, sizeof *r);
    nn_model *net = NULL;
    nn_optimizer *opt = NULL;
    ds_batcher *bat = NULL;
    am_model *judge = NULL;
    aa_rng rng;
    tr_state st;
    memset(&st, 0, sizeof st);
    buffers bf;
    memset(&bf, 0, sizeof bf);
    /* what shaped the run: the options, then the data (a resume on other files is refused too) */
    char *opts_fp = tr_options_checkpoint_key(o), *data_fp = opts_fp ? tr_data_fingerprint(d) : NULL;
    char *fp = data_fp ? malloc(strlen(opts_fp) + strlen(data_fp) + 1) : NULL;
    if (fp)
        strcat(strcpy(fp, opts_fp), data_fp);
    free(opts_fp);
    free(data_fp);
    int rc = 0;
    if (!fp) {
        rc = aa_error_set(err, AA_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (o->resume) {
        if ((rc = tr_checkpoint_load(o->resume, o->batch, o->epochs, o->ema > 0, fp, &net, &opt, &rng, &st, err)))
            goto out;
        nn_model_info info = nn_model_get_info(net);
        if (info.n_classes != d->k || (size_t)info.in_h != d->n_mels || (size_t)info.in_w != d->n_frames) {
            rc = aa_error_set(err, NN_ERR_MISMATCH, "%s: network for %d classes of %dx%d features, the data has "
                              "%d classes of %zux%zu", o->resume, info.n_classes, info.in_h, info.in_w, d->k,
                              d->n_mels, d->n_frames);
            goto out;
        }
        r->resumed_from = st.epochs_done;
    } else if ((rc = fresh(o, d, &net, &opt, &rng, err)) || (rc = tr_state_init(&st, net, o->epochs, o->ema > 0, err))) {
        goto out;
    }
    nn_set_threads(net, o->threads);
    if (!(judge = tr_data_judge(d, net, err))) {
        rc = 1;
        goto out;
    }

    ds_augment_opts aug;
    augment_opts(o, d, &aug);
    if ((rc = ds_batcher_new(&bat, d->cache, d->mean, d->std, &aug, d->win[DS_TRAIN], d->n_win[DS_TRAIN],
                             o->threads, err)) ||
        (rc = buffers_new(&bf, d, o->batch, err)))
        goto out;
    size_t steps = d->n_win[DS_TRAIN] >= (size_t)o->batch ? d->n_win[DS_TRAIN] / (size_t)o->batch : 1;
    /* under mpirun: every batch shared among the ranks (run_epoch), with the statistics, the loss and the
     * gradient of the whole batch */
    if (dist_size() > 1) {
        size_t bs = d->n_win[DS_TRAIN] >= (size_t)o->batch ? (size_t)o->batch : d->n_win[DS_TRAIN];
        if (bs < (size_t)dist_size()) {
            rc = aa_error_set(err, AA_ERR_USAGE, "a batch of %zu windows among %d ranks: each rank needs one "
                              "(--batch, or fewer ranks)", bs, dist_size());
            goto out;
        }
        if ((rc = nn_set_shard(net, (int)bs, err)))
            goto out;
    }
    tr_schedule sc = tr_schedule_make(o, steps);

    double t0 = aa_now();
    int epochs_here = 0;
    for (int epoch = st.epochs_done; epoch < o->epochs && !st.finished; epoch++) {
        double te = aa_now();
        tr_epoch e = {.epoch = epoch + 1};
        double comm_s0, comm_s1, comm_b0, comm_b1;
        nn_shard_comm(net, &comm_s0, &comm_b0);
        if ((rc = run_epoch(net, opt, bat, d, o, &sc, &rng, &bf, epoch, &st, p, &e, err)))
            goto out;
        e.train_seconds = aa_now() - te;
        nn_shard_comm(net, &comm_s1, &comm_b1);
        e.comm_seconds = comm_s1 - comm_s0, e.comm_bytes = comm_b1 - comm_b0;
        /* With --ema the average is what is validated and kept; the weights themselves train on. */
        tr_state_ema_swap(&st, net);
        rc = validate(judge, d, bf.val_mels, bf.val_logits, bf.val_probs, bf.val_labels, &e, err);
        int better = !rc && is_better(&st, &e);
        if (better)
            tr_state_keep_best(&st, net);
        tr_state_ema_swap(&st, net);
        if (rc)
            goto out;
        if (better) {
            e.best = 1;
            st.best_epoch = e.epoch;
            st.best_f1 = e.val_macro_f1;
            st.best_loss = e.val_loss;
            st.bad_epochs = 0;
        } else {
            st.bad_epochs++;
        }
        st.epochs_done = epoch + 1;
        if ((o->patience > 0 && st.bad_epochs >= o->patience) || st.epochs_done == o->epochs)
            st.finished = 1;
        e.seconds = aa_now() - te;
        st.history[st.n_history++] = e;
        epochs_here++;
        if (o->checkpoint && (rc = tr_checkpoint_save(o->checkpoint, net, opt, &rng, &st, fp, err)))
            goto out;
        double el = aa_now() - t0, eta = el / epochs_here * (o->epochs - st.epochs_done);
        tr_progress_epoch(p, &e, o->epochs, el, st.finished ? 0 : eta);
        if (o->stop_after && st.epochs_done == o->stop_after && !st.finished) {
            r->paused = 1;
            break;
        }
    }
    r->seconds = aa_now() - t0;
    r->stopped_early = st.finished && st.epochs_done < o->epochs;
    if (!r->paused)
        tr_state_restore_best(&st, net);
    r->best_epoch = st.best_epoch;
    r->best_f1 = st.best_f1;
    r->best_loss = st.best_loss;
    r->n_history = st.n_history;
    r->history = malloc((size_t)(st.n_history ? st.n_history : 1) * sizeof *r->history);
    if (!r->history) {
        rc = aa_error_set(err, AA_ERR_NOMEM, "out of memory");
        goto out;
    }
    memcpy(r->history, st.history, (size_t)st.n_history * sizeof *r->history);
    r->net = net;
    net = NULL;
out:
    am_free(judge);
    free(fp);
    buffers_free(&bf);
    ds_batcher_free(bat);
    nn_opt_free(opt);
    nn_model_free(net);
    tr_state_free(&st);
    return rc ? 1 : 0;
}
