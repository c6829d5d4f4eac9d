/*
 * pg_outbox.c - the delivery side of the outbox on PostgreSQL (outbox.h's
 * contract): claims under a lease, taken with SELECT ... FOR UPDATE SKIP
 * LOCKED so that workers on several nodes never take the same item and
 * never wait for each other; done, fail, release only by the lease's
 * holder; operators' retry; counts and lists.
 *
 * A node that dies holding leases leaves them to expire: any node's worker
 * then takes the item over (the receiver drops the repeat by message id).
 * So gw_outbox_reclaim_all takes nothing back here: on a shared database
 * no process can know that every other holder is dead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "store/outbox.h"
#include "store/pg_int.h"

gw_rc
gw_pg_outbox_claim(struct gw_store *st, const char *peer, const char *owner,
                   int64_t lease_ms, int probe, struct gw_outbox_item **out)
{
    struct gw_pg_params p = {0};
    struct gw_outbox_item got = {0};
    gw_rc rc;

    *out = NULL;
    gw_pg_p_str(&p, peer);
    gw_pg_p_i64(&p, gw_clock_now_ms());
    gw_pg_p_str(&p, owner);
    gw_pg_p_i64(&p, lease_ms);
    gw_pg_p_i64(&p, probe != 0);
    /* The due item first (pending and due, or in flight with its lease
     * run out), rows another worker is claiming right now skipped. Each
     * half takes its first row in its own order, the pending one from
     * outbox_due ($5, a probe: no upper bound), and the earlier of the two
     * wins: one ORDER BY over both read and sorted every pending item of
     * the peer for every claim. The loser's row lock lasts as long as the
     * claim's statement. */
    rc = gw_pg_one(
        st,
        "WITH p AS (SELECT id, next_attempt_ms AS t FROM outbox WHERE "
        "peer = $1 AND state = 'pending' AND next_attempt_ms <= CASE WHEN "
        "$5::int <> 0 THEN 9223372036854775807 ELSE $2 END ORDER BY "
        "next_attempt_ms, id LIMIT 1 FOR UPDATE SKIP LOCKED), l AS (SELECT "
        "id, coalesce(claimed_until, 0) AS t FROM outbox WHERE peer = $1 AND "
        "state = 'inflight' AND coalesce(claimed_until, 0) < $2 ORDER BY 2, "
        "id LIMIT 1 FOR UPDATE SKIP LOCKED) UPDATE outbox SET state = "
        "'inflight', claimed_by = $3, claimed_until = $2 + $4, updated_ms = "
        "$2 WHERE id = (SELECT id FROM (SELECT * FROM p UNION ALL SELECT * "
        "FROM l) x ORDER BY t, id LIMIT 1) RETURNING " GW_CLAIM_COLUMNS,
        &p, "outbox_claim", gw_rows_outbox_item, &got);
    if (rc == GW_OK)
        return gw_rows_outbox_item_keep(&got, out);
    return rc == GW_ENOTFOUND ? GW_OK : rc; /* nothing due: *out NULL */
}

/* Ends owner's lease on item id (GW_ENOTFOUND: it is not held any
 * more): to state, attempts up by attempt, next_attempt_ms *next_ms
 * (NULL: as it was), last_error why. */
static gw_rc
lease_end(struct gw_store *st, long long id, const char *owner,
          const char *state, int attempt, const int64_t *next_ms,
          const char *why, const char *what)
{
    struct gw_pg_params p = {0};

    gw_pg_p_i64(&p, id);
    gw_pg_p_str(&p, state);
    gw_pg_p_i64(&p, attempt);
    if (next_ms != NULL)
        gw_pg_p_i64(&p, *next_ms);
    else
        gw_pg_p_str(&p, NULL);
    gw_pg_p_str(&p, why);
    gw_pg_p_i64(&p, gw_clock_now_ms());
    gw_pg_p_str(&p, owner);
    return gw_pg_change(st,
                "UPDATE outbox SET state = $2, attempts = attempts + $3, "
                "next_attempt_ms = coalesce($4::bigint, next_attempt_ms), "
                "last_error = $5, updated_ms = $6, claimed_by = NULL, "
                "claimed_until = NULL WHERE id = $1 AND state = 'inflight' "
                "AND claimed_by = $7",
                &p, what);
}

