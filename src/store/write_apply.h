/*
 * write_apply.h - what both writers (writer.c, pg_write.c) share
 * (write_apply.c): the order of one write's steps over the backend's
 * statements, and the checks made on the rows read inside a write.
 * Nothing outside store/ includes it.
 */
#ifndef GW_STORE_WRITE_APPLY_H
#define GW_STORE_WRITE_APPLY_H

#include <stddef.h>

#include "store/rows.h"
#include "store/store.h"
#include "store/write.h"

/* The rows a write reads (struct gw_write_ops.read_row), each by one
 * key, the case's read with a lock until commit where the backend has
 * more than one writer:
 * INBOX, by message id: gw_rows_inbox's columns;
 * CASE, by refnr: GW_WRITE_CASE_COLUMNS;
 * DISPENSE, by refnr: GW_WRITE_DISPENSE_COLUMNS (cases c LEFT JOIN
 * licences l). */
enum gw_write_row {
    GW_WRITE_ROW_INBOX,
    GW_WRITE_ROW_CASE,
    GW_WRITE_ROW_DISPENSE
};
#define GW_WRITE_CASE_COLUMNS "id, status, version, purged_ms"
#define GW_WRITE_DISPENSE_COLUMNS                                              \
    "c.id, c.status, l.valid_from, l.valid_to, l.total_amount, (SELECT "       \
    "coalesce(sum(amount), 0) FROM dispensings d WHERE d.case_id = c.id), "    \
    "c.purged_ms"

/* One subscription id a notification fans out to. */
struct gw_write_sub_id {
    char id[40]; /* struct gw_subscription's id */
};

/*
 * One backend's statements for gw_write_apply, each on the write's
 * transaction cx (the backend's own connection or batch): every one
 * returns GW_OK or the error that ends the write.
 */
struct gw_write_ops {
    /* The one row of `which` for key, handed to fill: GW_ENOTFOUND when
     * there is none. */
    gw_rc (*read_row)(void *cx, enum gw_write_row which, const char *key,
                      gw_cells_fill fill, void *elem);
    /* The case row of w under refnr: *case_id its id, 0 when the number
     * is taken (nothing inserted). */
    gw_rc (*case_insert)(void *cx, const struct gw_store_write *w,
                         const char *refnr, long long *case_id, int64_t now);
    /* The case row case_id changed as w says (status, pharmacy, drug,
     * version + 1, applied/decided times by w->effects). */
    gw_rc (*case_update)(void *cx, const struct gw_store_write *w,
                         long long case_id, int64_t now);
    /* A status_history row (from NULL: the case is new). */
    gw_rc (*history)(void *cx, long long case_id, const char *from,
                     const char *to, const struct gw_store_write *w,
                     int64_t now);
    gw_rc (*dispense_insert)(void *cx, const struct gw_dispense *d,
                             long long case_id, int64_t now);
    /* What the change implies beside the case row (licence, product,
     * pharmacy, prescriber). */
    gw_rc (*extras)(void *cx, const struct gw_store_write *w,
                    long long case_id, int64_t now);
    gw_rc (*document)(void *cx, const struct gw_store_write *w,
                      long long case_id, long version, int64_t now);
    gw_rc (*attachment)(void *cx, const struct gw_store_attachment *a,
                        long long case_id, long version);
    /* The ids of the active subscriptions of gln, oldest first, every
     * one of them: *ids malloc'd (NULL when *n is 0; the caller frees),
     * or an error and nothing handed over. */
    gw_rc (*fanout)(void *cx, const char *gln, struct gw_write_sub_id **ids,
                    size_t *n);
    /* One outbox row; target names the subscription of a notification
     * (NULL: none); refnr "" for none. */
    gw_rc (*enqueue)(void *cx, const struct gw_store_outbox_new *o,
                     const char *message_id, const char *target,
                     const char *refnr, int64_t now);
    gw_rc (*audit)(void *cx, const struct gw_audit_entry *e, int64_t now);
    /* The inbox row of w->message_id with the answer resp. */
    gw_rc (*inbox_put)(void *cx, const struct gw_store_write *w,
                       const struct gw_store_result *res,
                       const struct gw_buf *resp, int64_t now);
};

/* A backend's table, from its static functions named as the members. */
#define GW_WRITE_OPS_TABLE                                                     \
    {                                                                          \
        .read_row = read_row, .case_insert = case_insert,                      \
        .case_update = case_update, .history = history,                        \
        .dispense_insert = dispense_insert, .extras = extras,                  \
        .document = document, .attachment = attachment, .fanout = fanout,      \
        .enqueue = enqueue, .audit = audit, .inbox_put = inbox_put,            \
    }

/*
 * Applies w inside the caller's transaction (a savepoint of its batch):
 * a repeated message id is answered from the inbox; else the case, its
 * extras, document, attachments, outbox items and audit entries, then the
 * answer (w->respond), stored in the inbox under the message id. res
 * holds the answer (response malloc'd) or the refusal; on an error the
 * caller rolls the savepoint back.
 */
gw_rc gw_write_apply(const struct gw_write_ops *ops, void *cx,
                     const struct gw_store_write *w,
                     struct gw_store_result *res) GW_WARN_UNUSED;

/* Whether w is audit records and nothing else (a durable read's): no
 * look-up, no change, no answer to build, so a writer may add its records
 * without a savepoint of its own where they cannot be stored half. */
int gw_write_audit_only(const struct gw_store_write *w);

/* A batch of n requests in the writer's statistics. */
void gw_write_record_batch(struct gw_store_stats *stats, int n);

/* The audit record of e after seq - 1 and prev_hash, at now_ms, with the
 * defaults of an entry that leaves system, outcome or action out (hash
 * not yet set). */
struct gw_audit_record;
void gw_write_audit_record(struct gw_audit_record *r, int64_t seq,
                           const char *prev_hash,
                           const struct gw_audit_entry *e, int64_t now_ms);

#endif
