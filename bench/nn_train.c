/* aa-cnn-s speed: training throughput (forward + backward + Adam) at a batch size and thread count,
 * evaluation latency at batch 1, and peak memory while training an epoch over N clips held in memory.
 *
 *   nn_train train [--threads T] [--batch B] [--seconds S]
 *   nn_train infer [--threads T] [--reps R]
 *   nn_train rss   [--threads T] [--clips N] [--batch B]
 *   nn_train core  prints the OpenBLAS kernel set nn runs on (after nn_blas_setup), e.g. SkylakeX
 *
 * Inputs are N(0,1) log-mel-shaped maps [1][64][401] (speed does not depend on the values). Human lines,
 * then one JSON line. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "nn/nn.h"

#define H 64
#define W 401
#define K 4

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static float *random_maps(size_t n, uint64_t seed)
{
    float *x = malloc(sizeof *x * n * H * W);
    if (!x) {
        fprintf(stderr, "nn_train: out of memory\n");
        exit(1);
    }
    aa_rng r;
    aa_rng_seed(&r, seed);
    for (size_t i = 0; i < n * H * W; i++)
        x[i] = (float)aa_rng_normal(&r);
    return x;
}

static nn_model *build(int batch, int threads)
{
    aa_error err;
    nn_model *m = nn_model_new(NN_ARCH_DEFAULT, 1, H, W, K, batch, &err);
    if (!m) {
        fprintf(stderr, "nn_train: %s\n", err.msg);
        exit(1);
    }
    nn_init_he(m, 1);
    nn_set_threads(m, threads);
    return m;
}

/* Process CPU seconds: on a shared machine, less disturbed by other jobs than wall time (1 thread). */
static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static double peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

static int bench_train(int threads, int batch, double seconds)
{
    nn_model *m = build(batch, threads);
    nn_opt_config oc = nn_opt_defaults(NN_OPT_ADAM);
    nn_optimizer *o = nn_opt_new(m, &oc, NULL);
    float *x = random_maps((size_t)batch, 7);
    int *labels = malloc(sizeof *labels * (size_t)batch);
    for (int i = 0; i < batch; i++)
        labels[i] = i % K;
    aa_error err;
    double t[4096], tc[4096];
    int n = 0;
    double start = aa_now();
    for (int it = -2; n < 4096 && (n < 5 || aa_now() - start < seconds); it++) {
        double t0 = aa_now(), c0 = cpu_now();
        if (nn_train_step(m, o, x, labels, batch, NULL, 1, 0, NULL, NULL, &err) != 0) {
            fprintf(stderr, "nn_train: %s\n", err.msg);
            return 1;
        }
        if (it >= 0) { /* two warm-up steps: first-touch page faults, OpenBLAS buffers */
            tc[n] = (cpu_now() - c0) / threads;
            t[n++] = aa_now() - t0;
        }
        else
            start = aa_now();
    }
    const nn_model_info info = nn_model_get_info(m);
    double step = median(t, n), cps = batch / step, gflops = cps * info.train_flop / 1e9;
    double cstep = median(tc, n);
    printf("train: %d thread(s), batch %d: %.1f ms/step (median of %d), %.1f clips/s, %.1f GFLOP/s "
           "(%.3f GFLOP/clip; CPU time per thread %.1f ms/step), OpenBLAS core %s\n", threads, batch, 1e3 * step, n,
           cps, gflops, info.train_flop / 1e9, 1e3 * cstep, nn_blas_core());
    printf("{\"bench\": \"nn_train\", \"mode\": \"train\", \"threads\": %d, \"batch\": %d, \"ms_per_step\": %.3f, "
           "\"clips_per_s\": %.2f, \"gflops\": %.2f, \"cpu_ms_per_step_per_thread\": %.3f, \"gflop_per_clip\": %.4f, "
           "\"steps\": %d, \"blas_core\": \"%s\"}\n",
           threads, batch, 1e3 * step, cps, gflops, 1e3 * cstep, info.train_flop / 1e9, n, nn_blas_core());
    free(x), free(labels);
    nn_opt_free(o);
    nn_model_free(m);
    return 0;
}

