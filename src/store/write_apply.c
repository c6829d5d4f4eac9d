/*
 * write_apply.c - one write applied inside its transaction, for both
 * writers (writer.c, pg_write.c): the order of the steps, and what is
 * decided from the rows read there (a repeated message id, a dispensing
 * against its licence, a change against the case's status and version, a
 * referensnummer taken). A backend gives its statements as a struct
 * gw_write_ops and reads rows with the columns named in write_apply.h,
 * handed over as struct gw_cells (rows.h); the refusals are worded here
 * once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/random.h"
#include "klas/ident.h"
#include "store/read.h"
#include "store/store.h"
#include "store/write.h"
#include "store/write_apply.h"

#define TEXT(col) c->ops->text(c->res, c->row, (col))
#define I64(col) c->ops->i64(c->res, c->row, (col))
#define F64(col) c->ops->f64(c->res, c->row, (col))

/* The inbox row of the message id (gw_rows_inbox) against the write:
 * GW_OK for the same message again (res replays its answer),
 * GW_EDUPLICATE for another one under a used id. */
static gw_rc
inbox_get(const struct gw_write_ops *ops, void *cx,
          const struct gw_store_write *w, struct gw_store_result *res)
{
    gw_rc rc = ops->read_row(cx, GW_WRITE_ROW_INBOX, w->message_id,
                             gw_rows_inbox, res);

    if (rc != GW_OK ||
        strcmp(res->content_hash, w->content_hash ? w->content_hash : "") ==
            0)
        return rc;
    /* Not a repeat: only the first message's hash and time stay. */
    free(res->response);
    res->response = NULL;
    res->response_len = 0;
    res->replayed = 0;
    res->version = 0;
    res->response_status = 0;
    return gw_err_set(&res->err, GW_EDUPLICATE, "Bundle.identifier",
                      "the message id was used before for a different "
                      "message");
}

/* What a dispensing is checked against (GW_WRITE_ROW_DISPENSE). */
struct licence_now {
    long long case_id;
    char status[8], from[16], to[16];
    double total, used;
    int purged;
};

static gw_rc
fill_licence(const struct gw_cells *c, void *elem, size_t i)
{
    struct licence_now *o = elem;

    (void)i;
    o->case_id = I64(0);
    gw_cell_copy(c, 1, o->status, sizeof(o->status));
    gw_cell_copy(c, 2, o->from, sizeof(o->from));
    gw_cell_copy(c, 3, o->to, sizeof(o->to));
    o->total = F64(4);
    o->used = F64(5);
    o->purged = TEXT(6) != NULL;
    return GW_OK;
}

static gw_rc
dispense(const struct gw_write_ops *ops, void *cx,
         const struct gw_store_write *w, struct gw_store_result *res,
         long long *case_id, int64_t now)
{
    const struct gw_dispense *d = w->dispense;
    struct licence_now l;
    gw_rc rc;

    if (d == NULL || w->row.refnr == NULL)
        return gw_err_set(&res->err, GW_EINVAL, NULL, "nothing to dispense");
    rc = ops->read_row(cx, GW_WRITE_ROW_DISPENSE, w->row.refnr, fill_licence,
                       &l);
    if (rc == GW_ENOTFOUND)
        return gw_err_set(&res->err, GW_ENOTFOUND, "licence",
                          "no licence with that referensnummer");
    if (rc != GW_OK)
        return rc;
    if (l.purged)
        return gw_err_set(&res->err, GW_EGONE, "licence",
                          "the licence has been removed");
    snprintf(res->refnr, sizeof(res->refnr), "%s", w->row.refnr);
    if (w->expect_status == NULL || strcmp(l.status, w->expect_status) != 0) {
        gw_err_set(&res->err, GW_EDENIED, "licence",
                   "the licence is not granted (status %s)", l.status);
        return gw_err_sv(&res->err, GW_EDENIED,
                         "licensen är inte beviljad (status %s)", l.status);
    }
    if (l.from[0] == '\0' || strcmp(d->dispensed_on, l.from) < 0 ||
        strcmp(d->dispensed_on, l.to) > 0) {
        gw_err_set(&res->err, GW_EDENIED, "dispensed-on",
                   "outside the validity period %s to %s", l.from, l.to);
        return gw_err_sv(&res->err, GW_EDENIED,
                         "utanför giltighetstiden %s till %s", l.from, l.to);
    }
    if (l.total > 0 && l.used + d->amount > l.total + 1e-9) {
        gw_err_set(&res->err, GW_EDENIED, "amount",
                   "beyond the granted total amount: %g of %g left",
                   l.total - l.used, l.total);
        return gw_err_sv(&res->err, GW_EDENIED,
                         "mer än den beviljade totalmängden: %g av %g "
                         "återstår",
                         l.total - l.used, l.total);
    }
    *case_id = l.case_id;
    return ops->dispense_insert(cx, d, *case_id, now);
}

