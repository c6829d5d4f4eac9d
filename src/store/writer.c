/*
 * writer.c - the single writer thread: group commit.
 *
 *   request threads                    writer thread
 *   gw_store_write()  ── enqueue ──►   take up to batch_max
 *        │ wait                        BEGIN IMMEDIATE
 *        │                             for each: apply (a refusal changes
 *        │                               nothing; a failure after a change:
 *        │                               ROLLBACK, the batch again with
 *        │                               SAVEPOINT, apply, RELEASE or
 *        │                               ROLLBACK TO for each: alone)
 *        │                             COMMIT (fsync: synchronous=FULL)
 *        ◄───────── done ──────────── wake every waiter (gw_wq_answer)
 *
 * Invariants: a request is marked done only after the COMMIT that holds it
 * returned (or after it was refused); if COMMIT fails every request of the
 * batch is answered GW_ESTORE and nothing of it remains. Idempotency is
 * checked inside the same transaction as the change, and the UNIQUE
 * constraint on inbox.message_id is the backstop, so concurrent duplicates
 * cannot both be applied: the writer is one thread and sees the first one's
 * inbox row when it applies the second.
 *
 * What one write does, in which order, and what it checks are
 * write_apply.c's, shared with pg_write.c, statements included; here is
 * how SQLite runs them (sqlite_ops), the audit chain's head, and the
 * batch around it.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "store/read.h"
#include "store/store.h"
#include "store/store_int.h"
#include "store/write.h"
#include "store/write_apply.h"

static const char SQL_HEAD_GET[] = "SELECT seq, hash FROM audit_head";

#define STEP_DONE(c, s, what)                                                 \
    gw_store_rc((c)->db, sqlite3_step(s) == SQLITE_DONE                       \
                             ? SQLITE_DONE                                    \
                             : sqlite3_errcode((c)->db),                      \
                what)

/* The audit chain's head as the writer's batch has it: read from
 * audit_head once per batch (at its first record), advanced in memory by
 * each record, and written back once before COMMIT (chain_store). A
 * request rolled back to its savepoint puts back the head it started
 * from; a batch that fails is rolled back whole and the next batch reads
 * the head again. */
struct chain {
    int loaded, moved;
    struct gw_write_head h;
};

/* The write's context for sqlite_ops: the writer's connection and the
 * chain head of its batch. */
struct wctx {
    struct conn *c;
    struct chain head;
};

/* One record after h's head: a single INSERT, so it is there whole or
 * not at all; the head moves only when it is there. */
static gw_rc
chain_append(struct conn *c, struct chain *h, const struct gw_audit_entry *e,
             int64_t now_ms)
{
    sqlite3_stmt *s;
    gw_rc rc;

    if (!h->loaded) {
        s = gw_store_stmt(c, SQL_HEAD_GET);
        if (s == NULL || sqlite3_step(s) != SQLITE_ROW) {
            if (s != NULL)
                sqlite3_reset(s);
            return GW_ESTORE;
        }
        h->h.seq = sqlite3_column_int64(s, 0);
        snprintf(h->h.hash, sizeof(h->h.hash), "%s",
                 (const char *)sqlite3_column_text(s, 1));
        sqlite3_reset(s);
        h->loaded = 1;
    }
    rc = gw_write_audit_append(gw_store_conn_run, c, &h->h, e, now_ms);
    if (rc == GW_OK)
        h->moved = 1;
    return rc;
}

/* The head row where h's records left it. */
static gw_rc
chain_store(struct conn *c, const struct chain *h)
{
    return h->moved ? gw_write_head_store(gw_store_conn_run, c, &h->h) : GW_OK;
}

gw_rc
gw_store_audit_append(struct conn *c, const struct gw_audit_entry *e,
                      int64_t now_ms)
{
    struct chain h;
    gw_rc rc;

    memset(&h, 0, sizeof(h));
    rc = chain_append(c, &h, e, now_ms);
    return rc == GW_OK ? chain_store(c, &h) : rc;
}

static gw_rc
audit(void *cx, const struct gw_audit_entry *e, int64_t now)
{
    struct wctx *x = cx;

    return chain_append(x->c, &x->head, e, now);
}

static const struct gw_write_ops sqlite_ops = {&gw_sqlite_conn_ops, audit};

static const char SQL_SAVEPOINT[] = "SAVEPOINT req";
static const char SQL_RELEASE[] = "RELEASE req";
static const char SQL_ROLLBACK_TO[] = "ROLLBACK TO req";
/* The batch's transaction, cached like every other statement: through
 * sqlite3_exec each was parsed and compiled again, twice a batch. */
