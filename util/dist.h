#ifndef AA_DIST_H
#define AA_DIST_H

/* The processes of one run started by mpirun: every MPI call of the project is in util/dist.c, so the rest
 * calls these whatever the build. Built without Open MPI (no AA_HAVE_MPI), or run without mpirun, there is
 * one process: rank 0 of 1, and every collective leaves its buffer as it is. MPI itself holds the state
 * (whether it was started, the communicator); nothing here does.
 *
 * Collectives return 0, or fill err ("MPI: ...") when the library reports a failure; a run that cannot
 * trust its peers any more ends with dist_abort, which stops every rank, so no rank waits for one that is
 * gone. */

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/* Starts MPI when the process was launched by mpirun (Open MPI's OMPI_COMM_WORLD_SIZE, or a PMIx/PMI
 * launcher's rank variable, is set) and the build has MPI; otherwise does nothing. Call once, first thing
 * in main, before any thread exists. 0, or fills err. */
int dist_init(int *argc, char ***argv, aa_error *err);
/* Ends MPI when dist_init started it (every rank calls it, after the last collective). */
void dist_finalize(void);
/* 1 when this process is one of several started by mpirun. */
int dist_active(void);
int dist_rank(void);
int dist_size(void);

/* Element-wise sum over the ranks, in place, on every rank. The order MPI adds in is its own: exact for
 * blocks where at most one rank holds a non-zero in each place (gathering by sum) and for integers. */
int dist_sum_floats(float *buf, size_t n, aa_error *err);
int dist_sum_doubles(double *buf, size_t n, aa_error *err);
int dist_sum_ints(int *buf, size_t n, aa_error *err);
/* The largest of v over the ranks, on every rank: "did any rank fail" is dist_max_int(rc != 0). On a
 * failure of MPI itself returns 1 (the run cannot go on as one). */
int dist_max_int(int v);
/* Every rank's count doubles, rank after rank, into buf on every rank: counts[r] (the same array on every
 * rank) doubles from rank r, placed at offset sum counts[0..r); this rank's part is already in place. */
int dist_allgather_doubles(double *buf, const size_t *counts, aa_error *err);
int dist_allgather_floats(float *buf, const size_t *counts, aa_error *err);
/* bytes from root to every rank. */
int dist_bcast(void *buf, size_t bytes, int root, aa_error *err);
/* Point to point, for a reduction whose order must be a fixed one (nn/'s gradient sum in sample order). */
int dist_send_floats(const float *buf, size_t n, int to, aa_error *err);
int dist_recv_floats(float *buf, size_t n, int from, aa_error *err);
int dist_barrier(aa_error *err);

/* Prints "PROG: MSG" (with the rank when there are several; nothing when msg is NULL: the caller has said
 * it) on stderr and ends the whole run: every rank exits with status 1 (MPI_Abort). Without MPI, exit(1). */
_Noreturn void dist_abort(const char *prog, const char *msg);

#endif
