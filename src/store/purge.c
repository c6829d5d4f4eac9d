/*
 * purge.c - retention, on the maintenance connection. Purge keeps a
 * tombstone of every case (referensnummer, licence type, status, dates)
 * so that counts survive, and removes what is personal: documents,
 * attachments, patient identity, the prescriber's HSA-id, the actors in
 * the status history, stored answers and outbound payloads. The audit log
 * stays: it names ids and systems, never patients.
 */
#include <stdint.h>
#include <string.h>

#include "core/log.h"
#include "store/purge.h"
#include "store/store_int.h"

static gw_rc
purge_audit(void *conn, const struct gw_audit_entry *e, int64_t now_ms)
{
    return gw_store_audit_append(conn, e, now_ms);
}

static const struct gw_purge_ops purge_ops = {
    gw_store_conn_list, gw_store_conn_run, purge_audit};

/*
 * The planner's statistics brought up to date, as SQLite advises for a
 * long-lived connection: PRAGMA optimize now and then (here once a day,
 * after the scheduler's purge), which analyzes only the tables whose
 * statistics are missing or stale and that this connection's queries
 * used (SQLite 3.46 and later sets the analysis limit itself; before, 400
 * rows an index keeps it to milliseconds on any size of database). The
 * outbox claim's plan (a range of outbox_due) stays the same with those
 * statistics (EXPLAIN QUERY PLAN on a backlog of 100000). A failure only
 * costs a better plan: logged (gw_store_exec), the purge stands.
 *
 * In a transaction that holds the write lock from its start: the pragma
 * reads first and writes its statistics after, and a read that must
 * become a write after the writer committed meanwhile fails at once
 * with SQLITE_BUSY, the busy handler not asked (it cannot help: the
 * snapshot is old). The reliability soak's gateway, under load, logged
 * "database is locked" for it in the same millisecond as its purge.
 * BEGIN IMMEDIATE waits for the lock as every other write does.
 */
static void
optimize(struct conn *c)
{
    if (gw_store_exec(c, "PRAGMA analysis_limit=400") != GW_OK ||
        gw_store_exec(c, "BEGIN IMMEDIATE") != GW_OK)
        return;
    if (gw_store_exec(c, "PRAGMA optimize") != GW_OK ||
        gw_store_exec(c, "COMMIT") != GW_OK)
        (void)gw_store_exec(c, "ROLLBACK");
}

gw_rc
gw_sqlite_purge(struct gw_store *st, int64_t now_ms, int motivation_months,
               int decided_months, int mode, struct gw_purge_counts *out)
{
    int dry_run = mode == GW_PURGE_DRY_RUN, daily = mode == GW_PURGE_DAILY;
    struct conn *c = &st->m;
    sqlite3_stmt *s;
    gw_rc rc;
    int src;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&st->mmu);
    rc = gw_store_exec(c, "BEGIN IMMEDIATE");
    if (rc != GW_OK)
        goto out;
    /* The scheduler's run: once a UTC day (see purge.h). */
    if (daily) {
        s = gw_store_stmt(c, "SELECT 1 FROM purge_log WHERE at_ms >= ?");
        if (s == NULL) {
            rc = GW_ESTORE;
        } else {
            sqlite3_bind_int64(s, 1, now_ms - now_ms % 86400000);
            src = sqlite3_step(s);
            sqlite3_reset(s);
            if (src == SQLITE_ROW) {
                (void)gw_store_exec(c, "ROLLBACK");
                pthread_mutex_unlock(&st->mmu);
                gw_log_info("event=purge_skipped detail=\"purged today already\"");
                return GW_OK;
            }
            if (src != SQLITE_DONE)
                rc = gw_store_rc(c->db, src, "purge_today");
        }
    }
    if (rc == GW_OK)
        rc = gw_rows_purge_walk(&purge_ops, c, now_ms, motivation_months,
                                decided_months, mode, out);
    if (rc == GW_OK && !dry_run)
        rc = gw_store_exec(c, "COMMIT");
    if (rc != GW_OK || dry_run)
        (void)gw_store_exec(c, "ROLLBACK");
    else if (daily)
        optimize(c);
out:
    pthread_mutex_unlock(&st->mmu);
    if (rc == GW_OK)
        gw_log_info("event=purge dry_run=%d motivations=%lld decided=%lld",
                    dry_run, out->motivations, out->decided);
    return rc;
}
