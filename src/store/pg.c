/*
 * pg.c - the PostgreSQL backend (backend.h: gw_store_pg): connections and
 * their pool, migrations, the listener that wakes outbox workers on
 * NOTIFY from any node, readiness. Writes: pg_write.c; reads: pg_read.c;
 * the outbox's delivery side: pg_outbox.c.
 *
 * Several `klasgw serve` nodes may share one database. What keeps them
 * apart lives in the database, not in a process: UNIQUE message ids
 * (idempotency across nodes), the audit chain's head row locked inside
 * every writing transaction (one chain), outbox leases claimed with
 * SELECT ... FOR UPDATE SKIP LOCKED, advisory locks around migrations and
 * the daily purge. Nothing here is answered before PostgreSQL has
 * committed it (synchronous_commit as the server has it: on by default).
 *
 * Migrations are a list of (version, SQL); klasgw_schema holds the
 * version reached. Each runs in its own transaction under an advisory
 * lock, so two nodes starting at once migrate once. Version numbers are
 * those of the SQLite schema (store.h: GW_STORE_SCHEMA_VERSION): version
 * 3 is the whole schema of SQLite's versions 1-3 in one script.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "store/pg_int.h"
#include "store/store.h"

static const struct {
    int version;
    const char *sql;
} migrations[] = {
    {3,
     "CREATE TABLE cases ("
     "  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
     "  refnr TEXT NOT NULL UNIQUE, status TEXT NOT NULL,"
     "  licence_type TEXT NOT NULL, beredskap INTEGER NOT NULL DEFAULT 0,"
     "  prescriber_hsa TEXT, hospital_hsa TEXT, hospital_name TEXT,"
     "  clinic_hsa TEXT, clinic_name TEXT, pharmacy_gln TEXT,"
     "  drug_name TEXT, substances TEXT, patient_id TEXT, parent_refnr TEXT,"
     "  version BIGINT NOT NULL DEFAULT 1,"
     "  created_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL,"
     "  applied_ms BIGINT, decided_ms BIGINT, purged_ms BIGINT);"
     "CREATE INDEX cases_prescriber ON cases(prescriber_hsa, updated_ms);"
     "CREATE INDEX cases_updated ON cases(updated_ms);"
     "CREATE INDEX cases_status ON cases(status, created_ms);"
     "CREATE INDEX cases_decided ON cases(decided_ms)"
     "  WHERE decided_ms IS NOT NULL;"
     "CREATE INDEX cases_patient ON cases(patient_id)"
     "  WHERE patient_id IS NOT NULL;"
     "CREATE TABLE documents ("
     "  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
     "  case_id BIGINT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,"
     "  version BIGINT NOT NULL, kind TEXT NOT NULL, xml BYTEA NOT NULL,"
     "  created_ms BIGINT NOT NULL, UNIQUE(case_id, version));"
     "CREATE TABLE attachments ("
     "  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
     "  case_id BIGINT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,"
     "  doc_version BIGINT NOT NULL, description TEXT, content_type TEXT,"
     "  hidden INTEGER NOT NULL, size BIGINT NOT NULL, data BYTEA NOT NULL);"
     "CREATE INDEX attachments_case ON attachments(case_id);"
     "CREATE TABLE status_history ("
     "  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
     "  case_id BIGINT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,"
     "  from_status TEXT, to_status TEXT NOT NULL, event TEXT NOT NULL,"
     "  actor TEXT NOT NULL, at_ms BIGINT NOT NULL);"
     "CREATE INDEX history_case ON status_history(case_id);"
     "CREATE TABLE inbox ("
     "  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
     "  message_id TEXT NOT NULL UNIQUE, sender TEXT NOT NULL,"
     "  content_hash TEXT NOT NULL, refnr TEXT, version BIGINT,"
     "  response_status INTEGER NOT NULL, response BYTEA,"
     "  received_ms BIGINT NOT NULL);"
     "CREATE INDEX inbox_refnr ON inbox(refnr);"
     "CREATE TABLE outbox ("
     "  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
     "  message_id TEXT NOT NULL UNIQUE, peer TEXT NOT NULL,"
     "  kind TEXT NOT NULL, refnr TEXT, payload BYTEA NOT NULL,"
     "  state TEXT NOT NULL CHECK (state IN"
     "    ('pending', 'inflight', 'done', 'dead')),"
     "  attempts INTEGER NOT NULL DEFAULT 0,"
     "  next_attempt_ms BIGINT NOT NULL, last_error TEXT,"
     "  created_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL,"
     "  claimed_by TEXT, claimed_until BIGINT, target TEXT);"
     "CREATE INDEX outbox_due ON outbox(peer, state, next_attempt_ms);"
     "CREATE INDEX outbox_target ON outbox(target, state)"
     "  WHERE target IS NOT NULL;"
     "CREATE TABLE hsa_cache ("
     "  person_hsa TEXT PRIMARY KEY, answer BYTEA NOT NULL,"
     "  fetched_ms BIGINT NOT NULL, expires_ms BIGINT NOT NULL);"
     "CREATE TABLE audit ("
     "  seq BIGINT PRIMARY KEY, at_ms BIGINT NOT NULL, system TEXT NOT NULL,"
     "  user_id TEXT, action TEXT NOT NULL, refnr TEXT,"
     "  outcome TEXT NOT NULL, detail TEXT, prev_hash TEXT NOT NULL,"
     "  hash TEXT NOT NULL);"
     "CREATE INDEX audit_refnr ON audit(refnr);"
     "CREATE TABLE audit_head ("
     "  id INTEGER PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL,"
     "  hash TEXT NOT NULL);"
     "INSERT INTO audit_head VALUES (1, 0, "
     "  '0000000000000000000000000000000000000000000000000000000000000000');"
     "CREATE TABLE subscriptions ("
     "  id TEXT PRIMARY KEY, gln TEXT NOT NULL, endpoint TEXT NOT NULL,"
     "  criteria TEXT, status TEXT NOT NULL, created_ms BIGINT NOT NULL,"
     "  failures INTEGER NOT NULL DEFAULT 0, error TEXT);"
     "CREATE INDEX subscriptions_gln ON subscriptions(gln);"
     "CREATE TABLE products ("
     "  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
     "  name TEXT NOT NULL, substances TEXT, holder TEXT, country TEXT,"
     "  nplid TEXT, form TEXT, strength TEXT, atc TEXT,"
     "  first_seen_ms BIGINT NOT NULL,"
     "  UNIQUE NULLS NOT DISTINCT (name, nplid, form, strength, holder));"
     "CREATE TABLE pharmacies ("
     "  gln TEXT PRIMARY KEY, name TEXT NOT NULL, actor TEXT, address TEXT,"
     "  city TEXT, connected INTEGER NOT NULL DEFAULT 1);"
     "CREATE TABLE purge_log ("
     "  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
     "  at_ms BIGINT NOT NULL, motivations BIGINT NOT NULL,"
     "  decided BIGINT NOT NULL);"
     "CREATE TABLE licences ("
     "  case_id BIGINT PRIMARY KEY REFERENCES cases(id) ON DELETE CASCADE,"
     "  nplid TEXT, product_name TEXT, substances TEXT, form TEXT,"
     "  strength TEXT, holder TEXT, country TEXT, atc TEXT,"
     "  general_level TEXT, total_amount DOUBLE PRECISION,"
     "  amount_unit TEXT, valid_from TEXT, valid_to TEXT);"
     "CREATE INDEX licences_nplid ON licences(nplid);"
     "CREATE TABLE dispensings ("
     "  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
     "  case_id BIGINT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,"
     "  gln TEXT NOT NULL, amount DOUBLE PRECISION NOT NULL,"
     "  dispensed_on TEXT NOT NULL, kind TEXT NOT NULL,"
     "  at_ms BIGINT NOT NULL);"
     "CREATE INDEX dispensings_case ON dispensings(case_id);"
     "CREATE TABLE prescribers ("
     "  hsa TEXT PRIMARY KEY, consented_ms BIGINT, last_applied_ms BIGINT,"
     "  last_active_ms BIGINT);"
     /* Case folding for searches, the same whatever the server's locale
      * and the same as SQLite's (db.c): ASCII and Latin-1 capitals. */
     "CREATE FUNCTION klasgw_fold(t TEXT) RETURNS TEXT LANGUAGE sql"
     "  IMMUTABLE PARALLEL SAFE RETURN translate(t,"
     "  'ABCDEFGHIJKLMNOPQRSTUVWXYZÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞ',"
     "  'abcdefghijklmnopqrstuvwxyzàáâãäåæçèéêëìíîïðñòóôõöøùúûüýþ');"},
    /* 4: topic-based subscriptions and their events (db.c's 4). */
    {4,
     "ALTER TABLE subscriptions ADD COLUMN filter_criteria TEXT;"
     "ALTER TABLE subscriptions ADD COLUMN header TEXT;"
     "ALTER TABLE subscriptions ADD COLUMN heartbeat_s INTEGER NOT NULL"
     "  DEFAULT 0;"
     "ALTER TABLE subscriptions ADD COLUMN events BIGINT NOT NULL DEFAULT 0;"
     "ALTER TABLE subscriptions ADD COLUMN sent_ms BIGINT NOT NULL DEFAULT 0;"
     "CREATE TABLE subscription_events ("
     "  sub_id TEXT NOT NULL, event_number BIGINT NOT NULL,"
     "  message_id TEXT NOT NULL, code TEXT NOT NULL, refnr TEXT,"
     "  at_ms BIGINT NOT NULL, PRIMARY KEY (sub_id, event_number),"
     "  UNIQUE (sub_id, message_id));"},
    /* 5: a pharmacy's own case list (db.c's 5). */
    {5,
     "CREATE INDEX cases_pharmacy ON cases(pharmacy_gln, updated_ms)"
     "  WHERE pharmacy_gln IS NOT NULL;"},
    /* 6: nothing: db.c's 6 rewrites how SQLite checks the outbox's
     * state; PostgreSQL's check stays as it is. */
    {6, "SELECT 1"},
    /* 7: the unused index on licences(nplid) goes (db.c's 7). */
    {7, "DROP INDEX IF EXISTS licences_nplid"},
};
#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

