/*
 * db.c - opening the database: pragmas, migrations, connections, the
 * statement cache, and start/stop of the writer.
 *
 * Migrations are a list of SQL scripts; PRAGMA user_version says how many
 * have run. Each runs in its own transaction, so a crash mid-migration
 * leaves the previous version intact. New versions only ever append to the
 * list.
 */
#include <errno.h>
#include <stdio.h>
#include <libgen.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/thread.h"
#include "store/read.h"
#include "store/store.h"
#include "store/store_int.h"

/* Page cache of the writer's connection, and of each of the other three
 * (maintenance, outbox, checkpointer), KiB. With the readers' (below)
 * they bound SQLite's page caches to 5.5 MiB (up to 8 readers);
 * statements and schemas come on top (klasgw_store_memory_bytes shows
 * the whole). SQLite's own bound (a soft heap limit) needs its memory
 * statistics, which cost the writer a global mutex around every
 * allocation (sqlite_config below). */
#define GW_STORE_WRITER_CACHE_KIB 2048
#define GW_STORE_OTHER_CACHE_KIB 512
/* Page cache of each reader connection, KiB (SQLite's default: 2,000).
 * In WAL mode a connection empties its cache whenever it starts a read
 * after another connection committed - under load, before nearly every
 * query - so a reader's cache only ever serves the one query it runs:
 * a point read touches a few dozen pages. What it holds between queries
 * is the last query's pages, and a search that counts its hits scans the
 * cases table: with 2,000 KiB each reader came to hold up to 2 MiB once
 * the table had grown that far, one reader after another, so SQLite's
 * memory grew for the whole R5 soak (1.9 -> 6.9 MB). 256 KiB (128 pages)
 * each, 2 MiB for the 8 readers, is reached within minutes. More readers
 * (server.threads) share the same 2 MiB, down to 16 KiB each (256
 * readers: 4 MiB); a query may hold more while it runs. */
#define GW_STORE_READER_CACHE_KIB 256
#define GW_STORE_READERS_CACHE_KIB 2048
#define GW_STORE_READER_CACHE_MIN_KIB 16

static gw_rc checkpointer_start(struct gw_store *st, struct gw_err *err);

