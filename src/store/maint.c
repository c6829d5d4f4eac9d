/*
 * maint.c - maintenance on the maintenance connection: audit chain
 * verification and export, retention purge, the HSA cache.
 *
 * Purge keeps a tombstone of every case (referensnummer, licence type,
 * status, dates) so that counts survive, and removes what is personal:
 * documents, attachments, patient identity, the prescriber's HSA-id, the
 * actors in the status history, stored answers and outbound payloads. The
 * audit log stays: it names ids and systems, never patients.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "store/store_int.h"

gw_rc
gw_store_audit_each(struct gw_store *st, const char *refnr, int64_t since_ms,
                    gw_rc (*fn)(void *, const struct gw_audit_record *),
                    void *ctx)
{
    static const char sql[] =
        "SELECT seq, at_ms, system, user_id, action, refnr, outcome, detail,"
        " prev_hash, hash FROM audit WHERE (?1 IS NULL OR refnr = ?1)"
        " AND at_ms >= ?2 ORDER BY seq";
    struct conn *c = gw_store_reader_take(st);
    sqlite3_stmt *s = gw_store_stmt(c, sql);
    gw_rc rc = GW_OK;
    int src = SQLITE_DONE;

    if (s == NULL) {
        gw_store_reader_give(st, c);
        return GW_ESTORE;
    }
    gw_bind_text(s, 1, refnr);
    sqlite3_bind_int64(s, 2, since_ms);
    while (rc == GW_OK && (src = sqlite3_step(s)) == SQLITE_ROW) {
        struct gw_audit_record r;
        memset(&r, 0, sizeof(r));
        r.seq = sqlite3_column_int64(s, 0);
        r.at_ms = sqlite3_column_int64(s, 1);
        r.e.system = (const char *)sqlite3_column_text(s, 2);
        r.e.user = (const char *)sqlite3_column_text(s, 3);
        r.e.action = (const char *)sqlite3_column_text(s, 4);
        r.e.refnr = (const char *)sqlite3_column_text(s, 5);
        r.e.outcome = (const char *)sqlite3_column_text(s, 6);
        r.e.detail = (const char *)sqlite3_column_text(s, 7);
        snprintf(r.prev_hash, sizeof(r.prev_hash), "%s",
                 (const char *)sqlite3_column_text(s, 8));
        snprintf(r.hash, sizeof(r.hash), "%s",
                 (const char *)sqlite3_column_text(s, 9));
        rc = fn(ctx, &r);
    }
    if (rc == GW_OK && src != SQLITE_DONE)
        rc = gw_store_rc(c->db, src, "audit_each");
    sqlite3_reset(s);
    gw_store_reader_give(st, c);
    return rc;
}

static const char SQL_AUDIT_HEAD[] = "SELECT seq, hash FROM audit_head";

struct verify_ctx {
    char prev[GW_AUDIT_HASH_HEX];
    long long count, keyed_from;
    const struct gw_audit_checkpoint *cps;
    size_t ncps;
    struct gw_err *err;
};

static gw_rc
verify_one(void *arg, const struct gw_audit_record *r)
{
    struct verify_ctx *v = arg;
    gw_rc rc = gw_audit_check_link(r, v->prev, v->count + 1, v->err);

    if (rc != GW_OK)
        return rc;
    for (size_t i = 0; i < v->ncps; i++)
        if (v->cps[i].seq == r->seq && strcmp(v->cps[i].hash, r->hash) != 0)
            return gw_err_set(v->err, GW_ECONFLICT, NULL,
                              "audit record %lld is not the one the "
                              "checkpoint signed: the log was rewritten",
                              (long long)r->seq);
    if (v->keyed_from == 0 && gw_audit_hash_is_keyed(r->hash))
        v->keyed_from = r->seq;
    memcpy(v->prev, r->hash, sizeof(v->prev));
    v->count++;
    return GW_OK;
}

gw_rc
gw_store_audit_verify(struct gw_store *st, long long *count,
                      struct gw_err *err)
{
    long long keyed_from;

    return gw_store_audit_verify_at(st, NULL, 0, count, &keyed_from, NULL, NULL,
                                    err);
}

gw_rc
gw_store_audit_verify_at(struct gw_store *st,
                         const struct gw_audit_checkpoint *cps, size_t ncps,
                         long long *count, long long *keyed_from,
                         int64_t *head_seq, char head[GW_AUDIT_HASH_HEX],
                         struct gw_err *err)
{
    struct verify_ctx v;
    struct conn *c;
    sqlite3_stmt *s;
    gw_rc rc;

    memset(&v, 0, sizeof(v));
    memcpy(v.prev, gw_audit_genesis, sizeof(v.prev));
    v.cps = cps;
    v.ncps = ncps;
    v.err = err;
    rc = gw_store_audit_each(st, NULL, 0, verify_one, &v);
    *count = v.count;
    *keyed_from = v.keyed_from;
    if (rc != GW_OK)
        return rc;
    /* The head row catches records cut off the end of the chain. */
    c = gw_store_reader_take(st);
    s = gw_store_stmt(c, SQL_AUDIT_HEAD);
    if (s == NULL || sqlite3_step(s) != SQLITE_ROW) {
        rc = GW_ESTORE;
    } else if (sqlite3_column_int64(s, 0) != v.count ||
               strcmp((const char *)sqlite3_column_text(s, 1), v.prev) != 0) {
        rc = gw_err_set(err, GW_ECONFLICT, NULL,
                        "the audit log ends at record %lld but its head says "
                        "%lld: records were removed from the end",
                        v.count, (long long)sqlite3_column_int64(s, 0));
    }
    if (s != NULL)
        sqlite3_reset(s);
    gw_store_reader_give(st, c);
    if (rc != GW_OK)
        return rc;
    /* A cut tail with a fixed head is still a chain; a checkpoint beyond
     * its end is what shows the cut. */
    for (size_t i = 0; i < ncps; i++)
        if (cps[i].seq > v.count)
            return gw_err_set(err, GW_ECONFLICT, NULL,
                              "a checkpoint signed record %lld but the log "
                              "ends at %lld: records were cut off the end",
                              (long long)cps[i].seq, v.count);
    /* With a key, an all-unkeyed chain is one rewritten (or cut back to
     * before the key) by someone without it. */
    if (gw_audit_keyed() && v.count > 0 && v.keyed_from == 0)
        return gw_err_set(err, GW_ECONFLICT, NULL,
                          "no audit record is keyed although the key is "
                          "set: the log was rewritten without the key, or "
                          "serve has not yet run with it");
    if (head_seq != NULL)
        *head_seq = v.count;
    if (head != NULL)
        memcpy(head, v.prev, GW_AUDIT_HASH_HEX);
    return GW_OK;
}

