/*
 * pg_int.h - what the files of the PostgreSQL backend share (pg.c,
 * pg_write.c, pg_read.c, pg_outbox.c); nothing outside store/ includes it
 * (libpq-fe.h stays inside store/).
 */
#ifndef GW_STORE_PG_INT_H
#define GW_STORE_PG_INT_H

#include <libpq-fe.h>
#include <pthread.h>
#include <semaphore.h>

#include "store/backend.h"
#include "store/rows.h"
#include "store/slots.h"
#include "store/store.h"
#include "store/wstate.h"

/* The channel the outbox's commits notify on (LISTEN/NOTIFY). */
#define GW_PG_CHANNEL "klasgw_outbox"

/* Writer threads per node. Two: one builds its batch while the other
 * commits. Each batch holds the audit head's lock through its COMMIT's
 * WAL flush, so more writers do not commit more at once: they only cut
 * the batches smaller (12 writers: one commit per submission; 2: 0.43,
 * bench_pg.sh). Their statements are pipelined (pg_write.c), so few
 * round trips are left to overlap. */
#define GW_PG_WRITERS 2

struct gw_pg_store {
    struct gw_store_base base; /* first: the table, the DSN, options */

    /* The pool: reads, outbox marks, maintenance. A connection found
     * broken is reset when taken; if it stays broken the caller gets
     * GW_EUNAVAILABLE (503) and nothing was done. */
    PGconn **conns;
    int nconns;
    struct gw_slots slots; /* which connections are free */

    /* The writers: one queue, GW_PG_WRITERS threads each with its own
     * connection, each committing the batch it took (group commit). */
    struct gw_pg_writer {
        struct gw_pg_store *s;
        PGconn *c;
        pthread_t t;
    } writers[GW_PG_WRITERS];
    /* The store's lock and what it guards (wstate.h): the writers'
     * queue, their last commit result, the outbox's wake-ups (commits
     * here, and NOTIFY from any node, by the listener). */
    struct gw_wstate ws;
    PGconn *lc; /* the listener's connection */
    pthread_t listener;
    int listener_running;
};

#define PG(st) ((struct gw_pg_store *)(void *)(st))

/* Query parameters, all sent as text except binary ones (bytea). */
#define GW_PG_MAXP 24
struct gw_pg_params {
    int n;
    const char *v[GW_PG_MAXP];
    int len[GW_PG_MAXP], fmt[GW_PG_MAXP];
    char num[GW_PG_MAXP][32];
};
void gw_pg_p_str(struct gw_pg_params *p, const char *s); /* NULL: NULL */
void gw_pg_p_i64(struct gw_pg_params *p, long long v);
void gw_pg_p_f64(struct gw_pg_params *p, double v);
void gw_pg_p_bin(struct gw_pg_params *p, const void *data, size_t len);

/*
 * Runs sql with p (may be NULL) on c. GW_OK with *res (caller PQclear; res
 * may be NULL) for a command or rows; else the error mapped and logged
 * by SQLSTATE and what (never the values): GW_EUNAVAILABLE when the
 * connection is gone, GW_EDUPLICATE for a unique violation, GW_EBUSY for
 * a deadlock or serialization failure, GW_ESTORAGEFULL for a full disk,
 * GW_ESTORE otherwise.
 */
gw_rc gw_pg_q(PGconn *c, const char *sql, const struct gw_pg_params *p,
              PGresult **res, const char *what);
/*
 * Pipeline mode (libpq 14+), for a connection one thread owns (the
 * writer's): gw_pg_pipeline(c, 1) enters it, (c, 0) leaves it (nothing
 * may be pending). In it, gw_pg_q with res == NULL only sends the
 * statement; one with res sends it, syncs and answers the first failure
 * of everything sent since the last sync (the server skipped the rest),
 * else its rows. gw_pg_sync(c) syncs what is pending: its failure, or
 * GW_OK. A write's outcome is known only after a sync.
 */
gw_rc gw_pg_pipeline(PGconn *c, int on);
gw_rc gw_pg_sync(PGconn *c);
/* Cell helpers: NULL stays NULL / 0 / "". */
char *gw_pg_dup(const PGresult *r, int row, int col);
long long gw_pg_i64(const PGresult *r, int row, int col);
double gw_pg_f64(const PGresult *r, int row, int col);
void gw_pg_copy(char *dst, size_t size, const PGresult *r, int row, int col);
/* A bytea cell as malloc'd bytes with a NUL after them; NULL on ENOMEM. */
char *gw_pg_bytea(const PGresult *r, int row, int col, size_t *len);