static const char *const migrations[] = {
    /* 1: the initial schema. */
    "CREATE TABLE cases ("
    "  id INTEGER PRIMARY KEY,"
    "  refnr TEXT NOT NULL UNIQUE,"
    "  status TEXT NOT NULL,"
    "  licence_type TEXT NOT NULL,"
    "  beredskap INTEGER NOT NULL DEFAULT 0,"
    "  prescriber_hsa TEXT,"
    "  hospital_hsa TEXT, hospital_name TEXT,"
    "  clinic_hsa TEXT, clinic_name TEXT,"
    "  pharmacy_gln TEXT,"
    "  drug_name TEXT, substances TEXT,"
    "  patient_id TEXT,"
    "  parent_refnr TEXT,"
    "  version INTEGER NOT NULL DEFAULT 1,"
    "  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
    "  applied_ms INTEGER, decided_ms INTEGER, purged_ms INTEGER);"
    "CREATE INDEX cases_prescriber ON cases(prescriber_hsa, updated_ms);"
    "CREATE INDEX cases_updated ON cases(updated_ms);"
    "CREATE INDEX cases_status ON cases(status, created_ms);"
    "CREATE INDEX cases_decided ON cases(decided_ms) WHERE decided_ms IS NOT NULL;"
    "CREATE TABLE documents ("
    "  id INTEGER PRIMARY KEY,"
    "  case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,"
    "  version INTEGER NOT NULL, kind TEXT NOT NULL, xml BLOB NOT NULL,"
    "  created_ms INTEGER NOT NULL, UNIQUE(case_id, version));"
    "CREATE TABLE attachments ("
    "  id INTEGER PRIMARY KEY,"
    "  case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,"
    "  doc_version INTEGER NOT NULL, description TEXT, content_type TEXT,"
    "  hidden INTEGER NOT NULL, size INTEGER NOT NULL, data BLOB NOT NULL);"
    "CREATE INDEX attachments_case ON attachments(case_id);"
    "CREATE TABLE status_history ("
    "  id INTEGER PRIMARY KEY,"
    "  case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,"
    "  from_status TEXT, to_status TEXT NOT NULL, event TEXT NOT NULL,"
    "  actor TEXT NOT NULL, at_ms INTEGER NOT NULL);"
    "CREATE INDEX history_case ON status_history(case_id);"
    "CREATE TABLE inbox ("
    "  id INTEGER PRIMARY KEY,"
    "  message_id TEXT NOT NULL UNIQUE, sender TEXT NOT NULL,"
    "  content_hash TEXT NOT NULL, refnr TEXT, version INTEGER,"
    "  response_status INTEGER NOT NULL, response BLOB,"
    "  received_ms INTEGER NOT NULL);"
    "CREATE INDEX inbox_refnr ON inbox(refnr);"
    "CREATE TABLE outbox ("
    "  id INTEGER PRIMARY KEY,"
    "  message_id TEXT NOT NULL UNIQUE, peer TEXT NOT NULL, kind TEXT NOT NULL,"
    "  refnr TEXT, payload BLOB NOT NULL,"
    "  state TEXT NOT NULL CHECK (state IN"
    "    ('pending', 'inflight', 'done', 'dead')),"
    "  attempts INTEGER NOT NULL DEFAULT 0, next_attempt_ms INTEGER NOT NULL,"
    "  last_error TEXT, created_ms INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL);"
    "CREATE INDEX outbox_due ON outbox(peer, state, next_attempt_ms);"
    "CREATE TABLE hsa_cache ("
    "  person_hsa TEXT PRIMARY KEY, answer BLOB NOT NULL,"
    "  fetched_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL);"
    "CREATE TABLE audit ("
    "  seq INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, system TEXT NOT NULL,"
    "  user_id TEXT, action TEXT NOT NULL, refnr TEXT, outcome TEXT NOT NULL,"
    "  detail TEXT, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);"
    "CREATE INDEX audit_refnr ON audit(refnr);"
    "CREATE TABLE audit_head ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL,"
    "  hash TEXT NOT NULL);"
    "INSERT INTO audit_head VALUES (1, 0, "
    "  '0000000000000000000000000000000000000000000000000000000000000000');"
    "CREATE TABLE subscriptions ("
    "  id TEXT PRIMARY KEY, gln TEXT NOT NULL, endpoint TEXT NOT NULL,"
    "  criteria TEXT, status TEXT NOT NULL, created_ms INTEGER NOT NULL);"
    "CREATE INDEX subscriptions_gln ON subscriptions(gln);"
    "CREATE TABLE products ("
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL, substances TEXT,"
    "  holder TEXT, country TEXT, nplid TEXT, form TEXT, strength TEXT,"
    "  atc TEXT, first_seen_ms INTEGER NOT NULL,"
    "  UNIQUE (name, nplid, form, strength, holder));"
    "CREATE TABLE pharmacies ("
    "  gln TEXT PRIMARY KEY, name TEXT NOT NULL, actor TEXT, address TEXT,"
    "  city TEXT, connected INTEGER NOT NULL DEFAULT 1);"
    "CREATE TABLE purge_log ("
    "  id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL,"
    "  motivations INTEGER NOT NULL, decided INTEGER NOT NULL);",
    /* 2: the licence behind a case (product, amount, validity), what was
     * dispensed against it, and each prescriber's consent. */
    "CREATE TABLE licences ("
    "  case_id INTEGER PRIMARY KEY REFERENCES cases(id) ON DELETE CASCADE,"
    "  nplid TEXT, product_name TEXT, substances TEXT, form TEXT,"
    "  strength TEXT, holder TEXT, country TEXT, atc TEXT,"
    "  general_level TEXT, total_amount REAL, amount_unit TEXT,"
    "  valid_from TEXT, valid_to TEXT);"
    "CREATE INDEX licences_nplid ON licences(nplid);"
    "CREATE TABLE dispensings ("
    "  id INTEGER PRIMARY KEY,"
    "  case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,"
    "  gln TEXT NOT NULL, amount REAL NOT NULL, dispensed_on TEXT NOT NULL,"
    "  kind TEXT NOT NULL, at_ms INTEGER NOT NULL);"
    "CREATE INDEX dispensings_case ON dispensings(case_id);"
    "CREATE TABLE prescribers ("
    "  hsa TEXT PRIMARY KEY, consented_ms INTEGER, last_applied_ms INTEGER,"
    "  last_active_ms INTEGER);"
    "CREATE INDEX cases_patient ON cases(patient_id)"
    "  WHERE patient_id IS NOT NULL;",
    /* 3: leases on claimed outbox items (who holds one, until when), the
     * subscription a notification item is for, and a subscription's
     * failures in a row. An item left in flight by an older klasgw has no
     * lease: it counts as expired. */
    "ALTER TABLE outbox ADD COLUMN claimed_by TEXT;"
    "ALTER TABLE outbox ADD COLUMN claimed_until INTEGER;"
    "ALTER TABLE outbox ADD COLUMN target TEXT;"
    "CREATE INDEX outbox_target ON outbox(target, state)"
    "  WHERE target IS NOT NULL;"
    "ALTER TABLE subscriptions ADD COLUMN failures INTEGER NOT NULL"
    "  DEFAULT 0;"
    "ALTER TABLE subscriptions ADD COLUMN error TEXT;",
    /* 4: topic-based subscriptions (Subscriptions Backport IG): the
     * filter, channel.header and heartbeat period, the events numbered so
     * far and when a notification was last sent, and the events kept for
     * $events. */
    "ALTER TABLE subscriptions ADD COLUMN filter_criteria TEXT;"
    "ALTER TABLE subscriptions ADD COLUMN header TEXT;"
    "ALTER TABLE subscriptions ADD COLUMN heartbeat_s INTEGER NOT NULL"
    "  DEFAULT 0;"
    "ALTER TABLE subscriptions ADD COLUMN events INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE subscriptions ADD COLUMN sent_ms INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE subscription_events ("
    "  sub_id TEXT NOT NULL, event_number INTEGER NOT NULL,"
    "  message_id TEXT NOT NULL, code TEXT NOT NULL, refnr TEXT,"
    "  at_ms INTEGER NOT NULL, PRIMARY KEY (sub_id, event_number),"
    "  UNIQUE (sub_id, message_id));",
    /* 5: a pharmacy's own case list, in the search's order (shared_reads.c:
     * search_lead), without walking every case. Partial: motivations are
     * inserted without a pharmacy, and cost the writer no entry here. */
    "CREATE INDEX cases_pharmacy ON cases(pharmacy_gln, updated_ms)"
    "  WHERE pharmacy_gln IS NOT NULL;",
    /* 6: the outbox's state check as comparisons, the same four states:
     * SQLite evaluated IN with four constants by building a temporary
     * b-tree of them at every insert, ~1/5 of the writer's work for a
     * new case with one outbox item (bench_store). A check cannot be
     * changed in place: the table is built again, the same columns in
     * the same order, rows, ids and indexes. */
    "CREATE TABLE outbox_new ("
    "  id INTEGER PRIMARY KEY,"
    "  message_id TEXT NOT NULL UNIQUE, peer TEXT NOT NULL, kind TEXT NOT NULL,"
    "  refnr TEXT, payload BLOB NOT NULL,"
    "  state TEXT NOT NULL CHECK (state = 'pending' OR state = 'inflight'"
    "    OR state = 'done' OR state = 'dead'),"
    "  attempts INTEGER NOT NULL DEFAULT 0, next_attempt_ms INTEGER NOT NULL,"
    "  last_error TEXT, created_ms INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL, claimed_by TEXT, claimed_until INTEGER,"
    "  target TEXT);"
    "INSERT INTO outbox_new SELECT id, message_id, peer, kind, refnr,"
    "  payload, state, attempts, next_attempt_ms, last_error, created_ms,"
    "  updated_ms, claimed_by, claimed_until, target FROM outbox;"
    "DROP TABLE outbox;"
    "ALTER TABLE outbox_new RENAME TO outbox;"
    "CREATE INDEX outbox_due ON outbox(peer, state, next_attempt_ms);"
    "CREATE INDEX outbox_target ON outbox(target, state)"
    "  WHERE target IS NOT NULL;",
    /* 7: licences_nplid goes. Its one reader (shared_reads.c: the
     * licences for a product) asks for the product number OR the folded
     * name, so SQLite drives it from cases_status and never reads this
     * index (EXPLAIN QUERY PLAN); the writer still kept it up at every
     * new case. */
    "DROP INDEX IF EXISTS licences_nplid;",
};
#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

_Static_assert(NMIGRATIONS == GW_STORE_SCHEMA_VERSION,
               "GW_STORE_SCHEMA_VERSION must name the last migration");

gw_rc
gw_store_rc(sqlite3 *db, int src, const char *what)
{
    if (src == SQLITE_OK || src == SQLITE_DONE || src == SQLITE_ROW)
        return GW_OK;
    gw_log_err("event=sqlite_error what=%s code=%d msg=%s", what, src,
               gw_log_quote(sqlite3_errmsg(db)));
    if (src == SQLITE_BUSY || src == SQLITE_LOCKED)
        return GW_EBUSY;
    if ((src & 0xff) == SQLITE_CONSTRAINT)
        return GW_ECONFLICT;
    if (src == SQLITE_NOMEM)
        return GW_ENOMEM;
    if ((src & 0xff) == SQLITE_FULL)
        return GW_ESTORAGEFULL;
    return GW_ESTORE;
}

void
gw_store_conn_idle(struct conn *c)
{
    for (sqlite3_stmt *p = sqlite3_next_stmt(c->db, NULL); p != NULL;
         p = sqlite3_next_stmt(c->db, p))
        if (sqlite3_stmt_busy(p))
            sqlite3_reset(p);
}

gw_rc
gw_store_exec(struct conn *c, const char *sql)
{
    char *msg = NULL;
    int src = sqlite3_exec(c->db, sql, NULL, NULL, &msg);

    if (src != SQLITE_OK) {
        char what[48];
        snprintf(what, sizeof(what), "%.40s", sql);
        for (char *p = what; *p; p++)
            if (*p == ' ' || *p == '\n' || *p == '"')
                *p = '_';
        gw_log_err("event=sqlite_exec_error code=%d sql=%s msg=%s", src, what,
                   gw_log_quote(msg));
        sqlite3_free(msg);
        return src == SQLITE_BUSY            ? GW_EBUSY
               : (src & 0xff) == SQLITE_FULL ? GW_ESTORAGEFULL
                                             : GW_ESTORE;
    }
    return GW_OK;
}

