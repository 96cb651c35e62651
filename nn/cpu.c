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
