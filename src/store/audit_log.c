/*
 * audit_log.c - the audit log as stored, on the maintenance connection:
 * chain verification (with checkpoints), its head, export. Records are
 * appended by the writer in the transaction of the change (writer.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

gw_rc
gw_sqlite_audit_each(struct gw_store *st, const char *refnr, int64_t since_ms,
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
gw_sqlite_audit_verify(struct gw_store *st, long long *count, struct gw_err *err)
{
    long long keyed_from;

    return gw_store_audit_verify_at(st, NULL, 0, count, &keyed_from, NULL, NULL,
                                    err);
}

gw_rc
gw_sqlite_audit_verify_at(struct gw_store *st,
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
gw_sqlite_audit_head(struct gw_store *st, int64_t *seq,
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
