/*
 * outbox.h - the delivery side of the outbox (outbox.c): items are put
 * in by the writer (write.h), claimed here under a lease, delivered by a
 * peer behind outbound/client.h, then done, failed or released. The item
 * type lives with the table it is read from, so the store needs nothing
 * from outbound/.
 */
#ifndef GW_STORE_OUTBOX_H
#define GW_STORE_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct gw_store;

struct gw_outbox_item {
    long long id;
    char message_id[160]; /* stable: receivers drop duplicates by it (our
                           * ids are at most 127 bytes: writer.c) */
    char peer[32];
    char kind[48];
    char refnr[16];
    char *payload; /* in the item's block: freed with it */
    size_t payload_len;
    int attempts; /* failed attempts before this one */
    char target[40];           /* the subscription a notification is for */
    long long next_attempt_ms; /* when it was due (a probe may be early) */
};

/* Claims up to one item of `peer` for `owner` (a worker's unique id) with
 * a lease until now + lease_ms, marking it in flight: a pending item that
 * is due, or one in flight whose lease has expired (its holder died).
 * With `probe` set, the pending item due first is taken even if it is not
 * due yet (a probe of a peer that is down). *out is NULL when there is
 * nothing to take. Free with gw_outbox_item_free. */
gw_rc gw_outbox_claim(struct gw_store *st, const char *peer, const char *owner,
                      int64_t lease_ms, int probe,
                      struct gw_outbox_item **out) GW_WARN_UNUSED;
void gw_outbox_item_free(struct gw_outbox_item *item);
/* The SQLite statement gw_outbox_claim runs (parameters ?1 to ?5): for a
 * look at its plan (EXPLAIN QUERY PLAN; test_store does). */
const char *gw_outbox_claim_sqlite(void);
/* Records a delivery outcome of an item `owner` holds: done, retry at
 * next_ms, or dead. GW_ENOTFOUND when owner no longer holds it (its lease
 * expired and another worker took it over). */
gw_rc gw_outbox_done(struct gw_store *st, long long id,
                     const char *owner) GW_WARN_UNUSED;
gw_rc gw_outbox_fail(struct gw_store *st, long long id, const char *owner,
                     int dead, int64_t next_ms, const char *why) GW_WARN_UNUSED;
/* A probe that did not get through, tried before the item was due: back
 * to pending as it was (the attempt is not counted, the backoff stays),
 * with why as its last error. */
gw_rc gw_outbox_release(struct gw_store *st, long long id, const char *owner,
                        const char *why) GW_WARN_UNUSED;
/* The peer answers again: every pending item of peer is due now. *n gets
 * how many were moved forward. */
gw_rc gw_outbox_due_now(struct gw_store *st, const char *peer,
                        long long *n) GW_WARN_UNUSED;
/* Every item in flight back to pending now, whatever its lease; *n gets
 * how many. Only for the one process that holds the store exclusively
 * (serve, with its lock), which knows every lease holder is dead. */
gw_rc gw_outbox_reclaim_all(struct gw_store *st, long long *n) GW_WARN_UNUSED;
/* Operators: put a dead or pending item back for delivery now. */
gw_rc gw_outbox_retry(struct gw_store *st, long long id) GW_WARN_UNUSED;
/* Waits until new outbox work may exist (a commit with outbox items, a
 * retry, gw_outbox_wake) or timeout_ms passes (GW_ETIMEOUT). *seen is the
 * generation the caller last saw; updated on return. */
gw_rc gw_outbox_wait(struct gw_store *st, long long *seen, int64_t timeout_ms);
/* Wakes every waiter (used to stop workers). */
void gw_outbox_wake(struct gw_store *st);
/* Earliest next_attempt of one peer's pending item, or the expiry of one
 * of its leases in flight, or -1. */
int64_t gw_outbox_next_due(struct gw_store *st, const char *peer);
/* Counts per state for metrics: pending, inflight, done, dead. */
gw_rc gw_outbox_counts(struct gw_store *st, long long counts[4]) GW_WARN_UNUSED;

/* Per peer: items waiting or in flight (queue depth), and dead letters. */
struct gw_outbox_peer_count {
    char peer[32];
    long long queued, dead;
};
gw_rc gw_outbox_peer_counts(struct gw_store *st,
                            struct gw_outbox_peer_count *out, size_t max,
                            size_t *n) GW_WARN_UNUSED;

struct gw_outbox_info {
    long long id;
    char message_id[160], peer[32], kind[48], refnr[16], state[12];
    int attempts;
    int64_t next_attempt_ms, created_ms, updated_ms;
    char last_error[200];
    size_t payload_len;
    char claimed_by[96]; /* in flight: the worker holding the lease */
    int64_t claimed_until;
    char target[40]; /* notification: the subscription id */
};
/* Lists items (state NULL: all), newest first, at most limit. */
gw_rc gw_outbox_list(struct gw_store *st, const char *state, int limit,
                     struct gw_outbox_info **items, size_t *n) GW_WARN_UNUSED;
gw_rc gw_outbox_show(struct gw_store *st, long long id,
                     struct gw_outbox_info *out) GW_WARN_UNUSED;
/* What both read (store.c): items (state NULL: all; id 0: all),
 * newest first, at most limit (0: 100). */
gw_rc gw_outbox_items(struct gw_store *st, const char *state, long long id,
                      int limit, struct gw_outbox_info **items,
                      size_t *n) GW_WARN_UNUSED;

/* Per peer with items waiting or in flight: when the oldest of them was
 * created (ms since the epoch), for the backlog's age in /metrics. */
struct gw_outbox_peer_oldest {
    char peer[32];
    int64_t created_ms;
};
gw_rc gw_outbox_peer_oldest(struct gw_store *st,
                            struct gw_outbox_peer_oldest *out, size_t max,
                            size_t *n) GW_WARN_UNUSED;

#endif