_Static_assert(GW_STORE_SCHEMA_VERSION == 7,
               "a new SQLite migration needs its PostgreSQL row in pg.c");

/* --- parameters, queries, cells ------------------------------------- */

static int
p_next(struct gw_pg_params *p)
{
    /* A statement with more parameters than GW_PG_MAXP is our bug. */
    if (p->n >= GW_PG_MAXP)
        abort();
    p->len[p->n] = 0;
    p->fmt[p->n] = 0;
    return p->n++;
}

void
gw_pg_p_str(struct gw_pg_params *p, const char *s)
{
    int i = p_next(p);

    p->v[i] = s;
}

void
gw_pg_p_i64(struct gw_pg_params *p, long long v)
{
    int i = p_next(p);

    snprintf(p->num[i], sizeof(p->num[i]), "%lld", v);
    p->v[i] = p->num[i];
}

void
gw_pg_p_f64(struct gw_pg_params *p, double v)
{
    int i = p_next(p);

    snprintf(p->num[i], sizeof(p->num[i]), "%.17g", v);
    p->v[i] = p->num[i];
}

void
gw_pg_p_bin(struct gw_pg_params *p, const void *data, size_t len)
{
    int i = p_next(p);

    p->v[i] = data ? data : "";
    p->len[i] = (int)len;
    p->fmt[i] = 1;
}

