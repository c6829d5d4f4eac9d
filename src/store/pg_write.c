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
 * write_apply.c's, shared with writer.c; here are PostgreSQL's statements
 * for it (pg_ops) and the batch around it.
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

/* The head of the chain as this batch sees it (locked). */
struct head {
    long long seq;
    char hash[GW_AUDIT_HASH_HEX];
};

/* An audit record waiting for the end of its batch; the strings are
 * borrowed from the request (or the async entry) until the batch ends. */
struct pending_audit {
    struct gw_audit_entry e;
    int64_t at_ms;
};

struct batch {
    PGconn *c;
    struct head head;
    long long enqueued; /* outbox rows put in: only then wake workers */
    struct pending_audit *audit;
    size_t naudit, cap;
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

/* Appends one record after the head b holds locked. */
static gw_rc
audit_write(struct batch *b, const struct gw_audit_entry *e, int64_t now_ms)
{
    struct gw_audit_record r;
    struct gw_pg_params p = {0};
    gw_rc rc;

    gw_write_audit_record(&r, b->head.seq + 1, b->head.hash, e, now_ms);
    if ((rc = gw_audit_hash(&r, r.hash)) != GW_OK)
        return rc;
    gw_pg_p_i64(&p, r.seq);
    gw_pg_p_i64(&p, r.at_ms);
    gw_pg_p_str(&p, r.e.system);
    gw_pg_p_str(&p, r.e.user);
    gw_pg_p_str(&p, r.e.action);
    gw_pg_p_str(&p, r.e.refnr);
    gw_pg_p_str(&p, r.e.outcome);
    gw_pg_p_str(&p, r.e.detail);
    gw_pg_p_str(&p, r.prev_hash);
    gw_pg_p_str(&p, r.hash);
    rc = gw_pg_q(b->c,
                 "INSERT INTO audit (seq, at_ms, system, user_id, action, "
                 "refnr, outcome, detail, prev_hash, hash) VALUES "
                 "($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
                 &p, NULL, "audit_insert");
    if (rc == GW_OK) {
        b->head.seq = r.seq;
        memcpy(b->head.hash, r.hash, sizeof(b->head.hash));
    }
    return rc;
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

static gw_rc
head_store(struct batch *b)
{
    struct gw_pg_params p = {0};

    gw_pg_p_i64(&p, b->head.seq);
    gw_pg_p_str(&p, b->head.hash);
    return gw_pg_q(b->c, "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1",
                   &p, NULL, "audit_head");
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
        rc = audit_write(&b, e, now_ms);
    if (rc == GW_OK)
        rc = head_store(&b);
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
        rc = audit_write(b, &b->audit[i].e, b->audit[i].at_ms);
    if (rc == GW_OK)
        rc = head_store(b);
    return rc;
}

/* The rows a write reads (write_apply.h), by one key; the case row
 * locked until commit: a change or a dispensing on another node waits,
 * then sees this one's status, version and amounts. */
static const struct {
    const char *sql, *what;
} rows[] = {
    [GW_WRITE_ROW_INBOX] = {"SELECT " GW_INBOX_COLUMNS " FROM inbox WHERE "
                            "message_id = $1",
                            "inbox_get"},
    [GW_WRITE_ROW_CASE] = {"SELECT " GW_WRITE_CASE_COLUMNS " FROM cases "
                           "WHERE refnr = $1 FOR UPDATE",
                           "case_current"},
    [GW_WRITE_ROW_DISPENSE] = {"SELECT " GW_WRITE_DISPENSE_COLUMNS " FROM "
                               "cases c LEFT JOIN licences l ON l.case_id = "
                               "c.id WHERE c.refnr = $1 FOR UPDATE OF c",
                               "dispense_check"},
};

static gw_rc
read_row(void *cx, enum gw_write_row which, const char *key,
         gw_cells_fill fill, void *elem)
{
    struct gw_pg_params p = {0};
    PGresult *r;
    gw_rc rc;

    gw_pg_p_str(&p, key);
    rc = gw_pg_q(((struct batch *)cx)->c, rows[which].sql, &p, &r,
                 rows[which].what);
    return gw_pg_one_result(rc, r, fill, elem);
}

/* ON CONFLICT DO NOTHING: no row back when the number is taken. */
static gw_rc
case_insert(void *cx, const struct gw_store_write *w, const char *refnr,
            long long *case_id, int64_t now)
{
    const struct gw_case_row *r = &w->row;
    struct gw_pg_params p = {0};
    PGresult *pr;
    gw_rc rc;

    *case_id = 0;
    gw_pg_p_str(&p, refnr);
    gw_pg_p_str(&p, r->status);
    gw_pg_p_str(&p, r->licence_type);
    gw_pg_p_i64(&p, r->beredskap);
    gw_pg_p_str(&p, r->prescriber_hsa);
    gw_pg_p_str(&p, r->hospital_hsa);
    gw_pg_p_str(&p, r->hospital_name);
    gw_pg_p_str(&p, r->clinic_hsa);
    gw_pg_p_str(&p, r->clinic_name);
    gw_pg_p_str(&p, r->pharmacy_gln);
    gw_pg_p_str(&p, r->drug_name);
    gw_pg_p_str(&p, r->substances);
    gw_pg_p_str(&p, r->patient_id);
    gw_pg_p_str(&p, r->parent_refnr);
    gw_pg_p_i64(&p, now);
    if (w->effects & GW_STORE_FX_APPLIED)
        gw_pg_p_i64(&p, now);
    else
        gw_pg_p_str(&p, NULL);
    rc = gw_pg_q(((struct batch *)cx)->c,
                 "INSERT INTO cases (refnr, status, licence_type, "
                 "beredskap, prescriber_hsa, hospital_hsa, "
                 "hospital_name, clinic_hsa, clinic_name, pharmacy_gln, "
                 "drug_name, substances, patient_id, parent_refnr, "
                 "version, created_ms, updated_ms, applied_ms) VALUES "
                 "($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,1,$15,"
                 "$15,$16) ON CONFLICT (refnr) DO NOTHING RETURNING id",
                 &p, &pr, "case_insert");
    if (rc == GW_OK && PQntuples(pr) == 1)
        *case_id = gw_pg_i64(pr, 0, 0);
    PQclear(pr);
    return rc;
}

static gw_rc
case_update(void *cx, const struct gw_store_write *w, long long case_id,
            int64_t now)
{
    const struct gw_case_row *r = &w->row;
    struct gw_pg_params p = {0};

    gw_pg_p_str(&p, r->status);
    gw_pg_p_str(&p, r->pharmacy_gln);
    gw_pg_p_str(&p, r->drug_name);
    gw_pg_p_str(&p, r->substances);
    gw_pg_p_i64(&p, now);
    gw_pg_p_i64(&p, case_id);
    gw_pg_p_i64(&p, (w->effects & GW_STORE_FX_APPLIED) != 0);
    gw_pg_p_i64(&p, (w->effects & GW_STORE_FX_DECIDED) != 0);
    return gw_pg_q(((struct batch *)cx)->c,
                   "UPDATE cases SET status = coalesce($1, status), "
                   "pharmacy_gln = coalesce($2, pharmacy_gln), drug_name = "
                   "coalesce($3, drug_name), substances = coalesce($4, "
                   "substances), version = version + 1, updated_ms = $5, "
                   "applied_ms = CASE WHEN $7::int <> 0 THEN $5 ELSE "
                   "applied_ms END, decided_ms = CASE WHEN $8::int <> 0 "
                   "THEN $5 ELSE decided_ms END WHERE id = $6",
                   &p, NULL, "case_update");
}

static gw_rc
history(void *cx, long long case_id, const char *from, const char *to,
        const struct gw_store_write *w, int64_t now)
{
    struct gw_pg_params p = {0};

    gw_pg_p_i64(&p, case_id);
    gw_pg_p_str(&p, from);
    gw_pg_p_str(&p, to);
    gw_pg_p_str(&p, w->event ? w->event : "change");
    gw_pg_p_str(&p, w->actor ? w->actor : (w->sender ? w->sender : "?"));
    gw_pg_p_i64(&p, now);
    return gw_pg_q(((struct batch *)cx)->c,
                   "INSERT INTO status_history (case_id, from_status, "
                   "to_status, event, actor, at_ms) VALUES ($1,$2,$3,$4,$5,$6)",
                   &p, NULL, "history");
}

static gw_rc
dispense_insert(void *cx, const struct gw_dispense *d, long long case_id,
                int64_t now)
{
    struct gw_pg_params p = {0};

    gw_pg_p_i64(&p, case_id);
    gw_pg_p_str(&p, d->gln);
    gw_pg_p_f64(&p, d->amount);
    gw_pg_p_str(&p, d->dispensed_on);
    gw_pg_p_str(&p, d->kind);
    gw_pg_p_i64(&p, now);
    return gw_pg_q(((struct batch *)cx)->c,
                   "INSERT INTO dispensings (case_id, gln, amount, "
                   "dispensed_on, kind, at_ms) VALUES ($1,$2,$3,$4,$5,$6)",
                   &p, NULL, "dispense");
}

static gw_rc
pharmacy_upsert(PGconn *c, const struct gw_pharmacy *ph)
{
    struct gw_pg_params p = {0};

    gw_pg_p_str(&p, ph->gln);
    gw_pg_p_str(&p, ph->name);
    gw_pg_p_str(&p, ph->actor[0] ? ph->actor : NULL);
    gw_pg_p_str(&p, ph->address[0] ? ph->address : NULL);
    gw_pg_p_str(&p, ph->city[0] ? ph->city : NULL);
    return gw_pg_q(c,
                   "INSERT INTO pharmacies (gln, name, actor, address, city, "
                   "connected) VALUES ($1,$2,$3,$4,$5,1) ON CONFLICT (gln) DO "
                   "UPDATE SET name = excluded.name, actor = "
                   "coalesce(excluded.actor, pharmacies.actor), address = "
                   "coalesce(excluded.address, pharmacies.address), city = "
                   "coalesce(excluded.city, pharmacies.city), connected = 1",
                   &p, NULL, "pharmacy_upsert");
}

gw_rc
gw_pg_pharmacy_upsert(PGconn *c, const struct gw_pharmacy *ph)
{
    return pharmacy_upsert(c, ph);
}

/* What a case change implies beside the case row. */
static gw_rc
extras(void *cx, const struct gw_store_write *w, long long case_id,
             int64_t now)
{
    PGconn *c = ((struct batch *)cx)->c;
    const struct gw_licence_info *l = w->licence;
    struct gw_pg_params p = {0};
    gw_rc rc;

    if (case_id == 0 || w->op == GW_STORE_OP_DISPENSE)
        return GW_OK;
    if (w->op == GW_STORE_OP_CREATE && w->row.parent_refnr != NULL) {
        gw_pg_p_i64(&p, case_id);
        gw_pg_p_str(&p, w->row.parent_refnr);
        rc = gw_pg_q(c,
                     "INSERT INTO licences (case_id, nplid, product_name, "
                     "substances, form, strength, holder, country, atc, "
                     "general_level, total_amount, amount_unit) SELECT $1, "
                     "l.nplid, l.product_name, l.substances, l.form, "
                     "l.strength, l.holder, l.country, l.atc, "
                     "l.general_level, l.total_amount, l.amount_unit FROM "
                     "licences l JOIN cases c ON c.id = l.case_id WHERE "
                     "c.refnr = $2",
                     &p, NULL, "licence_copy");
        if (rc != GW_OK)
            return rc;
    } else if (w->op == GW_STORE_OP_CREATE && l != NULL) {
        gw_pg_p_i64(&p, case_id);
        gw_pg_p_str(&p, l->nplid);
        gw_pg_p_str(&p, l->product_name);
        gw_pg_p_str(&p, l->substances);
        gw_pg_p_str(&p, l->form);
        gw_pg_p_str(&p, l->strength);
        gw_pg_p_str(&p, l->holder);
        gw_pg_p_str(&p, l->country);
        gw_pg_p_str(&p, l->atc);
        gw_pg_p_str(&p, l->general_level);
        if (l->total_amount > 0)
            gw_pg_p_f64(&p, l->total_amount);
        else
            gw_pg_p_str(&p, NULL);
        gw_pg_p_str(&p, l->amount_unit);
        rc = gw_pg_q(c,
                     "INSERT INTO licences (case_id, nplid, product_name, "
                     "substances, form, strength, holder, country, atc, "
                     "general_level, total_amount, amount_unit) VALUES "
                     "($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)",
                     &p, NULL, "licence");
        if (rc != GW_OK)
            return rc;
    } else if (w->op == GW_STORE_OP_UPDATE && l != NULL && l->valid_from) {
        gw_pg_p_i64(&p, case_id);
        gw_pg_p_str(&p, l->valid_from);
        gw_pg_p_str(&p, l->valid_to);
        rc = gw_pg_q(c,
                     "UPDATE licences SET valid_from = $2, valid_to = $3 "
                     "WHERE case_id = $1",
                     &p, NULL, "licence_validity");
        if (rc != GW_OK)
            return rc;
    }
    if (w->effects & GW_STORE_FX_PRODUCT) {
        memset(&p, 0, sizeof(p));
        gw_pg_p_i64(&p, case_id);
        gw_pg_p_i64(&p, now);
        rc = gw_pg_q(c,
                     "INSERT INTO products (name, substances, holder, "
                     "country, nplid, form, strength, atc, first_seen_ms) "
                     "SELECT coalesce(product_name, '?'), substances, "
                     "holder, country, nplid, form, strength, atc, $2 FROM "
                     "licences WHERE case_id = $1 ON CONFLICT DO NOTHING",
                     &p, NULL, "product");
        if (rc != GW_OK)
            return rc;
    }
    if (w->pharmacy != NULL && (rc = pharmacy_upsert(c, w->pharmacy)) != GW_OK)
        return rc;
    memset(&p, 0, sizeof(p));
    if (w->op == GW_STORE_OP_CREATE && w->row.parent_refnr == NULL &&
        w->row.prescriber_hsa != NULL) {
        gw_pg_p_str(&p, w->row.prescriber_hsa);
        gw_pg_p_i64(&p, now);
        return gw_pg_q(c,
                       "INSERT INTO prescribers (hsa, consented_ms, "
                       "last_active_ms) VALUES ($1, $2, $2) ON CONFLICT "
                       "(hsa) DO UPDATE SET last_active_ms = $2, "
                       "consented_ms = coalesce(prescribers.consented_ms, $2)",
                       &p, NULL, "prescriber");
    }
    gw_pg_p_i64(&p, case_id);
    gw_pg_p_i64(&p, now);
    gw_pg_p_i64(&p, (w->effects & GW_STORE_FX_APPLIED) != 0);
    return gw_pg_q(c,
                   "UPDATE prescribers SET last_active_ms = $2, "
                   "last_applied_ms = CASE WHEN $3::int <> 0 THEN $2 ELSE "
                   "last_applied_ms END WHERE hsa = (SELECT prescriber_hsa "
                   "FROM cases WHERE id = $1)",
                   &p, NULL, "prescriber_active");
}

static gw_rc
document(void *cx, const struct gw_store_write *w, long long case_id,
         long version, int64_t now)
{
    struct gw_pg_params p = {0};

    gw_pg_p_i64(&p, case_id);
    gw_pg_p_i64(&p, version);
    gw_pg_p_str(&p, w->doc_kind ? w->doc_kind : "message");
    gw_pg_p_bin(&p, w->doc_xml, w->doc_len);
    gw_pg_p_i64(&p, now);
    return gw_pg_q(((struct batch *)cx)->c,
                   "INSERT INTO documents (case_id, version, kind, xml, "
                   "created_ms) VALUES ($1,$2,$3,$4,$5)",
                   &p, NULL, "document");
}

static gw_rc
attachment(void *cx, const struct gw_store_attachment *a, long long case_id,
           long version)
{
    struct gw_pg_params p = {0};

    gw_pg_p_i64(&p, case_id);
    gw_pg_p_i64(&p, version);
    gw_pg_p_str(&p, a->description);
    gw_pg_p_str(&p, a->content_type);
    gw_pg_p_i64(&p, a->hidden != 0);
    gw_pg_p_i64(&p, (long long)a->size);
    gw_pg_p_bin(&p, a->data, a->size);
    return gw_pg_q(((struct batch *)cx)->c,
                   "INSERT INTO attachments (case_id, doc_version, "
                   "description, content_type, hidden, size, data) VALUES "
                   "($1,$2,$3,$4,$5,$6,$7)",
                   &p, NULL, "attachment");
}

static gw_rc
fanout(void *cx, const char *gln, struct gw_write_sub_id **ids, size_t *n)
{
    struct gw_pg_params p = {0};
    void *got = NULL;
    PGresult *r;
    gw_rc rc;

    *ids = NULL;
    *n = 0;
    gw_pg_p_str(&p, gln);
    rc = gw_pg_q(((struct batch *)cx)->c,
                 "SELECT id FROM subscriptions WHERE gln = $1 "
                 "ORDER BY created_ms, id",
                 &p, &r, "fanout_subs");
    if (rc == GW_OK)
        rc = gw_pg_collect_result(r, sizeof(**ids), gw_rows_sub_id, NULL,
                                  &got, n);
    PQclear(r);
    *ids = got;
    return rc;
}

/* One outbox row, counted: workers are woken only for a batch that put
 * one in. */
static gw_rc
enqueue(void *cx, const struct gw_store_outbox_new *o, const char *message_id,
        const char *target, const char *refnr, int64_t now)
{
    struct batch *b = cx;
    struct gw_pg_params p = {0};
    gw_rc rc;

    gw_pg_p_str(&p, message_id);
    gw_pg_p_str(&p, o->peer);
    gw_pg_p_str(&p, o->kind);
    gw_pg_p_str(&p, refnr[0] ? refnr : NULL);
    gw_pg_p_bin(&p, o->payload, o->payload_len);
    gw_pg_p_i64(&p, now);
    gw_pg_p_str(&p, target);
    rc = gw_pg_q(b->c,
                 "INSERT INTO outbox (message_id, peer, kind, refnr, "
                 "payload, state, attempts, next_attempt_ms, created_ms, "
                 "updated_ms, target) VALUES ($1,$2,$3,$4,$5,'pending',0,"
                 "$6,$6,$6,$7)",
                 &p, NULL, "outbox");
    b->enqueued += rc == GW_OK;
    return rc;
}

static gw_rc
audit(void *cx, const struct gw_audit_entry *e, int64_t now)
{
    return audit_put(cx, e, now);
}

static gw_rc
inbox_put(void *cx, const struct gw_store_write *w,
          const struct gw_store_result *res, const struct gw_buf *resp,
          int64_t now)
{
    struct gw_pg_params p = {0};

    gw_pg_p_str(&p, w->message_id);
    gw_pg_p_str(&p, w->sender ? w->sender : "?");
    gw_pg_p_str(&p, w->content_hash ? w->content_hash : "");
    gw_pg_p_str(&p, res->refnr[0] ? res->refnr : NULL);
    gw_pg_p_i64(&p, res->version);
    gw_pg_p_i64(&p, w->response_status);
    gw_pg_p_bin(&p, resp->data, resp->len);
    gw_pg_p_i64(&p, now);
    return gw_pg_q(((struct batch *)cx)->c,
                   "INSERT INTO inbox (message_id, sender, content_hash, "
                   "refnr, version, response_status, response, "
                   "received_ms) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
                   &p, NULL, "inbox_put");
}

static const struct gw_write_ops pg_ops = GW_WRITE_OPS_TABLE;

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
    size_t before = b->naudit;
    long long enq = b->enqueued;
    gw_rc rc;

    for (int attempt = 0; attempt < 2; attempt++) {
        rc = gw_pg_q(b->c, "SAVEPOINT req", NULL, NULL, "savepoint");
        if (rc != GW_OK) {
            r->res->rc = rc;
            return;
        }
        rc = r->res->rc = gw_write_apply(&pg_ops, b, r->w, r->res);
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
            if (b->enqueued > enq)
                *outbox = 1;
            return;
        }
        (void)gw_pg_sync(b->c);
        (void)gw_pg_q(b->c, "ROLLBACK TO req", NULL, NULL, "rollback_to");
        (void)gw_pg_sync(b->c);
        b->naudit = before;
        b->enqueued = enq;
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
            if (audit_put(&b, &r->audit, gw_clock_now_ms()) != GW_OK)
                gw_log_err("event=audit_append_failed");
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
        rc = audit_flush(&b);
    if (rc == GW_OK && outbox)
        rc = gw_pg_q(b.c, "NOTIFY " GW_PG_CHANNEL, NULL, NULL, "notify");
    /* Acknowledged only once COMMIT's answer is read: the sync. */
    if (rc == GW_OK)
        rc = gw_pg_q(b.c, "COMMIT", NULL, NULL, "commit");
    if (rc == GW_OK)
        rc = gw_pg_sync(b.c);
    free(b.audit);
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
    pthread_mutex_lock(&s->mu);
    if (rc != GW_OK)
        s->commit_rc = rc;
    else if (writes)
        s->commit_rc = GW_OK;
    gw_write_record_batch(&s->stats, n);
    if (outbox && rc == GW_OK) {
        s->outbox_generation++;
        pthread_cond_broadcast(&s->outbox_cv);
    }
    pthread_mutex_unlock(&s->mu);
    gw_wq_answer(batch);
}

void *
gw_pg_writer_main(void *arg)
{
    struct gw_pg_writer *wr = arg;
    struct gw_wreq *batch;
    int n;

    while ((batch = gw_wq_take(&wr->s->wq, &n)) != NULL)
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
    return gw_wq_write(&PG(st)->wq, w, res, PG_UNAVAILABLE);
}

gw_rc
gw_pg_write_async(struct gw_store *st, const struct gw_store_write *w,
                  struct gw_store_result *res, gw_store_done_fn done,
                  void *arg)
{
    return gw_wq_write_async(&PG(st)->wq, w, res, PG_UNAVAILABLE, done, arg);
}

gw_rc
gw_pg_audit_async(struct gw_store *st, const struct gw_audit_entry *e)
{
    return gw_wq_audit(&PG(st)->wq, e);
}
