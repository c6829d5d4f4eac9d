/*
 * backend.h - the store as an interface: one table of operations, one row
 * per public function of the headers of store/ that touches the database, and one
 * implementation of the table per backend (sqlite: db.c, writer.c,
 * outbox.c, ...; postgresql: pg*.c), except the statements whose logic is
 * the same on both: shared_reads.c writes those once, each in both
 * dialects, and runs them through the table's each, first, list and
 * update. Nothing outside store/ includes it.
 *
 * GW_STORE_OPS(X) lists the operations once, as
 *     X(return type, public name, op name, (parameters), (arguments))
 * and everything else is made from that list: the members of
 * struct gw_store_backend, the public functions (store.c: each calls
 * st->be-><op>), the prototypes of each backend's functions
 * (gw_sqlite_<op>, gw_pg_<op>) and each backend's table. A new operation
 * is a new row here and one function per backend; a backend that lacks
 * one does not link.
 *
 * Operations that return nothing (outbox wake, stats) are listed apart,
 * in GW_STORE_VOID_OPS, because C does not let a void function return a
 * void expression. Opening and closing are no rows: store.c allocates and
 * frees every store (struct gw_store_base) around the backend's open and
 * close.
 *
 * Every function a backend gives keeps the contract its header (read.h,
 * write.h, outbox.h, console.h, ...) states: the interface is those
 * headers.
 */
#ifndef GW_STORE_BACKEND_H
#define GW_STORE_BACKEND_H

#include <pthread.h>

#include "store/audit_log.h"
#include "store/console.h"
#include "store/hsa_cache.h"
#include "store/licence.h"
#include "store/outbox.h"
#include "store/purge.h"
#include "store/read.h"
#include "store/rows.h"
#include "store/store.h"
#include "store/subscription.h"
#include "store/write.h"

#define GW_STORE_OPS(X)                                                      \
    X(int, gw_store_schema_version, schema_version, (struct gw_store * st),  \
      (st))                                                                  \
    X(gw_rc, gw_store_ready, ready, (struct gw_store * st, struct gw_err *err), \
      (st, err))                                                             \
    X(gw_rc, gw_store_integrity_check, integrity_check,                      \
      (struct gw_store * st), (st))                                          \
    X(gw_rc, gw_store_write, write,                                          \
      (struct gw_store * st, const struct gw_store_write *w,                 \
       struct gw_store_result *res),                                         \
      (st, w, res))                                                          \
    X(gw_rc, gw_store_write_async, write_async,                              \
      (struct gw_store * st, const struct gw_store_write *w,                 \
       struct gw_store_result *res, gw_store_done_fn done, void *arg),       \
      (st, w, res, done, arg))                                               \
    X(gw_rc, gw_store_audit_async, audit_async,                              \
      (struct gw_store * st, const struct gw_audit_entry *e), (st, e))       \
    X(gw_rc, gw_store_hsa_put_async, hsa_put_async,                          \
      (struct gw_store * st, const char *person_hsa, const char *answer,     \
       size_t len, int64_t expires_ms),                                      \
      (st, person_hsa, answer, len, expires_ms))                             \
    X(gw_rc, gw_outbox_claim, outbox_claim,                                  \
      (struct gw_store * st, const char *peer, const char *owner,            \
       int64_t lease_ms, int probe, struct gw_outbox_item **out),            \
      (st, peer, owner, lease_ms, probe, out))                               \
    X(gw_rc, gw_outbox_done, outbox_done,                                    \
      (struct gw_store * st, long long id, const char *owner),               \
      (st, id, owner))                                                       \
    X(gw_rc, gw_outbox_fail, outbox_fail,                                    \
      (struct gw_store * st, long long id, const char *owner, int dead,      \
       int64_t next_ms, const char *why),                                    \
      (st, id, owner, dead, next_ms, why))                                   \
    X(gw_rc, gw_outbox_release, outbox_release,                              \
      (struct gw_store * st, long long id, const char *owner,                \
       const char *why),                                                     \
      (st, id, owner, why))                                                  \
    X(gw_rc, gw_outbox_due_now, outbox_due_now,                              \
      (struct gw_store * st, const char *peer, long long *n), (st, peer, n)) \
    X(gw_rc, gw_outbox_reclaim_all, outbox_reclaim_all,                      \
      (struct gw_store * st, long long *n), (st, n))                         \
    X(gw_rc, gw_outbox_retry, outbox_retry, (struct gw_store * st,           \
                                             long long id),                  \
      (st, id))                                                              \
    X(gw_rc, gw_outbox_wait, outbox_wait,                                    \
      (struct gw_store * st, long long *seen, int64_t timeout_ms),           \
      (st, seen, timeout_ms))                                                \
    X(int64_t, gw_outbox_next_due, outbox_next_due,                          \
      (struct gw_store * st, const char *peer), (st, peer))                  \
    X(gw_rc, gw_outbox_items, outbox_items,                                  \
      (struct gw_store * st, const char *state, long long id, int limit,     \
       struct gw_outbox_info **items, size_t *n),                            \
      (st, state, id, limit, items, n))                                      \
    X(gw_rc, gw_store_purge, purge,                                          \
      (struct gw_store * st, int64_t now_ms, int motivation_months,          \
       int decided_months, int mode, struct gw_purge_counts *out),           \
      (st, now_ms, motivation_months, decided_months, mode, out))            \
    X(gw_rc, gw_store_pharmacy_put, pharmacy_put,                            \
      (struct gw_store * st, const struct gw_pharmacy *p), (st, p))          \
    X(gw_rc, gw_console_peers, console_peers,                                \
      (struct gw_store * st, const char *const *known, size_t nknown,        \
       struct gw_console_peer *out, size_t max, size_t *n),                  \
      (st, known, nknown, out, max, n))                                      \
    X(gw_rc, gw_console_discard, console_discard,                            \
      (struct gw_store * st, long long id, const char *system,               \
       const char *user, char *peer, size_t peer_size),                      \
      (st, id, system, user, peer, peer_size))

