/*
 * pg_write.c - the PostgreSQL backend's writes: the same group commit as
 * writer.c (one writer thread per node takes up to store.batch_max waiting
 * requests, applies each inside its own SAVEPOINT, commits them in one
 * transaction and answers each only after COMMIT returned), on one
 * database that several nodes write at once.
 *
 * Several writer threads per node (GW_PG_WRITERS), each with its own
 * connection, take batches from one queue: each waits for its round
 * trips to PostgreSQL, so they overlap. The audit records of a batch are
 * chained at its end: the head row is locked (SELECT ... FOR UPDATE) for
 * the last statements and COMMIT only, so the chain stays one line across
 * writers and nodes, and a writer holding the head waits for nothing else
 * (no lock cycle can go through the head; the purge, pg_read.c, locks its
 * cases before the head too). Two requests of different transactions that
 * lock the same rows in opposite orders (rare: one case changed twice at
 * once on two nodes) may deadlock; PostgreSQL ends one statement, and that
 * request alone is rolled back to its savepoint and refused as busy
 * (GW_EBUSY, 503: resend). Batching is what pays: one head update and
 * one WAL flush for the whole batch.
 *
 * Idempotency: the message id is looked up inside the transaction, and
 * the UNIQUE constraint on inbox.message_id is the backstop. A request
 * that loses that race to another node is rolled back to its savepoint and
 * applied once more: it then finds the other node's answer and replays it
 * (or is refused as a different message under the same id). One that
 * finds its case moved on after waiting on the case row (the same message
 * changing a case on two nodes at once) looks the message id up again
 * and replays the other node's answer when it is there.
 *
 * A connection lost mid-batch fails every request of it with
 * GW_EUNAVAILABLE (503): nothing of it is acknowledged. A COMMIT whose
 * answer is lost may still have committed; the sender retries with the
 * same message id and gets the stored answer.
 *
 * What one write does, in which order, and what it checks are
 * write_apply.c's, shared with writer.c, statements included; here is
 * how PostgreSQL runs them (pg_ops), the audit chain's head, and the batch
 * around it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/clock.h"
#include "core/log.h"
#include "store/pg_int.h"
#include "store/read.h"
#include "store/write.h"
#include "store/write_apply.h"

/* An audit record waiting for the end of its batch; the strings are
 * borrowed from the request (or the async entry) until the batch ends. */
struct pending_audit {
    struct gw_audit_entry e;
    int64_t at_ms;
};

struct batch {
    PGconn *c;
    struct gw_write_head head; /* as this batch sees it (locked) */
    struct pending_audit *audit;
    size_t naudit, cap;
    const struct gw_hsa_entry **hsa; /* borrowed from the requests */
    size_t nhsa, hsa_cap;
};

/* Queues an audit record of this batch; written, chained, at its end. */
static gw_rc
audit_put(struct batch *b, const struct gw_audit_entry *e, int64_t now_ms)
{
    struct pending_audit *g = gw_array_grow(b->audit, &b->cap, b->naudit,
                                            sizeof(*g), 64);

    if (g == NULL)
        return GW_ENOMEM;
    b->audit = g;
    b->audit[b->naudit].e = *e;
    b->audit[b->naudit].at_ms = now_ms;
    b->naudit++;
    return GW_OK;
}

static gw_rc
head_lock(struct batch *b)
{
    PGresult *r;
    gw_rc rc = gw_pg_q(b->c,
                       "SELECT seq, hash FROM audit_head WHERE id = 1 FOR "
                       "UPDATE",
                       NULL, &r, "audit_head_lock");

    if (rc != GW_OK)
        return rc;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return GW_ESTORE;
    }
    b->head.seq = gw_pg_i64(r, 0, 0);
    gw_pg_copy(b->head.hash, sizeof(b->head.hash), r, 0, 1);
    PQclear(r);
    return GW_OK;
}

gw_rc
gw_pg_audit_append(PGconn *c, const struct gw_audit_entry *e, int64_t now_ms)
{
    struct batch b;
    gw_rc rc;

    memset(&b, 0, sizeof(b));
    b.c = c;
    rc = head_lock(&b);
    if (rc == GW_OK)
        rc = gw_write_audit_append(gw_pg_conn_run, c, &b.head, e, now_ms);
    if (rc == GW_OK)
        rc = gw_write_head_store(gw_pg_conn_run, c, &b.head);
    return rc;
}

