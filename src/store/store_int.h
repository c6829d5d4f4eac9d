/*
 * store_int.h - what the files of store/ share; nothing outside store/
 * includes it (sqlite3.h stays inside store/).
 */
#ifndef GW_STORE_INT_H
#define GW_STORE_INT_H

#include <pthread.h>
#include <semaphore.h>
#include <sqlite3.h>

#include "store/backend.h"
#include "store/rows.h"
#include "store/slots.h"
#include "store/store.h"
#include "store/wstate.h"

/* Prepared statements kept per connection, keyed by the address of their
 * static SQL text. */
#define GW_STMT_CACHE 48
struct stmt_cache {
    const char *sql[GW_STMT_CACHE];
    sqlite3_stmt *st[GW_STMT_CACHE];
    int n;
};

struct conn {
    sqlite3 *db;
    struct stmt_cache cache;
    int busy_ms; /* how long a locked database is waited for */
};

/* The SQLite backend's store (backend.h: gw_store_sqlite). */
struct gw_store {
    struct gw_store_base base; /* first: the table, the file, options */

    /* The writer (its queue in ws) and the store's lock with what it
     * guards: the queue, the commit result for readiness (health.c), the
     * outbox's wake-ups (wstate.h). */
    struct conn w;
    pthread_t writer;
    struct gw_wstate ws;

    /* Readers. */
    struct conn *readers;
    int nreaders;
    struct gw_slots rslots; /* which readers are free */

    /* Maintenance connection: outbox state, purge, HSA cache. */
    struct conn m;
    pthread_mutex_t mmu;

    /* Outbox delivery state (claim, done, fail), on its own connection
     * with synchronous=NORMAL: a worker marking items no longer pays an
     * fsync per item against the writer's group commit. In WAL mode the
     * marks are in the log in order, so the writer's next FULL commit
     * makes them durable too; one lost in a power cut means a delivery
     * is repeated, which receivers drop by message id (at least once). */
    struct conn ob;
    pthread_mutex_t obmu;

    /* The checkpointer (db.c): copies the WAL into the database on its
     * own connection and thread, so no commit of the writer does it. */
    struct conn ck;
    pthread_t ckpt;
    /* Under ws.mu: the checkpointer waits on ckpt_cv for a round to be
     * wanted (and not held: the writer catches up itself), the writer on
     * ckpt_done_cv for a round to end. */
    int ckpt_running, ckpt_stop, ckpt_wanted, ckpt_busy, ckpt_hold;
    pthread_cond_t ckpt_cv, ckpt_done_cv;
    /* Under ws.mu: frames of the WAL in the database after the last
     * checkpoint (ckpt_copied), valid while wal_gen is still ckpt_gen. */
    int ckpt_copied;
    unsigned ckpt_gen, wal_gen; /* wal_gen: +1 each time the WAL starts over */
    /* The writer thread's own (the WAL hook runs there): frames in the
     * WAL after its last commit, and at its last ask and catch-up. */
    int wal_frames, wal_asked, wal_caught_up;
    /* Tests: the checkpointer sleeps this long after each round, as on a
     * disk too slow for the load (under ws.mu). */
    int ckpt_test_pause_ms;

    /* Readiness (health.c): the last probe's result and time, under mmu
     * (the writer's last commit result is ws.commit_rc). */
    gw_rc probe_rc;
    int64_t probe_ms;
};

/* New WAL frames (2 KiB pages) after which the writer asks the
 * checkpointer for a round (db.c says why so many), and the WAL's bound
 * when the checkpointer does not keep up (a disk slower than the load):
 * the writer then waits for its round and copies the rest itself,
 * however long its queue waits (96 MiB). */
#define GW_STORE_CKPT_FRAMES 16384
#define GW_STORE_WAL_MAX_FRAMES (3 * GW_STORE_CKPT_FRAMES)

/* Opens a connection with the pragmas of the store. */
gw_rc gw_store_conn_open(const char *path, int busy_ms, struct conn *c,
                         struct gw_err *err);
