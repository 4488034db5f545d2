/* pm_rng.c -- seeding of the caller-owned xoshiro256** state. */
#include "pm_rng.h"

/* splitmix64 (Steele, Lea & Flood 2014): the seeding generator the xoshiro
 * authors recommend; four outputs never give the all-zero state. */
static uint64_t pm_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

int pm_rng_seed(pm_rng *rng, uint64_t seed)
{
    PM_CHECK_ARG(rng != NULL);
    for (int i = 0; i < 4; i++)
        rng->s[i] = pm_splitmix64(&seed);
    return PM_OK;
}