static const char SQL_BEGIN[] = "BEGIN IMMEDIATE";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_ROLLBACK[] = "ROLLBACK";

/* Runs a cached statement without results. */
static gw_rc
step_once(struct conn *c, const char *sql)
{
    sqlite3_stmt *s = gw_store_stmt(c, sql);
    gw_rc rc;

    if (s == NULL)
        return GW_ESTORE;
    rc = STEP_DONE(c, s, sql);
    sqlite3_reset(s);
    return rc;
}

/* A write that is one audit record and nothing else (a durable read's):
 * one INSERT, there whole or not at all, so it needs no savepoint. */
static int
audit_only(const struct gw_store_write *w)
{
    return gw_write_audit_only(w) && w->naudit <= 1;
}

static gw_rc
apply_audit_only(struct wctx *x, const struct gw_store_write *w,
                 struct gw_store_result *res)
{
    gw_rc rc = GW_OK;

    if (w->naudit == 1)
        rc = chain_append(x->c, &x->head, &w->audit[0], gw_clock_now_ms());
    if (rc == GW_OK)
        res->response_status = w->response_status;
    return rc;
}

/* One write in its own savepoint: when it fails, nothing of it stays,
 * its audit records included, and the chain head goes back to where the
 * write found it. */
static gw_rc
apply_alone(struct wctx *x, const struct gw_store_write *w,
            struct gw_store_result *res, size_t *queued)
{
    struct chain before = x->head;
    gw_rc rc;

    if (step_once(x->c, SQL_SAVEPOINT) != GW_OK)
        return GW_ESTORE;
    rc = gw_write_apply(&sqlite_ops, x->c, x, w, res, queued);
    if (rc != GW_OK) {
        (void)step_once(x->c, SQL_ROLLBACK_TO);
        x->head = before;
    }
    (void)step_once(x->c, SQL_RELEASE);
    return rc;
}

/* One write without a savepoint. A refusal comes before the write's
 * first change (write_apply.c: every check reads first), and a failed
 * statement undoes itself, so a write that failed having changed no row
 * left nothing behind. One that failed after a change (a failing answer,
 * a storage error) sets *undo: only a rollback of the whole batch takes
 * that away, and the batch runs again with a savepoint per write. The
 * savepoints cost ~10% of the writer's CPU at 32 writers (the statements
 * and the sub-journal's copy of every page a write touched). */
static gw_rc
apply_bare(struct wctx *x, const struct gw_store_write *w,
           struct gw_store_result *res, size_t *queued, int *undo)
{
    sqlite3_int64 before = sqlite3_total_changes64(x->c->db);
    struct chain head = x->head;
    gw_rc rc = gw_write_apply(&sqlite_ops, x->c, x, w, res, queued);

    if (rc != GW_OK) {
        x->head = head;
        *undo = sqlite3_total_changes64(x->c->db) != before;
    }
    return rc;
}

/* A request no one waits for, in the batch's transaction: an audited
 * read's record, or an HSA answer (gw_store_hsa_put_async). A failure is
 * logged; a failed statement undoes itself, so the batch goes on. */
static void
apply_entry(struct wctx *x, struct gw_wreq *r)
{
    if (r->hsa.person_hsa != NULL) {
        if (gw_write_hsa_put(gw_store_conn_run, x->c, &r->hsa) != GW_OK)
            gw_log_warn("event=hsa_cache_put_failed");
    } else if (chain_append(x->c, &x->head, &r->audit, gw_clock_now_ms()) !=
               GW_OK)
        gw_log_err("event=audit_append_failed");
}

/* The batch's answers as they were before it ran (a batch run again). */
static void
results_reset(struct gw_wreq *batch)
{
    for (struct gw_wreq *r = batch; r != NULL; r = r->next)
        if (r->res != NULL) {
            free(r->res->response);
            memset(r->res, 0, sizeof(*r->res));
            gw_err_clear(&r->res->err);
        }
}

