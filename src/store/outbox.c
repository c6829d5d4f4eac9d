/*
 * outbox.c - the delivery side of the outbox, on its own connection.
 *
 *   pending ── gw_outbox_claim ──► inflight ── gw_outbox_done ──► done
 *      ▲  ▲                         │  ▲  │
 *      │  │ gw_outbox_fail(dead=0), │  │  │ gw_outbox_fail(dead=1), or
 *      │  └─ gw_outbox_release ─────┘  │  │ attempts reached the maximum
 *      │                               │  ▼
 *      │     gw_outbox_claim, once the └─ inflight with an expired lease
 *      │     lease has expired            (its worker died)
 *      └──── gw_outbox_retry ─────────── dead ◄── gw_store_sub_note
 *                                          (subscription in error, subs.c)
 *
 * Items are written (pending) by the writer in the transaction of the
 * change that caused them (writer.c). A claim is a lease: claimed_by names
 * the worker (host:pid:random), claimed_until when it lapses. Only the
 * holder records the outcome (every UPDATE says claimed_by = owner), and
 * only a claim may take over an item in flight, after its lease expired:
 * opening the store, listing the outbox or a second process never puts a
 * live delivery back. A worker's lease outlasts its peer's timeout (the
 * worker sees to that), so a live delivery has ended before anyone else
 * may take the item. Delivery stays at least once (a crash between send
 * and done repeats it), and every item carries a stable message id for
 * the receiver to drop duplicates. Claiming is one UPDATE ... RETURNING,
 * so two workers can never claim the same item.
 *
 * One exception to waiting for a lease: a `serve` that has just taken the
 * store's exclusive lock knows the holder of every lease is dead and
 * takes them all back at once (gw_outbox_reclaim_all).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "store/outbox.h"
#include "store/store_int.h"

/* Due pending items first, then expired leases, by (time, id): a merge of
 * two halves that each yield their rows in that order, so only the first
 * row of each is read (with one ORDER BY over their UNION ALL, every
 * pending item of the peer was read and sorted for every claim: a backlog
 * drained ever slower). The pending half walks outbox_due from its start,
 * a range up to now (a probe, ?5: no upper bound); the expired leases,
 * few (one per worker that died), are sorted. An item left in flight by a
 * klasgw without leases has claimed_until NULL: expired. */
static const char SQL_CLAIM[] =
    "UPDATE outbox SET state = 'inflight', claimed_by = ?3,"
    " claimed_until = ?2 + ?4, updated_ms = ?2 "
    "WHERE id = (SELECT id FROM ("
    "  SELECT id, next_attempt_ms AS t FROM outbox WHERE peer = ?1"
    "   AND state = 'pending' AND next_attempt_ms <="
    "   CASE WHEN ?5 THEN 9223372036854775807 ELSE ?2 END"
    "  UNION ALL"
    "  SELECT id, coalesce(claimed_until, 0) AS t FROM outbox WHERE peer = ?1"
    "   AND state = 'inflight' AND coalesce(claimed_until, 0) < ?2"
    "  ORDER BY t, id LIMIT 1)) RETURNING " GW_CLAIM_COLUMNS;
static const char SQL_DONE[] =
    "UPDATE outbox SET state = 'done', updated_ms = ?2, last_error = NULL,"
    " claimed_by = NULL, claimed_until = NULL "
    "WHERE id = ?1 AND state = 'inflight' AND claimed_by = ?3";
static const char SQL_FAIL[] =
    "UPDATE outbox SET state = CASE WHEN ?2 THEN 'dead' ELSE 'pending' END,"
    " attempts = attempts + 1, next_attempt_ms = ?3, last_error = ?4,"
    " updated_ms = ?5, claimed_by = NULL, claimed_until = NULL"
    " WHERE id = ?1 AND state = 'inflight' AND claimed_by = ?6";
static const char SQL_RELEASE[] =
    "UPDATE outbox SET state = 'pending', last_error = ?4, updated_ms = ?5,"
    " claimed_by = NULL, claimed_until = NULL"
    " WHERE id = ?1 AND state = 'inflight' AND claimed_by = ?6";
static const char SQL_RETRY[] =
    "UPDATE outbox SET state = 'pending', next_attempt_ms = ?2,"
    " updated_ms = ?2 WHERE id = ?1 AND state IN ('dead', 'pending')";
static const char SQL_RECLAIM[] =
    "UPDATE outbox SET state = 'pending', claimed_by = NULL,"
    " claimed_until = NULL, updated_ms = ?2,"
    " last_error = 'reclaimed at start-up: its worker had ended'"
    " WHERE state = 'inflight'"; /* ?1: no peer (see requeue) */
static const char SQL_DUE_NOW[] =
    "UPDATE outbox SET next_attempt_ms = ?2 WHERE peer = ?1 AND"
    " state = 'pending' AND next_attempt_ms > ?2";