#define GW_STORE_VOID_OPS(X)                                                 \
    X(void, gw_outbox_wake, outbox_wake, (struct gw_store * st), (st))       \
    X(void, gw_store_stats, stats,                                           \
      (struct gw_store * st, struct gw_store_stats *out), (st, out))

/*
 * A statement whose logic is the same on both backends: its text in each
 * dialect (SQLite ?N, PostgreSQL $N with the casts it needs), taking the
 * same parameters in the same order, given as a list either binds.
 */
struct gw_sql {
    const char *sqlite, *pg;
};
#define GW_ARGS_MAX 16
struct gw_args {
    int n;
    struct gw_arg {
        enum { GW_ARG_TEXT, GW_ARG_I64, GW_ARG_F64, GW_ARG_BLOB } kind;
        const char *s; /* TEXT (NULL: SQL NULL) and BLOB */
        size_t len;    /* BLOB */
        int64_t i;     /* I64 */
        double f;      /* F64 */
    } v[GW_ARGS_MAX];
};
/* Appends a parameter (past GW_ARGS_MAX: dropped, and the statement
 * fails on the missing one). */
void gw_args_str(struct gw_args *a, const char *s);
void gw_args_i64(struct gw_args *a, int64_t i);
void gw_args_blob(struct gw_args *a, const void *data, size_t len);

/*
 * How a backend runs a shared statement on a connection the caller holds,
 * inside its transaction: run once; its first row handed to fill
 * (GW_ENOTFOUND without); its rows, each filled into one element of
 * elem_size bytes (*out malloc'd, NULL when *n is 0; the caller frees).
 * One table per backend (gw_sqlite_conn_ops: db.c; gw_pg_conn_ops:
 * pg_rows.c), for the writers' statements (write_apply.h) and the
 * transactions of txn below.
 */
typedef gw_rc (*gw_sql_run)(void *conn, const struct gw_sql *sql,
                            const struct gw_args *a, const char *what);
