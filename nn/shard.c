/* A training batch shared among processes (nn_set_shard): the three places where the samples of a batch
 * meet — batch-norm statistics, the loss, the gradient sum — see every process's samples in sample order.
 *
 * Partial sums of batch norm are gathered whole (two doubles per channel and sample) and reduced by the
 * same code as in one process. The gradient is a float sum over samples, g = ((g_0 + g_1) + g_2) + ...,
 * which no collective reduction reproduces (MPI groups its operands as it likes): the processes add in a
 * chain instead, each taking the running sum from the one before, adding its own samples in order and
 * passing it on; the last one broadcasts the total. The chain costs one parameter block sent per process
 * and one broadcast; docs/distributed.md gives the figures and what would scale further. */
#include <stdlib.h>
#include <string.h>

#include "nn/nn_model.h"
#include "util/dist.h"

void nn_shard_range(int total, int rank, int size, int *first, int *n)
{
    long a = (long)total * rank / size, b = (long)total * (rank + 1) / size;
    *first = (int)a;
    *n = (int)(b - a);
}

int nn_set_shard(nn_model *m, int total, aa_error *err)
{
    if (total <= 0 || dist_size() == 1) {
        m->shard_first = m->shard_total = 0;
        return 0;
    }
    if (m->reference)
        return aa_error_set(err, NN_ERR_ARG, "shard: a reference model trains in one process only");
    if (total > m->max_batch || total < dist_size())
        return aa_error_set(err, NN_ERR_ARG, "shard: a batch of %d samples among %d processes (this model takes "
                            "batches of up to %d, and each process needs a sample)", total, dist_size(), m->max_batch);
    if (!m->shard_rows) {
        m->shard_rows = malloc((size_t)m->max_batch * m->n_classes * sizeof *m->shard_rows);
        m->shard_labels = malloc((size_t)m->max_batch * sizeof *m->shard_labels);
        if (!m->shard_rows || !m->shard_labels)
            return aa_error_set(err, NN_ERR_NOMEM, "out of memory");
    }
    int n;
    nn_shard_range(total, dist_rank(), dist_size(), &m->shard_first, &n);
    m->shard_total = total;
    return 0;
}

int nn_shard_first(const nn_model *m)
{
    return m->shard_first;
}

void nn_shard_comm(const nn_model *m, double *seconds, double *bytes)
{
    *seconds = m->shard_seconds;
    *bytes = m->shard_bytes;
}

static void account(nn_model *m, double t0, double bytes)
{
    m->shard_seconds += aa_now() - t0;
    m->shard_bytes += bytes;
}

int nn_shard_total(const nn_model *m)
{
    return m->shard_total;
}

int nn_shard_batch(const nn_model *m)
{
    return m->shard_total ? m->shard_total : m->batch;
}

/* counts[r] = rank r's samples * per */
static size_t *counts_of(int total, size_t per)
{
    int size = dist_size();
    size_t *c = malloc((size_t)size * sizeof *c);
    for (int r = 0; c && r < size; r++) {
        int f, n;
        nn_shard_range(total, r, size, &f, &n);
        c[r] = (size_t)n * per;
    }
    return c;
}

int nn_shard_gather_parts(nn_model *m, double *part, size_t per, int batch, aa_error *err)
{
    size_t *c = counts_of(m->shard_total, per);
    if (!c)
        return aa_error_set(err, NN_ERR_NOMEM, "out of memory");
    memmove(part + (size_t)m->shard_first * per, part, (size_t)batch * per * sizeof *part);
    double t0 = aa_now();
    int rc = dist_allgather_doubles(part, c, err);
    account(m, t0, (double)batch * per * sizeof *part * (dist_size() - 1));
    free(c);
    return rc;
}

int nn_shard_gather_rows(nn_model *m, const float *mine, size_t per, float *all, aa_error *err)
{
    if (!m->shard_total) {
        memmove(all, mine, (size_t)m->batch * per * sizeof *all);
        return 0;
    }
    size_t *c = counts_of(m->shard_total, per);
    if (!c)
        return aa_error_set(err, NN_ERR_NOMEM, "out of memory");
    memmove(all + (size_t)m->shard_first * per, mine, (size_t)m->batch * per * sizeof *all);
    double t0 = aa_now();
    int rc = dist_allgather_floats(all, c, err);
    account(m, t0, (double)m->batch * per * sizeof *all * (dist_size() - 1));
    free(c);
    return rc;
}

int nn_shard_reduce_grads(nn_model *m, aa_error *err)
{
    const int rank = dist_rank(), size = dist_size();
    const size_t n = m->n_params;
    float *g = m->grads;
    int rc = 0;
    double t0 = aa_now();
    if (rank > 0)
        rc = dist_recv_floats(g, n, rank - 1, err);
    else
        memcpy(g, m->gsamp, n * sizeof *g);
    account(m, t0, 0);
    if (rc)
        return rc;
    const int threads = nn_model_threads_eff(m);
    const size_t blk = 1024;
    const long nblk = (long)((n + blk - 1) / blk);
    const int s0 = rank > 0 ? 0 : 1; /* rank 0 started from its first sample's gradient */
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
    for (long b = 0; b < nblk; b++) {
        size_t j0 = (size_t)b * blk, j1 = j0 + blk < n ? j0 + blk : n;
        for (int s = s0; s < m->batch; s++) {
            const float *gs = m->gsamp + (size_t)s * n;
            for (size_t j = j0; j < j1; j++)
                g[j] += gs[j];
        }
    }
    t0 = aa_now();
    if (rank < size - 1 && (rc = dist_send_floats(g, n, rank + 1, err)))
        return rc;
    rc = dist_bcast(g, n * sizeof *g, size - 1, err);
    account(m, t0, (double)n * sizeof *g * (rank < size - 1 ? 1 : size - 1));
    return rc;
}
