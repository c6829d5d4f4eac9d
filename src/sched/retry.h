/*
 * retry.h - when to try an outbox delivery again.
 *
 * Exponential backoff with "equal jitter": the n-th retry waits a random
 * time between half and all of min(cap, base * 2^(n-1)), so a crowd of
 * items that failed together does not come back together.
 */
#ifndef GW_SCHED_RETRY_H
#define GW_SCHED_RETRY_H

#include <stdint.h>

/* Delay in ms before attempt number `attempts + 1`, after `attempts`
 * failed ones (>= 1). `random` is a uniform draw in [0, 1). */
int64_t gw_retry_delay_ms(int attempts, int64_t base_ms, int64_t cap_ms,
                          double random);

#endif