/*
 * The end of a batch: the head row locked, the batch's audit records
 * chained after it, the head moved. The lock is held from here to COMMIT
 * only, and this transaction waits for nothing else once it holds it, so
 * writers on this node and others overlap everything but this.
 */
static gw_rc
audit_flush(struct batch *b)
{
    gw_rc rc;

    if (b->naudit == 0)
        return GW_OK;
    rc = head_lock(b);
    for (size_t i = 0; rc == GW_OK && i < b->naudit; i++)
        rc = gw_write_audit_append(gw_pg_conn_run, b->c, &b->head,
                                   &b->audit[i].e, b->audit[i].at_ms);
    if (rc == GW_OK)
        rc = gw_write_head_store(gw_pg_conn_run, b->c, &b->head);
    return rc;
}

/* Queues an HSA answer of this batch; written at its end (hsa_flush). */
static gw_rc
hsa_put(struct batch *b, const struct gw_hsa_entry *e)
{
    const struct gw_hsa_entry **g =
        gw_array_grow(b->hsa, &b->hsa_cap, b->nhsa, sizeof(*g), 16);

    if (g == NULL)
        return GW_ENOMEM;
    b->hsa = g;
    b->hsa[b->nhsa++] = e;
    return GW_OK;
}

static int
hsa_order(const void *a, const void *b)
{
    const struct gw_hsa_entry *x = *(const struct gw_hsa_entry *const *)a;
    const struct gw_hsa_entry *y = *(const struct gw_hsa_entry *const *)b;
    int c = strcmp(x->person_hsa, y->person_hsa);

    if (c != 0)
        return c;
    return (x->fetched_ms > y->fetched_ms) - (x->fetched_ms < y->fetched_ms);
}

/*
 * The batch's HSA answers, after its requests and before the head: in
 * one savepoint, so that one that fails (a row lock waited for past
 * lock_timeout) takes nothing else of the batch along; it is logged and
 * lost, a cache entry being no message. In the order of their keys, so
 * that writers here and on other nodes lock the rows they share in one
 * order and none waits for another in a cycle; the newest of one person
 * last. A lost connection is the batch's failure.
 */
static gw_rc
hsa_flush(struct batch *b)
{
    gw_rc rc;

    if (b->nhsa == 0)
        return GW_OK;
    qsort(b->hsa, b->nhsa, sizeof(*b->hsa), hsa_order);
    rc = gw_pg_q(b->c, "SAVEPOINT hsa", NULL, NULL, "savepoint");
    for (size_t i = 0; rc == GW_OK && i < b->nhsa; i++)
        rc = gw_write_hsa_put(gw_pg_conn_run, b->c, b->hsa[i]);
    if (rc == GW_OK &&
        (rc = gw_pg_q(b->c, "RELEASE hsa", NULL, NULL, "release")) == GW_OK)
        rc = gw_pg_sync(b->c);
    if (rc != GW_OK) {
        gw_log_warn("event=hsa_cache_put_failed n=%zu", b->nhsa);
        (void)gw_pg_sync(b->c);
        (void)gw_pg_q(b->c, "ROLLBACK TO hsa", NULL, NULL, "rollback_to");
        (void)gw_pg_sync(b->c);
    }
    return PQstatus(b->c) == CONNECTION_OK ? GW_OK : GW_EUNAVAILABLE;
}

static gw_rc
audit(void *cx, const struct gw_audit_entry *e, int64_t now)
{
    return audit_put(cx, e, now);
}

static const struct gw_write_ops pg_ops = {&gw_pg_conn_ops, audit};

static void
reset_result(struct gw_store_result *res)
{
    free(res->response);
    memset(res, 0, sizeof(*res));
    gw_err_clear(&res->err);
}

