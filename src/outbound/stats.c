/*
 * stats.c - delivery and HSA counters for /metrics (see stats.h).
 */
#include "outbound/stats.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

const char *const gw_stats_outcome[3] = {"delivered", "retry", "refused"};
const double gw_stats_hsa_bucket_s[GW_STATS_HSA_NBUCKET] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct gw_stats_peer peers[GW_STATS_MAX_PEERS];
static size_t npeers; /* written under mu, read with an acquire load */

static struct gw_stats_hsa hsa;

/* The peer's row, added when new (NULL when the table is full). */
static struct gw_stats_peer *
peer_row(const char *peer)
{
    size_t n = __atomic_load_n(&npeers, __ATOMIC_ACQUIRE);
    struct gw_stats_peer *row = NULL;

    for (size_t i = 0; i < n; i++)
        if (strcmp(peers[i].peer, peer) == 0)
            return &peers[i];
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < npeers; i++)
        if (strcmp(peers[i].peer, peer) == 0)
            row = &peers[i];
    if (row == NULL && npeers < GW_STATS_MAX_PEERS) {
        row = &peers[npeers];
        snprintf(row->peer, sizeof(row->peer), "%s", peer);
        __atomic_store_n(&npeers, npeers + 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&mu);
    return row;
}

void
gw_stats_peer_add(const char *peer)
{
    (void)peer_row(peer);
}

void
gw_stats_delivery(const char *peer, enum gw_delivery d)
{
    struct gw_stats_peer *row = peer_row(peer);

    if (row != NULL && (unsigned)d < 3)
        __atomic_add_fetch(&row->attempts[d], 1, __ATOMIC_RELAXED);
}

void
gw_stats_hsa_call(int64_t micros, int ok)
{
    size_t b = 0;

    while (b < GW_STATS_HSA_NBUCKET &&
           micros > (int64_t)(gw_stats_hsa_bucket_s[b] * 1e6))
        b++;
    __atomic_add_fetch(&hsa.bucket[b], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&hsa.sum_us, micros, __ATOMIC_RELAXED);
    __atomic_add_fetch(&hsa.calls, 1, __ATOMIC_RELAXED);
    if (!ok)
        __atomic_add_fetch(&hsa.errors, 1, __ATOMIC_RELAXED);
}

void
gw_stats_hsa_cache(int hit)
{
    __atomic_add_fetch(hit ? &hsa.cache_hits : &hsa.cache_misses, 1,
                       __ATOMIC_RELAXED);
}

size_t
gw_stats_peers(struct gw_stats_peer *out, size_t max)
{
    size_t n = __atomic_load_n(&npeers, __ATOMIC_ACQUIRE);

    if (n > max)
        n = max;
    for (size_t i = 0; i < n; i++) {
        memcpy(out[i].peer, peers[i].peer, sizeof(out[i].peer));
        for (int k = 0; k < 3; k++)
            out[i].attempts[k] =
                __atomic_load_n(&peers[i].attempts[k], __ATOMIC_RELAXED);
    }
    return n;
}

void
gw_stats_hsa_get(struct gw_stats_hsa *out)
{
    for (size_t k = 0; k <= GW_STATS_HSA_NBUCKET; k++)
        out->bucket[k] = __atomic_load_n(&hsa.bucket[k], __ATOMIC_RELAXED);
    out->sum_us = __atomic_load_n(&hsa.sum_us, __ATOMIC_RELAXED);
    out->errors = __atomic_load_n(&hsa.errors, __ATOMIC_RELAXED);
    out->cache_hits = __atomic_load_n(&hsa.cache_hits, __ATOMIC_RELAXED);
    out->cache_misses = __atomic_load_n(&hsa.cache_misses, __ATOMIC_RELAXED);
    /* The count is the buckets' sum, so that _count and the +Inf bucket
     * agree in one scrape whatever runs concurrently. */
    out->calls = 0;
    for (size_t k = 0; k <= GW_STATS_HSA_NBUCKET; k++)
        out->calls += out->bucket[k];
}