/* Per peer, so both halves use outbox_due: a worker with nothing to do
 * must not see another peer's due items (it would poll every 10 ms, each
 * time holding the outbox connection the busy peer claims through). */
static const char SQL_NEXT_DUE[] =
    "SELECT min(t) FROM (SELECT min(next_attempt_ms) AS t FROM outbox"
    " WHERE peer = ?1 AND state = 'pending' UNION ALL"
    " SELECT min(coalesce(claimed_until, 0)) FROM outbox"
    " WHERE peer = ?1 AND state = 'inflight')";
static const char SQL_LIST[] =
    "SELECT id, message_id, peer, kind, coalesce(refnr, ''), state, attempts,"
    " next_attempt_ms, created_ms, updated_ms, coalesce(last_error, ''),"
    " length(payload), coalesce(claimed_by, ''), coalesce(claimed_until, 0),"
    " coalesce(target, '') FROM outbox WHERE (?1 IS NULL OR state = ?1)"
    " AND (?2 = 0 OR id = ?2) ORDER BY id DESC LIMIT ?3";

const char *
gw_outbox_claim_sqlite(void)
{
    return SQL_CLAIM;
}

gw_rc
gw_sqlite_outbox_claim(struct gw_store *st, const char *peer, const char *owner,
                       int64_t lease_ms, int probe, struct gw_outbox_item **out)
{
    struct gw_outbox_item got = {0};
    sqlite3_stmt *s;
    gw_rc rc;
    int src;

    *out = NULL;
    pthread_mutex_lock(&st->obmu);
    s = gw_store_stmt(&st->ob, SQL_CLAIM);
    if (s == NULL) {
        pthread_mutex_unlock(&st->obmu);
        return GW_ESTORE;
    }
    gw_bind_text(s, 1, peer);
    sqlite3_bind_int64(s, 2, gw_clock_now_ms());
    gw_bind_text(s, 3, owner);
    sqlite3_bind_int64(s, 4, lease_ms > 0 ? lease_ms : 60000);
    sqlite3_bind_int(s, 5, probe != 0);
    rc = gw_store_one_cells(&st->ob, s, gw_rows_outbox_item, &got,
                            "outbox_claim");
    if (rc == GW_OK || rc == GW_ENOMEM) {
        /* RETURNING rows must be stepped to the end to commit. */
        while ((src = sqlite3_step(s)) == SQLITE_ROW)
            ;
        if (rc == GW_OK)
            rc = gw_store_rc(st->ob.db, src, "outbox_claim");
    }
    sqlite3_reset(s);
    pthread_mutex_unlock(&st->obmu);
    if (rc == GW_OK)
        return gw_rows_outbox_item_keep(&got, out);
    free(got.payload);
    return rc == GW_ENOTFOUND ? GW_OK : rc; /* nothing due: *out NULL */
}

/* The outbox connection, locked, and sql's statement on it; NULL (and
 * unlocked) when it cannot be prepared. */
static sqlite3_stmt *
ob_lock(struct gw_store *st, const char *sql)
{
    sqlite3_stmt *s;

    pthread_mutex_lock(&st->obmu);
    s = gw_store_stmt(&st->ob, sql);
    if (s == NULL)
        pthread_mutex_unlock(&st->obmu);
    return s;
}

/* Steps s (from ob_lock) to its end, resets it and unlocks; *changes:
 * the rows it changed. */
static gw_rc
ob_run(struct gw_store *st, sqlite3_stmt *s, const char *what,
       long long *changes)
{
    gw_rc rc = gw_store_rc(st->ob.db, sqlite3_step(s), what);

    *changes = rc == GW_OK ? sqlite3_changes(st->ob.db) : 0;
    sqlite3_reset(s);
    pthread_mutex_unlock(&st->obmu);
    return rc;
}

static gw_rc
exec_m(struct gw_store *st, const char *sql, long long id, const char *owner,
       int flag, int64_t t1, const char *text, int64_t t2, const char *what)
{
    sqlite3_stmt *s;
    long long changed;
    gw_rc rc;

    s = ob_lock(st, sql);
    if (s == NULL)
        return GW_ESTORE;
    sqlite3_bind_int64(s, 1, id);
    if (sql == SQL_FAIL || sql == SQL_RELEASE) {
        if (sql == SQL_FAIL) {
            sqlite3_bind_int(s, 2, flag);
            sqlite3_bind_int64(s, 3, t1);
        }
        gw_bind_text(s, 4, text);
        sqlite3_bind_int64(s, 5, t2);
        gw_bind_text(s, 6, owner);
    } else {
        sqlite3_bind_int64(s, 2, t1);
        if (sql == SQL_DONE)
            gw_bind_text(s, 3, owner);
    }
    rc = ob_run(st, s, what, &changed);
    if (rc == GW_OK && changed == 0)
        rc = GW_ENOTFOUND;
    return rc;
}