/* One request inside the batch's transaction, alone under a savepoint. */
static void
run_one(struct batch *b, struct gw_wreq *r, int *outbox)
{
    size_t before = b->naudit, queued = 0;
    gw_rc rc;

    for (int attempt = 0; attempt < 2; attempt++) {
        rc = gw_pg_q(b->c, "SAVEPOINT req", NULL, NULL, "savepoint");
        if (rc != GW_OK) {
            r->res->rc = rc;
            return;
        }
        rc = r->res->rc =
            gw_write_apply(&pg_ops, b->c, b, r->w, r->res, &queued);
        /* Its writes went out without waiting (pipeline mode): their
         * outcome, and so the request's, is known at this sync. */
        if (rc == GW_OK &&
            ((rc = gw_pg_q(b->c, "RELEASE req", NULL, NULL, "release")) !=
                 GW_OK ||
             (rc = gw_pg_sync(b->c)) != GW_OK))
            r->res->rc = rc;
        if (rc == GW_OK) {
            /* A notification to a pharmacy without subscriptions puts
             * nothing in: no node's workers need to look. */
            if (queued > 0)
                *outbox = 1;
            return;
        }
        (void)gw_pg_sync(b->c);
        (void)gw_pg_q(b->c, "ROLLBACK TO req", NULL, NULL, "rollback_to");
        (void)gw_pg_sync(b->c);
        b->naudit = before;
        /* A unique key another node committed first (its message id):
         * once more, to find its answer. A refusal is final. */
        if (rc != GW_EDUPLICATE || r->res->err.detail[0] != '\0')
            break;
        reset_result(r->res);
    }
    free(r->res->response);
    r->res->response = NULL;
    r->res->response_len = 0;
    if (r->res->rc == GW_EDUPLICATE && r->res->err.detail[0] == '\0')
        r->res->rc = GW_EBUSY;
    if (r->res->err.rc == GW_OK)
        r->res->err.rc = r->res->rc;
}

/* A durable read's records (gw_write_audit_only): they join the batch's
 * in memory and are written with the head at its end (audit_flush), so
 * the request needs no savepoint and no round trip of its own. */
static void
run_audit_only(struct batch *b, struct gw_wreq *r)
{
    size_t before = b->naudit;
    int64_t now = gw_clock_now_ms();
    gw_rc rc = GW_OK;

    for (size_t i = 0; rc == GW_OK && i < r->w->naudit; i++)
        rc = audit_put(b, &r->w->audit[i], now);
    r->res->rc = rc;
    if (rc == GW_OK) {
        r->res->response_status = r->w->response_status;
        return;
    }
    b->naudit = before;
    if (r->res->err.rc == GW_OK)
        r->res->err.rc = rc;
}

/* A request no one waits for joins the batch's in memory, written at its
 * end: an audited read's record, or an HSA answer. A failure is logged. */
static void
entry_put(struct batch *b, struct gw_wreq *r)
{
    if (r->hsa.person_hsa != NULL) {
        if (hsa_put(b, &r->hsa) != GW_OK)
            gw_log_warn("event=hsa_cache_put_failed");
    } else if (audit_put(b, &r->audit, gw_clock_now_ms()) != GW_OK)
        gw_log_err("event=audit_append_failed");
}

static gw_rc
writer_conn(struct gw_pg_writer *wr)
{
    int again = wr->c != NULL;

    if (wr->c != NULL && !gw_pg_stale(wr->c))
        return GW_OK;
    /* A new connection rather than PQreset: it gets the session settings
     * (lock_timeout) and leaves no pipeline state behind. */
    PQfinish(wr->c);
    wr->c = gw_pg_connect(wr->s);
    if (wr->c != NULL && again)
        gw_log_info("event=pg_reconnected conn=writer");
    return wr->c != NULL ? GW_OK : GW_EUNAVAILABLE;
}