/* The cached statement of sql, as its last user left it: run_job resets
 * every statement it ran, gw_store_stmt resets what it hands out. */
static sqlite3_stmt *
stmt_get(struct conn *c, const char *sql)
{
    sqlite3_stmt *s = NULL;

    for (int i = 0; i < c->cache.n; i++)
        if (c->cache.sql[i] == sql)
            return c->cache.st[i];
    if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s,
                           NULL) != SQLITE_OK) {
        gw_log_err("event=sqlite_prepare_error msg=%s",
                   gw_log_quote(sqlite3_errmsg(c->db)));
        return NULL;
    }
    if (c->cache.n < GW_STMT_CACHE) {
        c->cache.sql[c->cache.n] = sql;
        c->cache.st[c->cache.n++] = s;
    } else {
        /* Should not happen: the cache is sized for every statement. */
        gw_log_err("event=stmt_cache_full");
        sqlite3_finalize(s);
        return NULL;
    }
    return s;
}

sqlite3_stmt *
gw_store_stmt(struct conn *c, const char *sql)
{
    sqlite3_stmt *s = stmt_get(c, sql);

    if (s != NULL) {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
    }
    return s;
}

int
gw_bind_text(sqlite3_stmt *s, int i, const char *v)
{
    return v ? sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT)
             : sqlite3_bind_null(s, i);
}

char *
gw_col_dup(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);

    return t ? strdup((const char *)t) : NULL;
}

/* An sqlite3_stmt's current row as struct gw_cells (rows.h). */
static const char *
cell_text(const void *res, int row, int col)
{
    (void)row;
    return (const char *)sqlite3_column_text((sqlite3_stmt *)res, col);
}

static int64_t
cell_i64(const void *res, int row, int col)
{
    (void)row;
    return sqlite3_column_int64((sqlite3_stmt *)res, col);
}

static double
cell_f64(const void *res, int row, int col)
{
    (void)row;
    return sqlite3_column_double((sqlite3_stmt *)res, col);
}

static char *
cell_bytes(const void *res, int row, int col, size_t *len)
{
    sqlite3_stmt *s = (sqlite3_stmt *)res;
    size_t n = (size_t)sqlite3_column_bytes(s, col);
    char *out = malloc(n + 1);

    (void)row;
    *len = 0;
    if (out == NULL)
        return NULL;
    if (n > 0)
        memcpy(out, sqlite3_column_blob(s, col), n);
    out[n] = '\0';
    *len = n;
    return out;
}

static const struct gw_cells_ops cells_ops = {cell_text, cell_i64, cell_f64,
                                              cell_bytes};

void
gw_store_cells(sqlite3_stmt *s, struct gw_cells *out)
{
    out->ops = &cells_ops;
    out->res = s;
    out->row = 0;
}

/* The collector of gw_store_collect (fill) and gw_store_collect_cells
 * (cfill): exactly one of the two is given. */
static gw_rc
collect(struct conn *c, sqlite3_stmt *s, size_t elem_size, size_t max,
        gw_row_fill fill, gw_cells_fill cfill, gw_row_release release,
        const char *what, void **out, size_t *n)
{
    struct gw_cells cells;
    size_t len = 0, cap = max < 16 ? (max ? max : 1) : 16;
    unsigned char *rows = calloc(cap, elem_size);
    int src = SQLITE_DONE;
    gw_rc rc = GW_OK;

    *out = NULL;
    *n = 0;
    if (rows == NULL)
        return GW_ENOMEM;
    gw_store_cells(s, &cells);
    while (len < max && (src = sqlite3_step(s)) == SQLITE_ROW) {
        if (len == cap) {
            size_t ncap = cap > max / 2 ? max : cap * 2;
            unsigned char *g = realloc(rows, ncap * elem_size);
            if (g == NULL) {
                rc = GW_ENOMEM;
                break;
            }
            rows = g;
            cap = ncap;
        }
        memset(rows + elem_size * len, 0, elem_size);
        rc = fill != NULL ? fill(s, rows + elem_size * len, len)
                          : cfill(&cells, rows + elem_size * len, len);
        if (rc != GW_OK) {
            if (release != NULL)
                release(rows + elem_size * len);
            break;
        }
        len++;
    }
    if (rc == GW_OK && src != SQLITE_DONE && src != SQLITE_ROW)
        rc = gw_store_rc(c->db, src, what);
    if (rc != GW_OK) {
        for (size_t i = 0; release != NULL && i < len; i++)
            release(rows + elem_size * i);
        free(rows);
        return rc;
    }
    if (len == 0) {
        free(rows); /* no rows, no list: callers free only what they got */
        rows = NULL;
    }
    *out = rows;
    *n = len;
    return GW_OK;
}

gw_rc
gw_store_collect(struct conn *c, sqlite3_stmt *s, size_t elem_size, size_t max,
                 gw_row_fill fill, gw_row_release release, const char *what,
                 void **out, size_t *n)
{
    return collect(c, s, elem_size, max, fill, NULL, release, what, out, n);
}

gw_rc
gw_store_collect_cells(struct conn *c, sqlite3_stmt *s, size_t elem_size,
                       size_t max, gw_cells_fill fill, gw_row_release release,
                       const char *what, void **out, size_t *n)
{
    return collect(c, s, elem_size, max, NULL, fill, release, what, out, n);
}

gw_rc
gw_store_each(struct conn *c, sqlite3_stmt *s, gw_cells_add add, void *out,
              size_t max, size_t *n, const char *what)
{
    struct gw_cells cells;
    int src;

    gw_store_cells(s, &cells);
    while ((src = sqlite3_step(s)) == SQLITE_ROW)
        add(&cells, out, max, n);
    return gw_store_rc(c->db, src, what);
}

/* The parameters a's caller holds until its statement has run (its
 * fields or locals): SQLite need not copy them then; each copy
 * (SQLITE_TRANSIENT) was a malloc under SQLite's global memory lock, ~35
 * a request in the writer. What stays bound after the run points at
 * memory gone since: every later run binds all the statement's
 * parameters anew (run_job) or clears them first (gw_store_stmt). */
