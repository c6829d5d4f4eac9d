/*
 * shared_reads.c - the reads whose SQL both backends word alike: the
 * outbox's counts for /metrics and the operator console's small reads
 * (outbox.h, console.h). Each is one statement handed to the backend's
 * each (backend.h: gw_sqlite_each on a reader connection, gw_pg_each on
 * a pool connection) with the row fills of rows.h; $1 is a parameter in
 * both dialects.
 */
#include <stdint.h>
#include <string.h>

#include "store/backend.h"
#include "store/console.h"
#include "store/outbox.h"
#include "store/rows.h"

gw_rc
gw_outbox_counts(struct gw_store *st, long long counts[4])
{
    size_t n = 0;

    memset(counts, 0, 4 * sizeof(counts[0]));
    return gw_store_each_row(
        st, "SELECT state, count(*) FROM outbox GROUP BY state", NULL,
        gw_rows_add_outbox_count, counts, 4, &n, "outbox_counts");
}

gw_rc
gw_outbox_peer_counts(struct gw_store *st, struct gw_outbox_peer_count *out,
                      size_t max, size_t *n)
{
    return gw_store_each_row(
        st,
        "SELECT peer, state, count(*) FROM outbox WHERE state IN "
        "('pending', 'inflight', 'dead') GROUP BY peer, state",
        NULL, gw_rows_add_peer_count, out, max, n, "outbox_peer_counts");
}

gw_rc
gw_outbox_peer_oldest(struct gw_store *st, struct gw_outbox_peer_oldest *out,
                      size_t max, size_t *n)
{
    /* One index range per peer and state (outbox_due), not a scan of the
     * delivered items. */
    return gw_store_each_row(
        st,
        "SELECT peer, min(created_ms) FROM outbox WHERE state IN "
        "('pending', 'inflight') GROUP BY peer",
        NULL, gw_rows_add_peer_oldest, out, max, n, "outbox_peer_oldest");
}

gw_rc
gw_console_dead_letters(struct gw_store *st, struct gw_console_dead *out,
                        size_t max, size_t *n)
{
    int64_t limit;

    if (max > GW_CONSOLE_MAX_DEAD)
        max = GW_CONSOLE_MAX_DEAD;
    limit = (int64_t)max;
    return gw_store_each_row(
        st,
        "SELECT id, peer, kind, attempts, created_ms, updated_ms,"
        " coalesce(last_error, '') FROM outbox WHERE state = 'dead'"
        " ORDER BY updated_ms DESC, id DESC LIMIT $1",
        &limit, gw_rows_add_console_dead, out, max, n, "console_dead");
}

gw_rc
gw_console_cases_by_status(struct gw_store *st, struct gw_console_count *out,
                           size_t max, size_t *n)
{
    return gw_store_each_row(
        st,
        "SELECT status, count(*) FROM cases GROUP BY status ORDER BY status",
        NULL, gw_rows_add_console_count, out, max, n, "console_by_status");
}

gw_rc
gw_console_audit_head(struct gw_store *st, struct gw_console_audit *out)
{
    size_t n = 0;

    memset(out, 0, sizeof(*out));
    return gw_store_each_row(
        st,
        "SELECT h.seq, h.hash, coalesce((SELECT at_ms FROM audit"
        " WHERE seq = h.seq), 0) FROM audit_head h WHERE h.id = 1",
        NULL, gw_rows_add_console_audit, out, 1, &n, "console_audit_head");
}

gw_rc
gw_console_hsa_last_answer(struct gw_store *st, int64_t *out)
{
    size_t n = 0;

    *out = 0;
    return gw_store_each_row(st,
                             "SELECT coalesce(max(fetched_ms), 0) FROM "
                             "hsa_cache",
                             NULL, gw_rows_add_i64, out, 1, &n,
                             "console_hsa_last");
}