/* A failed result as a gw_rc, logged by SQLSTATE and what (never the
 * values: those are in DETAIL, which is not logged). */
static gw_rc
fail_rc(PGconn *c, const PGresult *r, const char *what)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    gw_rc rc;

    if (PQstatus(c) != CONNECTION_OK || state == NULL ||
        strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)
        rc = GW_EUNAVAILABLE;
    else if (strcmp(state, "23505") == 0)
        rc = GW_EDUPLICATE;
    else if (strcmp(state, "40P01") == 0 || strcmp(state, "40001") == 0 ||
             strcmp(state, "55P03") == 0)
        rc = GW_EBUSY;
    else if (strcmp(state, "53100") == 0)
        rc = GW_ESTORAGEFULL;
    else
        rc = GW_ESTORE;
    if (rc != GW_EDUPLICATE)
        gw_log_err_rc(rc, "event=pg_error what=%s sqlstate=%s detail=%s", what,
                      state ? state : "none",
                      gw_log_quote(r ? PQresultErrorField(
                                           r, PG_DIAG_MESSAGE_PRIMARY)
                                     : NULL));
    return rc;
}

/*
 * Pipeline mode (the writer's connection, pg_write.c): the statements
 * sent since the last sync, by name for the log. A connection belongs to
 * one thread while it pipelines, so the list is the thread's.
 */