static void
bind_args(sqlite3_stmt *s, const struct gw_args *a)
{
    for (int i = 0; a != NULL && i < a->n; i++) {
        const struct gw_arg *v = &a->v[i];

        if (v->kind == GW_ARG_I64)
            sqlite3_bind_int64(s, i + 1, v->i);
        else if (v->kind == GW_ARG_F64)
            sqlite3_bind_double(s, i + 1, v->f);
        else if (v->kind == GW_ARG_BLOB)
            sqlite3_bind_blob(s, i + 1, v->s, (int)v->len, SQLITE_STATIC);
        else if (v->s != NULL)
            sqlite3_bind_text(s, i + 1, v->s, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(s, i + 1);
    }
}

/* What a statement of the backend table (each, first, list) or of the
 * retention walk (conn_list, conn_run) does, bound, on its connection. */
struct read_job {
    enum { READ_EACH, READ_ONE, READ_COLLECT, READ_RUN } kind;
    gw_cells_add add;   /* each */
    gw_cells_fill fill; /* one, collect */
    void *out;          /* each: the array; one: elem; collect: void ** */
    size_t elem_size, max;
    size_t *n;
    gw_row_release release;
};

static gw_rc
run_job(struct conn *c, const struct gw_sql *sql, const struct gw_args *a,
        const struct read_job *j, const char *what)
{
    sqlite3_stmt *s = stmt_get(c, sql->sqlite);
    gw_rc rc;

    if (s == NULL)
        return GW_ESTORE;
    /* Reset after its last run (below), unless a caller of gw_store_stmt
     * left it mid-way: a reset on every look-up as well was ~0.5 % of the
     * writer's instructions. */
    if (sqlite3_stmt_busy(s))
        sqlite3_reset(s);
    /* Clearing them all first was ~1 % of the writer's work a write. */
    if (a == NULL || a->n < sqlite3_bind_parameter_count(s))
        sqlite3_clear_bindings(s);
    bind_args(s, a);
    if (j->kind == READ_EACH)
        rc = gw_store_each(c, s, j->add, j->out, j->max, j->n, what);
    else if (j->kind == READ_ONE)
        rc = gw_store_one_cells(c, s, j->fill, j->out, what);
    else if (j->kind == READ_COLLECT)
        rc = gw_store_collect_cells(c, s, j->elem_size, j->max, j->fill,
                                    j->release, what, (void **)j->out, j->n);
    else
        rc = gw_store_rc(c->db, sqlite3_step(s), what);
    sqlite3_reset(s);
    return rc;
}

/* run_job on a reader connection. */
static gw_rc
reader_read(struct gw_store *st, const struct gw_sql *sql,
            const struct gw_args *a, const struct read_job *j,
            const char *what)
{
    struct conn *c = gw_store_reader_take(st);
    gw_rc rc = run_job(c, sql, a, j, what);

    gw_store_reader_give(st, c);
    return rc;
}

gw_rc
gw_sqlite_each(struct gw_store *st, const struct gw_sql *sql,
               const struct gw_args *a, gw_cells_add add, void *out,
               size_t max, size_t *n, const char *what)
{
    struct read_job j = {.kind = READ_EACH, .add = add, .out = out,
                         .max = max, .n = n};

    *n = 0;
    return reader_read(st, sql, a, &j, what);
}

gw_rc
gw_sqlite_first(struct gw_store *st, const struct gw_sql *sql,
              const struct gw_args *a, gw_cells_fill fill, void *elem,
              const char *what)
{
    struct read_job j = {.kind = READ_ONE, .fill = fill, .out = elem};

    return reader_read(st, sql, a, &j, what);
}

gw_rc
gw_sqlite_list(struct gw_store *st, const struct gw_sql *sql,
                  const struct gw_args *a, size_t elem_size, size_t max,
                  gw_cells_fill fill, void (*release)(void *elem),
                  const char *what, void **out, size_t *n)
{
    struct read_job j = {.kind = READ_COLLECT, .fill = fill, .out = out,
                         .elem_size = elem_size, .max = max, .n = n,
                         .release = release};

    *out = NULL;
    *n = 0;
    return reader_read(st, sql, a, &j, what);
}

gw_rc
gw_sqlite_update(struct gw_store *st, const struct gw_sql *sql,
                 const struct gw_args *a, int must_change, const char *what)
{
    sqlite3_stmt *s = gw_store_maint_stmt(st, sql->sqlite);

    if (s == NULL)
        return GW_ESTORE;
    bind_args(s, a);
    return gw_store_maint_done(st, s, must_change, what);
}

gw_rc
gw_store_conn_list(void *conn, const struct gw_sql *sql,
                   const struct gw_args *a, size_t elem_size,
                   gw_cells_fill fill, void **out, size_t *n, const char *what)
{
    struct read_job j = {.kind = READ_COLLECT, .fill = fill, .out = out,
                         .elem_size = elem_size, .max = SIZE_MAX, .n = n};

    *out = NULL;
    *n = 0;
    return run_job(conn, sql, a, &j, what);
}

gw_rc
gw_store_conn_run(void *conn, const struct gw_sql *sql,
                  const struct gw_args *a, const char *what)
{
    struct read_job j = {.kind = READ_RUN};

    return run_job(conn, sql, a, &j, what);
}

gw_rc
gw_store_conn_first(void *conn, const struct gw_sql *sql,
                    const struct gw_args *a, gw_cells_fill fill, void *elem,
                    const char *what)
{
    struct read_job j = {.kind = READ_ONE, .fill = fill, .out = elem};

    return run_job(conn, sql, a, &j, what);
}

gw_rc
gw_store_conn_insert(void *conn, const struct gw_sql *sql,
                     const struct gw_args *a, int64_t *id, const char *what)
{
    struct conn *c = conn;
    gw_rc rc = gw_store_conn_run(conn, sql, a, what);

    /* The statement's own count: 0 when ON CONFLICT DO NOTHING did. */
    *id = rc == GW_OK && sqlite3_changes64(c->db) == 1
              ? sqlite3_last_insert_rowid(c->db)
              : 0;
    return rc;
}

const struct gw_conn_ops gw_sqlite_conn_ops = {
    gw_store_conn_run, gw_store_conn_first, gw_store_conn_list,
    gw_store_conn_insert};

gw_rc
gw_sqlite_txn(struct gw_store *st, gw_txn_fn fn, void *arg)
{
    gw_rc rc;

    pthread_mutex_lock(&st->mmu);
    rc = gw_store_exec(&st->m, "BEGIN IMMEDIATE");
    if (rc == GW_OK)
        rc = gw_store_end(&st->m, fn(&gw_sqlite_conn_ops, &st->m, arg));
    pthread_mutex_unlock(&st->mmu);
    return rc;
}

gw_rc
gw_store_one(struct conn *c, sqlite3_stmt *s, gw_row_fill fill, void *elem,
             const char *what)
{
    int src = sqlite3_step(s);

    if (src == SQLITE_DONE)
        return GW_ENOTFOUND;
    if (src != SQLITE_ROW)
        return gw_store_rc(c->db, src, what);
    return fill != NULL ? fill(s, elem, 0) : GW_OK;
}

gw_rc
gw_store_one_cells(struct conn *c, sqlite3_stmt *s, gw_cells_fill fill,
                   void *elem, const char *what)
{
    struct gw_cells cells;
    gw_rc rc = gw_store_one(c, s, NULL, NULL, what);

    gw_store_cells(s, &cells);
    return rc == GW_OK ? fill(&cells, elem, 0) : rc;
}

gw_rc
gw_store_conn_open(const char *path, int busy_ms, struct conn *c,
                   struct gw_err *err)
{
    return gw_store_conn_open_mode(path, busy_ms, 0, c, err);
}

/*
 * klasgw_fold(text): the text with its capitals made small, for searches
 * that ignore case: ASCII and the Latin-1 letters (Swedish Å Ä Ö, É, Ü,
 * ...), which SQLite's lower() and LIKE leave as they are. The same as
 * the PostgreSQL backend's klasgw_fold (pg.c). NULL stays NULL.
 */
static void
fold_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    const unsigned char *in = sqlite3_value_text(argv[0]);
    int n = sqlite3_value_bytes(argv[0]);
    unsigned char *out;

    (void)argc;
    if (in == NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    out = sqlite3_malloc(n + 1);
    if (out == NULL) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    for (int i = 0; i < n; i++) {
        unsigned char b = in[i];
        if (b >= 'A' && b <= 'Z') {
            b = (unsigned char)(b + 32);
        } else if (b == 0xC3 && i + 1 < n && in[i + 1] >= 0x80 &&
                   in[i + 1] <= 0x9E && in[i + 1] != 0x97) {
            /* U+00C0..U+00DE but the multiplication sign: +0x20. */
            out[i++] = b;
            b = (unsigned char)(in[i] + 0x20);
        }
        out[i] = b;
    }
    out[n] = '\0';
    sqlite3_result_text(ctx, (const char *)out, n, sqlite3_free);
}

/* The busy handler of every connection: waits busy_ms at most for a lock
 * another connection holds, looking again after 50 us, doubling to 2 ms.
 * SQLite's own (sqlite3_busy_timeout) sleeps 1, 2, 5, 10, 15, 20, 25 ms
 * and on: the writer's BEGIN behind an outbox update that held the lock
 * for well under a millisecond slept 1 to 8 ms, and the outbox's update
 * behind the writer's commits slept up to 100 ms a turn (bench_http.sh). */
static int
busy_wait(void *arg, int count)
{
    const struct conn *c = arg;
    long waited, step;

    if (count < 6) {
        waited = 50L * ((1L << count) - 1);
        step = 50L << count;
    } else {
        waited = 50L * 63 + 2000L * (count - 6);
        step = 2000;
    }
    if (waited >= (long)c->busy_ms * 1000)
        return 0;
    usleep((useconds_t)step);
    return 1;
}

static const char *
vfs_of(int mode)
{
    if (mode == GW_CONN_WRITER)
        return gw_store_writer_vfs();
    if (mode == GW_CONN_CHECKPOINTER)
        return gw_store_ckpt_vfs();
    return NULL;
}

gw_rc
gw_store_conn_open_mode(const char *path, int busy_ms, int mode,
                        struct conn *c, struct gw_err *err)
{
    char pragmas[256];
    int read_only = mode == GW_CONN_RO, src;

    memset(c, 0, sizeof(*c));
    src = sqlite3_open_v2(path, &c->db,
                          (read_only
                               ? SQLITE_OPEN_READONLY
                               : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                              SQLITE_OPEN_NOMUTEX,
                          vfs_of(mode));
    if (src != SQLITE_OK) {
        gw_err_set(err, GW_ESTORE, NULL, "cannot open %s: %s", path,
                   c->db ? sqlite3_errmsg(c->db) : "out of memory");
        sqlite3_close(c->db);
        c->db = NULL;
        return GW_ESTORE;
    }
    c->busy_ms = busy_ms;
    sqlite3_busy_handler(c->db, busy_wait, c);
    if (sqlite3_create_function(c->db, "klasgw_fold", 1,
                                SQLITE_UTF8 | SQLITE_DETERMINISTIC |
                                    SQLITE_INNOCUOUS,
                                NULL, fold_fn, NULL, NULL) != SQLITE_OK) {
        gw_err_set(err, GW_ESTORE, NULL, "cannot register klasgw_fold");
        gw_store_conn_close(c);
        return GW_ESTORE;
    }
    if (read_only) {
        /* Looking must not change anything: no journal mode switch, no
         * checkpoint, and SQLite itself refuses every write. */
        if (gw_store_exec(c, "PRAGMA query_only=1; PRAGMA foreign_keys=ON;") !=
            GW_OK) {
            gw_err_set(err, GW_ESTORE, NULL, "cannot read %s", path);
            gw_store_conn_close(c);
            return GW_ESTORE;
        }
        return GW_OK;
    }
    /* Throughput is bound by bytes written per commit: each request
     * dirties a few random index pages (referensnummer, message ids), so
     * smaller pages mean less to write. 2 KiB measured as fast as 1 KiB
     * (60% faster than 4 KiB, tests/bench/bench_store.sh) with half the
     * overflow pages for attachments. Takes effect when the file is new. */
    /* No automatic checkpoint: it ran inside the COMMIT that crossed the
     * threshold, so every request of that batch (and of the queue behind
     * it) waited for 16 MiB of pages to be written and the database file
     * synced. The checkpointer thread does it instead (below); a process
     * without one (the command line) checkpoints when it closes. */
    snprintf(pragmas, sizeof(pragmas),
             "PRAGMA page_size=2048; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
             "PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;"
             "PRAGMA wal_autocheckpoint=0;");
    if (gw_store_exec(c, pragmas) != GW_OK) {
        gw_err_set(err, GW_ESTORE, NULL, "cannot set up %s", path);
        gw_store_conn_close(c);
        return GW_ESTORE;
    }
    return GW_OK;
}

void
gw_store_conn_close(struct conn *c)
{
    for (int i = 0; i < c->cache.n; i++)
        sqlite3_finalize(c->cache.st[i]);
    c->cache.n = 0;
    if (c->db != NULL)
        sqlite3_close(c->db);
    c->db = NULL;
}

static int
user_version(struct conn *c)
{
    sqlite3_stmt *s;
    int v = -1;

    if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &s, NULL) ==
        SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW)
            v = sqlite3_column_int(s, 0);
        sqlite3_finalize(s);
    }
    return v;
}