static int bench_infer(int threads, int reps)
{
    nn_model *m = build(32, threads);
    float *x = random_maps(32, 9), logits[32 * K];
    aa_error err;
    double *t = malloc(sizeof *t * (size_t)reps);
    for (int i = -3; i < reps; i++) {
        double t0 = aa_now();
        if (nn_forward_eval(m, x + (size_t)(i & 31) * H * W, 1, logits, &err) != 0) {
            fprintf(stderr, "nn_train: %s\n", err.msg);
            return 1;
        }
        if (i >= 0)
            t[i] = aa_now() - t0;
    }
    double lat = median(t, reps);
    double tb[16];
    for (int i = -1; i < 16; i++) {
        double t0 = aa_now();
        nn_forward_eval(m, x, 32, logits, &err);
        if (i >= 0)
            tb[i] = aa_now() - t0;
    }
    double bt = median(tb, 16);
    const nn_model_info info = nn_model_get_info(m);
    printf("infer: %d thread(s): batch-1 forward %.3f ms (median of %d, %.1f GFLOP/s); batch 32: %.1f clips/s\n",
           threads, 1e3 * lat, reps, info.forward_flop / lat / 1e9, 32 / bt);
    printf("{\"bench\": \"nn_train\", \"mode\": \"infer\", \"threads\": %d, \"batch1_ms\": %.4f, \"batch1_gflops\": %.2f, "
           "\"batch32_clips_per_s\": %.1f}\n", threads, 1e3 * lat, info.forward_flop / lat / 1e9, 32 / bt);
    free(x), free(t);
    nn_model_free(m);
    return 0;
}

static int bench_rss(int threads, int clips, int batch)
{
    float *x = random_maps((size_t)clips, 11);
    int *labels = malloc(sizeof *labels * (size_t)clips);
    for (int i = 0; i < clips; i++)
        labels[i] = i % K;
    nn_model *m = build(batch, threads);
    nn_opt_config oc = nn_opt_defaults(NN_OPT_ADAM);
    nn_optimizer *o = nn_opt_new(m, &oc, NULL);
    aa_error err;
    double t0 = aa_now();
    /* One epoch over 80% of the clips, as peer_train.py's split. */
    int n_train = clips * 4 / 5, steps = 0;
    for (int i = 0; i + batch <= n_train; i += batch, steps++)
        if (nn_train_step(m, o, x + (size_t)i * H * W, labels + i, batch, NULL, 1, 0, NULL, NULL, &err) != 0) {
            fprintf(stderr, "nn_train: %s\n", err.msg);
            return 1;
        }
    double dt = aa_now() - t0, rss = peak_rss_mb();
    printf("rss: %d clips in memory, one epoch of %d steps at batch %d: %.2f s, peak RSS %.0f MB\n", clips, steps,
           batch, dt, rss);
    printf("{\"bench\": \"nn_train\", \"mode\": \"rss\", \"threads\": %d, \"clips\": %d, \"batch\": %d, "
           "\"epoch_s\": %.3f, \"peak_rss_mb\": %.1f}\n", threads, clips, batch, dt, rss);
    free(x), free(labels);
    nn_opt_free(o);
    nn_model_free(m);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: nn_train train|infer|rss|core [--threads T] [--batch B] [--seconds S] [--reps R] "
                        "[--clips N]\n");
        return 2;
    }
    int threads = 1, batch = 32, reps = 200, clips = 1000;
    double seconds = 5;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--batch"))
            batch = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seconds"))
            seconds = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--reps"))
            reps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--clips"))
            clips = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "nn_train: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (threads < 1 || batch < 1 || reps < 1 || clips < batch || !(seconds > 0)) {
        fprintf(stderr, "nn_train: bad option value\n");
        return 2;
    }
    if (!strcmp(argv[1], "core")) {
        nn_blas_setup();
        printf("%s\n", nn_blas_core());
        return 0;
    }
    if (!strcmp(argv[1], "train"))
        return bench_train(threads, batch, seconds);
    if (!strcmp(argv[1], "infer"))
        return bench_infer(threads, reps);
    if (!strcmp(argv[1], "rss"))
        return bench_rss(threads, clips, batch);
    fprintf(stderr, "nn_train: unknown mode %s\n", argv[1]);
    return 2;
}