/* What a change is checked against (GW_WRITE_ROW_CASE). */
struct case_now {
    long long id;
    char status[8];
    long version;
    int purged;
};

static gw_rc
fill_case(const struct gw_cells *c, void *elem, size_t i)
{
    struct case_now *o = elem;

    (void)i;
    o->id = I64(0);
    gw_cell_copy(c, 1, o->status, sizeof(o->status));
    o->version = (long)I64(2);
    o->purged = TEXT(3) != NULL;
    return GW_OK;
}

static gw_rc
update(const struct gw_write_ops *ops, void *cx,
       const struct gw_store_write *w, struct gw_store_result *res,
       long long *case_id, int64_t now)
{
    const struct gw_case_row *r = &w->row;
    struct case_now cur;
    gw_rc rc = ops->read_row(cx, GW_WRITE_ROW_CASE, r->refnr, fill_case, &cur);

    if (rc == GW_ENOTFOUND)
        return gw_err_set(&res->err, GW_ENOTFOUND, NULL,
                          "no case with referensnummer %s",
                          r->refnr ? r->refnr : "(none)");
    if (rc != GW_OK)
        return rc;
    if (cur.purged)
        return gw_err_set(&res->err, GW_EGONE, NULL,
                          "case %s was removed under the retention rules",
                          r->refnr);
    if (w->expect_status != NULL && strcmp(cur.status, w->expect_status) != 0)
        return gw_err_set(&res->err, GW_ECONFLICT, NULL,
                          "case %s is in status %s, not %s", r->refnr,
                          cur.status, w->expect_status);
    if (w->expect_version > 0 && w->expect_version != cur.version)
        return gw_err_set(&res->err, GW_EPRECONDITION, NULL,
                          "case %s is at version %ld, not %ld", r->refnr,
                          cur.version, w->expect_version);
    *case_id = cur.id;
    if ((rc = ops->case_update(cx, w, *case_id, now)) != GW_OK)
        return rc;
    snprintf(res->refnr, sizeof(res->refnr), "%s", r->refnr);
    res->version = cur.version + 1;
    if (r->status == NULL && w->event == NULL)
        return GW_OK;
    return ops->history(cx, *case_id, cur.status,
                        r->status ? r->status : cur.status, w, now);
}

/* A new case under w's referensnummer or a new one. */
static gw_rc
create(const struct gw_write_ops *ops, void *cx,
       const struct gw_store_write *w, struct gw_store_result *res,
       long long *case_id, int64_t now)
{
    const struct gw_case_row *r = &w->row;
    gw_rc rc;

    if (r->status == NULL || r->licence_type == NULL)
        return gw_err_set(&res->err, GW_EINVAL, NULL,
                          "a new case needs a status and a licence type");
    /* The insert itself tells whether the number is taken: one statement.
     * A million numbers a year and ~50,000 cases: twenty collisions in a
     * row mean something else is wrong. */
    for (int tries = 0; tries < 20; tries++) {
        if (r->refnr != NULL) {
            snprintf(res->refnr, sizeof(res->refnr), "%s", r->refnr);
        } else {
            time_t t = (time_t)(gw_clock_now_ms() / 1000);
            struct tm tm;

            gmtime_r(&t, &tm);
            rc = gw_refnr_generate(tm.tm_year + 1900, gw_random_bytes,
                                   res->refnr);
            if (rc != GW_OK)
                return rc;
        }
        if ((rc = ops->case_insert(cx, w, res->refnr, case_id, now)) != GW_OK)
            return rc;
        if (*case_id != 0) {
            res->version = 1;
            return ops->history(cx, *case_id, NULL, r->status, w, now);
        }
        if (r->refnr != NULL)
            return gw_err_set(&res->err, GW_ECONFLICT, NULL,
                              "a case with referensnummer %s exists",
                              r->refnr);
    }
    return GW_ESTORE;
}

static gw_rc
change_case(const struct gw_write_ops *ops, void *cx,
            const struct gw_store_write *w, struct gw_store_result *res,
            long long *case_id, int64_t now)
{
    switch (w->op) {
    case GW_STORE_OP_NONE:
        break;
    case GW_STORE_OP_CREATE:
        return create(ops, cx, w, res, case_id, now);
    case GW_STORE_OP_DISPENSE:
        return dispense(ops, cx, w, res, case_id, now);
    case GW_STORE_OP_UPDATE:
        return update(ops, cx, w, res, case_id, now);
    }
    return GW_OK;
}

/* An item, or for a notification one per subscription of the GLN,
 * so that every endpoint has its own attempts, backoff and dead letter:
 * one failing endpoint neither holds up nor repeats the others. */
