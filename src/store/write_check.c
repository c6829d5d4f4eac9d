/*
 * write_check.c - what the writers of both backends (writer.c,
 * pg_write.c) decide the same way from the rows they read inside the
 * write's transaction: a repeated message id, a dispensing against its
 * licence, a change against the case's current status and version. Each
 * backend selects the columns named in write_check.h and hands the row
 * over as struct gw_cells (rows.h); the refusals are worded here once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/write_check.h"

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