static void
run_batch(struct gw_store *st, struct gw_wreq *batch, int n)
{
    struct conn *c = &st->w;
    struct wctx x;
    int outbox, begun, writes, safe = 0, undo = 0;
    int64_t t0 = gw_clock_mono_us(), tc, t1;
    gw_rc rc, full;

again:
    rc = step_once(c, SQL_BEGIN);
    full = GW_OK;
    begun = rc == GW_OK;
    outbox = writes = 0;
    memset(&x, 0, sizeof(x));
    x.c = c;
    for (struct gw_wreq *r = batch; rc == GW_OK && !undo && r != NULL;
         r = r->next) {
        if (r->w == NULL)
            apply_entry(&x, r);
        else {
            size_t queued = 0;

            writes = 1;
            r->res->rc =
                audit_only(r->w) ? apply_audit_only(&x, r->w, r->res)
                : safe           ? apply_alone(&x, r->w, r->res, &queued)
                       : apply_bare(&x, r->w, r->res, &queued, &undo);
            if (r->res->rc == GW_ESTORAGEFULL)
                full = GW_ESTORAGEFULL;
            if (r->res->rc != GW_OK) {
                free(r->res->response);
                r->res->response = NULL;
                r->res->response_len = 0;
                if (r->res->err.rc == GW_OK)
                    r->res->err.rc = r->res->rc;
            } else if (queued > 0) {
                /* A notification to a pharmacy without subscriptions
                 * puts nothing in: the workers need not look. */
                outbox = 1;
            }
        }
        /* SQLite ends the transaction itself on some errors (a full
         * disk, I/O): what the batch wrote before is gone with it. */
        if (sqlite3_get_autocommit(c->db))
            rc = GW_ESTORE;
    }
    if (undo && rc == GW_OK) {
        /* A write failed after a change (apply_bare): nothing of the
         * batch is answered yet; roll it all back and run it again, each
         * write in its own savepoint. */
        gw_store_conn_idle(c);
        rc = step_once(c, SQL_ROLLBACK);
        results_reset(batch);
        undo = 0;
        safe = 1;
        if (rc == GW_OK)
            goto again;
        begun = 0; /* nothing is open any more */
    }
    if (rc == GW_OK)
        rc = chain_store(c, &x.head);
    gw_store_conn_idle(c);
    tc = gw_clock_mono_us();
    if (rc == GW_OK)
        rc = step_once(c, SQL_COMMIT);
    t1 = gw_clock_mono_us();
    if (begun && rc != GW_OK) {
        if (!sqlite3_get_autocommit(c->db))
            (void)step_once(c, SQL_ROLLBACK);
        /* A full disk is told as such (507); anything else is ESTORE. */
        if (rc != GW_ESTORAGEFULL)
            rc = GW_ESTORE;
    }
    if (rc != GW_OK)
        gw_wq_fail(batch, rc);
    pthread_mutex_lock(&st->ws.mu);
    /* Readiness (health.c): whether this batch could be written. A batch
     * of audit records alone may fit in log space a failed commit left
     * behind, so only one with a request in it says the store is well. */
    if (rc != GW_OK || full != GW_OK)
        st->ws.commit_rc = rc != GW_OK ? rc : full;
    else if (writes)
        st->ws.commit_rc = GW_OK;
    gw_write_record_batch(&st->ws.stats, n, t1 - t0, t1 - tc);
    gw_wq_record_waits(batch, t1, st->ws.stats.wait_us_hist,
                       &st->ws.stats.wait_us_sum);
    if (outbox)
        gw_wstate_outbox_bump_locked(&st->ws);
    pthread_mutex_unlock(&st->ws.mu);
    gw_wq_answer(batch);
    gw_store_wal_catch_up(st);
}

void *
gw_store_writer_main(void *arg)
{
    struct gw_store *st = arg;
    struct gw_wreq *batch;
    int n;

    /* Named for top -H, perf and bench_store's writer CPU figure. */
    (void)pthread_setname_np(pthread_self(), "klasgw-writer");
    while ((batch = gw_wq_take(&st->ws.wq, &n)) != NULL)
        run_batch(st, batch, n);
    return NULL;
}

gw_rc
gw_sqlite_write(struct gw_store *st, const struct gw_store_write *w,
                struct gw_store_result *res)
{
    return gw_wq_write(&st->ws.wq, w, res, NULL);
}

gw_rc
gw_sqlite_write_async(struct gw_store *st, const struct gw_store_write *w,
                      struct gw_store_result *res, gw_store_done_fn done,
                      void *arg)
{
    return gw_wq_write_async(&st->ws.wq, w, res, NULL, done, arg);
}

void
gw_store_result_release(struct gw_store_result *res)
{
    free(res->response);
    res->response = NULL;
    res->response_len = 0;
}

gw_rc
gw_sqlite_audit_async(struct gw_store *st, const struct gw_audit_entry *e)
{
    return gw_wq_audit(&st->ws.wq, e);
}

gw_rc
gw_sqlite_hsa_put_async(struct gw_store *st, const char *person_hsa,
                        const char *answer, size_t len, int64_t expires_ms)
{
    return gw_wq_hsa(&st->ws.wq, person_hsa, answer, len, expires_ms);
}

void
gw_sqlite_stats(struct gw_store *st, struct gw_store_stats *out)
{
    gw_wstate_stats(&st->ws, out);
}
