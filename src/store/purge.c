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

/* The cases of one status (?1) past their cut (?3): a decided status
 * (?2 = 1) counts from the decision, the others from the motivation.
 * Which statuses retention applies to is klas/'s purge row, not SQL's. */
static const char SQL_PURGE_FIND[] =
    "SELECT id, refnr FROM cases WHERE purged_ms IS NULL AND status = ?1"
    " AND (CASE WHEN ?2 THEN decided_ms ELSE created_ms END) < ?3";

static const char *const purge_steps[] = {
    "DELETE FROM documents WHERE case_id = ?1",
    "DELETE FROM attachments WHERE case_id = ?1",
    "UPDATE status_history SET actor = '(purged)' WHERE case_id = ?1",
    "UPDATE inbox SET response = NULL WHERE refnr = ?2",
    "UPDATE outbox SET payload = x'' WHERE refnr = ?2"
    " AND state IN ('done', 'dead')",
    "UPDATE cases SET patient_id = NULL, prescriber_hsa = NULL,"
    " purged_ms = ?3 WHERE id = ?1",
};

static gw_rc
purge_find(void *conn, const char *status, int decided, int64_t cut,
           struct gw_purge_victim **part, size_t *k)
{
    sqlite3_stmt *s = gw_store_stmt(conn, SQL_PURGE_FIND);
    gw_rc rc;

    if (s == NULL)
        return GW_ESTORE;
    gw_bind_text(s, 1, status);
    sqlite3_bind_int(s, 2, decided);
    sqlite3_bind_int64(s, 3, cut);
    rc = gw_store_collect_cells(conn, s, sizeof(**part), SIZE_MAX,
                                gw_rows_purge_victim, NULL, "purge_find",
                                (void **)part, k);
    sqlite3_reset(s);
    return rc;
}

static gw_rc
purge_step(void *conn, size_t k, const struct gw_purge_victim *v,
           int64_t now_ms)
{
    struct conn *c = conn;
    sqlite3_stmt *p = gw_store_stmt(c, purge_steps[k]);
    gw_rc rc;

    if (p == NULL)
        return GW_ESTORE;
    /* Each step names only the parameters it uses. */
    int np = sqlite3_bind_parameter_count(p);
    sqlite3_bind_int64(p, 1, v->id);
    if (np >= 2)
        sqlite3_bind_text(p, 2, v->refnr, -1, SQLITE_TRANSIENT);
    if (np >= 3)
        sqlite3_bind_int64(p, 3, now_ms);
    rc = gw_store_rc(c->db, sqlite3_step(p), "purge_step");
    sqlite3_reset(p);
    return rc;
}

static gw_rc
purge_audit(void *conn, const struct gw_audit_entry *e, int64_t now_ms)
{
    return gw_store_audit_append(conn, e, now_ms);
}

static gw_rc
purge_log(void *conn, int64_t now_ms, const struct gw_purge_counts *counts)
{
    struct conn *c = conn;
    sqlite3_stmt *s =
        gw_store_stmt(c, "INSERT INTO purge_log (at_ms,"
                         " motivations, decided) VALUES (?, ?, ?)");

    if (s == NULL)
        return GW_ESTORE;
    sqlite3_bind_int64(s, 1, now_ms);
    sqlite3_bind_int64(s, 2, counts->motivations);
    sqlite3_bind_int64(s, 3, counts->decided);
    return gw_store_rc(c->db, sqlite3_step(s), "purge_log");
}

static const struct gw_purge_ops purge_ops = {
    purge_find, sizeof(purge_steps) / sizeof(purge_steps[0]), purge_step,
    purge_audit, purge_log};

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
out:
    pthread_mutex_unlock(&st->mmu);
    if (rc == GW_OK)
        gw_log_info("event=purge dry_run=%d motivations=%lld decided=%lld",
                    dry_run, out->motivations, out->decided);
    return rc;
}
