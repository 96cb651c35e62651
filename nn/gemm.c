/* The one place matrix products go through: OpenBLAS's sgemm, its plain twin, and the OpenBLAS setup. */
#include <cblas.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"
#include "nn/nn_kernels.h"

void nn_gemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
             int ldb, float beta, float *c, int ldc)
{
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha,
                a, lda, b, ldb, beta, c, ldc);
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

/* DYNAMIC_ARCH builds of OpenBLAS export these (not in cblas.h); weak, so another BLAS build still links. */
void gotoblas_dynamic_init(void) __attribute__((weak));
void gotoblas_dynamic_quit(void) __attribute__((weak));

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

static void blas_setup_once(void)
{
    const char *core = openblas_get_corename();
    if (!getenv("OPENBLAS_CORETYPE") && core && generic_core(core) && gotoblas_dynamic_init &&
        gotoblas_dynamic_quit) {
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
            gotoblas_dynamic_quit();
            gotoblas_dynamic_init();
        }
    }
    openblas_set_num_threads(1);
}

void nn_blas_setup(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, blas_setup_once);
}

const char *nn_blas_core(void)
{
    const char *c = openblas_get_corename();
    return c ? c : "unknown";
}
