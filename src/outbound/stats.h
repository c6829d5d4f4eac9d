/*
 * stats.h - counters of what leaves the gateway, for /metrics
 * (http/metrics.c): delivery attempts per peer and outcome, and the HSA
 * check (call latency, errors, cache hits and misses).
 *
 * Peers are registered at start (gw_stats_peer_add, by the outbox worker
 * and serve), so that every configured peer has its series from the first
 * scrape, at zero; a peer first seen in gw_stats_delivery is added then.
 * At most GW_STATS_MAX_PEERS peers (labels stay bounded: webhooks are one
 * peer, "pharmacy", not one per endpoint). Counting is a relaxed atomic
 * add; only registering takes a lock.
 */
#ifndef GW_OUTBOUND_STATS_H
#define GW_OUTBOUND_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "outbound/client.h"

#define GW_STATS_MAX_PEERS 8

/* The outcomes of a delivery attempt, as labels: indexed by enum
 * gw_delivery (delivered, retry, refused). */
extern const char *const gw_stats_outcome[3];

void gw_stats_peer_add(const char *peer);
/* One delivery attempt to peer ended with d. */
void gw_stats_delivery(const char *peer, enum gw_delivery d);

/* One call to HSA took micros; ok: an answer (found or not) came back. */
void gw_stats_hsa_call(int64_t micros, int ok);
/* One prescriber look-up: answered from the cache (hit) or not. */
void gw_stats_hsa_cache(int hit);

/* Snapshot for /metrics. */
struct gw_stats_peer {
    char peer[32];
    long long attempts[3]; /* by enum gw_delivery */
};
#define GW_STATS_HSA_NBUCKET 11
extern const double gw_stats_hsa_bucket_s[GW_STATS_HSA_NBUCKET];
struct gw_stats_hsa {
    long long bucket[GW_STATS_HSA_NBUCKET + 1]; /* not cumulative; last:
                                                   +Inf */
    long long calls, errors, sum_us, cache_hits, cache_misses;
};
/* Copies up to max peers into out; returns how many. */
size_t gw_stats_peers(struct gw_stats_peer *out, size_t max);
void gw_stats_hsa_get(struct gw_stats_hsa *out);

#endif