static gw_rc
migrate(struct conn *c, struct gw_err *err)
{
    int v = user_version(c);
    char sql[64];

    if (v < 0)
        return gw_err_set(err, GW_ESTORE, NULL, "cannot read schema version");
    if (gw_store_schema_known(v, NMIGRATIONS, err) != GW_OK)
        return GW_ESTORE;
    for (; v < NMIGRATIONS; v++) {
        snprintf(sql, sizeof(sql), "PRAGMA user_version=%d;", v + 1);
        if (gw_store_exec(c, "BEGIN IMMEDIATE") != GW_OK)
            return gw_err_set(err, GW_ESTORE, NULL, "cannot lock to migrate");
        if (gw_store_exec(c, migrations[v]) != GW_OK ||
            gw_store_exec(c, sql) != GW_OK || gw_store_exec(c, "COMMIT") != GW_OK) {
            (void)gw_store_exec(c, "ROLLBACK");
            return gw_err_set(err, GW_ESTORE, NULL, "migration %d failed",
                              v + 1);
        }
        gw_log_info("event=migrated schema_version=%d", v + 1);
    }
    return GW_OK;
}

static gw_rc
make_parent_dir(const char *path, struct gw_err *err)
{
    char *copy = strdup(path), *dir;
    gw_rc rc = GW_OK;

    if (copy == NULL)
        return GW_ENOMEM;
    dir = dirname(copy);
    if (mkdir(dir, 0750) != 0 && errno != EEXIST)
        rc = gw_err_set(err, GW_ESTORE, NULL, "cannot create folder %s: %s",
                        dir, strerror(errno));
    free(copy);
    return rc;
}

/* SQLite's heap, counted here: SQLite's own count (SQLITE_CONFIG_MEMSTATUS)
 * takes one process-wide mutex around every allocation and free, on
 * every thread; it showed in ~10 % of the writer's samples at 32 writers.
 * One relaxed atomic add keeps the figure for /metrics. Each block
 * carries its size in 8 bytes before it, as SQLite's own allocator does
 * without malloc_usable_size: asking the allocator instead, twice per
 * block (malloc and free), was ~4 % of the writer thread's instructions
 * (this SQLite is built without lookaside: every statement's memory is a
 * malloc). */
static _Atomic long long sqlite_heap;

#define HEAP_HDR 8 /* keeps SQLite's 8-byte alignment */

static void *
heap_malloc(int n)
{
    int64_t *p = malloc((size_t)n + HEAP_HDR);

    if (p == NULL)
        return NULL;
    *p = n;
    atomic_fetch_add_explicit(&sqlite_heap, n + HEAP_HDR,
                              memory_order_relaxed);
    return p + 1;
}

