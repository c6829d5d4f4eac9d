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
 */
#ifndef GW_OUTBOUND_WORKER_H
#define GW_OUTBOUND_WORKER_H

#include "outbound/client.h"
#include "store/store.h"

struct gw_outbox_worker;

struct gw_outbox_worker_opts {
    int max_attempts;
    int64_t backoff_base_ms, backoff_cap_ms;
    int per_peer_concurrency;
    int64_t idle_poll_ms; /* longest sleep when nothing is due (1000) */
};

/* Starts the threads; peers (npeers entries) are borrowed until stop. */
gw_rc gw_outbox_worker_start(struct gw_store *st, const struct gw_peer *peers,
                             size_t npeers,
                             const struct gw_outbox_worker_opts *opts,
                             struct gw_outbox_worker **out) GW_WARN_UNUSED;
/* Lets deliveries in progress finish, then joins the threads. */
void gw_outbox_worker_stop(struct gw_outbox_worker *w);

#endif