struct gw_conn_ops {
    gw_sql_run run;
    gw_rc (*first)(void *conn, const struct gw_sql *sql,
                   const struct gw_args *a, gw_cells_fill fill, void *elem,
                   const char *what);
    gw_rc (*list)(void *conn, const struct gw_sql *sql,
                  const struct gw_args *a, size_t elem_size,
                  gw_cells_fill fill, void **out, size_t *n,
                  const char *what);
    /* An INSERT of at most one row: *id the new row's id, 0 when it
     * inserted none (ON CONFLICT DO NOTHING). sql's PostgreSQL text ends
     * in RETURNING id; SQLite's has no RETURNING, the connection tells
     * the id: there RETURNING made the insert a multi-row write, with a
     * statement journal (each page it changed copied once more) and a
     * table for the returned row. */
    gw_rc (*insert)(void *conn, const struct gw_sql *sql,
                    const struct gw_args *a, int64_t *id, const char *what);
};
/* A transaction's statements, through ops on conn, with the caller's arg. */
typedef gw_rc (*gw_txn_fn)(const struct gw_conn_ops *ops, void *conn,
                           void *arg);

struct gw_store_backend {
    const char *name; /* as store.backend names it */
    /* The size of its struct gw_store, which store.c allocates (zeroed,
     * but for struct gw_store_base) and frees. */
    size_t size;
    /* Sets up st, opened on st->base.where; opts has every default filled
     * in (store.c), never NULL. On failure nothing of it is left set up:
     * store.c frees st. */
    gw_rc (*open)(struct gw_store *st, const struct gw_store_opts *opts,
                  struct gw_err *err);
    /* Stops and releases what open set up; st itself is store.c's. */
    void (*close)(struct gw_store *st);
    /*
     * The statements both backends run alike (shared_reads.c), each its
     * own dialect's text of sql with the parameters a (NULL: none), the
     * reads on a reader (SQLite) or pool (PostgreSQL) connection; an
     * error is named by what. each hands every row to add (rows.h) for
     * out[max], filled from *n = 0; first fills elem from the first row
     * (GW_ENOTFOUND without); list fills one element of elem_size
     * bytes per row, at most max, as gw_store_collect (store_int.h) and
     * gw_pg_collect (pg_int.h) do; update runs a small write outside the
     * group commit (SQLite: on the maintenance connection), GW_ENOTFOUND
     * when must_change and it changed no row.
     */
    gw_rc (*each)(struct gw_store *st, const struct gw_sql *sql,
                  const struct gw_args *a, gw_cells_add add, void *out,
                  size_t max, size_t *n, const char *what);
    gw_rc (*first)(struct gw_store *st, const struct gw_sql *sql,
                 const struct gw_args *a, gw_cells_fill fill, void *elem,
                 const char *what);
    gw_rc (*list)(struct gw_store *st, const struct gw_sql *sql,
                     const struct gw_args *a, size_t elem_size, size_t max,
                     gw_cells_fill fill, void (*release)(void *elem),
                     const char *what, void **out, size_t *n);
    gw_rc (*update)(struct gw_store *st, const struct gw_sql *sql,
                    const struct gw_args *a, int must_change,
                    const char *what);
    /* fn in one transaction on the connection update uses (SQLite: the
     * maintenance one, its lock held; PostgreSQL: a pool connection):
     * committed when fn returns GW_OK, else rolled back; fn's outcome, or
     * the commit's. */
    gw_rc (*txn)(struct gw_store *st, gw_txn_fn fn, void *arg);
#define GW_STORE_OP_MEMBER(ret, pub, op, params, args) ret(*op) params;
    GW_STORE_OPS(GW_STORE_OP_MEMBER)
    GW_STORE_VOID_OPS(GW_STORE_OP_MEMBER)
#undef GW_STORE_OP_MEMBER
};

/* Every store a backend opens begins with this (struct gw_store of each
 * backend: store_int.h, pg_int.h), filled in by store.c before the
 * backend's open: the table, and what both backends keep alike. */
struct gw_store_base {
    const struct gw_store_backend *be;
    char *where;   /* SQLite's file, PostgreSQL's connection string */
    int busy_ms;   /* gw_store_opts.busy_timeout_ms */
    int read_only; /* opened with gw_store_opts.read_only */
};