static void
heap_free(void *p)
{
    int64_t *h = p;

    if (p == NULL)
        return;
    atomic_fetch_sub_explicit(&sqlite_heap, h[-1] + HEAP_HDR,
                              memory_order_relaxed);
    free(h - 1);
}

static void *
heap_realloc(void *p, int n)
{
    int64_t *h = p != NULL ? (int64_t *)p - 1 : NULL;
    long long was = h != NULL ? *h + HEAP_HDR : 0;
    int64_t *q = realloc(h, (size_t)n + HEAP_HDR);

    if (q == NULL)
        return NULL;
    *q = n;
    atomic_fetch_add_explicit(&sqlite_heap, n + HEAP_HDR - was,
                              memory_order_relaxed);
    return q + 1;
}

static int
heap_size(void *p)
{
    return p != NULL ? (int)((int64_t *)p)[-1] : 0;
}

static int
heap_roundup(int n)
{
    return (n + 7) & ~7;
}

static int
heap_init(void *arg)
{
    (void)arg;
    return SQLITE_OK;
}

static void
heap_shutdown(void *arg)
{
    (void)arg;
}

/* SQLite's process-wide settings, which only hold when made before
 * SQLite initialises itself (the first open): so at load time. Every
 * connection is opened SQLITE_OPEN_NOMUTEX (gw_store_conn_open_mode, the
 * only open), which is what SQLITE_CONFIG_MULTITHREAD would give them. */
__attribute__((constructor)) static void
sqlite_config(void)
{
    static const sqlite3_mem_methods heap = {
        heap_malloc,  heap_free, heap_realloc,  heap_size,
        heap_roundup, heap_init, heap_shutdown, NULL};

    if (sqlite3_config(SQLITE_CONFIG_MALLOC, &heap) != SQLITE_OK ||
        sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK)
        fprintf(stderr, "klasgw: SQLite was set up before klasgw could "
                        "configure it\n");
}

long long
gw_store_memory_used(void)
{
    return atomic_load_explicit(&sqlite_heap, memory_order_relaxed);
}

/* PRAGMA cache_size of one connection, KiB. */
static gw_rc
cache_kib(struct conn *c, int kib, struct gw_err *err)
{
    char sql[48];

    snprintf(sql, sizeof(sql), "PRAGMA cache_size=-%d;", kib);
    if (gw_store_exec(c, sql) != GW_OK)
        return gw_err_set(err, GW_ESTORE, NULL, "cannot set up the cache");
    return GW_OK;
}

gw_rc
gw_sqlite_open(struct gw_store *st, const struct gw_store_opts *opts,
               struct gw_err *err)
{
    const char *path = st->base.where;
    int nreaders = opts->readers;
    int ro = opts->read_only;
    char reader_cache[48];
    int reader_kib;
    gw_rc rc;

    reader_kib = GW_STORE_READERS_CACHE_KIB / nreaders;
    if (reader_kib > GW_STORE_READER_CACHE_KIB)
        reader_kib = GW_STORE_READER_CACHE_KIB;
    if (reader_kib < GW_STORE_READER_CACHE_MIN_KIB)
        reader_kib = GW_STORE_READER_CACHE_MIN_KIB;
    snprintf(reader_cache, sizeof(reader_cache), "PRAGMA cache_size=-%d;",
             reader_kib);
    /* Every connection (writer, readers, outbox) has a page cache that
     * fills as the database grows: each has its bound (cache_kib), so the
     * process does not keep growing with the database. */
    if (ro && access(path, F_OK) != 0)
        return gw_err_set(err, GW_ESTORE, NULL,
                          "no database at %s (serve or migrate creates it)",
                          path);
    if (!ro && strcmp(path, ":memory:") != 0 &&
        (rc = make_parent_dir(path, err)) != GW_OK)
        return rc;
    gw_wstate_init(&st->ws, opts->batch_max);
    pthread_mutex_init(&st->mmu, NULL);
    pthread_mutex_init(&st->obmu, NULL);
    pthread_cond_init(&st->ckpt_cv, NULL);
    pthread_cond_init(&st->ckpt_done_cv, NULL);

    rc = gw_store_conn_open_mode(path, st->base.busy_ms,
                                 ro ? GW_CONN_RO : GW_CONN_WRITER, &st->w, err);
    if (rc == GW_OK && !ro)
        rc = migrate(&st->w, err);
    /* Each request of a batch runs in a SAVEPOINT, so the writer keeps a
     * sub-journal of the pages a request changes. SQLite writes it to a
     * temporary file once it passes 64 KiB: with 32 writers that was more
     * pwrite() calls than the WAL's own (strace), on the writer's thread,
     * for a file nobody reads back unless a request fails. In memory it
     * is one batch's changed pages at most, dropped at COMMIT. Set after
     * the migrations, whose index builds may sort more than that. */
    if (rc == GW_OK && !ro)
        rc = gw_store_exec(&st->w, "PRAGMA temp_store=MEMORY");
    if (rc == GW_OK && ro)
        rc = gw_store_schema_current(user_version(&st->w), NMIGRATIONS, err);
    if (rc == GW_OK)
        rc = cache_kib(&st->w, GW_STORE_WRITER_CACHE_KIB, err);
    if (rc == GW_OK)
        rc = gw_store_conn_open_mode(path, st->base.busy_ms, ro, &st->m, err);
    if (rc == GW_OK)
        rc = cache_kib(&st->m, GW_STORE_OTHER_CACHE_KIB, err);
    if (rc == GW_OK)
        rc = gw_store_conn_open_mode(path, st->base.busy_ms, ro, &st->ob, err);
    if (rc == GW_OK)
        rc = cache_kib(&st->ob, GW_STORE_OTHER_CACHE_KIB, err);
    if (rc == GW_OK && !ro)
        rc = gw_store_exec(&st->ob, "PRAGMA synchronous=NORMAL");
    if (rc == GW_OK) {
        st->readers = calloc((size_t)nreaders, sizeof(*st->readers));
        rc = st->readers == NULL ? GW_ENOMEM
                                 : gw_slots_init(&st->rslots, nreaders);
    }
    for (int i = 0; rc == GW_OK && i < nreaders; i++) {
        rc = gw_store_conn_open_mode(path, st->base.busy_ms, ro,
                                     &st->readers[i], err);
        if (rc == GW_OK &&
            gw_store_exec(&st->readers[i], reader_cache) != GW_OK) {
            gw_store_conn_close(&st->readers[i]);
            rc = gw_err_set(err, GW_ESTORE, NULL, "cannot set up %s", path);
        }
        if (rc == GW_OK) {
            gw_slots_give(&st->rslots, i);
            st->nreaders++;
        }
    }
    /* Opening changes no outbox item: an item in flight belongs to the
     * worker holding its lease (maybe in another process, still
     * delivering); after a crash the lease expires and a worker takes the
     * item over (outbox.c), or serve, holding the store's lock, takes
     * them all back at start-up (gw_outbox_reclaim_all). */
    if (rc == GW_OK && !ro && opts->start_writer) {
        if (pthread_create(&st->writer, NULL, gw_store_writer_main, st) != 0)
            rc = gw_err_set(err, GW_ESTORE, NULL, "cannot start the writer");
        else
            st->ws.writer_running = 1;
        if (rc == GW_OK && strcmp(path, ":memory:") != 0)
            rc = checkpointer_start(st, err);
    }
    if (rc != GW_OK) {
        gw_sqlite_close(st);
        return rc;
    }
    gw_log_info("event=store_open schema_version=%d readers=%d batch_max=%d "
                "read_only=%d",
                NMIGRATIONS, st->nreaders, opts->batch_max, ro);
    return GW_OK;
}

