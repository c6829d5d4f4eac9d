/*
 * purge.c - retention, on the maintenance connection. Purge keeps a
 * tombstone of every case (referensnummer, licence type, status, dates)
 * so that counts survive, and removes what is personal: documents,
 * attachments, patient identity, the prescriber's HSA-id, the actors in
 * the status history, stored answers and outbound payloads. The audit log
 * stays: it names ids and systems, never patients.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "klas/state.h"
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

gw_rc
gw_sqlite_purge(struct gw_store *st, int64_t now_ms, int motivation_months,
               int decided_months, int mode, struct gw_purge_counts *out)
{
    int64_t cut_m = gw_clock_minus_months(now_ms, motivation_months);
    int64_t cut_d = gw_clock_minus_months(now_ms, decided_months);
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
    /* Collect first: the steps below change the rows being walked. */
    struct gw_purge_victim *v = NULL;
    size_t n = 0;
    for (int st_i = GW_CASE_NONE + 1; rc == GW_OK && st_i < GW_CASE_NSTATUS;
         st_i++) {
        enum gw_case_status to;
        int decided = gw_case_is_decided((enum gw_case_status)st_i);
        struct gw_purge_victim *part;
        size_t k;
        if (gw_case_transition((enum gw_case_status)st_i, GW_EV_PURGE,
                               GW_ROLE_GATEWAY, &to, NULL) != GW_OK)
            continue;
        s = gw_store_stmt(c, SQL_PURGE_FIND);
        if (s == NULL) {
            rc = GW_ESTORE;
            break;
        }
        gw_bind_text(s, 1, gw_case_status_code((enum gw_case_status)st_i));
        sqlite3_bind_int(s, 2, decided);
        sqlite3_bind_int64(s, 3, decided ? cut_d : cut_m);
        rc = gw_store_collect_cells(c, s, sizeof(*part), SIZE_MAX,
                                    gw_rows_purge_victim, NULL, "purge_find",
                                    (void **)&part, &k);
        sqlite3_reset(s);
        if (rc == GW_OK)
            rc = gw_rows_purge_join(&v, &n, part, k, decided);
    }
    for (size_t i = 0; rc == GW_OK && i < n; i++) {
        struct gw_audit_entry e;
        gw_rows_purge_entry(&v[i], out, &e);
        if (dry_run)
            continue;
        for (size_t k = 0;
             rc == GW_OK && k < sizeof(purge_steps) / sizeof(purge_steps[0]);
             k++) {
            sqlite3_stmt *p = gw_store_stmt(c, purge_steps[k]);
            if (p == NULL) {
                rc = GW_ESTORE;
                break;
            }
            /* Each step names only the parameters it uses. */
            int np = sqlite3_bind_parameter_count(p);
            sqlite3_bind_int64(p, 1, v[i].id);
            if (np >= 2)
                sqlite3_bind_text(p, 2, v[i].refnr, -1, SQLITE_TRANSIENT);
            if (np >= 3)
                sqlite3_bind_int64(p, 3, now_ms);
            rc = gw_store_rc(c->db, sqlite3_step(p), "purge_step");
            sqlite3_reset(p);
        }
        if (rc == GW_OK)
            rc = gw_store_audit_append(c, &e, now_ms);
    }
    free(v);
    if (rc == GW_OK && !dry_run &&
        (daily || out->motivations || out->decided)) {
        s = gw_store_stmt(c, "INSERT INTO purge_log (at_ms, motivations,"
                             " decided) VALUES (?, ?, ?)");
        if (s == NULL) {
            rc = GW_ESTORE;
        } else {
            sqlite3_bind_int64(s, 1, now_ms);
            sqlite3_bind_int64(s, 2, out->motivations);
            sqlite3_bind_int64(s, 3, out->decided);
            rc = gw_store_rc(c->db, sqlite3_step(s), "purge_log");
        }
    }
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
