/*
 * console.h - what the operator's console (src/http/console.c) reads from
 * the store, and the one thing it changes besides a retry: discarding a
 * dead letter. Counts and operational facts only: no payload, no case
 * content, no patient data ever leaves these functions (a dead letter is
 * its item id, peer, kind, attempts and the last error the worker
 * recorded, which is written from our own fixed texts and the peer's HTTP
 * status, never from a message).
 *
 * Each is an operation of both store backends (backend.h; SQLite:
 * console.c, PostgreSQL: pg_console.c). On SQLite reads take a reader
 * connection and the discard runs on the outbox's own connection, like
 * gw_outbox_retry; on PostgreSQL each takes a pool connection. Either way
 * the discard writes its audit record in the same transaction.
 */
#ifndef GW_STORE_CONSOLE_H
#define GW_STORE_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "core/err.h"

struct gw_store;

/* At most this many peers and dead letters on a page. */
#define GW_CONSOLE_MAX_PEERS 16
#define GW_CONSOLE_MAX_DEAD 100

/* One outbox peer: its queue and when it last took or refused an item. */
struct gw_console_peer {
    char peer[32];
    long long pending, inflight, dead;
    int64_t oldest_pending_ms; /* created_ms of the oldest pending; 0: none */
    int64_t last_ok_ms;        /* last delivery (among the newest
                                  GW_CONSOLE_RECENT items); 0: none seen */
    int64_t last_fail_ms;      /* last failure of an item still waiting or
                                  dead; 0: none */
};
#define GW_CONSOLE_RECENT 10000

/* The peers of the outbox: first those named in `known` (nknown; listed
 * even with nothing queued), then any other peer with items. *n gets how
 * many of max were filled. */
gw_rc gw_console_peers(struct gw_store *st, const char *const *known,
                       size_t nknown, struct gw_console_peer *out, size_t max,
                       size_t *n) GW_WARN_UNUSED;

/* For the backends (console.c, pg_console.c): the index of peer in
 * out[0..*n), added (zeroed) when new and there is room; SIZE_MAX when
 * full. */
size_t gw_console_peer_slot(struct gw_console_peer *out, size_t max, size_t *n,
                            const char *peer);

/* For the backends: the operator's audit record of discarding dead
 * letter id (peer, kind), its detail written into detail[size]. */
struct gw_audit_entry;
void gw_console_discard_entry(struct gw_audit_entry *e, char *detail,
                              size_t size, long long id, const char *system,
                              const char *user, const char *peer,
                              const char *kind);

struct gw_console_dead {
    long long id;
    char peer[32], kind[48];
    int attempts;
    int64_t created_ms, updated_ms;
    char last_error[200];
};
/* The dead letters, newest first, at most max (<= GW_CONSOLE_MAX_DEAD)
 * into out; *n how many. */
gw_rc gw_console_dead_letters(struct gw_store *st, struct gw_console_dead *out,
                              size_t max, size_t *n) GW_WARN_UNUSED;

/* A count under a short key: a status code or a day (YYYY-MM-DD). */
struct gw_console_count {
    char key[16];
    long long n;
};
/* Cases per status (every status with a case). */
gw_rc gw_console_cases_by_status(struct gw_store *st,
                                 struct gw_console_count *out, size_t max,
                                 size_t *n) GW_WARN_UNUSED;
/* Cases created per UTC day from since_ms on, oldest day first. */
gw_rc gw_console_cases_by_day(struct gw_store *st, int64_t since_ms,
                              struct gw_console_count *out, size_t max,
                              size_t *n) GW_WARN_UNUSED;

/* The audit chain's head as stored (not verified): the last record's seq,
 * time and hash; seq 0 when the log is empty. */
struct gw_console_audit {
    int64_t seq, at_ms;
    char hash[GW_AUDIT_HASH_HEX];
};
gw_rc gw_console_audit_head(struct gw_store *st,
                            struct gw_console_audit *out) GW_WARN_UNUSED;

/* When the HSA cache last took an answer (ms; 0: never). */
gw_rc gw_console_hsa_last_answer(struct gw_store *st,
                                 int64_t *out) GW_WARN_UNUSED;

/* Removes dead letter id and appends the operator's audit record (system
 * and user: who pressed the button; action "outbox-discard", the item id,
 * peer and kind as detail) in the same transaction. GW_ENOTFOUND when id
 * is not a dead letter (delivered, retried or discarded meanwhile). The
 * item's peer is copied to peer (may be NULL). */
gw_rc gw_console_discard(struct gw_store *st, long long id, const char *system,
                         const char *user, char *peer,
                         size_t peer_size) GW_WARN_UNUSED;

#endif