/* The writer asks for a checkpoint every GW_STORE_CKPT_FRAMES new frames
 * (store_int.h); the checkpointer also looks every CKPT_EVERY_MS. A write
 * of bench_store (a submission's six tables) adds ~7 frames: at 4,096
 * frames the WAL went round 16 times a second at 32 writers, and each
 * round copied the same hot pages (index interior pages, the audit
 * head, the tables' last leaves) again, synced the database file, and
 * ended with the writer's catch-up (below) on the writer thread. 16,384
 * (32 MiB) copies a hot page once per four of those: writer CPU per
 * write -11 %, writes/s +22 % (bench_store, back to back). */
#define CKPT_EVERY_MS 1000
/* New frames between two catch-up tries of the writer (below). */
#define CATCH_UP_FRAMES 512
/* The most frames the writer copies in a catch-up while the checkpointer
 * keeps up: the database fsync after it takes ~0.5 ms and ~15 us a page
 * copied on an idle disk (more when the host's disk is busy: 20-30 ms
 * for some of 150 pages in bench_http.sh), and the queue waits for it. */
#define CATCH_UP_LAG_FRAMES 256
/* The WAL's size at which the writer catches up so that it starts over
 * (32 MiB). With the checkpointer's writes synced in pieces (walbuf.c) a
 * catch-up takes 2.5-5 ms at most: four times that size made fewer of
 * them (9 for 36 in 10 s of bench_http.sh at half its peak) and no
 * shorter tail (p99 6-10 ms against 6-8 ms). */
#define WAL_RESTART_FRAMES GW_STORE_CKPT_FRAMES
/* Rounds the checkpointer adds to a round that leaves the WAL to be
 * started over (checkpointer_main), and the fewest new frames that make
 * one more worth it. */
#define CKPT_FOLLOW_UPS 3
#define CKPT_FOLLOW_UP_FRAMES 64

/* Asks the checkpointer for a round (under ws.mu): the WAL hook's and
 * the catch-up's one way to wake it. */
static void
ckpt_ask_locked(struct gw_store *st)
{
    if (!st->ckpt_wanted) {
        st->ckpt_wanted = 1;
        pthread_cond_signal(&st->ckpt_cv);
    }
}

/* sqlite3_wal_hook on the writer's connection: runs after each commit,
 * on the writer thread. It asks for a checkpoint once per
 * GW_STORE_CKPT_FRAMES new frames. It used to ask after every commit while the
 * WAL held more than that: once the WAL could not start over (below) the
 * checkpointer ran without a pause, 30 to 60 checkpoints a second in
 * bench_http.sh, each with two fsyncs on the disk the writer's commits wait
 * for. */
static int
on_wal_commit(void *arg, sqlite3 *db, const char *name, int frames)
{
    struct gw_store *st = arg;
    int restarted = frames < st->wal_frames, ask;

    (void)db;
    (void)name;
    if (restarted)
        st->wal_asked = st->wal_caught_up = 0;
    st->wal_frames = frames;
    ask = frames - st->wal_asked >= GW_STORE_CKPT_FRAMES;
    if (ask)
        st->wal_asked = frames;
    if (restarted || ask) {
        pthread_mutex_lock(&st->ws.mu);
        st->wal_gen += restarted;
        if (ask)
            ckpt_ask_locked(st);
        pthread_mutex_unlock(&st->ws.mu);
    }
    return SQLITE_OK;
}

/* What a checkpoint of generation gen left (under ws.mu): frames copied,
 * or nothing known if it failed or the WAL has started over since. */
static void
ckpt_note_locked(struct gw_store *st, unsigned gen, int src, int nckpt)
{
    if (src != SQLITE_OK || gen != st->wal_gen)
        return;
    st->ckpt_copied = nckpt;
    st->ckpt_gen = gen;
}

/* Keeps the WAL bounded. SQLite starts the WAL over from its beginning
 * only at a write transaction that begins when every frame is already
 * in the database; under a steady load the writer commits while the
 * checkpointer copies, so that moment never came and the WAL grew for as
 * long as the load lasted (to 100 MB in a 30 s bench_http.sh run). So
 * once the WAL holds WAL_RESTART_FRAMES, the writer copies the frames
 * the checkpointer has not yet, between two batches (after the first
 * one's answers went out): a PASSIVE checkpoint of its own, which
 * neither waits for nor blocks a reader. Its next BEGIN then starts the
 * WAL over, unless a reader still reads an older frame; it tries again
 * CATCH_UP_FRAMES frames later.
 *
 * Every request queued meanwhile waits for the catch-up, whose database
 * fsync takes longer the more pages it copied: it copies at most
 * CATCH_UP_LAG_FRAMES, and until the checkpointer's rounds have brought
 * the rest that close it asks for another round instead. It waited for
 * a moment with no request queued, then copied ~2,000 frames in 19-21 ms
 * on average (46-56 ms at most), the whole tail of bench_http.sh at half
 * its peak. Past GW_STORE_WAL_MAX_FRAMES it copies whatever is left. */
void
gw_store_wal_catch_up(struct gw_store *st)
{
    int lag, src, nckpt = -1;
    unsigned gen;
    int64_t t0, us;

    /* Also: no checkpointer, no hook (wal_frames stays 0). */
    if (st->wal_frames < WAL_RESTART_FRAMES ||
        st->wal_frames - st->wal_caught_up < CATCH_UP_FRAMES)
        return;
    pthread_mutex_lock(&st->ws.mu);
    lag = st->wal_frames - (st->ckpt_gen == st->wal_gen ? st->ckpt_copied : 0);
    if (st->wal_frames >= GW_STORE_WAL_MAX_FRAMES) {
        /* The checkpointer does not keep up: its round ends, no other
         * begins until this catch-up is done. */
        st->ckpt_hold = 1;
        while (st->ckpt_busy)
            pthread_cond_wait(&st->ckpt_done_cv, &st->ws.mu);
    } else if (st->ckpt_busy || lag > CATCH_UP_LAG_FRAMES) {
        if (!st->ckpt_busy)
            ckpt_ask_locked(st);
        pthread_mutex_unlock(&st->ws.mu);
        return; /* the checkpointer's round first: it copies the bulk */
    }
    gen = st->wal_gen;
    pthread_mutex_unlock(&st->ws.mu);
    st->wal_caught_up = st->wal_frames;
    t0 = gw_clock_mono_us();
    /* Busy (a checkpoint of another process) or failed: the next try or
     * the checkpointer's next round does it. */
    src = sqlite3_wal_checkpoint_v2(st->w.db, NULL, SQLITE_CHECKPOINT_PASSIVE,
                                    NULL, &nckpt);
    us = gw_clock_mono_us() - t0;
    pthread_mutex_lock(&st->ws.mu);
    st->ckpt_hold = 0;
    ckpt_note_locked(st, gen, src, nckpt);
    gw_store_dur_record(st->ws.stats.catch_up_us_hist,
                        &st->ws.stats.catch_up_us_sum, us);
    pthread_mutex_unlock(&st->ws.mu);
}