/* Declares backend B's functions gw_<B>_<op> and its table gw_store_<B>. */
#define GW_STORE_BACKEND_DECLARE(B)                                          \
    gw_rc gw_##B##_open(struct gw_store *st,                                 \
                        const struct gw_store_opts *opts,                    \
                        struct gw_err *err);                                 \
    void gw_##B##_close(struct gw_store *st);                                \
    gw_rc gw_##B##_each(struct gw_store *st, const struct gw_sql *sql,       \
                        const struct gw_args *a, gw_cells_add add,           \
                        void *out, size_t max, size_t *n, const char *what); \
    gw_rc gw_##B##_first(struct gw_store *st, const struct gw_sql *sql,      \
                         const struct gw_args *a, gw_cells_fill fill,        \
                         void *elem, const char *what);                      \
    gw_rc gw_##B##_list(struct gw_store *st, const struct gw_sql *sql,       \
                        const struct gw_args *a, size_t elem_size,           \
                        size_t max, gw_cells_fill fill,                      \
                        void (*release)(void *elem), const char *what,       \
                        void **out, size_t *n);                              \
    gw_rc gw_##B##_update(struct gw_store *st, const struct gw_sql *sql,     \
                          const struct gw_args *a, int must_change,          \
                          const char *what);                                 \
    gw_rc gw_##B##_txn(struct gw_store *st, gw_txn_fn fn, void *arg);        \
    extern const struct gw_conn_ops gw_##B##_conn_ops;                       \
    GW_STORE_OPS(GW_STORE_BACKEND_PROTO_##B)                                 \
    GW_STORE_VOID_OPS(GW_STORE_BACKEND_PROTO_##B)                            \
    extern const struct gw_store_backend gw_store_##B

#define GW_STORE_BACKEND_PROTO_sqlite(ret, pub, op, params, args)            \
    ret gw_sqlite_##op params;
#define GW_STORE_BACKEND_PROTO_pg(ret, pub, op, params, args)                \
    ret gw_pg_##op params;

GW_STORE_BACKEND_DECLARE(sqlite);
GW_STORE_BACKEND_DECLARE(pg);

/* A backend's table of operations: the file defines GW_STORE_FN(op) as
 * its function's name for op (gw_sqlite_##op, gw_pg_##op) first. */
#define GW_STORE_BACKEND_ROW(ret, pub, op, params, args) .op = GW_STORE_FN(op),
#define GW_STORE_BACKEND_TABLE(var, label, store_type)                       \
    const struct gw_store_backend var = {                                    \
        .name = label,                                                       \
        .size = sizeof(store_type),                                          \
        .open = GW_STORE_FN(open),                                           \
        .close = GW_STORE_FN(close),                                         \
        .each = GW_STORE_FN(each),                                           \
        .first = GW_STORE_FN(first),                                         \
        .list = GW_STORE_FN(list),                                           \
        .update = GW_STORE_FN(update),                                       \
        .txn = GW_STORE_FN(txn),                                             \
        GW_STORE_OPS(GW_STORE_BACKEND_ROW)                                   \
            GW_STORE_VOID_OPS(GW_STORE_BACKEND_ROW)}

/* The table of the backend st was opened with. */
static inline const struct gw_store_backend *
gw_store_be(struct gw_store *st)
{
    return ((const struct gw_store_base *)(const void *)st)->be;
}

/* The inbox's answer to a message id (one parameter; gw_rows_inbox's
 * columns): the shared read and the SQLite writer's look-up. */
extern const char gw_store_sql_inbox_get[];

/* GW_OK when this klasgw knows a database schema v (v <= known); else
 * GW_ESTORE, set in err: the database is newer, upgrade klasgw. */
gw_rc gw_store_schema_known(int v, int known, struct gw_err *err);
/* GW_OK when a store opened read-only, which migrates nothing, can read
 * schema v (v == known); else GW_ESTORE, set in err with the advice that
 * fits: upgrade klasgw (newer), or migrate the database first (older). */
gw_rc gw_store_schema_current(int v, int known, struct gw_err *err);

#endif
