/*
 * hsa_cache.h - the cache of HSA answers (hsa_cache.c).
 */
#ifndef GW_STORE_HSA_CACHE_H
#define GW_STORE_HSA_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct gw_store;

gw_rc gw_store_hsa_put(struct gw_store *st, const char *person_hsa,
                       const char *answer, size_t len,
                       int64_t expires_ms) GW_WARN_UNUSED;
/* GW_ENOTFOUND when absent or expired at now_ms. Caller frees *answer. */
gw_rc gw_store_hsa_get(struct gw_store *st, const char *person_hsa,
                       int64_t now_ms, char **answer,
                       size_t *len) GW_WARN_UNUSED;

#endif
