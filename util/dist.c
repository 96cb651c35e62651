/* The one file that calls MPI (util/dist.h). Without AA_HAVE_MPI every function is the one-process case.
 * Counts above INT_MAX elements are sent in pieces: MPI's counts are ints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/dist.h"

#ifdef AA_HAVE_MPI
#include <mpi.h>

/* Launched by mpirun (or another PMI launcher): a plain run never starts MPI, so it behaves as before MPI
 * was built in and needs no MPI runtime at all. */
static int launched(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
}

static int mpi_err(aa_error *err, int rc, const char *what)
{
    char text[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    MPI_Error_string(rc, text, &len);
    return aa_error_set(err, AA_ERR_IO, "MPI: %s failed on rank %d (%s)", what, dist_rank(), text);
}

int dist_init(int *argc, char ***argv, aa_error *err)
{
    if (!launched())
        return 0;
    int provided = 0, rc = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS)
        return aa_error_set(err, AA_ERR_IO, "MPI: MPI_Init failed (launched by mpirun, but MPI cannot start)");
    /* Failures come back as return codes, so that each rank can say what failed in one line before the
     * run is ended; the default handler would abort with MPI's own message instead. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    return 0;
}

int dist_active(void)
{
    int on = 0, off = 0;
    MPI_Initialized(&on);
    if (on)
        MPI_Finalized(&off);
    if (!on || off)
        return 0;
    int n = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n > 1;
}

void dist_finalize(void)
{
    int on = 0, off = 0;
    MPI_Initialized(&on);
    if (on)
        MPI_Finalized(&off);
    if (on && !off)
        MPI_Finalize();
}

int dist_rank(void)
{
    int on = 0, r = 0;
    MPI_Initialized(&on);
    if (on)
        MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

int dist_size(void)
{
    int on = 0, n = 1;
    MPI_Initialized(&on);
    if (on)
        MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
}

enum { PIECE = 1 << 30 }; /* elements per MPI call */

static int sum(void *buf, size_t n, MPI_Datatype t, size_t elt, const char *what, aa_error *err)
{
    if (!dist_active())
        return 0;
    for (size_t at = 0; at < n; at += PIECE) {
        int cnt = (int)(n - at < PIECE ? n - at : PIECE);
        int rc = MPI_Allreduce(MPI_IN_PLACE, (char *)buf + at * elt, cnt, t, MPI_SUM, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS)
            return mpi_err(err, rc, what);
    }
    return 0;
}

int dist_sum_floats(float *buf, size_t n, aa_error *err)
{
    return sum(buf, n, MPI_FLOAT, sizeof *buf, "a sum of floats", err);
}

int dist_sum_doubles(double *buf, size_t n, aa_error *err)
{
    return sum(buf, n, MPI_DOUBLE, sizeof *buf, "a sum of doubles", err);
}

int dist_sum_ints(int *buf, size_t n, aa_error *err)
{
    return sum(buf, n, MPI_INT, sizeof *buf, "a sum of counts", err);
}

int dist_max_int(int v)
{
    if (!dist_active())
        return v;
    int out = 0;
    return MPI_Allreduce(&v, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD) == MPI_SUCCESS ? out : 1;
}

static int allgather(void *buf, const size_t *counts, MPI_Datatype t, size_t elt, aa_error *err)
{
    if (!dist_active())
        return 0;
    int n = dist_size();
    int *cnt = malloc(2 * (size_t)n * sizeof *cnt);
    if (!cnt)
        return aa_error_set(err, AA_ERR_NOMEM, "out of memory");
    size_t total = 0;
    for (int r = 0; r < n; r++)
        total += counts[r];
    int rc = MPI_SUCCESS;
    if (total <= (size_t)PIECE) {
        size_t at = 0;
        for (int r = 0; r < n; r++) {
            cnt[r] = (int)counts[r];
            cnt[n + r] = (int)at;
            at += counts[r];
        }
        rc = MPI_Allgatherv(MPI_IN_PLACE, 0, t, buf, cnt, cnt + n, t, MPI_COMM_WORLD);
    } else {
        /* rank by rank: each one's block broadcast from it */
        size_t at = 0;
        for (int r = 0; r < n && rc == MPI_SUCCESS; r++) {
            for (size_t done = 0; done < counts[r] && rc == MPI_SUCCESS; done += PIECE) {
                int c = (int)(counts[r] - done < PIECE ? counts[r] - done : PIECE);
                rc = MPI_Bcast((char *)buf + (at + done) * elt, c, t, r, MPI_COMM_WORLD);
            }
            at += counts[r];
        }
    }
    free(cnt);
    return rc == MPI_SUCCESS ? 0 : mpi_err(err, rc, "a gather");
}

int dist_allgather_doubles(double *buf, const size_t *counts, aa_error *err)
{
    return allgather(buf, counts, MPI_DOUBLE, sizeof *buf, err);
}

int dist_allgather_floats(float *buf, const size_t *counts, aa_error *err)
{
    return allgather(buf, counts, MPI_FLOAT, sizeof *buf, err);
}

int dist_bcast(void *buf, size_t bytes, int root, aa_error *err)
{
    if (!dist_active())
        return 0;
    for (size_t at = 0; at < bytes; at += PIECE) {
        int cnt = (int)(bytes - at < PIECE ? bytes - at : PIECE);
        int rc = MPI_Bcast((char *)buf + at, cnt, MPI_BYTE, root, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS)
            return mpi_err(err, rc, "a broadcast");
    }
    return 0;
}

int dist_send_floats(const float *buf, size_t n, int to, aa_error *err)
{
    for (size_t at = 0; at < n; at += PIECE) {
        int cnt = (int)(n - at < PIECE ? n - at : PIECE);
        int rc = MPI_Send(buf + at, cnt, MPI_FLOAT, to, 0, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS)
            return mpi_err(err, rc, "a send");
    }
    return 0;
}

int dist_recv_floats(float *buf, size_t n, int from, aa_error *err)
{
    for (size_t at = 0; at < n; at += PIECE) {
        int cnt = (int)(n - at < PIECE ? n - at : PIECE);
        int rc = MPI_Recv(buf + at, cnt, MPI_FLOAT, from, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS)
            return mpi_err(err, rc, "a receive");
    }
    return 0;
}

int dist_barrier(aa_error *err)
{
    if (!dist_active())
        return 0;
    int rc = MPI_Barrier(MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? 0 : mpi_err(err, rc, "a barrier");
}

_Noreturn void dist_abort(const char *prog, const char *msg)
{
    fflush(stdout);
    if (dist_active()) {
        if (msg)
            fprintf(stderr, "%s: rank %d of %d: %s\n", prog, dist_rank(), dist_size(), msg);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, 1);
    } else if (msg) {
        fprintf(stderr, "%s: %s\n", prog, msg);
    }
    exit(1);
}

#else /* one process */

int dist_init(int *argc, char ***argv, aa_error *err)
{
    (void)argc, (void)argv, (void)err;
    return 0;
}

void dist_finalize(void) {}
int dist_active(void) { return 0; }
int dist_rank(void) { return 0; }
int dist_size(void) { return 1; }

int dist_sum_floats(float *buf, size_t n, aa_error *err)
{
    (void)buf, (void)n, (void)err;
    return 0;
}

int dist_sum_doubles(double *buf, size_t n, aa_error *err)
{
    (void)buf, (void)n, (void)err;
    return 0;
}

int dist_sum_ints(int *buf, size_t n, aa_error *err)
{
    (void)buf, (void)n, (void)err;
    return 0;
}

int dist_max_int(int v) { return v; }

int dist_allgather_doubles(double *buf, const size_t *counts, aa_error *err)
{
    (void)buf, (void)counts, (void)err;
    return 0;
}

int dist_allgather_floats(float *buf, const size_t *counts, aa_error *err)
{
    (void)buf, (void)counts, (void)err;
    return 0;
}

int dist_bcast(void *buf, size_t bytes, int root, aa_error *err)
{
    (void)buf, (void)bytes, (void)root, (void)err;
    return 0;
}

int dist_send_floats(const float *buf, size_t n, int to, aa_error *err)
{
    (void)buf, (void)n;
    return aa_error_set(err, AA_ERR_ARG, "send to rank %d: built without MPI", to);
}

int dist_recv_floats(float *buf, size_t n, int from, aa_error *err)
{
    (void)buf, (void)n;
    return aa_error_set(err, AA_ERR_ARG, "receive from rank %d: built without MPI", from);
}

int dist_barrier(aa_error *err)
{
    (void)err;
    return 0;
}

_Noreturn void dist_abort(const char *prog, const char *msg)
{
    fflush(stdout);
    if (msg)
        fprintf(stderr, "%s: %s\n", prog, msg);
    exit(1);
}

#endif
