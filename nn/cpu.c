/* Which hand-vectorised kernels this CPU can run. */
#include "nn/nn_internal.h"

int nn_cpu_avx2(void)
{
#if defined(__x86_64__) || defined(__i386__)
    /* __builtin_cpu_supports reads a table libgcc fills at start-up; cheap enough to ask per call. */
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

int nn_cpu_isa(void)
{
#if defined(__x86_64__)
    if (!nn_cpu_avx2())
        return NN_ISA_PLAIN;
    /* libgcc reports AVX-512F only when the OS saves the zmm registers (XCR0). */
    return __builtin_cpu_supports("avx512f") ? NN_ISA_AVX512 : NN_ISA_AVX2;
#else
    return NN_ISA_PLAIN;
#endif
}