#define PIPE_MAX 64
static _Thread_local struct {
    const char *what[PIPE_MAX];
    int prep[PIPE_MAX]; /* a Parse of prepared.sql[prep], or -1 */
    int n;
} pipe_sent;

/* The statements with parameters the thread has sent on its pipelining
 * connection, prepared there once (named "w<i>"): the server parses and
 * plans each once per connection, not at every call. The SQL is a
 * literal: its address names it. */
#define PREP_MAX 64
static _Thread_local struct {
    PGconn *c;
    int pid;
    const char *sql[PREP_MAX];
} prepared;

/* Syncs and reads every result sent since the last sync, in order: the
 * first failure is the answer (the server skipped the rest); the last
 * result goes to *res when wanted and all went well. */
static gw_rc
pipe_drain(PGconn *c, PGresult **res)
{
    int n = pipe_sent.n;
    gw_rc rc = GW_OK;
    PGresult *r;

    pipe_sent.n = 0;
    if (PQpipelineSync(c) != 1)
        rc = GW_EUNAVAILABLE;
    for (int i = 0; i < n; i++) {
        PGresult *last = NULL;
        ExecStatusType es;

        while ((r = PQgetResult(c)) != NULL) {
            PQclear(last);
            last = r;
        }
        es = last ? PQresultStatus(last) : PGRES_FATAL_ERROR;
        if (es == PGRES_COMMAND_OK || es == PGRES_TUPLES_OK) {
            if (rc == GW_OK && res != NULL && i == n - 1) {
                *res = last;
                last = NULL;
            }
        } else {
            /* A Parse skipped or refused: prepare it again next time. */
            if (pipe_sent.prep[i] >= 0)
                prepared.sql[pipe_sent.prep[i]] = NULL;
            if (rc == GW_OK)
                rc = es == PGRES_PIPELINE_ABORTED
                         ? GW_ESTORE
                         : fail_rc(c, last, pipe_sent.what[i]);
        }
        PQclear(last);
    }
    /* The sync's own result; a connection gone gives none. */
    r = PQgetResult(c);
    if (r == NULL || PQresultStatus(r) != PGRES_PIPELINE_SYNC) {
        if (rc == GW_OK)
            rc = GW_EUNAVAILABLE;
        while (r != NULL && PQstatus(c) == CONNECTION_OK) {
            PQclear(r);
            r = PQgetResult(c);
        }
    }
    PQclear(r);
    if (rc != GW_OK && res != NULL && *res != NULL) {
        PQclear(*res);
        *res = NULL;
    }
    return rc;
}

/* The index of sql among the prepared statements of c; a Parse for it
 * is queued when new. -1 when there is no room: sent unnamed. */
static int
prepare(PGconn *c, const char *sql, const struct gw_pg_params *p,
        const char *what, char *name, size_t size)
{
    int free_i = -1;

    if (prepared.c != c || prepared.pid != PQbackendPID(c)) {
        memset(&prepared, 0, sizeof(prepared));
        prepared.c = c;
        prepared.pid = PQbackendPID(c);
    }
    for (int i = 0; i < PREP_MAX; i++) {
        if (prepared.sql[i] == sql) {
            snprintf(name, size, "w%d", i);
            return i;
        }
        if (prepared.sql[i] == NULL && free_i < 0)
            free_i = i;
    }
    if (free_i < 0)
        return -1;
    snprintf(name, size, "w%d", free_i);
    if (PQsendPrepare(c, name, sql, p->n, NULL) != 1)
        return -1;
    prepared.sql[free_i] = sql;
    pipe_sent.prep[pipe_sent.n] = free_i;
    pipe_sent.what[pipe_sent.n++] = what;
    return free_i;
}

static gw_rc
pipe_q(PGconn *c, const char *sql, const struct gw_pg_params *p,
       PGresult **res, const char *what)
{
    char name[16];
    int sent;

    if (p != NULL && prepare(c, sql, p, what, name, sizeof(name)) >= 0)
        sent = PQsendQueryPrepared(c, name, p->n, p->v, p->len, p->fmt, 0);
    else
        sent = PQsendQueryParams(c, sql, p ? p->n : 0, NULL,
                                 p ? p->v : NULL, p ? p->len : NULL,
                                 p ? p->fmt : NULL, 0);
    if (sent != 1) {
        gw_rc rc;
        (void)pipe_drain(c, NULL);
        rc = fail_rc(c, NULL, what);
        return rc == GW_EUNAVAILABLE ? rc : GW_ESTORE;
    }
    pipe_sent.prep[pipe_sent.n] = -1;
    pipe_sent.what[pipe_sent.n++] = what;
    /* Room for the next call's Parse and statement. */
    if (res == NULL && pipe_sent.n < PIPE_MAX - 2)
        return GW_OK;
    return pipe_drain(c, res);
}