/* The same in a mode: GW_CONN_RW; GW_CONN_RO, read-only (no pragma that
 * writes, query_only); GW_CONN_WRITER, read-write with its WAL writes
 * gathered into one per commit (walbuf.c), for the writer's connection;
 * GW_CONN_CHECKPOINTER, read-write with its database writes synced in
 * pieces (walbuf.c), for the checkpointer's. */
enum {
    GW_CONN_RW = 0,
    GW_CONN_RO = 1,
    GW_CONN_WRITER = 2,
    GW_CONN_CHECKPOINTER = 3
};
gw_rc gw_store_conn_open_mode(const char *path, int busy_ms, int mode,
                              struct conn *c, struct gw_err *err);
/* The names of walbuf.c's VFSs, registered on first use; NULL when they
 * could not be (the default VFS is used then). */
#define GW_STORE_WRITER_VFS "klasgw-walbuf"
#define GW_STORE_CKPT_VFS "klasgw-ckpt"
const char *gw_store_writer_vfs(void);
const char *gw_store_ckpt_vfs(void);
/* The checkpointer's database writes between two syncs (512 pages of
 * 2 KiB). 256 KiB and 512 KiB gave the same tail in bench_http.sh; 512
 * KiB cost 10 % more CPU a write at 32 writers in bench_store.sh (61-62
 * us against 53-56, and 4 % fewer writes/s), 1 MiB none. */
#define GW_STORE_CKPT_PACE_BYTES (1024 * 1024)
/* How many times the checkpointer's connections synced the database
 * file between two of SQLite's own syncs, since the process started. */
long long gw_store_ckpt_paced_syncs(void);
void gw_store_conn_close(struct conn *c);
/* A cached statement, reset and with bindings cleared; NULL on failure
 * (the error is logged). */
sqlite3_stmt *gw_store_stmt(struct conn *c, const char *sql);
/* Resets every statement of c still in progress, so the connection holds
 * no read transaction after its work (a statement stepped to a row and
 * not reset keeps one: on the writer, its next BEGIN IMMEDIATE would fail
 * at once with SQLITE_BUSY_SNAPSHOT once another connection has written). */
void gw_store_conn_idle(struct conn *c);
/* Runs SQL without results; GW_ESTORE (logged) on failure. */
gw_rc gw_store_exec(struct conn *c, const char *sql);
/* Maps an SQLite result code. */
gw_rc gw_store_rc(sqlite3 *db, int src, const char *what);

/* Takes a reader connection (waits if all are busy) / gives it back. */
struct conn *gw_store_reader_take(struct gw_store *st);
void gw_store_reader_give(struct gw_store *st, struct conn *c);

/* Appends one audit record to the chain inside the caller's transaction. */
gw_rc gw_store_audit_append(struct conn *c, const struct gw_audit_entry *e,
                            int64_t now_ms);

/* Writer thread body (writer.c). */
void *gw_store_writer_main(void *arg);
/* Between two batches, on the writer thread (db.c). */
void gw_store_wal_catch_up(struct gw_store *st);

/* Binds a possibly-NULL string. */
int gw_bind_text(sqlite3_stmt *s, int i, const char *v);
/* Duplicates a column (NULL stays NULL). */
char *gw_col_dup(sqlite3_stmt *s, int i);

/* Fills element i (zeroed) from the current row of s; GW_OK or an
 * error that ends the read. */
typedef gw_rc (*gw_row_fill)(sqlite3_stmt *s, void *elem, size_t i);
/* Frees what a filled element owns (not the element). */
typedef void (*gw_row_release)(void *elem);
/*
 * The row collector of every list read: steps s (prepared and bound by
 * the caller, who resets it) and fills one element of elem_size bytes per
 * row, at most max (SIZE_MAX: as many as the query gives), into an array
 * that grows as rows come. GW_OK with *out (caller frees; NULL without
 * rows) and *n; else nothing is handed over (release, when not
 * NULL, frees what the filled elements own): GW_ENOMEM, fill's error, or
 * an SQLite error as gw_store_rc maps it, named by what.
 */
