/*
 * write_apply.c - what the writers of both backends (writer.c,
 * pg_write.c) share: the order in which one write is applied inside its
 * transaction (gw_write_apply, over the backend's statements in a
 * struct gw_write_ops), and what they decide the same way from the rows
 * they read there: a repeated message id, a dispensing against its
 * licence, a change against the case's current status and version. Each
 * backend selects the columns named in write_apply.h and hands the row
 * over as struct gw_cells (rows.h); the refusals are worded here once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/write_apply.h"
#include "core/clock.h"

#define TEXT(col) c->ops->text(c->res, c->row, (col))
#define I64(col) c->ops->i64(c->res, c->row, (col))
#define F64(col) c->ops->f64(c->res, c->row, (col))

gw_rc
gw_write_inbox_check(const struct gw_store_write *w,
                     struct gw_store_result *res)
{
    if (strcmp(res->content_hash, w->content_hash ? w->content_hash : "") ==
        0)
        return GW_OK;
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

gw_rc
gw_write_dispense_check(const struct gw_cells *c,
                        const struct gw_store_write *w,
                        struct gw_store_result *res, long long *case_id)
{
    const struct gw_dispense *d = w->dispense;
    char status[8] = "", from[16] = "", to[16] = "";
    double total, used;

    *case_id = I64(0);
    gw_cell_copy(c, 1, status, sizeof(status));
    gw_cell_copy(c, 2, from, sizeof(from));
    gw_cell_copy(c, 3, to, sizeof(to));
    total = F64(4);
    used = F64(5);
    if (TEXT(6) != NULL)
        return gw_err_set(&res->err, GW_EGONE, "licence",
                          "the licence has been removed");
    snprintf(res->refnr, sizeof(res->refnr), "%s", w->row.refnr);
    if (w->expect_status == NULL || strcmp(status, w->expect_status) != 0) {
        gw_err_set(&res->err, GW_EDENIED, "licence",
                   "the licence is not granted (status %s)", status);
        return gw_err_sv(&res->err, GW_EDENIED,
                         "licensen är inte beviljad (status %s)", status);
    }
    if (from[0] == '\0' || strcmp(d->dispensed_on, from) < 0 ||
        strcmp(d->dispensed_on, to) > 0) {
        gw_err_set(&res->err, GW_EDENIED, "dispensed-on",
                   "outside the validity period %s to %s", from, to);
        return gw_err_sv(&res->err, GW_EDENIED,
                         "utanför giltighetstiden %s till %s", from, to);
    }
    if (total > 0 && used + d->amount > total + 1e-9) {
        gw_err_set(&res->err, GW_EDENIED, "amount",
                   "beyond the granted total amount: %g of %g left",
                   total - used, total);
        return gw_err_sv(&res->err, GW_EDENIED,
                         "mer än den beviljade totalmängden: %g av %g "
                         "återstår",
                         total - used, total);
    }
    return GW_OK;
}

gw_rc
gw_write_case_check(const struct gw_cells *c, const struct gw_store_write *w,
                    struct gw_store_result *res, long long *case_id,
                    char *cur, size_t cur_size, long *version)
{
    const char *refnr = w->row.refnr;

    *case_id = I64(0);
    gw_cell_copy(c, 1, cur, cur_size);
    *version = (long)I64(2);
    if (TEXT(3) != NULL)
        return gw_err_set(&res->err, GW_EGONE, NULL,
                          "case %s was removed under the retention rules",
                          refnr);
    if (w->expect_status != NULL && strcmp(cur, w->expect_status) != 0)
        return gw_err_set(&res->err, GW_ECONFLICT, NULL,
                          "case %s is in status %s, not %s", refnr, cur,
                          w->expect_status);
    if (w->expect_version > 0 && w->expect_version != *version)
        return gw_err_set(&res->err, GW_EPRECONDITION, NULL,
                          "case %s is at version %ld, not %ld", refnr,
                          *version, w->expect_version);
    return GW_OK;
}

/* An item, or for a notification one per active subscription of the GLN,
 * so that every endpoint has its own attempts, backoff and dead letter:
 * one failing endpoint neither holds up nor repeats the others. */
static gw_rc
outbox_put(const struct gw_write_ops *ops, void *cx,
           const struct gw_store_outbox_new *o, const char *refnr,
           int64_t now)
{
    char ids[GW_WRITE_FANOUT_MAX][40], mid[128];
    size_t n = 0;
    gw_rc rc;

    if (o->fanout_gln == NULL)
        return ops->enqueue(cx, o, o->message_id, NULL, refnr, now);
    rc = ops->fanout(cx, o->fanout_gln, ids, &n);
    for (size_t i = 0; rc == GW_OK && i < n; i++) {
        snprintf(mid, sizeof(mid), "%.86s:%.39s", o->message_id, ids[i]);
        rc = ops->enqueue(cx, o, mid, ids[i], refnr, now);
    }
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
        rc = ops->inbox_get(cx, w, res);
        if (rc != GW_ENOTFOUND)
            goto out; /* replayed, refused as a duplicate, or failed */
    }
    rc = ops->change_case(cx, w, res, &case_id, now);
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
        again = ops->inbox_get(cx, w, res);
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