gw_rc
gw_pg_sync(PGconn *c)
{
    if (PQpipelineStatus(c) == PQ_PIPELINE_OFF || pipe_sent.n == 0)
        return GW_OK;
    return pipe_drain(c, NULL);
}

gw_rc
gw_pg_pipeline(PGconn *c, int on)
{
    pipe_sent.n = 0;
    if (on)
        return PQenterPipelineMode(c) == 1 ? GW_OK : GW_EUNAVAILABLE;
    if (PQpipelineStatus(c) == PQ_PIPELINE_OFF)
        return GW_OK;
    return PQexitPipelineMode(c) == 1 ? GW_OK : GW_EUNAVAILABLE;
}

gw_rc
gw_pg_q(PGconn *c, const char *sql, const struct gw_pg_params *p,
        PGresult **res, const char *what)
{
    PGresult *r;
    ExecStatusType es;
    gw_rc rc;

    if (res != NULL)
        *res = NULL;
    if (PQpipelineStatus(c) != PQ_PIPELINE_OFF)
        return pipe_q(c, sql, p, res, what);
    /* Without parameters: the simple protocol, which also runs a script
     * of several statements (a migration). */
    r = p == NULL ? PQexec(c, sql)
                  : PQexecParams(c, sql, p->n, NULL, p->v, p->len, p->fmt, 0);
    es = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (es == PGRES_COMMAND_OK || es == PGRES_TUPLES_OK) {
        if (res != NULL)
            *res = r;
        else
            PQclear(r);
        return GW_OK;
    }
    rc = fail_rc(c, r, what);
    PQclear(r);
    return rc;
}

char *
gw_pg_dup(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return NULL;
    return strdup(PQgetvalue(r, row, col));
}

