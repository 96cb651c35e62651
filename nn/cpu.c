/* Which hand-vectorised kernels this CPU can run. */
#include <stdlib.h>
#include <string.h>

#include "nn/nn_kernels.h"

int nn_cpu_avx2(void)
{
#if defined(__x86_64__) || defined(__i386__)
    /* __builtin_cpu_supports reads a table libgcc fills at start-up; cheap enough to ask per call. */
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

/* AA_NN_KERNELS lowers the choice: "gemm" keeps convolutions on im2col + OpenBLAS sgemm even where the
 * direct AVX-512 kernels could run (to compare the two, or to rule the direct kernels out when chasing a
 * problem), "plain" also turns off the AVX2 element-wise kernels. Anything else, or unset, is "auto". */
static int isa_cap(void)
{
    const char *k = getenv("AA_NN_KERNELS");
    if (k && !strcmp(k, "gemm"))
        return NN_ISA_AVX2;
    if (k && !strcmp(k, "plain"))
        return NN_ISA_PLAIN;
    return NN_ISA_AVX512;
}

int nn_cpu_isa(void)
{
    int isa = NN_ISA_PLAIN;
#if defined(__x86_64__)
    /* libgcc reports AVX-512F only when the OS saves the zmm registers (XCR0). */
    if (nn_cpu_avx2())
        isa = __builtin_cpu_supports("avx512f") ? NN_ISA_AVX512 : NN_ISA_AVX2;
#endif
    int cap = isa_cap();
    return isa < cap ? isa : cap;
}
