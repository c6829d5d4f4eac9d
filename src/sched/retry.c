/*
 * retry.c - backoff arithmetic, overflow-safe for any attempt count.
 */
#include "sched/retry.h"

int64_t
gw_retry_delay_ms(int attempts, int64_t base_ms, int64_t cap_ms, double random)
{
    int64_t d = base_ms;

    for (int i = 1; i < attempts && d < cap_ms; i++)
        d *= 2;
    if (d > cap_ms)
        d = cap_ms;
    if (random < 0)
        random = 0;
    if (random >= 1)
        random = 0.999999;
    return d / 2 + (int64_t)((double)(d - d / 2) * random);
}