gw_rc
gw_sqlite_outbox_done(struct gw_store *st, long long id, const char *owner)
{
    return exec_m(st, SQL_DONE, id, owner, 0, gw_clock_now_ms(), NULL, 0,
                  "outbox_done");
}

gw_rc
gw_sqlite_outbox_fail(struct gw_store *st, long long id, const char *owner, int dead,
               int64_t next_ms, const char *why)
{
    return exec_m(st, SQL_FAIL, id, owner, dead, next_ms, why,
                  gw_clock_now_ms(), "outbox_fail");
}

gw_rc
gw_sqlite_outbox_release(struct gw_store *st, long long id, const char *owner,
                  const char *why)
{
    return exec_m(st, SQL_RELEASE, id, owner, 0, 0, why, gw_clock_now_ms(),
                  "outbox_release");
}

/* Runs one of the UPDATEs that make items deliverable now (?1 the peer
 * or NULL, ?2 now); *n: how many; wakes the worker when there are any. */
static gw_rc
requeue(struct gw_store *st, const char *sql, const char *peer,
        const char *what, long long *n)
{
    sqlite3_stmt *s;
    gw_rc rc;

    *n = 0;
    s = ob_lock(st, sql);
    if (s == NULL)
        return GW_ESTORE;
    gw_bind_text(s, 1, peer);
    sqlite3_bind_int64(s, 2, gw_clock_now_ms());
    rc = ob_run(st, s, what, n);
    if (rc == GW_OK && *n > 0)
        gw_outbox_wake(st);
    return rc;
}

gw_rc
gw_sqlite_outbox_due_now(struct gw_store *st, const char *peer, long long *n)
{
    return requeue(st, SQL_DUE_NOW, peer, "outbox_due_now", n);
}

/*
 * Every item in flight back to pending, whoever holds its lease. Only for
 * a caller that knows every other claimant is dead: `serve` holding the
 * store's exclusive lock (cmd_serve.c). SQLite is single-node, and a
 * worker lives only inside the serve that holds that lock, so when a new
 * serve has the lock, the holders of these leases ended with their
 * process (a SIGKILL, a crash, a power cut) and nobody is still
 * delivering them. Waiting for their leases (outbox.lease_s) would only
 * delay the resend. The attempt is not counted and the backoff stays:
 * the delivery was cut, not refused. Leases and their expiry stay for a
 * store shared by several nodes (a server database), where a claimant in
 * another process may be alive; that store must not call this.
 */
gw_rc
gw_sqlite_outbox_reclaim_all(struct gw_store *st, long long *n)
{
    return requeue(st, SQL_RECLAIM, NULL, "outbox_reclaim", n);
}

gw_rc
gw_sqlite_outbox_retry(struct gw_store *st, long long id)
{
    gw_rc rc = exec_m(st, SQL_RETRY, id, NULL, 0, gw_clock_now_ms(), NULL, 0,
                      "outbox_retry");

    if (rc == GW_OK)
        gw_sqlite_outbox_wake(st);
    return rc;
}

int64_t
gw_sqlite_outbox_next_due(struct gw_store *st, const char *peer)
{
    sqlite3_stmt *s;
    int64_t due = -1;

    pthread_mutex_lock(&st->obmu);
    s = gw_store_stmt(&st->ob, SQL_NEXT_DUE);
    if (s != NULL) {
        gw_bind_text(s, 1, peer);
        if (sqlite3_step(s) == SQLITE_ROW &&
            sqlite3_column_type(s, 0) != SQLITE_NULL)
            due = sqlite3_column_int64(s, 0);
        sqlite3_reset(s);
    }
    pthread_mutex_unlock(&st->obmu);
    return due;
}

gw_rc
gw_sqlite_outbox_items(struct gw_store *st, const char *state, long long id,
                       int limit, struct gw_outbox_info **items, size_t *n)
{
    struct conn *c = gw_store_reader_take(st);
    sqlite3_stmt *s = gw_store_stmt(c, SQL_LIST);
    int max = limit > 0 ? limit : 100;
    gw_rc rc = GW_ESTORE;

    *items = NULL;
    *n = 0;
    if (s != NULL) {
        gw_bind_text(s, 1, state);
        sqlite3_bind_int64(s, 2, id);
        sqlite3_bind_int(s, 3, max);
        rc = gw_store_collect_cells(c, s, sizeof(**items), (size_t)max,
                                    gw_rows_outbox_info, NULL, "outbox_list",
                                    (void **)items, n);
        sqlite3_reset(s);
    }
    gw_store_reader_give(st, c);
    return rc;
}

gw_rc
gw_sqlite_outbox_wait(struct gw_store *st, long long *seen, int64_t timeout_ms)
{
    return gw_wstate_outbox_wait(&st->ws, seen, timeout_ms);
}

void
gw_sqlite_outbox_wake(struct gw_store *st)
{
    gw_wstate_outbox_bump(&st->ws);
}
