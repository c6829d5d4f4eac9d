/*
 * pg_console.c - the operator console's reads and the discard of a dead
 * letter (console.h) on PostgreSQL: the same queries as console.c, in
 * PostgreSQL's dialect, on a pool connection (the reads both backends
 * word alike are in shared_reads.c).
 *
 * The discard deletes the dead letter and appends the operator's audit
 * record in one transaction: the row is locked by the DELETE first, the
 * chain's head only after (gw_pg_audit_append, pg_write.c), as the
 * writers and the purge do, so nothing waits for anything while holding
 * the head. No read selects a payload, a document or a name.
 */
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "store/pg_int.h"

gw_rc
gw_pg_console_peers(struct gw_store *st, const char *const *known,
                    size_t nknown, struct gw_console_peer *out, size_t max,
                    size_t *n)
{
    PGconn *c;
    PGresult *r = NULL;
    gw_rc rc;

    *n = 0;
    for (size_t i = 0; i < nknown; i++)
        (void)gw_console_peer_slot(out, max, n, known[i]);
    if ((rc = gw_pg_take(PG(st), &c)) != GW_OK)
        return rc;
    rc = gw_pg_q(c,
                 "SELECT peer, state, count(*),"
                 " min(CASE WHEN state = 'pending' THEN created_ms END),"
                 " max(CASE WHEN last_error IS NOT NULL THEN updated_ms END)"
                 " FROM outbox WHERE state IN ('pending', 'inflight', 'dead')"
                 " GROUP BY peer, state ORDER BY peer, state",
                 NULL, &r, "console_peers");
    if (rc == GW_OK)
        gw_pg_each_result(r, gw_rows_add_console_peer, out, max, n);
    PQclear(r);
    /* The newest delivered item of each peer among the newest items: a
     * walk down the primary key that stops at the first match or the
     * bound. */
    for (size_t i = 0; rc == GW_OK && i < *n; i++) {
        struct gw_pg_params p = {0};
        gw_pg_p_str(&p, out[i].peer);
        gw_pg_p_i64(&p, GW_CONSOLE_RECENT);
        r = NULL;
        rc = gw_pg_q(c,
                     "SELECT updated_ms FROM outbox WHERE peer = $1 AND state "
                     "= 'done' AND id > (SELECT coalesce(max(id), 0) FROM "
                     "outbox) - $2 ORDER BY id DESC LIMIT 1",
                     &p, &r, "console_peer_last_ok");
        if (rc == GW_OK && PQntuples(r) == 1)
            out[i].last_ok_ms = gw_pg_i64(r, 0, 0);
        PQclear(r);
    }
    gw_pg_give(PG(st), c);
    return rc;
}

gw_rc
gw_pg_console_discard(struct gw_store *st, long long id, const char *system,
                      const char *user, char *peer, size_t peer_size)
{
    struct gw_pg_params p = {0};
    struct gw_audit_entry e;
    char pr[32] = "", kind[48] = "", detail[160];
    PGconn *c;
    PGresult *r = NULL;
    gw_rc rc;

    if (peer != NULL && peer_size > 0)
        peer[0] = '\0';
    if ((rc = gw_pg_take(PG(st), &c)) != GW_OK)
        return rc;
    rc = gw_pg_q(c, "BEGIN", NULL, NULL, "console_discard_begin");
    if (rc == GW_OK) {
        gw_pg_p_i64(&p, id);
        rc = gw_pg_q(c,
                     "DELETE FROM outbox WHERE id = $1 AND state = 'dead'"
                     " RETURNING peer, kind",
                     &p, &r, "console_discard");
    }
    if (rc == GW_OK && PQntuples(r) != 1)
        rc = GW_ENOTFOUND;
    if (rc == GW_OK) {
        gw_pg_copy(pr, sizeof(pr), r, 0, 0);
        gw_pg_copy(kind, sizeof(kind), r, 0, 1);
    }
    PQclear(r);
    if (rc == GW_OK) {
        gw_console_discard_entry(&e, detail, sizeof(detail), id, system, user,
                                 pr, kind);
        rc = gw_pg_audit_append(c, &e, gw_clock_now_ms());
    }
    if (rc == GW_OK)
        rc = gw_pg_q(c, "COMMIT", NULL, NULL, "console_discard_commit");
    gw_pg_give(PG(st), c); /* a failure rolls back here */
    if (rc == GW_OK && peer != NULL)
        snprintf(peer, peer_size, "%s", pr);
    return rc;
}