gw_rc
gw_store_audit_head(struct gw_store *st, int64_t *seq,
                    char hash[GW_AUDIT_HASH_HEX])
{
    struct conn *c = gw_store_reader_take(st);
    sqlite3_stmt *s = gw_store_stmt(c, SQL_AUDIT_HEAD);
    gw_rc rc = GW_OK;

    if (s == NULL || sqlite3_step(s) != SQLITE_ROW) {
        rc = GW_ESTORE;
    } else {
        *seq = sqlite3_column_int64(s, 0);
        snprintf(hash, GW_AUDIT_HASH_HEX, "%s",
                 (const char *)sqlite3_column_text(s, 1));
    }
    if (s != NULL)
        sqlite3_reset(s);
    gw_store_reader_give(st, c);
    return rc;
}

static const char SQL_PURGE_FIND[] =
    "SELECT id, refnr, status FROM cases WHERE purged_ms IS NULL AND ("
    " (status = 'M' AND created_ms < ?1) OR"
    " (status IN ('Bev', 'Avs', 'Avi') AND decided_ms < ?2))";

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
gw_store_purge(struct gw_store *st, int64_t now_ms, int motivation_months,
               int decided_months, int dry_run, struct gw_purge_counts *out)
{
    int64_t cut_m = gw_clock_minus_months(now_ms, motivation_months);
    int64_t cut_d = gw_clock_minus_months(now_ms, decided_months);
    struct conn *c = &st->m;
    sqlite3_stmt *s;
    gw_rc rc;
    int src;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&st->mmu);
    rc = gw_store_exec(c, "BEGIN IMMEDIATE");
    if (rc != GW_OK)
        goto out;
    s = gw_store_stmt(c, SQL_PURGE_FIND);
    if (s == NULL) {
        rc = GW_ESTORE;
        goto rollback;
    }
    sqlite3_bind_int64(s, 1, cut_m);
    sqlite3_bind_int64(s, 2, cut_d);
    /* Collect first: the steps below change the rows being walked. */
    struct victim {
        long long id;
        char refnr[16];
        int motivation;
    } *v = NULL;
    size_t n = 0, cap = 0;
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            struct victim *g;
            cap = cap ? cap * 2 : 64;
            g = realloc(v, cap * sizeof(*v));
            if (g == NULL) {
                rc = GW_ENOMEM;
                break;
            }
            v = g;
        }
        v[n].id = sqlite3_column_int64(s, 0);
        snprintf(v[n].refnr, sizeof(v[n].refnr), "%s",
                 (const char *)sqlite3_column_text(s, 1));
        v[n].motivation = strcmp((const char *)sqlite3_column_text(s, 2),
                                 "M") == 0;
        n++;
    }
    if (rc == GW_OK && src != SQLITE_DONE)
        rc = gw_store_rc(c->db, src, "purge_find");
    sqlite3_reset(s);
    for (size_t i = 0; rc == GW_OK && i < n; i++) {
        struct gw_audit_entry e = {"gateway", NULL, "purge", v[i].refnr, "ok",
                                   v[i].motivation
                                       ? "motivation without application"
                                       : "decided case past retention"};
        if (v[i].motivation)
            out->motivations++;
        else
            out->decided++;
        if (dry_run)
            continue;
        for (size_t k = 0; rc == GW_OK && k < sizeof(purge_steps) /
                                                 sizeof(purge_steps[0]);
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
    if (rc == GW_OK && !dry_run && (out->motivations || out->decided)) {
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
rollback:
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

gw_rc
gw_store_hsa_put(struct gw_store *st, const char *person_hsa,
                 const char *answer, size_t len, int64_t expires_ms)
{
    sqlite3_stmt *s;
    gw_rc rc;

    pthread_mutex_lock(&st->mmu);
    s = gw_store_stmt(&st->m,
                      "INSERT INTO hsa_cache (person_hsa, answer, fetched_ms,"
                      " expires_ms) VALUES (?1, ?2, ?3, ?4) ON CONFLICT"
                      " (person_hsa) DO UPDATE SET answer = ?2,"
                      " fetched_ms = ?3, expires_ms = ?4");
    if (s == NULL) {
        pthread_mutex_unlock(&st->mmu);
        return GW_ESTORE;
    }
    gw_bind_text(s, 1, person_hsa);
    sqlite3_bind_blob(s, 2, answer, (int)len, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 3, gw_clock_now_ms());
    sqlite3_bind_int64(s, 4, expires_ms);
    rc = gw_store_rc(st->m.db, sqlite3_step(s), "hsa_put");
    sqlite3_reset(s);
    pthread_mutex_unlock(&st->mmu);
    return rc;
}

gw_rc
gw_store_hsa_get(struct gw_store *st, const char *person_hsa, int64_t now_ms,
                 char **answer, size_t *len)
{
    struct conn *c = gw_store_reader_take(st);
    sqlite3_stmt *s = gw_store_stmt(
        c, "SELECT answer FROM hsa_cache WHERE person_hsa = ? AND"
           " expires_ms > ?");
    gw_rc rc = GW_ESTORE;
    int src;

    *answer = NULL;
    *len = 0;
    if (s != NULL) {
        gw_bind_text(s, 1, person_hsa);
        sqlite3_bind_int64(s, 2, now_ms);
        src = sqlite3_step(s);
        if (src == SQLITE_ROW) {
            size_t n = (size_t)sqlite3_column_bytes(s, 0);
            *answer = malloc(n + 1);
            if (*answer == NULL) {
                rc = GW_ENOMEM;
            } else {
                memcpy(*answer, sqlite3_column_blob(s, 0), n);
                (*answer)[n] = '\0';
                *len = n;
                rc = GW_OK;
            }
        } else {
            rc = src == SQLITE_DONE ? GW_ENOTFOUND
                                    : gw_store_rc(c->db, src, "hsa_get");
        }
        sqlite3_reset(s);
    }
    gw_store_reader_give(st, c);
    return rc;
}