long long
gw_pg_i64(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return 0;
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

double
gw_pg_f64(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return 0;
    return strtod(PQgetvalue(r, row, col), NULL);
}

void
gw_pg_copy(char *dst, size_t size, const PGresult *r, int row, int col)
{
    snprintf(dst, size, "%s",
             PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

char *
gw_pg_bytea(const PGresult *r, int row, int col, size_t *len)
{
    unsigned char *raw;
    char *out;
    size_t n = 0;

    *len = 0;
    if (PQgetisnull(r, row, col))
        return calloc(1, 1);
    raw = PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, col), &n);
    if (raw == NULL)
        return NULL;
    out = malloc(n + 1);
    if (out != NULL) {
        memcpy(out, raw, n);
        out[n] = '\0';
        *len = n;
    }
    PQfreemem(raw);
    return out;
}

/* --- connections and the pool --------------------------------------- */

gw_rc
gw_store_dsn_check(const char *dsn, struct gw_err *err)
{
    char *msg = NULL;
    PQconninfoOption *o;

    if (dsn == NULL || dsn[0] == '\0')
        return gw_err_set(err, GW_ECONFIG, "store.dsn",
                          "store.dsn: empty, but store.backend is "
                          "postgresql");
    o = PQconninfoParse(dsn, &msg);
    if (o == NULL) {
        size_t n;
        gw_err_set(err, GW_ECONFIG, "store.dsn", "store.dsn: %s",
                   msg ? msg : "not a connection string");
        n = strlen(err->detail);
        while (n > 0 && err->detail[n - 1] == '\n')
            err->detail[--n] = '\0';
        PQfreemem(msg);
        return GW_ECONFIG;
    }
    PQconninfoFree(o);
    return GW_OK;
}

static void
quiet_notice(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

/* What every connection gets, again after a reset. */
static void
session_setup(struct gw_pg_store *s, PGconn *c)
{
    PQsetNoticeProcessor(c, quiet_notice, NULL);
    PQsetClientEncoding(c, "UTF8");
    /* Times are UTC epoch milliseconds in BIGINT columns: no session
     * setting changes them. A statement stuck on a lock is ended. */
    PQclear(PQexec(c, "SET lock_timeout = '30s'"));
    if (s->base.read_only)
        PQclear(PQexec(c, "SET default_transaction_read_only = on"));
}

/* A new connection; NULL (logged, err set) if PostgreSQL cannot be
 * reached. The server's message is logged, not the DSN (a password). */
static PGconn *
connect_one(struct gw_pg_store *s, struct gw_err *err)
{
    PGconn *c = PQconnectdb(s->base.where);

    if (c == NULL || PQstatus(c) != CONNECTION_OK) {
        const char *m = c ? PQerrorMessage(c) : "out of memory";
        char why[256];
        size_t n;
        snprintf(why, sizeof(why), "%s", m);
        n = strlen(why);
        while (n > 0 && (why[n - 1] == '\n' || why[n - 1] == ' '))
            why[--n] = '\0';
        gw_log_err("event=pg_connect_failed detail=%s", gw_log_quote(why));
        if (err != NULL)
            gw_err_set(err, GW_EUNAVAILABLE, "store.dsn",
                       "cannot connect to PostgreSQL: %s", why);
        PQfinish(c);
        return NULL;
    }
    session_setup(s, c);
    return c;
}

PGconn *
gw_pg_connect(struct gw_pg_store *s)
{
    return connect_one(s, NULL);
}

int
gw_pg_stale(PGconn *c)
{
    struct pollfd pf;

    if (c == NULL || PQstatus(c) != CONNECTION_OK)
        return 1;
    /* Idle, nothing asked: anything to read is the server's goodbye
     * (57P01 and EOF after a restart), which libpq sees only at the next
     * statement, failing it. */
    pf.fd = PQsocket(c);
    pf.events = POLLIN;
    pf.revents = 0;
    return pf.fd < 0 || poll(&pf, 1, 0) != 0;
}

static gw_rc
ensure_ok(struct gw_pg_store *s, PGconn **c)
{
    if (*c != NULL && !gw_pg_stale(*c))
        return GW_OK;
    if (*c != NULL) {
        PQreset(*c);
        if (PQstatus(*c) == CONNECTION_OK) {
            session_setup(s, *c);
            gw_log_info("event=pg_reconnected");
            return GW_OK;
        }
        PQfinish(*c);
        *c = NULL;
    }
    *c = connect_one(s, NULL);
    return *c != NULL ? GW_OK : GW_EUNAVAILABLE;
}

gw_rc
gw_pg_take(struct gw_pg_store *s, PGconn **out)
{
    int i = gw_slots_take(&s->slots, s->base.busy_ms);
    gw_rc rc;

    *out = NULL;
    if (i < 0)
        return GW_EBUSY;
    rc = ensure_ok(s, &s->conns[i]);
    if (rc != GW_OK) {
        gw_slots_give(&s->slots, i);
        return rc;
    }
    *out = s->conns[i];
    return GW_OK;
}

void
gw_pg_give(struct gw_pg_store *s, PGconn *c)
{
    int i;

    if (c == NULL)
        return;
    /* A connection left inside a failed transaction is rolled back. */
    if (PQtransactionStatus(c) != PQTRANS_IDLE &&
        PQstatus(c) == CONNECTION_OK)
        PQclear(PQexec(c, "ROLLBACK"));
    for (i = 0; i < s->nconns; i++)
        if (s->conns[i] == c)
            break;
    if (i < s->nconns)
        gw_slots_give(&s->slots, i);
}

void
gw_pg_bump(struct gw_pg_store *s)
{
    gw_wstate_outbox_bump(&s->ws);
}

/* --- migrations ------------------------------------------------------ */

static int
schema_version(PGconn *c)
{
    PGresult *r = NULL;
    int v = -1;

    if (gw_pg_q(c,
                "SELECT coalesce((SELECT max(version) FROM klasgw_schema), 0)",
                NULL, &r, "schema_version") == GW_OK &&
        PQntuples(r) == 1)
        v = (int)gw_pg_i64(r, 0, 0);
    PQclear(r);
    return v;
}

static gw_rc
migrate(PGconn *c, struct gw_err *err)
{
    static const char lock[] = "SELECT pg_advisory_xact_lock(1801678195)";
    int v;

    if (gw_pg_q(c,
                "CREATE TABLE IF NOT EXISTS klasgw_schema (version INTEGER "
                "PRIMARY KEY, at TIMESTAMPTZ NOT NULL DEFAULT now())",
                NULL, NULL, "schema_table") != GW_OK)
        return gw_err_set(err, GW_ESTORE, NULL,
                          "cannot create the schema version table");
    for (int i = 0; i < NMIGRATIONS; i++) {
        struct gw_pg_params p = {0};
        gw_rc rc = gw_pg_q(c, "BEGIN", NULL, NULL, "migrate_begin");
        /* Another node may be migrating: wait for it, then look again. */
        if (rc == GW_OK)
            rc = gw_pg_q(c, lock, NULL, NULL, "migrate_lock");
        v = rc == GW_OK ? schema_version(c) : -1;
        if (v < 0) {
            PQclear(PQexec(c, "ROLLBACK"));
            return gw_err_set(err, GW_ESTORE, NULL,
                              "cannot read the schema version");
        }
        if (v >= migrations[i].version) {
            PQclear(PQexec(c, "ROLLBACK"));
            continue;
        }
        gw_pg_p_i64(&p, migrations[i].version);
        rc = gw_pg_q(c, migrations[i].sql, NULL, NULL, "migration");
        if (rc == GW_OK)
            rc = gw_pg_q(c, "INSERT INTO klasgw_schema (version) VALUES ($1)",
                         &p, NULL, "migration_version");
        if (rc == GW_OK)
            rc = gw_pg_q(c, "COMMIT", NULL, NULL, "migrate_commit");
        if (rc != GW_OK) {
            PQclear(PQexec(c, "ROLLBACK"));
            return gw_err_set(err, GW_ESTORE, NULL, "migration %d failed",
                              migrations[i].version);
        }
        gw_log_info("event=migrated backend=postgresql schema_version=%d",
                    migrations[i].version);
    }
    return gw_store_schema_known(schema_version(c), GW_STORE_SCHEMA_VERSION,
                                 err);
}

/* --- the listener ---------------------------------------------------- */

/* Wakes this node's outbox workers on every NOTIFY (a commit with outbox
 * items on any node, a retry), and once after each reconnect (a
 * notification sent while it was away is lost; the workers look again). */
static void *
listener_main(void *arg)
{
    struct gw_pg_store *s = arg;

    for (;;) {
        struct pollfd pfd;
        PGnotify *n;
        int stop, woke = 0;

        pthread_mutex_lock(&s->ws.mu);
        stop = s->ws.stopping;
        pthread_mutex_unlock(&s->ws.mu);
        if (stop)
            break;
        if (s->lc == NULL || PQstatus(s->lc) != CONNECTION_OK) {
            if (s->lc != NULL) {
                PQfinish(s->lc);
                s->lc = NULL;
            }
            s->lc = connect_one(s, NULL);
            if (s->lc == NULL ||
                gw_pg_q(s->lc, "LISTEN " GW_PG_CHANNEL, NULL, NULL,
                        "listen") != GW_OK) {
                sleep(1);
                continue;
            }
            gw_pg_bump(s);
        }
        pfd.fd = PQsocket(s->lc);
        pfd.events = POLLIN;
        pfd.revents = 0;
        if (poll(&pfd, 1, 250) > 0 && PQconsumeInput(s->lc) == 0)
            continue; /* broken: reconnect above */
        while ((n = PQnotifies(s->lc)) != NULL) {
            woke = 1;
            PQfreemem(n);
        }
        if (woke)
            gw_pg_bump(s);
    }
    return NULL;
}

/* --- open, close ----------------------------------------------------- */

gw_rc
gw_pg_open(struct gw_store *st, const struct gw_store_opts *opts,
           struct gw_err *err)
{
    struct gw_pg_store *s = PG(st);
    int n = opts->readers;
    gw_rc rc = GW_OK;

    if ((rc = gw_store_dsn_check(s->base.where, err)) != GW_OK)
        return rc;
    gw_wstate_init(&s->ws, opts->batch_max);
    s->conns = calloc((size_t)n, sizeof(*s->conns));
    rc = s->conns == NULL ? GW_ENOMEM : gw_slots_init(&s->slots, n);
    if (rc != GW_OK)
        goto out;
    s->nconns = n;
    /* One connection now, to fail early and to migrate; the others open
     * when first taken. */
    s->conns[0] = connect_one(s, err);
    if (s->conns[0] == NULL) {
        rc = GW_EUNAVAILABLE;
        goto out;
    }
    for (int i = n - 1; i >= 0; i--)
        gw_slots_give(&s->slots, i);
    if (s->base.read_only)
        rc = gw_store_schema_current(schema_version(s->conns[0]),
                                     GW_STORE_SCHEMA_VERSION, err);
    else
        rc = migrate(s->conns[0], err);
    if (rc != GW_OK)
        goto out;
    if (!s->base.read_only && opts->start_writer) {
        /* The writer connects on its first batch (pg_write.c). */
        for (int i = 0; i < GW_PG_WRITERS; i++) {
            s->writers[i].s = s;
            if (pthread_create(&s->writers[i].t, NULL, gw_pg_writer_main,
                               &s->writers[i]) != 0) {
                rc = gw_err_set(err, GW_ESTORE, NULL,
                                "cannot start the writers");
                goto out;
            }
            s->ws.writer_running++;
        }
        if (pthread_create(&s->listener, NULL, listener_main, s) != 0) {
            rc = gw_err_set(err, GW_ESTORE, NULL,
                            "cannot start the listener");
            goto out;
        }
        s->listener_running = 1;
    }
out:
    if (rc != GW_OK)
        gw_pg_close(st);
    return rc;
}

void
gw_pg_close(struct gw_store *st)
{
    struct gw_pg_store *s = PG(st);

    gw_wstate_stop(&s->ws);
    for (int i = 0; i < s->ws.writer_running; i++)
        pthread_join(s->writers[i].t, NULL);
    if (s->listener_running)
        pthread_join(s->listener, NULL);
    for (int i = 0; i < s->nconns; i++)
        if (s->conns[i] != NULL)
            PQfinish(s->conns[i]);
    for (int i = 0; i < GW_PG_WRITERS; i++)
        if (s->writers[i].c != NULL)
            PQfinish(s->writers[i].c);
    if (s->lc != NULL)
        PQfinish(s->lc);
    free(s->conns);
    gw_slots_destroy(&s->slots);
    gw_wstate_destroy(&s->ws);
}

int
gw_pg_schema_version(struct gw_store *st)
{
    PGconn *c;
    int v;

    if (gw_pg_take(PG(st), &c) != GW_OK)
        return -1;
    v = schema_version(c);
    gw_pg_give(PG(st), c);
    return v;
}

gw_rc
gw_pg_ready(struct gw_store *st, struct gw_err *err)
{
    struct gw_pg_store *s = PG(st);
    PGconn *c;
    gw_rc rc = gw_pg_take(s, &c);

    if (rc == GW_OK) {
        rc = gw_pg_q(c, "SELECT 1", NULL, NULL, "ready");
        gw_pg_give(s, c);
    }
    if (rc != GW_OK)
        return gw_err_set(err, GW_EUNAVAILABLE, NULL,
                          "PostgreSQL does not answer");
    pthread_mutex_lock(&s->ws.mu);
    rc = s->ws.commit_rc;
    pthread_mutex_unlock(&s->ws.mu);
    if (rc == GW_ESTORAGEFULL)
        return gw_err_set(err, rc, NULL, "PostgreSQL's disk is full");
    return GW_OK;
}

gw_rc
gw_pg_integrity_check(struct gw_store *st)
{
    PGconn *c;
    gw_rc rc = gw_pg_take(PG(st), &c);

    /* PostgreSQL checks its pages itself (checksums, amcheck for the
     * operator); here: every table answers. */
    if (rc == GW_OK) {
        rc = gw_pg_q(c,
                     "SELECT (SELECT count(*) FROM cases),"
                     " (SELECT count(*) FROM outbox),"
                     " (SELECT count(*) FROM audit_head)",
                     NULL, NULL, "integrity_check");
        gw_pg_give(PG(st), c);
    }
    return rc;
}

void
gw_pg_stats(struct gw_store *st, struct gw_store_stats *out)
{
    gw_wstate_stats(&PG(st)->ws, out);
}

gw_rc
gw_pg_outbox_wait(struct gw_store *st, long long *seen, int64_t timeout_ms)
{
    return gw_wstate_outbox_wait(&PG(st)->ws, seen, timeout_ms);
}

void
gw_pg_outbox_wake(struct gw_store *st)
{
    gw_pg_bump(PG(st));
}

#define GW_STORE_FN(op) gw_pg_##op
GW_STORE_BACKEND_TABLE(gw_store_pg, "postgresql", struct gw_pg_store);
