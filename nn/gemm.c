/* The one place matrix products go through: OpenBLAS's sgemm, its plain twin, and the OpenBLAS setup.
 *
 * OpenBLAS is loaded here, with dlopen, not linked. Linked, its constructor runs before main() and starts a
 * pool of worker threads, one per core, that nn never gives work (OpenBLAS runs on one thread, see nn.h).
 * They are not harmless: each worker reserves a 64-128 MB buffer as it starts and, when the address space
 * is capped (ulimit -v) so that the buffer does not fit, retries for ever, spinning a core; exit() then ran
 * OpenBLAS's destructor, which joins that worker, so a run that had printed its last line never ended.
 * No environment set in main() reaches a constructor that has already run, so the library is opened once
 * OPENBLAS_NUM_THREADS=1 is set: it then starts no worker at all. A run that builds no network (aa-infer
 * --mel, --help) does not load it.
 * The thread that calls sgemm first reserves the same buffer, with the same endless retry: under a cap
 * that leaves no room for it, OpenBLAS is not used (the plain kernels stand in, nn_blas_core says so), and
 * otherwise the buffer is taken at once, while there is room, and reused by every later call. */
#include <cblas.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "nn/nn.h"
#include "nn/nn_kernels.h"

/* The run-time name first (what the package installs, whichever variant the system's alternatives point
 * at), the development link second. */
static const char *const BLAS_NAMES[] = {"libopenblas.so.0", "libopenblas.so"};

typedef __typeof__(cblas_sgemm) *sgemm_fn;

/* Written once under pthread_once (blas_setup_once), read-only after. */
static struct {
    sgemm_fn sgemm;                /* NULL: not loaded, nn_gemm_ref stands in */
    void (*set_threads)(int);
    char *(*corename)(void);
    void (*dynamic_init)(void); /* DYNAMIC_ARCH builds only */
    void (*dynamic_quit)(void);
    char why[160];              /* why it could not be loaded */
} blas;

void nn_gemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
             int ldb, float beta, float *c, int ldc)
{
    nn_blas_setup(); /* for a caller that built no model yet; after the first call, one atomic load */
    if (!blas.sgemm) {
        nn_gemm_ref(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    blas.sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a,
               lda, b, ldb, beta, c, ldc);
}

void nn_gemm_ref(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                 int ldb, float beta, float *c, int ldc)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int p = 0; p < k; p++) {
                double av = ta ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p];
                double bv = tb ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j];
                s += av * bv;
            }
            float *cij = &c[(size_t)i * ldc + j];
            /* beta = 0 must ignore C, as BLAS does (it may hold NaN garbage). */
            *cij = (float)(alpha * s + (beta == 0.0f ? 0.0 : (double)beta * *cij));
        }
}

/* Kernel sets OpenBLAS falls back to on CPUs it does not know; all predate AVX2. */
static int generic_core(const char *name)
{
    static const char *const old[] = {"Prescott", "Katmai", "Coppermine", "Northwood", "Banias", "Core2",
                                      "Penryn", "Dunnington", "Nehalem", "Atom", "Opteron", "Opteron(SSE3)",
                                      "Barcelona", "Nano", "Sandybridge", "Bobcat", "Bulldozer"};
    for (size_t i = 0; i < sizeof old / sizeof old[0]; i++)
        if (strcmp(name, old[i]) == 0)
            return 1;
    return 0;
}

/* The symbol's address into *slot (a function pointer's storage, which POSIX lets dlsym fill); 0 if absent. */
static int resolve(void *lib, void *slot, const char *name)
{
    void *f = dlsym(lib, name);
    if (f)
        memcpy(slot, &f, sizeof f);
    return f != NULL;
}

static void blas_load(void)
{
    /* Before the library's constructor reads it: one thread, so no worker pool (see the top of the file).
     * Forced, since nn runs OpenBLAS on one thread whatever it says; OpenMP's threads are not concerned. */
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    void *lib = NULL;
    for (size_t i = 0; i < sizeof BLAS_NAMES / sizeof BLAS_NAMES[0] && !lib; i++)
        lib = dlopen(BLAS_NAMES[i], RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *e = dlerror();
        snprintf(blas.why, sizeof blas.why, "%s", e ? e : "libopenblas not found");
        return;
    }
    sgemm_fn sgemm = NULL;
    if (!resolve(lib, &blas.set_threads, "openblas_set_num_threads") ||
        !resolve(lib, &blas.corename, "openblas_get_corename") || !resolve(lib, &sgemm, "cblas_sgemm")) {
        snprintf(blas.why, sizeof blas.why, "the library lacks OpenBLAS's functions");
        return; /* the library stays loaded; nn_gemm_ref stands in */
    }
    resolve(lib, &blas.dynamic_init, "gotoblas_dynamic_init");
    resolve(lib, &blas.dynamic_quit, "gotoblas_dynamic_quit");
    blas.sgemm = sgemm;
}

/* OpenBLAS's buffer (BUFFER_SIZE of x86-64 builds, 128 MiB, plus a page). */
#define BLAS_BUFFER_BYTES (((size_t)128 << 20) + 4096)

/* Under an address-space cap: whether OpenBLAS's buffer fits, and if so, it taken now. 0: do not use it. */
static int blas_buffer_fits(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return 1;
    void *trial = malloc(BLAS_BUFFER_BYTES);
    if (!trial) {
        snprintf(blas.why, sizeof blas.why, "the address-space limit leaves no room for its 128 MiB buffer");
        return 0;
    }
    free(trial);
    float a = 1, b = 1, c = 0;
    blas.sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 1, 1, 1, 1.0f, &a, 1, &b, 1, 0.0f, &c, 1);
    return 1;
}

static void blas_setup_once(void)
{
    blas_load();
    if (!blas.sgemm)
        return;
    const char *core = blas.corename();
    if (!getenv("OPENBLAS_CORETYPE") && core && generic_core(core) && blas.dynamic_init && blas.dynamic_quit) {
        __builtin_cpu_init();
        const char *want = NULL;
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
            __builtin_cpu_supports("avx512cd"))
            want = "SkylakeX";
        else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
            want = "Haswell";
        if (want && setenv("OPENBLAS_CORETYPE", want, 0) == 0) {
            /* What the library's own constructor does, now with the variable set. */
            blas.dynamic_quit();
            blas.dynamic_init();
        }
    }
    blas.set_threads(1);
    if (!blas_buffer_fits())
        blas.sgemm = NULL;
}

void nn_blas_setup(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, blas_setup_once);
}

const char *nn_blas_core(void)
{
    nn_blas_setup();
    if (!blas.sgemm)
        return "none (OpenBLAS not used: see nn_blas_why)";
    const char *c = blas.corename();
    return c ? c : "unknown";
}

const char *nn_blas_why(void)
{
    nn_blas_setup();
    return blas.sgemm ? "" : blas.why;
}