/* A new connection with the session settings of the store; NULL (logged)
 * when PostgreSQL cannot be reached. */
PGconn *gw_pg_connect(struct gw_pg_store *s);
/* 1 when an idle connection is broken or the server has left it (a
 * restart): it would fail its next statement. */
int gw_pg_stale(PGconn *c);
/* Takes a pool connection, reset if broken (GW_EUNAVAILABLE if it stays
 * so, GW_EBUSY after busy_ms without a free one) / gives it back. */
gw_rc gw_pg_take(struct gw_pg_store *s, PGconn **out);
void gw_pg_give(struct gw_pg_store *s, PGconn *c);

/* Appends one audit record inside the caller's transaction, whose head
 * row it locks (SELECT ... FOR UPDATE) until commit. */
gw_rc gw_pg_audit_append(PGconn *c, const struct gw_audit_entry *e,
                         int64_t now_ms);
/* Wakes the outbox waiters of this node. */
void gw_pg_bump(struct gw_pg_store *s);

void *gw_pg_writer_main(void *arg);

/* pg_rows.c, for the reads: one statement on a pool connection (*res
 * as gw_pg_q; res may be NULL); the rows a command changed; a result's
 * row as struct gw_cells; and the row collector: runs sql and fills one
 * element of elem_size bytes per row with fill. GW_OK with *out (caller
 * frees; NULL without rows) and *n; else nothing is handed over (release,
 * when not NULL, frees what the filled elements own). */
gw_rc gw_pg_run(struct gw_store *st, const char *sql,
                const struct gw_pg_params *p, PGresult **res,
                const char *what);
long long gw_pg_changed(PGresult *r);
/* A change by one statement: GW_ENOTFOUND when it changed no row. */
gw_rc gw_pg_change(struct gw_store *st, const char *sql,
                   const struct gw_pg_params *p, const char *what);
void gw_pg_cells(const PGresult *r, int row, struct gw_cells *out);
gw_rc gw_pg_collect(struct gw_store *st, const char *sql,
                    const struct gw_pg_params *p, const char *what,
                    size_t elem_size, gw_cells_fill fill,
                    void (*release)(void *elem), void **out, size_t *n);
/* The same over a result the caller ran (and clears), e.g. on the
 * writer's batch connection. */
gw_rc gw_pg_collect_result(const PGresult *r, size_t elem_size,
                           gw_cells_fill fill, void (*release)(void *elem),
                           void **out, size_t *n);
/* Runs sql and fills elem from its first row: GW_ENOTFOUND without. */
gw_rc gw_pg_one(struct gw_store *st, const char *sql,
                const struct gw_pg_params *p, const char *what,
                gw_cells_fill fill, void *elem);
/* The same for the result r of a statement the caller ran (rc its
 * outcome, e.g. on the writer's batch connection); clears r. */
gw_rc gw_pg_one_result(gw_rc rc, PGresult *r, gw_cells_fill fill, void *elem);
/* gw_pg_each (backend.h: the backend's each) runs sql on a pool
 * connection; gw_pg_each_result hands the rows of a result the caller
 * ran (and clears) to add (rows.h) for out[max], *n filled. */
void gw_pg_each_result(const PGresult *r, gw_cells_add add, void *out,
                       size_t max, size_t *n);

/* On the connection conn (a PGconn * the caller holds), inside its
 * transaction: sql's rows collected with fill, sql run once, or its first
 * row handed to fill (GW_ENOTFOUND without); the retention walk's list
 * and run (rows.h) and the writer's statements (write_apply.h). */
gw_rc gw_pg_conn_list(void *conn, const struct gw_sql *sql,
                      const struct gw_args *a, size_t elem_size,
                      gw_cells_fill fill, void **out, size_t *n,
                      const char *what);
gw_rc gw_pg_conn_run(void *conn, const struct gw_sql *sql,
                     const struct gw_args *a, const char *what);
gw_rc gw_pg_conn_first(void *conn, const struct gw_sql *sql,
                       const struct gw_args *a, gw_cells_fill fill,
                       void *elem, const char *what);
gw_rc gw_pg_conn_insert(void *conn, const struct gw_sql *sql,
                        const struct gw_args *a, int64_t *id,
                        const char *what);

#endif
