/*
 * hsa_cache.h - the cache of HSA answers: read by the request that needs
 * one (shared_reads.c), stored by the store's writer (write_apply.c).
 */
#ifndef GW_STORE_HSA_CACHE_H
#define GW_STORE_HSA_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct gw_store;

/* One cached answer, kept until expires_ms. */
struct gw_hsa_entry {
    const char *person_hsa;
    const char *answer;
    size_t len;
    int64_t fetched_ms, expires_ms;
};

/*
 * Hands a copy of person_hsa's answer to the store's writer without
 * waiting: the writer stores it in its next batch's transaction, so a
 * request thread never writes to the database nor waits for its write
 * lock. A cache entry is no message and may be lost: GW_OK says queued,
 * not stored. A writer that cannot store it logs
 * event=hsa_cache_put_failed, and a batch that fails as a whole takes it
 * along. Else nothing was queued: GW_EBUSY while GW_WQ_HSA_MAX entries
 * wait already (wqueue.h), GW_EUNAVAILABLE when the store stops or has
 * no writer, GW_ENOMEM.
 */
gw_rc gw_store_hsa_put_async(struct gw_store *st, const char *person_hsa,
                             const char *answer, size_t len,
                             int64_t expires_ms) GW_WARN_UNUSED;
/* GW_ENOTFOUND when absent or expired at now_ms. Caller frees *answer. */
gw_rc gw_store_hsa_get(struct gw_store *st, const char *person_hsa,
                       int64_t now_ms, char **answer,
                       size_t *len) GW_WARN_UNUSED;

#endif