static gw_rc
outbox_put(const struct gw_write_ops *ops, void *cx,
           const struct gw_store_outbox_new *o, const char *refnr,
           int64_t now)
{
    struct gw_write_sub_id *ids = NULL;
    char mid[128];
    size_t n = 0;
    gw_rc rc;

    if (o->fanout_gln == NULL)
        return ops->enqueue(cx, o, o->message_id, NULL, refnr, now);
    /* Every subscription gets its item, whatever its status: none is
     * dropped, and one in error still counts the event (outbound/
     * pharmacy.c). */
    rc = ops->fanout(cx, o->fanout_gln, &ids, &n);
    for (size_t i = 0; rc == GW_OK && i < n; i++) {
        snprintf(mid, sizeof(mid), "%.86s:%.39s", o->message_id, ids[i].id);
        rc = ops->enqueue(cx, o, mid, ids[i].id, refnr, now);
    }
    free(ids);
    return rc;
}

gw_rc
gw_write_apply(const struct gw_write_ops *ops, void *cx,
               const struct gw_store_write *w, struct gw_store_result *res)
{
    int64_t now = gw_clock_now_ms();
    long long case_id = 0;
    struct gw_buf resp;
    gw_rc rc;

    gw_buf_init(&resp, 16 * 1024 * 1024);
    if (w->message_id != NULL) {
        rc = inbox_get(ops, cx, w, res);
        if (rc != GW_ENOTFOUND)
            goto out; /* replayed, refused as a duplicate, or failed */
    }
    rc = change_case(ops, cx, w, res, &case_id, now);
    if (rc == GW_OK)
        rc = ops->extras(cx, w, case_id, now);
    if ((rc == GW_ECONFLICT || rc == GW_EPRECONDITION) &&
        w->message_id != NULL) {
        /* The same message on another node at once (PostgreSQL): both
         * missed the inbox, this one then waited on the case row the other
         * changed and found the case moved on (R6 twins: 200 on one node,
         * 409 on the other for one stored application). That wait ended
         * with the other's commit, so its inbox row is visible now: replay
         * its answer. With one writer (SQLite) the look-up finds nothing
         * and the refusal stands. */
        struct gw_err why = res->err;
        gw_rc again;

        gw_err_clear(&res->err);
        again = inbox_get(ops, cx, w, res);
        if (again == GW_ENOTFOUND)
            res->err = why;
        else
            rc = again;
        goto out;
    }
    if (rc != GW_OK)
        goto out;
    if (w->doc_xml != NULL && case_id != 0 &&
        (rc = ops->document(cx, w, case_id, res->version, now)) != GW_OK)
        goto out;
    for (size_t i = 0; i < w->nattachments && case_id != 0; i++)
        if ((rc = ops->attachment(cx, &w->attachments[i], case_id,
                                  res->version)) != GW_OK)
            goto out;
    for (size_t i = 0; i < w->noutbox; i++)
        if ((rc = outbox_put(ops, cx, &w->outbox[i], res->refnr, now)) !=
            GW_OK)
            goto out;
    for (size_t i = 0; i < w->naudit; i++) {
        struct gw_audit_entry e = w->audit[i];
        if (e.refnr == NULL && res->refnr[0])
            e.refnr = res->refnr;
        if ((rc = ops->audit(cx, &e, now)) != GW_OK)
            goto out;
    }
    if (w->respond != NULL &&
        (rc = w->respond(w->respond_ctx, res->refnr, res->version, &resp)) !=
            GW_OK)
        goto out;
    if (w->message_id != NULL &&
        (rc = ops->inbox_put(cx, w, res, &resp, now)) != GW_OK)
        goto out;
    res->response_status = w->response_status;
    res->response = gw_buf_take(&resp, &res->response_len);
    if (res->response == NULL)
        rc = GW_ENOMEM;
out:
    gw_buf_release(&resp);
    return rc;
}

int
gw_write_audit_only(const struct gw_store_write *w)
{
    return w->op == GW_STORE_OP_NONE && w->message_id == NULL &&
           w->noutbox == 0 && w->respond == NULL;
}

void
gw_write_record_batch(struct gw_store_stats *stats, int n)
{
    int b = 0;

    while (b < 7 && (1 << (b + 1)) <= n)
        b++;
    stats->batches++;
    stats->requests += n;
    stats->batch_hist[b]++;
    if (n > stats->max_batch)
        stats->max_batch = n;
}

void
gw_write_audit_record(struct gw_audit_record *r, int64_t seq,
                      const char *prev_hash, const struct gw_audit_entry *e,
                      int64_t now_ms)
{
    memset(r, 0, sizeof(*r));
    r->seq = seq;
    snprintf(r->prev_hash, sizeof(r->prev_hash), "%s",
             prev_hash ? prev_hash : "");
    r->at_ms = now_ms;
    r->e = *e;
    if (r->e.system == NULL)
        r->e.system = "gateway";
    if (r->e.outcome == NULL)
        r->e.outcome = "ok";
    if (r->e.action == NULL)
        r->e.action = "unknown";
}
