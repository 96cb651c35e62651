#include <math.h>

#include "util/util.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void aa_rng_seed(aa_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

void aa_rng_seed3(aa_rng *r, uint64_t seed, uint64_t stream, uint64_t index)
{
    /* Mix the three words through splitmix64 so that neighbouring (stream, index) pairs give unrelated
     * states rather than shifted copies of one stream. */
    uint64_t x = seed;
    uint64_t h = splitmix64(&x);
    x = h ^ (stream * 0xd1342543de82ef95ULL);
    h = splitmix64(&x);
    x = h ^ (index * 0xaf251af3b0f025b5ULL);
    aa_rng_seed(r, splitmix64(&x));
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t aa_rng_u64(aa_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float aa_rng_uniform(aa_rng *r)
{
    return (float)(aa_rng_u64(r) >> 40) * (1.0f / 16777216.0f);
}

double aa_rng_uniform_d(aa_rng *r)
{
    return (double)(aa_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

uint64_t aa_rng_below(aa_rng *r, uint64_t n)
{
    /* Rejection of the short top range keeps every value equally likely. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = aa_rng_u64(r);
    while (x >= limit);
    return x % n;
}

double aa_rng_normal(aa_rng *r)
{
    double u1 = aa_rng_uniform_d(r), u2 = aa_rng_uniform_d(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void aa_rng_shuffle(aa_rng *r, size_t *idx, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)aa_rng_below(r, i);
        size_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}