gw_rc gw_store_collect(struct conn *c, sqlite3_stmt *s, size_t elem_size,
                       size_t max, gw_row_fill fill, gw_row_release release,
                       const char *what, void **out, size_t *n) GW_WARN_UNUSED;
/* The same with a fill both backends share (rows.h). */
gw_rc gw_store_collect_cells(struct conn *c, sqlite3_stmt *s,
                             size_t elem_size, size_t max, gw_cells_fill fill,
                             gw_row_release release, const char *what,
                             void **out, size_t *n) GW_WARN_UNUSED;
/* Steps s (bound by the caller, who resets it) to its end, handing each
 * row to add (rows.h) for out[max], *n filled; an SQLite error is named
 * by what. */
gw_rc gw_store_each(struct conn *c, sqlite3_stmt *s, gw_cells_add add,
                    void *out, size_t max, size_t *n,
                    const char *what) GW_WARN_UNUSED;
/* gw_store_one with a fill both backends share (rows.h). */
gw_rc gw_store_one_cells(struct conn *c, sqlite3_stmt *s, gw_cells_fill fill,
                         void *elem, const char *what) GW_WARN_UNUSED;
/* The backend table's each, first and list (db.c: gw_sqlite_each ...)
 * run on a reader connection; its update on the maintenance one. */
/* The current row of s as struct gw_cells. */
void gw_store_cells(sqlite3_stmt *s, struct gw_cells *out);
/*
 * The same for a read of one row: steps s once (the caller binds and
 * resets) and fills elem from the row (fill NULL: only whether there is
 * one). GW_OK with a row, GW_ENOTFOUND without, fill's error, or an
 * SQLite error named by what.
 */
gw_rc gw_store_one(struct conn *c, sqlite3_stmt *s, gw_row_fill fill,
                   void *elem, const char *what) GW_WARN_UNUSED;

/* On the connection conn (a struct conn * the caller holds), inside its
 * transaction: sql's rows collected with fill (as gw_store_collect), sql
 * run once, or its first row handed to fill (GW_ENOTFOUND without); the
 * retention walk's list and run (rows.h) and the writer's statements
 * (write_apply.h). */
gw_rc gw_store_conn_list(void *conn, const struct gw_sql *sql,
                         const struct gw_args *a, size_t elem_size,
                         gw_cells_fill fill, void **out, size_t *n,
                         const char *what) GW_WARN_UNUSED;
gw_rc gw_store_conn_run(void *conn, const struct gw_sql *sql,
                        const struct gw_args *a,
                        const char *what) GW_WARN_UNUSED;
gw_rc gw_store_conn_first(void *conn, const struct gw_sql *sql,
                          const struct gw_args *a, gw_cells_fill fill,
                          void *elem, const char *what) GW_WARN_UNUSED;
gw_rc gw_store_conn_insert(void *conn, const struct gw_sql *sql,
                           const struct gw_args *a, int64_t *id,
                           const char *what) GW_WARN_UNUSED;

/* Ends the transaction c began: COMMIT when rc is GW_OK (GW_ESTORE,
 * rolled back, when that fails), else ROLLBACK; returns the outcome. */
gw_rc gw_store_end(struct conn *c, gw_rc rc) GW_WARN_UNUSED;

/*
 * One change on the maintenance connection: gw_store_maint_stmt locks it
 * and prepares sql (NULL, unlocked again, when it cannot); the caller
 * binds; gw_store_maint_step steps once and resets (GW_ENOTFOUND when
 * must_change and no row changed; an SQLite error named by what), and
 * gw_store_maint_done does the same and unlocks.
 */
sqlite3_stmt *gw_store_maint_stmt(struct gw_store *st, const char *sql);
gw_rc gw_store_maint_step(struct gw_store *st, sqlite3_stmt *s,
                          int must_change, const char *what) GW_WARN_UNUSED;
gw_rc gw_store_maint_done(struct gw_store *st, sqlite3_stmt *s,
                          int must_change, const char *what) GW_WARN_UNUSED;

#endif
