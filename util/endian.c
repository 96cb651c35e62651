#include <string.h>
#include <time.h>

#include "util/util.h"

void aa_put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

void aa_put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

void aa_put_f32(unsigned char *p, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    aa_put_u32(p, u);
}

uint32_t aa_get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t aa_get_u64(const unsigned char *p)
{
    return (uint64_t)aa_get_u32(p) | (uint64_t)aa_get_u32(p + 4) << 32;
}

float aa_get_f32(const unsigned char *p)
{
    uint32_t u = aa_get_u32(p);
    float v;
    memcpy(&v, &u, 4);
    return v;
}

double aa_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
