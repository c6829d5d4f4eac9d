/*
 * read.c - reads on the reader connections: one case, its documents, the
 * searches of Mina ärenden and of pharmacies, a case's status history and
 * the inbox (what an earlier message id was answered). Reads take no lock the
 * writer needs (WAL: readers see the last commit).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/read.h"
#include "store/store_int.h"
#include "store/write.h"

#define CASE_COLUMNS GW_CASE_COLUMNS

static const char SQL_CASE_GET[] =
    "SELECT " CASE_COLUMNS " FROM cases WHERE refnr = ?";
static const char SQL_DOC_GET[] =
    "SELECT d.kind, d.xml, d.version FROM documents d JOIN cases c "
    "ON c.id = d.case_id WHERE c.refnr = ?1 AND (?2 = 0 OR d.version = ?2) "
    "ORDER BY d.version DESC LIMIT 1";

gw_rc
gw_sqlite_case_get(struct gw_store *st, const char *refnr,
                  struct gw_case_row *out)
{
    memset(out, 0, sizeof(*out));
    return gw_store_read_one(st, SQL_CASE_GET, refnr, NULL, gw_rows_case, out,
                             "case_get");
}

gw_rc
gw_sqlite_document_get(struct gw_store *st, const char *refnr, long version,
                       char **kind, char **xml, size_t *len, long *got_version)
{
    struct gw_document_out d = {kind, xml, len, got_version};
    int64_t v = version;

    *kind = NULL;
    *xml = NULL;
    *len = 0;
    return gw_store_read_one(st, SQL_DOC_GET, refnr, &v, gw_rows_document, &d,
                             "doc_get");
}

/* One statement with optional filters: a NULL parameter switches its
 * filter off. Statuses come as a comma-framed list ",M,A,". */
#define SEARCH_WHERE                                                          \
    "WHERE purged_ms IS NULL"                                                 \
    " AND (?1 IS NULL OR prescriber_hsa = ?1)"                                \
    " AND (?2 IS NULL OR refnr = ?2)"                                         \
    " AND (?3 IS NULL OR patient_id = ?3)"                                    \
    " AND (?4 IS NULL OR instr(?4, ',' || status || ',') > 0)"                \
    " AND (?5 IS NULL OR licence_type = ?5)"                                  \
    " AND (?6 IS NULL OR instr(klasgw_fold(drug_name), klasgw_fold(?6)) > 0" \
    "      OR instr(klasgw_fold(substances), klasgw_fold(?6)) > 0)"           \
    " AND (?7 = 0 OR updated_ms >= ?7)"                                       \
    " AND (?8 = 0 OR updated_ms <= ?8)"                                       \
    " AND (?10 IS NULL OR pharmacy_gln = ?10)"

static gw_rc
bind_search(sqlite3_stmt *s, const struct gw_case_query *q, char *statuses,
            size_t size)
{
    gw_rc rc = gw_rows_statuses(q, statuses, size);

    if (rc != GW_OK)
        return rc;
    gw_bind_text(s, 1, q->prescriber_hsa);
    gw_bind_text(s, 2, q->refnr);
    gw_bind_text(s, 3, q->patient_id);
    gw_bind_text(s, 4, statuses[0] ? statuses : NULL);
    gw_bind_text(s, 5, q->licence_type);
    gw_bind_text(s, 6, q->drug);
    sqlite3_bind_int64(s, 7, q->changed_from_ms);
    sqlite3_bind_int64(s, 8, q->changed_to_ms);
    sqlite3_bind_int(s, 9, q->limit > 0 ? q->limit : 120);
    gw_bind_text(s, 10, q->pharmacy_gln);
    return GW_OK;
}

gw_rc
gw_sqlite_case_count(struct gw_store *st, const struct gw_case_query *q,
                    long long *total)
{
    static const char sql[] =
        "SELECT count(*) FROM cases " SEARCH_WHERE " AND ?9 IS NOT NULL";
    char statuses[128];
    struct conn *c = gw_store_reader_take(st);
    sqlite3_stmt *s = gw_store_stmt(c, sql);
    gw_rc rc = GW_ESTORE;
    int64_t count = 0;
    size_t k = 0;

    if (s != NULL &&
        (rc = bind_search(s, q, statuses, sizeof(statuses))) == GW_OK)
        rc = gw_store_each(c, s, gw_rows_add_i64, &count, 1, &k, "case_count");
    *total = rc == GW_OK ? count : 0;
    if (s != NULL)
        sqlite3_reset(s);
    gw_store_reader_give(st, c);
    return rc;
}

#define PAGE_WHERE GW_CASE_PAGE_WHERE("?11", "?12", "?13")

gw_rc
gw_sqlite_case_search(struct gw_store *st, const struct gw_case_query *q,
                     struct gw_case_row **rows, size_t *n)
{
    static const char *const sql[2] =
        GW_CASE_PAGE_SQLS(SEARCH_WHERE, PAGE_WHERE, "?9");
    char statuses[128] = "";
    struct conn *c;
    sqlite3_stmt *s;
    gw_rc rc = GW_OK;

    *rows = NULL;
    *n = 0;
    c = gw_store_reader_take(st);
    s = gw_store_stmt(c, sql[q->page_dir < 0]);
    if (s == NULL) {
        gw_store_reader_give(st, c);
        return GW_ESTORE;
    }
    if ((rc = bind_search(s, q, statuses, sizeof(statuses))) != GW_OK) {
        sqlite3_reset(s);
        gw_store_reader_give(st, c);
        return rc;
    }
    sqlite3_bind_int(s, 11, q->page_dir);
    sqlite3_bind_int64(s, 12, q->page_ms);
    sqlite3_bind_int64(s, 13, q->page_rowid);
    rc = gw_store_collect_cells(c, s, sizeof(**rows), SIZE_MAX, gw_rows_case,
                                gw_rows_case_release, "case_search",
                                (void **)rows, n);
    sqlite3_reset(s);
    gw_store_reader_give(st, c);
    if (rc == GW_OK && q->page_dir < 0)
        gw_rows_case_reverse(*rows, *n);
    return rc;
}

/* History rows are written by the writer with every change (writer.c);
 * here they are only read. */
gw_rc
gw_sqlite_case_history(struct gw_store *st, const char *refnr,
                      struct gw_history_row **rows, size_t *n)
{
    struct conn *c = gw_store_reader_take(st);
    sqlite3_stmt *s = gw_store_stmt(
        c, "SELECT h.from_status, h.to_status, h.event, h.at_ms FROM "
           "status_history h JOIN cases c ON c.id = h.case_id WHERE "
           "c.refnr = ? ORDER BY h.id");
    gw_rc rc = GW_ESTORE;

    *rows = NULL;
    *n = 0;
    if (s != NULL) {
        gw_bind_text(s, 1, refnr);
        rc = gw_store_collect_cells(c, s, sizeof(**rows), SIZE_MAX,
                                    gw_rows_history, NULL, "history",
                                    (void **)rows, n);
        sqlite3_reset(s);
    }
    gw_store_reader_give(st, c);
    return rc;
}

const char gw_store_sql_inbox_get[] =
    "SELECT " GW_INBOX_COLUMNS " FROM inbox WHERE message_id = ?";

gw_rc
gw_sqlite_inbox_get(struct gw_store *st, const char *message_id,
                    struct gw_store_result *res)
{
    memset(res, 0, sizeof(*res));
    return gw_store_read_one(st, gw_store_sql_inbox_get, message_id, NULL,
                             gw_rows_inbox, res, "inbox_get");
}
