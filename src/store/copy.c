/*
 * copy.c - `klasgw store copy --to DSN`: an SQLite store, every row of
 * every table, into an empty PostgreSQL database (migrated first), in one
 * PostgreSQL transaction: either all of it is there or nothing. Row ids
 * are kept (the identity sequences move past them), so referensnummer,
 * outbox ids and the audit chain are the same afterwards; the chain is
 * verified on the copy before this returns.
 *
 * It reads the SQLite file on its maintenance connection: stop serve
 * first (a copy of a store that is still being written would miss what
 * came after).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "store/audit_log.h"
#include "store/pg_int.h"
#include "store/store.h"
#include "store/store_int.h"

/* Parents before children (foreign keys); each with an id column whose
 * identity sequence must move past the copied ids, or not. */
static const struct {
    const char *name;
    int identity;
} tables[] = {
    {"cases", 1},        {"documents", 1},    {"attachments", 1},
    {"status_history", 1}, {"licences", 0},   {"dispensings", 1},
    {"inbox", 1},        {"outbox", 1},       {"hsa_cache", 0},
    {"audit", 0},        {"subscriptions", 0}, {"products", 1},
    {"pharmacies", 0},   {"purge_log", 1},    {"prescribers", 0},
    {"subscription_events", 0},
};

static gw_rc
copy_table(struct gw_store *src, PGconn *dst, const char *table,
           long long *rows, struct gw_err *err)
{
    char sql[160], ins[2048];
    sqlite3_stmt *s = NULL;
    gw_rc rc = GW_OK;
    int n, src_rc;

    snprintf(sql, sizeof(sql), "SELECT * FROM %s", table);
    if (sqlite3_prepare_v2(src->m.db, sql, -1, &s, NULL) != SQLITE_OK)
        return gw_err_set(err, GW_ESTORE, NULL, "cannot read table %s",
                          table);
    n = sqlite3_column_count(s);
    if (n > GW_PG_MAXP) {
        sqlite3_finalize(s);
        return gw_err_set(err, GW_ESTORE, NULL, "table %s: too many columns",
                          table);
    }
    {
        size_t o = (size_t)snprintf(ins, sizeof(ins), "INSERT INTO %s (",
                                    table);
        for (int i = 0; i < n && o < sizeof(ins); i++)
            o += (size_t)snprintf(ins + o, sizeof(ins) - o, "%s%s",
                                  i ? ", " : "", sqlite3_column_name(s, i));
        if (o < sizeof(ins))
            o += (size_t)snprintf(ins + o, sizeof(ins) - o,
                                  ") OVERRIDING SYSTEM VALUE VALUES (");
        for (int i = 0; i < n && o < sizeof(ins); i++)
            o += (size_t)snprintf(ins + o, sizeof(ins) - o, "%s$%d",
                                  i ? ", " : "", i + 1);
        if (o < sizeof(ins))
            o += (size_t)snprintf(ins + o, sizeof(ins) - o, ")");
        if (o >= sizeof(ins)) {
            sqlite3_finalize(s);
            return gw_err_set(err, GW_ESTORE, NULL, "table %s: columns",
                              table);
        }
    }
    while (rc == GW_OK && (src_rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct gw_pg_params p = {0};
        for (int i = 0; i < n; i++) {
            switch (sqlite3_column_type(s, i)) {
            case SQLITE_NULL:
                gw_pg_p_str(&p, NULL);
                break;
            case SQLITE_BLOB:
                gw_pg_p_bin(&p, sqlite3_column_blob(s, i),
                            (size_t)sqlite3_column_bytes(s, i));
                break;
            default:
                gw_pg_p_str(&p, (const char *)sqlite3_column_text(s, i));
                break;
            }
        }
        rc = gw_pg_q(dst, ins, &p, NULL, "copy_insert");
        if (rc != GW_OK)
            gw_err_set(err, rc, NULL, "table %s: a row was refused", table);
        else
            (*rows)++;
    }
    if (rc == GW_OK && src_rc != SQLITE_DONE)
        rc = gw_err_set(err, GW_ESTORE, NULL, "table %s: read failed", table);
    sqlite3_finalize(s);
    return rc;
}

gw_rc
gw_store_copy_to_pg(struct gw_store *src, const char *dsn, long long *rows,
                    struct gw_err *err)
{
    struct gw_store_opts o = {0};
    struct gw_store *dst_st = NULL;
    PGconn *c = NULL;
    PGresult *r = NULL;
    long long n = 0, records = 0;
    gw_rc rc;

    *rows = 0;
    if (src == NULL || strcmp(gw_store_backend_name(src), "sqlite") != 0)
        return gw_err_set(err, GW_ECONFIG, "store.backend",
                          "store copy reads an SQLite store "
                          "(store.backend = sqlite)");
    /* Open (and so migrate) the target, then copy on a connection of its
     * pool, inside one transaction. */
    o.backend = "postgresql";
    o.dsn = dsn;
    o.readers = 1;
    if ((rc = gw_store_open(NULL, &o, &dst_st, err)) != GW_OK)
        return rc;
    if ((rc = gw_pg_take(PG(dst_st), &c)) != GW_OK)
        goto out;
    rc = gw_pg_q(c, "SELECT (SELECT count(*) FROM cases) + (SELECT count(*) "
                    "FROM audit) + (SELECT count(*) FROM inbox)",
                 NULL, &r, "copy_empty");
    if (rc == GW_OK && gw_pg_i64(r, 0, 0) != 0)
        rc = gw_err_set(err, GW_ECONFLICT, "--to",
                        "the target database already holds cases, audit "
                        "records or messages: copy into an empty one");
    PQclear(r);
    if (rc == GW_OK)
        rc = gw_pg_q(c, "BEGIN", NULL, NULL, "copy_begin");
    /* The migration's genesis head goes; the source's comes with it. */
    if (rc == GW_OK)
        rc = gw_pg_q(c, "DELETE FROM audit_head", NULL, NULL, "copy_head");
    pthread_mutex_lock(&src->mmu);
    for (size_t i = 0; rc == GW_OK && i < sizeof(tables) / sizeof(tables[0]);
         i++)
        rc = copy_table(src, c, tables[i].name, &n, err);
    if (rc == GW_OK)
        rc = copy_table(src, c, "audit_head", &n, err);
    pthread_mutex_unlock(&src->mmu);
    for (size_t i = 0; rc == GW_OK && i < sizeof(tables) / sizeof(tables[0]);
         i++) {
        char sql[256];
        if (!tables[i].identity)
            continue;
        snprintf(sql, sizeof(sql),
                 "SELECT setval(pg_get_serial_sequence('%s', 'id'), "
                 "coalesce(max(id), 0) + 1, false) FROM %s",
                 tables[i].name, tables[i].name);
        rc = gw_pg_q(c, sql, NULL, NULL, "copy_sequence");
    }
    if (rc == GW_OK)
        rc = gw_pg_q(c, "COMMIT", NULL, NULL, "copy_commit");
    gw_pg_give(PG(dst_st), c); /* rolls back what did not commit */
    c = NULL;
    if (rc == GW_OK) {
        gw_err_clear(err);
        rc = gw_store_audit_verify(dst_st, &records, err);
    }
    if (rc == GW_OK) {
        *rows = n;
        gw_log_info("event=store_copied rows=%lld audit_records=%lld", n,
                    records);
    }
out:
    gw_store_close(dst_st);
    return rc;
}
