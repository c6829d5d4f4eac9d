/*
 * random.h - bytes from the kernel's CSPRNG (getrandom(2)).
 */
#ifndef GW_CORE_RANDOM_H
#define GW_CORE_RANDOM_H

#include <stddef.h>

#include "core/err.h"

/* Fills buf with n random bytes; GW_EIO if the kernel will not. */
gw_rc gw_random_bytes(void *buf, size_t n) GW_WARN_UNUSED;

/* Writes a random UUID (version 4) as 36 characters + NUL into out. */
gw_rc gw_random_uuid(char out[37]) GW_WARN_UNUSED;

#endif
