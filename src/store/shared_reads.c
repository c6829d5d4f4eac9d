/*
 * shared_reads.c - the reads whose SQL both backends word alike: the
 * outbox's counts for /metrics, the operator console's small reads and
 * the audit chain's head (outbox.h, console.h, audit_log.h). Each is one
 * statement of the table below handed to the backend's each (backend.h:
 * gw_sqlite_each on a reader connection, gw_pg_each on a pool
 * connection) with its row fill from rows.h; $1 is a parameter in both
 * dialects.
 */
#include <stdint.h>
#include <string.h>

#include "store/audit_log.h"
#include "store/backend.h"
#include "store/console.h"
#include "store/outbox.h"
#include "store/rows.h"

enum read_id {
    OUTBOX_COUNTS,
    PEER_COUNTS,
    PEER_OLDEST,
    CONSOLE_DEAD,
    CASES_BY_STATUS,
    AUDIT_HEAD,
    HSA_LAST,
    CHAIN_HEAD,
};

static const struct {
    const char *sql;
    gw_cells_add add;
    const char *what;
} reads[] = {
    [OUTBOX_COUNTS] = {"SELECT state, count(*) FROM outbox GROUP BY state",
                       gw_rows_add_outbox_count, "outbox_counts"},
    [PEER_COUNTS] = {"SELECT peer, state, count(*) FROM outbox WHERE state IN"
                     " ('pending', 'inflight', 'dead') GROUP BY peer, state",
                     gw_rows_add_peer_count, "outbox_peer_counts"},
    /* One index range per peer and state (outbox_due), not a scan of the
     * delivered items. */
    [PEER_OLDEST] = {"SELECT peer, min(created_ms) FROM outbox WHERE state IN"
                     " ('pending', 'inflight') GROUP BY peer",
                     gw_rows_add_peer_oldest, "outbox_peer_oldest"},
    [CONSOLE_DEAD] = {"SELECT id, peer, kind, attempts, created_ms,"
                      " updated_ms, coalesce(last_error, '') FROM outbox"
                      " WHERE state = 'dead'"
                      " ORDER BY updated_ms DESC, id DESC LIMIT $1",
                      gw_rows_add_console_dead, "console_dead"},
    [CASES_BY_STATUS] = {"SELECT status, count(*) FROM cases GROUP BY status"
                         " ORDER BY status",
                         gw_rows_add_console_count, "console_by_status"},
    [AUDIT_HEAD] = {"SELECT h.seq, h.hash, coalesce((SELECT at_ms FROM audit"
                    " WHERE seq = h.seq), 0) FROM audit_head h WHERE h.id = 1",
                    gw_rows_add_console_audit, "console_audit_head"},
    [HSA_LAST] = {"SELECT coalesce(max(fetched_ms), 0) FROM hsa_cache",
                  gw_rows_add_i64, "console_hsa_last"},
    /* The chain's head for appending and verifying (at_ms not read). */
    [CHAIN_HEAD] = {"SELECT seq, hash, 0 FROM audit_head WHERE id = 1",
                    gw_rows_add_console_audit, "audit_head"},
};

static gw_rc
shared_read(struct gw_store *st, enum read_id id, const int64_t *arg, void *out,
            size_t max, size_t *n)
{
    size_t one = 0;

    return gw_store_each_row(st, reads[id].sql, arg, reads[id].add, out, max,
                             n != NULL ? n : &one, reads[id].what);
}

gw_rc
gw_outbox_counts(struct gw_store *st, long long counts[4])
{
    memset(counts, 0, 4 * sizeof(counts[0]));
    return shared_read(st, OUTBOX_COUNTS, NULL, counts, 4, NULL);
}

gw_rc
gw_outbox_peer_counts(struct gw_store *st, struct gw_outbox_peer_count *out,
                      size_t max, size_t *n)
{
    return shared_read(st, PEER_COUNTS, NULL, out, max, n);
}

gw_rc
gw_outbox_peer_oldest(struct gw_store *st, struct gw_outbox_peer_oldest *out,
                      size_t max, size_t *n)
{
    return shared_read(st, PEER_OLDEST, NULL, out, max, n);
}

gw_rc
gw_console_dead_letters(struct gw_store *st, struct gw_console_dead *out,
                        size_t max, size_t *n)
{
    int64_t limit;

    if (max > GW_CONSOLE_MAX_DEAD)
        max = GW_CONSOLE_MAX_DEAD;
    limit = (int64_t)max;
    return shared_read(st, CONSOLE_DEAD, &limit, out, max, n);
}

gw_rc
gw_console_cases_by_status(struct gw_store *st, struct gw_console_count *out,
                           size_t max, size_t *n)
{
    return shared_read(st, CASES_BY_STATUS, NULL, out, max, n);
}

gw_rc
gw_console_audit_head(struct gw_store *st, struct gw_console_audit *out)
{
    memset(out, 0, sizeof(*out));
    return shared_read(st, AUDIT_HEAD, NULL, out, 1, NULL);
}

gw_rc
gw_console_hsa_last_answer(struct gw_store *st, int64_t *out)
{
    *out = 0;
    return shared_read(st, HSA_LAST, NULL, out, 1, NULL);
}

gw_rc
gw_store_audit_head(struct gw_store *st, int64_t *seq,
                    char hash[GW_AUDIT_HASH_HEX])
{
    struct gw_console_audit h = {0};
    size_t n = 0;
    gw_rc rc = shared_read(st, CHAIN_HEAD, NULL, &h, 1, &n);

    if (rc == GW_OK && n != 1)
        rc = GW_ESTORE; /* the head row is made with the schema */
    if (rc == GW_OK) {
        *seq = h.seq;
        memcpy(hash, h.hash, GW_AUDIT_HASH_HEX);
    }
    return rc;
}
