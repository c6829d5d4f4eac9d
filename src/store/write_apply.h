/*
 * write_apply.h - what both writers (writer.c, pg_write.c) share
 * (write_apply.c): the order of one write's steps over the backend's
 * statements, and the checks made on the rows read inside a write.
 * Nothing outside store/ includes it.
 */
#ifndef GW_STORE_WRITE_APPLY_H
#define GW_STORE_WRITE_APPLY_H

#include <stddef.h>

#include "store/backend.h"
#include "store/rows.h"
#include "store/store.h"
#include "store/write.h"

/* One subscription id a notification fans out to. */
struct gw_write_sub_id {
    char id[40]; /* struct gw_subscription's id */
};

/*
 * How one backend runs a write's statements (write_apply.c has them, in
 * both dialects, with their parameters): sql, the backend's conn_ops
 * (backend.h), each on conn, the write's transaction on the writer's own
 * connection, GW_OK or the error that ends the write; audit queues or
 * appends one audit record on the writer's batch cx.
 */
struct gw_write_ops {
    const struct gw_conn_ops *sql;
    gw_rc (*audit)(void *cx, const struct gw_audit_entry *e, int64_t now);
};

/*
 * Applies w inside the caller's transaction (a savepoint of its batch):
 * a repeated message id is answered from the inbox; else the case, its
 * extras, document, attachments, outbox items and audit entries, then the
 * answer (w->respond), stored in the inbox under the message id. res
 * holds the answer (response malloc'd) or the refusal, *queued the
 * outbox rows put in (a notification to a pharmacy without subscriptions
 * puts none); on an error the caller rolls the savepoint back.
 */
gw_rc gw_write_apply(const struct gw_write_ops *ops, void *conn, void *cx,
                     const struct gw_store_write *w,
                     struct gw_store_result *res,
                     size_t *queued) GW_WARN_UNUSED;

/* Whether w is audit records and nothing else (a durable read's): no
 * look-up, no change, no answer to build, so a writer may add its records
 * without a savepoint of its own where they cannot be stored half. */
int gw_write_audit_only(const struct gw_store_write *w);

/* A batch of n requests in the writer's statistics. */
void gw_write_record_batch(struct gw_store_stats *stats, int n,
                           int64_t batch_us, int64_t commit_us);

/* The head of the audit chain as a writer's batch has it. */
struct gw_write_head {
    int64_t seq;
    char hash[GW_AUDIT_HASH_HEX];
};
/* One audit record of e at now_ms after h, appended by run on conn: a
 * single INSERT, so it is there whole or not at all; h moves only when it
 * is there. The entry's system, outcome and action default to "gateway",
 * "ok" and "unknown". */
gw_rc gw_write_audit_append(gw_sql_run run, void *conn,
                            struct gw_write_head *h,
                            const struct gw_audit_entry *e, int64_t now_ms);
/* The head row set to h, by run on conn. */
gw_rc gw_write_head_store(gw_sql_run run, void *conn,
                          const struct gw_write_head *h);
/* A pharmacy registered (Sök apotek) by run on conn: added, or its name
 * and the parts it names updated. */
gw_rc gw_write_pharmacy_put(gw_sql_run run, void *conn,
                            const struct gw_pharmacy *ph);
/* An HSA answer cached (gw_store_hsa_put_async) by run on conn: added, or
 * the one before it replaced. */
gw_rc gw_write_hsa_put(gw_sql_run run, void *conn,
                       const struct gw_hsa_entry *e);

#endif
