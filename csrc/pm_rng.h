/*
 * pm_rng.h -- private inline draws from a caller-owned pm_rng
 * (xoshiro256**, Blackman & Vigna 2018, https://prng.di.unimi.it/).
 * Seeding (splitmix64) is pm_rng_seed in pm_rng.c.
 */
#ifndef PM_RNG_H
#define PM_RNG_H

#include "pm_internal.h"

static inline uint64_t pm_rotl64(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* Next 64 random bits; advances the state. */
static inline uint64_t pm_rng_next(pm_rng *rng)
{
    uint64_t *s = rng->s;
    const uint64_t result = pm_rotl64(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = pm_rotl64(s[3], 45);
    return result;
}

#endif /* PM_RNG_H */