static void
run_batch(struct gw_pg_writer *wr, struct gw_wreq *batch, int n)
{
    struct gw_pg_store *s = wr->s;
    struct batch b;
    int outbox = 0, writes = 0;
    int64_t t0 = gw_clock_mono_us(), tc, t1;
    gw_rc rc = writer_conn(wr);

    memset(&b, 0, sizeof(b));
    b.c = wr->c;
    /* Pipeline mode: a statement whose answer nothing waits for goes out
     * at once and is answered with the next that something waits for
     * (BEGIN with the first request's look-up, a request's inserts with
     * its RELEASE, the audit records and the head with COMMIT). */
    if (rc == GW_OK)
        rc = gw_pg_pipeline(b.c, 1);
    if (rc == GW_OK)
        rc = gw_pg_q(b.c, "BEGIN", NULL, NULL, "begin");
    for (struct gw_wreq *r = batch; rc == GW_OK && r != NULL; r = r->next) {
        if (r->w == NULL) {
            entry_put(&b, r);
            continue;
        }
        writes = 1;
        if (gw_write_audit_only(r->w))
            run_audit_only(&b, r);
        else
            run_one(&b, r, &outbox);
        /* A lost connection fails the rest of the batch too. */
        if (PQstatus(b.c) != CONNECTION_OK)
            rc = GW_EUNAVAILABLE;
    }
    if (rc == GW_OK)
        rc = hsa_flush(&b);
    if (rc == GW_OK)
        rc = audit_flush(&b);
    if (rc == GW_OK && outbox)
        rc = gw_pg_q(b.c, "NOTIFY " GW_PG_CHANNEL, NULL, NULL, "notify");
    /* Acknowledged only once COMMIT's answer is read: the sync. */
    tc = gw_clock_mono_us();
    if (rc == GW_OK)
        rc = gw_pg_q(b.c, "COMMIT", NULL, NULL, "commit");
    if (rc == GW_OK)
        rc = gw_pg_sync(b.c);
    t1 = gw_clock_mono_us();
    free(b.audit);
    free(b.hsa);
    if (rc != GW_OK && b.c != NULL && PQstatus(b.c) == CONNECTION_OK &&
        PQpipelineStatus(b.c) != PQ_PIPELINE_OFF) {
        (void)gw_pg_sync(b.c);
        (void)gw_pg_q(b.c, "ROLLBACK", NULL, NULL, "rollback");
        (void)gw_pg_sync(b.c);
    }
    if (b.c != NULL && PQstatus(b.c) == CONNECTION_OK &&
        gw_pg_pipeline(b.c, 0) != GW_OK) {
        /* Something left unread: start afresh with the next batch. */
        PQfinish(wr->c);
        wr->c = NULL;
    }
    if (rc != GW_OK) {
        if (rc != GW_ESTORAGEFULL && rc != GW_EUNAVAILABLE)
            rc = GW_ESTORE;
        gw_wq_fail(batch, rc);
    }
    pthread_mutex_lock(&s->ws.mu);
    if (rc != GW_OK)
        s->ws.commit_rc = rc;
    else if (writes)
        s->ws.commit_rc = GW_OK;
    gw_write_record_batch(&s->ws.stats, n, t1 - t0, t1 - tc);
    gw_wq_record_waits(batch, t1, s->ws.stats.wait_us_hist,
                       &s->ws.stats.wait_us_sum);
    if (outbox && rc == GW_OK)
        gw_wstate_outbox_bump_locked(&s->ws);
    pthread_mutex_unlock(&s->ws.mu);
    gw_wq_answer(batch);
}

void *
gw_pg_writer_main(void *arg)
{
    struct gw_pg_writer *wr = arg;
    struct gw_wreq *batch;
    int n;

    while ((batch = gw_wq_take(&wr->s->ws.wq, &n)) != NULL)
        run_batch(wr, batch, n);
    return NULL;
}

#define PG_UNAVAILABLE                                                       \
    "the database is unavailable: nothing was stored; "                      \
    "send the message again later"

gw_rc
gw_pg_write(struct gw_store *st, const struct gw_store_write *w,
            struct gw_store_result *res)
{
    return gw_wq_write(&PG(st)->ws.wq, w, res, PG_UNAVAILABLE);
}

gw_rc
gw_pg_write_async(struct gw_store *st, const struct gw_store_write *w,
                  struct gw_store_result *res, gw_store_done_fn done,
                  void *arg)
{
    return gw_wq_write_async(&PG(st)->ws.wq, w, res, PG_UNAVAILABLE, done, arg);
}

gw_rc
gw_pg_audit_async(struct gw_store *st, const struct gw_audit_entry *e)
{
    return gw_wq_audit(&PG(st)->ws.wq, e);
}

gw_rc
gw_pg_hsa_put_async(struct gw_store *st, const char *person_hsa,
                    const char *answer, size_t len, int64_t expires_ms)
{
    return gw_wq_hsa(&PG(st)->ws.wq, person_hsa, answer, len, expires_ms);
}
