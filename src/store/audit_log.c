/*
 * audit_log.c - the audit log as stored, on the maintenance connection:
 * chain verification (with checkpoints), export (its head is read in
 * shared_reads.c). Records are
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
    struct gw_cells cells;
    gw_rc rc = GW_OK;
    int src = SQLITE_DONE;

    if (s == NULL) {
        gw_store_reader_give(st, c);
        return GW_ESTORE;
    }
    gw_bind_text(s, 1, refnr);
    sqlite3_bind_int64(s, 2, since_ms);
    gw_store_cells(s, &cells);
    while (rc == GW_OK && (src = sqlite3_step(s)) == SQLITE_ROW) {
        struct gw_audit_record r;
        gw_rows_audit(&cells, &r);
        rc = fn(ctx, &r);
    }
    if (rc == GW_OK && src != SQLITE_DONE)
        rc = gw_store_rc(c->db, src, "audit_each");
    sqlite3_reset(s);
    gw_store_reader_give(st, c);
    return rc;
}
