/*
 * console.c - the operator console's reads and the discard of a dead
 * letter (console.h) on SQLite: gw_sqlite_console_* (backend.h); the
 * PostgreSQL ones are in pg_console.c, and the reads both word alike
 * (dead letters, cases by status, audit head, last HSA answer) in
 * shared_reads.c.
 *
 * Every read is bounded: per-state counts go through the outbox_due index
 * (peer, state, ...); the last delivery is looked for among the newest
 * GW_CONSOLE_RECENT items only, so a store with millions of delivered
 * items costs the same as a fresh one; cases per day start from the
 * cases_updated index (a case created since t was updated since t). No
 * read selects a payload, a document or a name.
 *
 * The discard deletes the row (the table has no state for it: 'done'
 * would claim a delivery that never happened) and appends the operator's
 * audit record in the same transaction, so there is never one without
 * the other. It runs on the outbox connection under its lock, the
 * connection gw_outbox_retry changes items on.
 */
#include "store/console.h"

#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "store/store_int.h"

static const char SQL_PEER_STATES[] =
    "SELECT peer, state, count(*),"
    " min(CASE WHEN state = 'pending' THEN created_ms END),"
    " max(CASE WHEN last_error IS NOT NULL THEN updated_ms END)"
    " FROM outbox WHERE state IN ('pending', 'inflight', 'dead')"
    " GROUP BY peer, state";
/* The newest delivered item of a peer among the newest items: a walk
 * down the rowid that stops at the first match or the bound. */
static const char SQL_PEER_LAST_OK[] =
    "SELECT updated_ms FROM outbox WHERE +peer = ?1 AND +state = 'done'"
    " AND id > (SELECT coalesce(max(id), 0) FROM outbox) - ?2"
    " ORDER BY id DESC LIMIT 1";
static const char SQL_DISCARD[] =
    "DELETE FROM outbox WHERE id = ?1 AND state = 'dead'"
    " RETURNING peer, kind";

static void
copy_text(char *dst, size_t size, sqlite3_stmt *s, int col)
{
    const unsigned char *t = sqlite3_column_text(s, col);

    snprintf(dst, size, "%s", t != NULL ? (const char *)t : "");
}

size_t
gw_console_peer_slot(struct gw_console_peer *out, size_t max, size_t *n,
                     const char *peer)
{
    return gw_rows_slot(out, sizeof(*out), sizeof(out->peer), max, n, peer);
}

void
gw_console_discard_entry(struct gw_audit_entry *e, char *detail, size_t size,
                         long long id, const char *system, const char *user,
                         const char *peer, const char *kind)
{
    snprintf(detail, size, "item %lld peer %s kind %s", id, peer, kind);
    memset(e, 0, sizeof(*e));
    e->system = system;
    e->user = user;
    e->action = "outbox-discard";
    e->outcome = "ok";
    e->detail = detail;
}

gw_rc
gw_sqlite_console_peers(struct gw_store *st, const char *const *known,
                        size_t nknown, struct gw_console_peer *out, size_t max,
                        size_t *n)
{
    struct conn *c = gw_store_reader_take(st);
    sqlite3_stmt *s;
    gw_rc rc = GW_ESTORE;
    int src;

    *n = 0;
    for (size_t i = 0; i < nknown; i++)
        (void)gw_console_peer_slot(out, max, n, known[i]);
    s = gw_store_stmt(c, SQL_PEER_STATES);
    if (s == NULL)
        goto out;
    rc = gw_store_each(c, s, gw_rows_add_console_peer, out, max, n,
                       "console_peers");
    sqlite3_reset(s);
    if (rc != GW_OK)
        goto out;
    for (size_t i = 0; i < *n; i++) {
        s = gw_store_stmt(c, SQL_PEER_LAST_OK);
        if (s == NULL) {
            rc = GW_ESTORE;
            goto out;
        }
        gw_bind_text(s, 1, out[i].peer);
        sqlite3_bind_int64(s, 2, GW_CONSOLE_RECENT);
        src = sqlite3_step(s);
        if (src == SQLITE_ROW)
            out[i].last_ok_ms = sqlite3_column_int64(s, 0);
        rc = gw_store_rc(c->db, src, "console_peer_last_ok");
        sqlite3_reset(s);
        if (rc != GW_OK)
            goto out;
    }
out:
    gw_store_reader_give(st, c);
    return rc;
}

gw_rc
gw_sqlite_console_discard(struct gw_store *st, long long id, const char *system,
                          const char *user, char *peer, size_t peer_size)
{
    struct gw_audit_entry e;
    char p[32] = "", kind[48] = "", detail[160];
    sqlite3_stmt *s;
    int began = 0, src;
    gw_rc rc;

    if (peer != NULL && peer_size > 0)
        peer[0] = '\0';
    pthread_mutex_lock(&st->obmu);
    rc = gw_store_exec(&st->ob, "BEGIN IMMEDIATE");
    if (rc != GW_OK)
        goto out;
    began = 1;
    s = gw_store_stmt(&st->ob, SQL_DISCARD);
    if (s == NULL) {
        rc = GW_ESTORE;
        goto out;
    }
    sqlite3_bind_int64(s, 1, id);
    src = sqlite3_step(s);
    if (src == SQLITE_ROW) {
        copy_text(p, sizeof(p), s, 0);
        copy_text(kind, sizeof(kind), s, 1);
        /* RETURNING: the row is gone once the statement has run out. */
        src = sqlite3_step(s);
        rc = gw_store_rc(st->ob.db, src, "console_discard");
    } else {
        rc = gw_store_rc(st->ob.db, src, "console_discard");
        if (rc == GW_OK)
            rc = GW_ENOTFOUND;
    }
    sqlite3_reset(s);
    if (rc != GW_OK)
        goto out;
    gw_console_discard_entry(&e, detail, sizeof(detail), id, system, user, p,
                             kind);
    rc = gw_store_audit_append(&st->ob, &e, gw_clock_now_ms());
out:
    if (began)
        rc = gw_store_end(&st->ob, rc);
    gw_store_conn_idle(&st->ob);
    pthread_mutex_unlock(&st->obmu);
    if (rc == GW_OK && peer != NULL)
        snprintf(peer, peer_size, "%s", p);
    return rc;
}