/* One round of the checkpointer: a PASSIVE checkpoint, and when the WAL
 * is to start over (gw_store_wal_catch_up), up to CKPT_FOLLOW_UPS more
 * for the frames the writer committed meanwhile, which they copy while
 * the writer goes on. Their database fsyncs run beside the writer's
 * commits, as the round's own do. *nckpt: the frames in the database. */
static int
ckpt_round(struct gw_store *st, int *nckpt)
{
    int nlog = 0, src;

    src = sqlite3_wal_checkpoint_v2(st->ck.db, NULL, SQLITE_CHECKPOINT_PASSIVE,
                                    &nlog, nckpt);
    for (int i = 0; i < CKPT_FOLLOW_UPS && src == SQLITE_OK &&
                    nlog >= WAL_RESTART_FRAMES && *nckpt == nlog;
         i++) {
        int before = nlog;

        src = sqlite3_wal_checkpoint_v2(
            st->ck.db, NULL, SQLITE_CHECKPOINT_PASSIVE, &nlog, nckpt);
        if (nlog - before < CKPT_FOLLOW_UP_FRAMES)
            break; /* also: the WAL started over */
    }
    return src;
}

/* Sleeps ms milliseconds (tests: a slow disk). */
static void
pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* The checkpointer: PASSIVE checkpoints (they never wait for or block
 * the writer or a reader) when the writer asks and once a second. */
static void *
checkpointer_main(void *arg)
{
    struct gw_store *st = arg;
    int last_src = SQLITE_OK;

    pthread_mutex_lock(&st->ws.mu);
    while (!st->ckpt_stop) {
        struct timespec until;
        int src, nckpt = -1, pause;
        unsigned gen;

        if (!st->ckpt_wanted || st->ckpt_hold) {
            gw_clock_deadline(&until, CKPT_EVERY_MS);
            pthread_cond_timedwait(&st->ckpt_cv, &st->ws.mu, &until);
            if (st->ckpt_stop)
                break;
            if (st->ckpt_hold)
                continue;
        }
        st->ckpt_wanted = 0;
        st->ckpt_busy = 1;
        gen = st->wal_gen;
        pause = st->ckpt_test_pause_ms;
        pthread_mutex_unlock(&st->ws.mu);
        src = ckpt_round(st, &nckpt);
        if (src != SQLITE_OK && src != SQLITE_BUSY && src != last_src)
            gw_log_warn("event=checkpoint_failed sqlite=%d", src);
        last_src = src;
        if (pause > 0)
            pause_ms(pause);
        pthread_mutex_lock(&st->ws.mu);
        ckpt_note_locked(st, gen, src, nckpt);
        st->ckpt_busy = 0;
        pthread_cond_broadcast(&st->ckpt_done_cv);
    }
    pthread_mutex_unlock(&st->ws.mu);
    return NULL;
}

static gw_rc
checkpointer_start(struct gw_store *st, struct gw_err *err)
{
    gw_rc rc = gw_store_conn_open_mode(st->base.where, st->base.busy_ms,
                                       GW_CONN_CHECKPOINTER, &st->ck, err);

    if (rc == GW_OK)
        rc = cache_kib(&st->ck, GW_STORE_OTHER_CACHE_KIB, err);
    if (rc != GW_OK)
        return rc;
    /* A checkpoint waits for nobody: no busy handler. */
    sqlite3_busy_timeout(st->ck.db, 0);
    sqlite3_wal_hook(st->w.db, on_wal_commit, st);
    if (pthread_create(&st->ckpt, NULL, checkpointer_main, st) != 0) {
        sqlite3_wal_hook(st->w.db, NULL, NULL);
        return gw_err_set(err, GW_ESTORE, NULL,
                          "cannot start the checkpointer");
    }
    st->ckpt_running = 1;
    return GW_OK;
}

static void
checkpointer_stop(struct gw_store *st)
{
    if (!st->ckpt_running)
        return;
    gw_thread_stop(st->ckpt, &st->ws.mu, &st->ckpt_cv, &st->ckpt_stop);
    st->ckpt_running = 0;
}

void
gw_sqlite_close(struct gw_store *st)
{
    gw_wstate_stop(&st->ws);
    if (st->ws.writer_running)
        pthread_join(st->writer, NULL);
    checkpointer_stop(st);
    gw_store_conn_close(&st->ck);
    for (int i = 0; i < st->nreaders; i++)
        gw_store_conn_close(&st->readers[i]);
    gw_store_conn_close(&st->m);
    gw_store_conn_close(&st->ob);
    gw_store_conn_close(&st->w);
    free(st->readers);
    gw_slots_destroy(&st->rslots);
    gw_wstate_destroy(&st->ws);
    pthread_mutex_destroy(&st->mmu);
    pthread_mutex_destroy(&st->obmu);
    pthread_cond_destroy(&st->ckpt_cv);
    pthread_cond_destroy(&st->ckpt_done_cv);
}

int
gw_sqlite_schema_version(struct gw_store *st)
{
    int v;

    pthread_mutex_lock(&st->mmu);
    v = user_version(&st->m);
    pthread_mutex_unlock(&st->mmu);
    return v;
}

struct conn *
gw_store_reader_take(struct gw_store *st)
{
    return &st->readers[gw_slots_take(&st->rslots, -1)];
}

void
gw_store_reader_give(struct gw_store *st, struct conn *c)
{
    /* A statement left mid-result would pin the reader's snapshot (and
     * keep the WAL from being checkpointed): end them all here. */
    gw_store_conn_idle(c);
    gw_slots_give(&st->rslots, (int)(c - st->readers));
}

gw_rc
gw_store_end(struct conn *c, gw_rc rc)
{
    if (rc == GW_OK && gw_store_exec(c, "COMMIT") == GW_OK)
        return GW_OK;
    (void)gw_store_exec(c, "ROLLBACK");
    return rc == GW_OK ? GW_ESTORE : rc;
}

sqlite3_stmt *
gw_store_maint_stmt(struct gw_store *st, const char *sql)
{
    sqlite3_stmt *s;

    pthread_mutex_lock(&st->mmu);
    if ((s = gw_store_stmt(&st->m, sql)) == NULL)
        pthread_mutex_unlock(&st->mmu);
    return s;
}

gw_rc
gw_store_maint_step(struct gw_store *st, sqlite3_stmt *s, int must_change,
                    const char *what)
{
    gw_rc rc = gw_store_rc(st->m.db, sqlite3_step(s), what);

    if (rc == GW_OK && must_change && sqlite3_changes(st->m.db) == 0)
        rc = GW_ENOTFOUND;
    sqlite3_reset(s);
    return rc;
}

gw_rc
gw_store_maint_done(struct gw_store *st, sqlite3_stmt *s, int must_change,
                    const char *what)
{
    gw_rc rc = gw_store_maint_step(st, s, must_change, what);

    pthread_mutex_unlock(&st->mmu);
    return rc;
}

gw_rc
gw_sqlite_integrity_check(struct gw_store *st)
{
    sqlite3_stmt *s;
    gw_rc rc = GW_ESTORE;

    pthread_mutex_lock(&st->mmu);
    if (sqlite3_prepare_v2(st->m.db, "PRAGMA integrity_check", -1, &s, NULL) ==
        SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW &&
            strcmp((const char *)sqlite3_column_text(s, 0), "ok") == 0)
            rc = GW_OK;
        sqlite3_finalize(s);
    }
    pthread_mutex_unlock(&st->mmu);
    return rc;
}
