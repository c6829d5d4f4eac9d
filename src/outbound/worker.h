/*
 * worker.h - the outbox worker: delivers pending outbox items to their
 * peers through struct gw_peer (client.h).
 *
 * Per peer, `per_peer_concurrency` threads each claim one due item at a
 * time, so a slow or failing peer never holds up another peer, and a
 * poison item only delays itself (it is retried later with backoff while
 * the items behind it are claimed). After `max_attempts` failures, or one
 * permanent failure, an item becomes a dead letter for an operator
 * (`klasgw outbox dead|retry`). While a peer is down, its failures are
 * logged once, then at most once a minute with a count.
 *
 * Every claim is a lease held by this worker's id (host:pid:random) for
 * the peer's lease time; items whose lease expired (a worker that died)
 * are taken over by the next claim. The caller makes each peer's lease
 * longer than its timeout, so a live delivery never loses its lease.
 *
 * Peer down and back (peers with `probe`): after two transient failures
 * in a row the peer is down. While it is down only one item, the probe, is
 * tried every probe_interval_ms (the one due first, even before its own
 * backoff is over: then a failure does not count as an attempt); the other
 * threads wait. When the peer answers, it is up, every pending item of it
 * is due at once, and the per_peer_concurrency threads deliver them.
 */
#ifndef GW_OUTBOUND_WORKER_H
#define GW_OUTBOUND_WORKER_H

#include "outbound/client.h"

struct gw_outbox_worker;
struct gw_store;

/* Per peer (same order as the peers). */
struct gw_outbox_peer_opts {
    int64_t lease_ms; /* 0: the worker's lease_ms */
    int probe;        /* probe the peer while it is down (one endpoint) */
};

struct gw_outbox_worker_opts {
    int max_attempts;
    int64_t backoff_base_ms, backoff_cap_ms;
    int per_peer_concurrency;
    int64_t idle_poll_ms; /* longest sleep when nothing is due (1000) */
    int64_t lease_ms;     /* default lease of a claim (60000) */
    int64_t probe_interval_ms;                   /* 0: no probing */
    const struct gw_outbox_peer_opts *peer_opts; /* NULL: defaults, every
                                                    peer probed */
};

/* Starts the threads; peers (npeers entries) are borrowed until stop. */
gw_rc gw_outbox_worker_start(struct gw_store *st, const struct gw_peer *peers,
                             size_t npeers,
                             const struct gw_outbox_worker_opts *opts,
                             struct gw_outbox_worker **out) GW_WARN_UNUSED;
/* Lets deliveries in progress finish, then joins the threads. */
void gw_outbox_worker_stop(struct gw_outbox_worker *w);

#endif
