/* Per-recording aggregation: the windows of one recording become one item, the mean of their probabilities. */
#include <stdlib.h>
#include <string.h>

#include "eval/eval_internal.h"

typedef struct {
    size_t id, index;
} id_index;

typedef struct {
    size_t first, start, count; /* first window's input index; run [start, start+count) in the sorted list */
} group;

static int by_id_then_index(const void *a, const void *b)
{
    const id_index *x = a, *y = b;
    if (x->id != y->id)
        return (x->id > y->id) - (x->id < y->id);
    return (x->index > y->index) - (x->index < y->index);
}

static int by_first(const void *a, const void *b)
{
    const group *x = a, *y = b;
    return (x->first > y->first) - (x->first < y->first);
}

void ev_recordings_free(ev_recordings *r)
{
    if (!r)
        return;
    free(r->labels);
    free(r->probs);
    free(r->ids);
    free(r->windows);
    free(r->first);
    free(r);
}

ev_recordings *ev_recordings_aggregate(size_t n, int k, const int *labels, const float *probs,
                                       const size_t *rec_ids, aa_error *err)
{
    if (ev_check_inputs(n, k, labels, probs, err))
        return NULL;
    if (n && !rec_ids) {
        aa_error_set(err, EV_ERR_ARG, "recordings: %zu windows but no recording ids", n);
        return NULL;
    }
    size_t K = (size_t)k, m = n ? n : 1;
    id_index *order = malloc(m * sizeof *order);
    group *groups = malloc(m * sizeof *groups);
    double *acc = malloc(K * sizeof *acc);
    ev_recordings *r = calloc(1, sizeof *r);
    if (!order || !groups || !acc || !r)
        goto nomem;
    for (size_t i = 0; i < n; i++)
        order[i] = (id_index){rec_ids[i], i};
    qsort(order, n, sizeof *order, by_id_then_index);

    size_t ng = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && order[i].id == order[i - 1].id) {
            groups[ng - 1].count++;
            size_t a = groups[ng - 1].first, b = order[i].index;
            if (labels[a] != labels[b]) {
                aa_error_set(err, EV_ERR_ARG,
                             "recordings: recording %zu has windows labelled %d (item %zu) and %d (item %zu)",
                             order[i].id, labels[a], a, labels[b], b);
                goto fail;
            }
            continue;
        }
        groups[ng++] = (group){order[i].index, i, 1};
    }
    qsort(groups, ng, sizeof *groups, by_first);

    r->n = ng;
    r->k = k;
    size_t g1 = ng ? ng : 1;
    r->labels = malloc(g1 * sizeof *r->labels);
    r->probs = malloc(g1 * K * sizeof *r->probs);
    r->ids = malloc(g1 * sizeof *r->ids);
    r->windows = malloc(g1 * sizeof *r->windows);
    r->first = malloc(g1 * sizeof *r->first);
    if (!r->labels || !r->probs || !r->ids || !r->windows || !r->first)
        goto nomem;
    for (size_t g = 0; g < ng; g++) {
        const group *gr = &groups[g];
        memset(acc, 0, K * sizeof *acc);
        /* Summed in input order (the run is sorted by index), so the mean does not depend on sorting. */
        for (size_t j = 0; j < gr->count; j++) {
            const float *row = probs + order[gr->start + j].index * K;
            for (size_t c = 0; c < K; c++)
                acc[c] += row[c];
        }
        for (size_t c = 0; c < K; c++)
            r->probs[g * K + c] = (float)(acc[c] / (double)gr->count);
        r->labels[g] = labels[gr->first];
        r->ids[g] = rec_ids[gr->first];
        r->windows[g] = gr->count;
        r->first[g] = gr->first;
    }
    free(order);
    free(groups);
    free(acc);
    return r;

nomem:
    aa_error_set(err, EV_ERR_NOMEM, "recordings: out of memory (%zu windows)", n);
fail:
    free(order);
    free(groups);
    free(acc);
    ev_recordings_free(r);
    return NULL;
}
