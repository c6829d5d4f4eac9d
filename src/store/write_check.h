/*
 * write_check.h - the checks both writers (writer.c, pg_write.c) make on
 * the rows they read inside a write (write_check.c). Nothing outside
 * store/ includes it.
 */
#ifndef GW_STORE_WRITE_CHECK_H
#define GW_STORE_WRITE_CHECK_H

#include <stddef.h>

#include "store/rows.h"
#include "store/write.h"

/* res filled from the inbox row of w's message id (gw_rows_inbox): GW_OK
 * when it is the same message again (replay res), GW_EDUPLICATE when
 * another message used the id (res keeps only the first one's content
 * hash and time). */
gw_rc gw_write_inbox_check(const struct gw_store_write *w,
                           struct gw_store_result *res) GW_WARN_UNUSED;

/* The row of a dispensing's licence, columns: case id, case status,
 * valid_from, valid_to, total_amount, the amount dispensed so far,
 * purged_ms. *case_id set; GW_OK when w->dispense fits the licence,
 * else the refusal in res->err (GW_EGONE, GW_EDENIED). */
#define GW_WRITE_DISPENSE_COLUMNS                                              \
    "c.id, c.status, l.valid_from, l.valid_to, l.total_amount, (SELECT "       \
    "coalesce(sum(amount), 0) FROM dispensings d WHERE d.case_id = c.id), "    \
    "c.purged_ms"
gw_rc gw_write_dispense_check(const struct gw_cells *c,
                              const struct gw_store_write *w,
                              struct gw_store_result *res,
                              long long *case_id) GW_WARN_UNUSED;

/* The row of the case a change is for, columns: id, status, version,
 * purged_ms. *case_id, cur (the status) and *version set; GW_OK when w
 * may change it, else the refusal in res->err (GW_EGONE, GW_ECONFLICT,
 * GW_EPRECONDITION). */
#define GW_WRITE_CASE_COLUMNS "id, status, version, purged_ms"
gw_rc gw_write_case_check(const struct gw_cells *c,
                          const struct gw_store_write *w,
                          struct gw_store_result *res, long long *case_id,
                          char *cur, size_t cur_size,
                          long *version) GW_WARN_UNUSED;

#endif