gw_rc
gw_pg_outbox_done(struct gw_store *st, long long id, const char *owner)
{
    return lease_end(st, id, owner, "done", 0, NULL, NULL, "outbox_done");
}

gw_rc
gw_pg_outbox_fail(struct gw_store *st, long long id, const char *owner,
                  int dead, int64_t next_ms, const char *why)
{
    return lease_end(st, id, owner, dead ? "dead" : "pending", 1, &next_ms,
                     why, "outbox_fail");
}

gw_rc
gw_pg_outbox_release(struct gw_store *st, long long id, const char *owner,
                     const char *why)
{
    return lease_end(st, id, owner, "pending", 0, NULL, why,
                     "outbox_release");
}

/* A change that makes items due now: every node's workers look again. */
static gw_rc
requeue(struct gw_store *st, const char *sql, const struct gw_pg_params *p,
        const char *what, long long *n)
{
    PGresult *r;
    gw_rc rc = gw_pg_run(st, sql, p, &r, what);

    *n = rc == GW_OK ? gw_pg_changed(r) : 0;
    PQclear(r);
    if (rc == GW_OK && *n > 0) {
        (void)gw_pg_run(st, "NOTIFY " GW_PG_CHANNEL, NULL, NULL, "notify");
        gw_pg_bump(PG(st));
    }
    return rc;
}

gw_rc
gw_pg_outbox_due_now(struct gw_store *st, const char *peer, long long *n)
{
    struct gw_pg_params p = {0};

    gw_pg_p_str(&p, peer);
    gw_pg_p_i64(&p, gw_clock_now_ms());
    return requeue(st,
                   "UPDATE outbox SET next_attempt_ms = $2 WHERE peer = $1 "
                   "AND state = 'pending' AND next_attempt_ms > $2",
                   &p, "outbox_due_now", n);
}

gw_rc
gw_pg_outbox_reclaim_all(struct gw_store *st, long long *n)
{
    (void)st;
    *n = 0;
    return GW_OK;
}

gw_rc
gw_pg_outbox_retry(struct gw_store *st, long long id)
{
    struct gw_pg_params p = {0};
    long long n;
    gw_rc rc;

    gw_pg_p_i64(&p, id);
    gw_pg_p_i64(&p, gw_clock_now_ms());
    rc = requeue(st,
                 "UPDATE outbox SET state = 'pending', next_attempt_ms = $2, "
                 "updated_ms = $2 WHERE id = $1 AND state IN ('dead', "
                 "'pending')",
                 &p, "outbox_retry", &n);
    if (rc == GW_OK && n == 0)
        rc = GW_ENOTFOUND;
    return rc;
}

int64_t
gw_pg_outbox_next_due(struct gw_store *st, const char *peer)
{
    struct gw_pg_params p = {0};
    PGresult *r;
    int64_t t = -1;

    gw_pg_p_str(&p, peer);
    if (gw_pg_run(
            st,
            "SELECT min(t) FROM (SELECT min(next_attempt_ms) AS t FROM "
            "outbox WHERE peer = $1 AND state = 'pending' UNION ALL SELECT "
            "min(coalesce(claimed_until, 0)) FROM outbox WHERE peer = $1 "
            "AND state = 'inflight') x",
            &p, &r, "outbox_next_due") == GW_OK &&
        PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
        t = gw_pg_i64(r, 0, 0);
    PQclear(r);
    return t;
}

gw_rc
gw_pg_outbox_items(struct gw_store *st, const char *state, long long id,
                   int limit, struct gw_outbox_info **items, size_t *n)
{
    struct gw_pg_params p = {0};

    gw_pg_p_str(&p, state);
    gw_pg_p_i64(&p, id);
    gw_pg_p_i64(&p, limit > 0 ? limit : 100);
    return gw_pg_collect(st,
                         "SELECT id, message_id, peer, kind, coalesce(refnr, "
                         "''), state, attempts, next_attempt_ms, created_ms, "
                         "updated_ms, coalesce(last_error, ''), "
                         "length(payload), coalesce(claimed_by, ''), "
                         "coalesce(claimed_until, 0), coalesce(target, '') "
                         "FROM outbox WHERE ($1::text IS NULL OR state = $1) "
                         "AND ($2::bigint = 0 OR id = $2) ORDER BY id DESC "
                         "LIMIT $3",
                         &p, "outbox_list", sizeof(**items),
                         gw_rows_outbox_info, NULL, (void **)items, n);
}
