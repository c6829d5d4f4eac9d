/*
 * pg_read.c - the PostgreSQL backend's own maintenance on a pool
 * connection: a pharmacy registered, and the daily purge (one node at a
 * time: pg_try_advisory_lock). The reads both backends run alike are in
 * shared_reads.c.
 *
 * The same contracts as licence.c and purge.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "store/licence.h"
#include "store/pg_int.h"
#include "store/purge.h"
#include "store/read.h"
#include "store/write.h"
#include "store/write_apply.h"

/* --- Sök apotek --------------------------------------------------------- */

gw_rc
gw_pg_pharmacy_put(struct gw_store *st, const struct gw_pharmacy *ph)
{
    PGconn *c;
    gw_rc rc = gw_pg_take(PG(st), &c);

    if (rc != GW_OK)
        return rc;
    rc = gw_write_pharmacy_put(gw_pg_conn_run, c, ph);
    gw_pg_give(PG(st), c);
    return rc;
}

/* --- retention ---------------------------------------------------------- */

static gw_rc
purge_audit(void *conn, const struct gw_audit_entry *e, int64_t now_ms)
{
    return gw_pg_audit_append(conn, e, now_ms);
}

static const struct gw_purge_ops purge_ops = {gw_pg_conn_list,
                                              gw_pg_conn_run, purge_audit};

gw_rc
gw_pg_purge(struct gw_store *st, int64_t now_ms, int motivation_months,
            int decided_months, int mode, struct gw_purge_counts *out)
{
    PGconn *c;
    PGresult *r = NULL;
    int locked = 0;
    int dry_run = mode == GW_PURGE_DRY_RUN, daily = mode == GW_PURGE_DAILY;
    gw_rc rc;

    memset(out, 0, sizeof(*out));
    if ((rc = gw_pg_take(PG(st), &c)) != GW_OK)
        return rc;
    /* One node purges; another that finds the lock taken leaves it (the
     * transaction-scoped lock ends with the transaction). */
    rc = gw_pg_q(c, "BEGIN", NULL, NULL, "purge_begin");
    if (rc == GW_OK)
        rc = gw_pg_q(c, "SELECT pg_try_advisory_xact_lock(1801678196)", NULL,
                     &r, "purge_lock");
    if (rc == GW_OK)
        locked = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    r = NULL;
    if (rc == GW_OK && !locked) {
        gw_log_info("event=purge_skipped detail=\"another node is purging\"");
        gw_pg_give(PG(st), c);
        return GW_OK;
    }
    /* The scheduler's run: once a UTC day for all nodes (purge.h). A node
     * that comes after the day's run committed finds it logged. */
    if (rc == GW_OK && daily) {
        struct gw_pg_params p = {0};
        gw_pg_p_i64(&p, now_ms - now_ms % 86400000);
        rc = gw_pg_q(c, "SELECT 1 FROM purge_log WHERE at_ms >= $1 LIMIT 1",
                     &p, &r, "purge_today");
        if (rc == GW_OK && PQntuples(r) > 0) {
            PQclear(r);
            gw_log_info("event=purge_skipped detail=\"purged today already\"");
            gw_pg_give(PG(st), c);
            return GW_OK;
        }
        PQclear(r);
        r = NULL;
    }
    /* Every victim locked first (FOR UPDATE), the chain's head only
     * after, at the first audit record: as the writers do (pg_write.c),
     * so neither waits for the other while holding the head. */
    if (rc == GW_OK)
        rc = gw_rows_purge_walk(&purge_ops, c, now_ms, motivation_months,
                                decided_months, mode, out);
    if (rc == GW_OK && !dry_run)
        rc = gw_pg_q(c, "COMMIT", NULL, NULL, "purge_commit");
    gw_pg_give(PG(st), c); /* a dry run (or a failure) rolls back here */
    if (rc == GW_OK)
        gw_log_info("event=purge backend=postgresql dry_run=%d motivations=%lld "
                    "decided=%lld",
                    dry_run, out->motivations, out->decided);
    return rc;
}
