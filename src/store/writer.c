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
 * write_apply.c's, shared with pg_write.c; here are SQLite's statements
 * for it (sqlite_ops) and the batch around it.
 */
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

static const char SQL_INBOX_PUT[] =
    "INSERT INTO inbox (message_id, sender, content_hash, refnr, version, "
    "response_status, response, received_ms) VALUES (?,?,?,?,?,?,?,?)";
static const char SQL_CASE_INSERT[] =
    "INSERT INTO cases (refnr, status, licence_type, beredskap, "
    "prescriber_hsa, hospital_hsa, hospital_name, clinic_hsa, clinic_name, "
    "pharmacy_gln, drug_name, substances, patient_id, parent_refnr, version, "
    "created_ms, updated_ms, applied_ms, decided_ms) "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,1,?,?,?,?) "
    "ON CONFLICT (refnr) DO NOTHING";
static const char SQL_CASE_CURRENT[] =
    "SELECT " GW_WRITE_CASE_COLUMNS " FROM cases WHERE refnr = ?";
static const char SQL_CASE_UPDATE[] =
    "UPDATE cases SET status = coalesce(?1, status),"
    " pharmacy_gln = coalesce(?2, pharmacy_gln),"
    " drug_name = coalesce(?3, drug_name),"
    " substances = coalesce(?4, substances),"
    " version = version + 1, updated_ms = ?5,"
    " applied_ms = CASE WHEN ?7 THEN ?5 ELSE applied_ms END,"
    " decided_ms = CASE WHEN ?8 THEN ?5 ELSE decided_ms END "
    "WHERE id = ?6";
static const char SQL_LICENCE_INSERT[] =
    "INSERT INTO licences (case_id, nplid, product_name, substances, form, "
    "strength, holder, country, atc, general_level, total_amount, "
    "amount_unit) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)";
static const char SQL_LICENCE_COPY[] =
    "INSERT INTO licences (case_id, nplid, product_name, substances, form, "
    "strength, holder, country, atc, general_level, total_amount, "
    "amount_unit) SELECT ?1, l.nplid, l.product_name, l.substances, l.form, "
    "l.strength, l.holder, l.country, l.atc, l.general_level, "
    "l.total_amount, l.amount_unit FROM licences l JOIN cases c ON "
    "c.id = l.case_id WHERE c.refnr = ?2";
static const char SQL_LICENCE_VALIDITY[] =
    "UPDATE licences SET valid_from = ?2, valid_to = ?3 WHERE case_id = ?1";
/* A granted product becomes searchable (Sök produkt). */
static const char SQL_PRODUCT_ADD[] =
    "INSERT OR IGNORE INTO products (name, substances, holder, country, "
    "nplid, form, strength, atc, first_seen_ms) SELECT coalesce("
    "product_name, '?'), substances, holder, country, nplid, form, strength, "
    "atc, ?2 FROM licences WHERE case_id = ?1";
static const char SQL_PRESCRIBER_SUBMIT[] =
    "INSERT INTO prescribers (hsa, consented_ms, last_active_ms) VALUES "
    "(?1, ?2, ?2) ON CONFLICT (hsa) DO UPDATE SET last_active_ms = ?2, "
    "consented_ms = coalesce(consented_ms, ?2)";
static const char SQL_PRESCRIBER_ACTIVE[] =
    "UPDATE prescribers SET last_active_ms = ?2, last_applied_ms = CASE WHEN "
    "?3 THEN ?2 ELSE last_applied_ms END WHERE hsa = (SELECT "
    "prescriber_hsa FROM cases WHERE id = ?1)";
/* The pharmacy as it names itself in its application (Sök apotek). */
static const char SQL_DISPENSE_CHECK[] =
    "SELECT " GW_WRITE_DISPENSE_COLUMNS " FROM cases c LEFT JOIN licences l "
    "ON l.case_id = c.id WHERE c.refnr = ?";
static const char SQL_DISPENSE_INSERT[] =
    "INSERT INTO dispensings (case_id, gln, amount, dispensed_on, kind, "
    "at_ms) VALUES (?,?,?,?,?,?)";
static const char SQL_HISTORY[] =
    "INSERT INTO status_history (case_id, from_status, to_status, event, "
    "actor, at_ms) VALUES (?,?,?,?,?,?)";
static const char SQL_DOC[] =
    "INSERT INTO documents (case_id, version, kind, xml, created_ms) "
    "VALUES (?,?,?,?,?)";
static const char SQL_ATTACH[] =
    "INSERT INTO attachments (case_id, doc_version, description, "
    "content_type, hidden, size, data) VALUES (?,?,?,?,?,?,?)";
static const char SQL_OUTBOX[] =
    "INSERT INTO outbox (message_id, peer, kind, refnr, payload, state, "
    "attempts, next_attempt_ms, created_ms, updated_ms, target) "
    "VALUES (?,?,?,?,?,'pending',0,?,?,?,?)";
static const char SQL_FANOUT_SUBS[] =
    "SELECT id FROM subscriptions WHERE gln = ? ORDER BY created_ms, id";
static const char SQL_HEAD_GET[] = "SELECT seq, hash FROM audit_head";
static const char SQL_HEAD_SET[] =
    "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1";
static const char SQL_AUDIT_PUT[] =
    "INSERT INTO audit (seq, at_ms, system, user_id, action, refnr, outcome, "
    "detail, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?)";

/* The writer binds text that stays put until its statement has run: the
 * request's own fields, or locals of the function that steps it. SQLite
 * need not copy it then; each copy (SQLITE_TRANSIENT) was a malloc under
 * SQLite's global memory lock, ~35 a request. gw_store_stmt clears the
 * bindings before a statement's next use. */
static int
bind_text(sqlite3_stmt *s, int i, const char *v)
{
    return v ? sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC)
             : sqlite3_bind_null(s, i);
}

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
    int64_t seq;
    char hash[GW_AUDIT_HASH_HEX];
};

/* The write's context for sqlite_ops: the writer's connection and the
 * chain head of its batch. */
struct wctx {
    struct conn *c;
    struct chain head;
};

#define CONN(cx) (((struct wctx *)(cx))->c)

/* One record after h's head: a single INSERT, so it is there whole or
 * not at all; the head moves only when it is there. */
static gw_rc
chain_append(struct conn *c, struct chain *h, const struct gw_audit_entry *e,
             int64_t now_ms)
{
    struct gw_audit_record r;
    sqlite3_stmt *s;
    gw_rc rc;

    if (!h->loaded) {
        s = gw_store_stmt(c, SQL_HEAD_GET);
        if (s == NULL || sqlite3_step(s) != SQLITE_ROW) {
            if (s != NULL)
                sqlite3_reset(s);
            return GW_ESTORE;
        }
        h->seq = sqlite3_column_int64(s, 0);
        snprintf(h->hash, sizeof(h->hash), "%s",
                 (const char *)sqlite3_column_text(s, 1));
        sqlite3_reset(s);
        h->loaded = 1;
    }
    gw_write_audit_record(&r, h->seq + 1, h->hash, e, now_ms);
    rc = gw_audit_hash(&r, r.hash);
    if (rc != GW_OK)
        return rc;
    s = gw_store_stmt(c, SQL_AUDIT_PUT);
    if (s == NULL)
        return GW_ESTORE;
    sqlite3_bind_int64(s, 1, r.seq);
    sqlite3_bind_int64(s, 2, r.at_ms);
    bind_text(s, 3, r.e.system);
    bind_text(s, 4, r.e.user);
    bind_text(s, 5, r.e.action);
    bind_text(s, 6, r.e.refnr);
    bind_text(s, 7, r.e.outcome);
    bind_text(s, 8, r.e.detail);
    bind_text(s, 9, r.prev_hash);
    bind_text(s, 10, r.hash);
    rc = STEP_DONE(c, s, "audit_insert");
    if (rc != GW_OK)
        return rc;
    h->seq = r.seq;
    memcpy(h->hash, r.hash, sizeof(h->hash));
    h->moved = 1;
    return GW_OK;
}

/* The head row where h's records left it. */
static gw_rc
chain_store(struct conn *c, const struct chain *h)
{
    sqlite3_stmt *s;

    if (!h->moved)
        return GW_OK;
    s = gw_store_stmt(c, SQL_HEAD_SET);
    if (s == NULL)
        return GW_ESTORE;
    sqlite3_bind_int64(s, 1, h->seq);
    bind_text(s, 2, h->hash);
    return STEP_DONE(c, s, "audit_head");
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

/* The rows a write reads (write_apply.h), by one key. */
static const struct {
    const char *sql, *what;
} rows[] = {
    [GW_WRITE_ROW_INBOX] = {gw_store_sql_inbox_get, "inbox_get"},
    [GW_WRITE_ROW_CASE] = {SQL_CASE_CURRENT, "case_current"},
    [GW_WRITE_ROW_DISPENSE] = {SQL_DISPENSE_CHECK, "dispense_check"},
};

static gw_rc
read_row(void *cx, enum gw_write_row which, const char *key,
         gw_cells_fill fill, void *elem)
{
    struct conn *c = CONN(cx);
    sqlite3_stmt *s = gw_store_stmt(c, rows[which].sql);
    gw_rc rc;

    if (s == NULL)
        return GW_ESTORE;
    bind_text(s, 1, key);
    rc = gw_store_one_cells(c, s, fill, elem, rows[which].what);
    sqlite3_reset(s);
    return rc;
}

static gw_rc
history(void *cx, long long case_id, const char *from, const char *to,
        const struct gw_store_write *w, int64_t now)
{
    struct conn *c = CONN(cx);
    sqlite3_stmt *s = gw_store_stmt(c, SQL_HISTORY);

    if (s == NULL)
        return GW_ESTORE;
    sqlite3_bind_int64(s, 1, case_id);
    bind_text(s, 2, from);
    bind_text(s, 3, to);
    bind_text(s, 4, w->event ? w->event : "change");
    bind_text(s, 5, w->actor ? w->actor : (w->sender ? w->sender : "?"));
    sqlite3_bind_int64(s, 6, now);
    return STEP_DONE(c, s, "history");
}

static gw_rc
dispense_insert(void *cx, const struct gw_dispense *d, long long case_id,
                int64_t now)
{
    struct conn *c = CONN(cx);
    sqlite3_stmt *s = gw_store_stmt(c, SQL_DISPENSE_INSERT);

    if (s == NULL)
        return GW_ESTORE;
    sqlite3_bind_int64(s, 1, case_id);
    bind_text(s, 2, d->gln);
    sqlite3_bind_double(s, 3, d->amount);
    bind_text(s, 4, d->dispensed_on);
    bind_text(s, 5, d->kind);
    sqlite3_bind_int64(s, 6, now);
    return STEP_DONE(c, s, "dispense");
}

/* What a case change implies beside the case row: the licence, the
 * product registry, the prescriber's consent clock. */
static gw_rc
extras(void *cx, const struct gw_store_write *w, long long case_id,
             int64_t now)
{
    struct conn *c = CONN(cx);
    const struct gw_licence_info *l = w->licence;
    sqlite3_stmt *s;
    gw_rc rc;

    if (case_id == 0 || w->op == GW_STORE_OP_DISPENSE)
        return GW_OK;
    if (w->op == GW_STORE_OP_CREATE && w->row.parent_refnr != NULL) {
        if ((s = gw_store_stmt(c, SQL_LICENCE_COPY)) == NULL)
            return GW_ESTORE;
        sqlite3_bind_int64(s, 1, case_id);
        bind_text(s, 2, w->row.parent_refnr);
        if ((rc = STEP_DONE(c, s, "licence_copy")) != GW_OK)
            return rc;
    } else if (w->op == GW_STORE_OP_CREATE && l != NULL) {
        if ((s = gw_store_stmt(c, SQL_LICENCE_INSERT)) == NULL)
            return GW_ESTORE;
        sqlite3_bind_int64(s, 1, case_id);
        bind_text(s, 2, l->nplid);
        bind_text(s, 3, l->product_name);
        bind_text(s, 4, l->substances);
        bind_text(s, 5, l->form);
        bind_text(s, 6, l->strength);
        bind_text(s, 7, l->holder);
        bind_text(s, 8, l->country);
        bind_text(s, 9, l->atc);
        bind_text(s, 10, l->general_level);
        if (l->total_amount > 0)
            sqlite3_bind_double(s, 11, l->total_amount);
        bind_text(s, 12, l->amount_unit);
        if ((rc = STEP_DONE(c, s, "licence")) != GW_OK)
            return rc;
    } else if (w->op == GW_STORE_OP_UPDATE && l != NULL && l->valid_from) {
        if ((s = gw_store_stmt(c, SQL_LICENCE_VALIDITY)) == NULL)
            return GW_ESTORE;
        sqlite3_bind_int64(s, 1, case_id);
        bind_text(s, 2, l->valid_from);
        bind_text(s, 3, l->valid_to);
        if ((rc = STEP_DONE(c, s, "licence_validity")) != GW_OK)
            return rc;
    }
    if (w->effects & GW_STORE_FX_PRODUCT) {
        if ((s = gw_store_stmt(c, SQL_PRODUCT_ADD)) == NULL)
            return GW_ESTORE;
        sqlite3_bind_int64(s, 1, case_id);
        sqlite3_bind_int64(s, 2, now);
        if ((rc = STEP_DONE(c, s, "product")) != GW_OK)
            return rc;
    }
    if (w->pharmacy != NULL &&
        (rc = gw_store_pharmacy_upsert(c, w->pharmacy)) != GW_OK)
        return rc;
    if (w->op == GW_STORE_OP_CREATE && w->row.parent_refnr == NULL &&
        w->row.prescriber_hsa != NULL) {
        if ((s = gw_store_stmt(c, SQL_PRESCRIBER_SUBMIT)) == NULL)
            return GW_ESTORE;
        bind_text(s, 1, w->row.prescriber_hsa);
        sqlite3_bind_int64(s, 2, now);
        return STEP_DONE(c, s, "prescriber");
    }
    if ((s = gw_store_stmt(c, SQL_PRESCRIBER_ACTIVE)) == NULL)
        return GW_ESTORE;
    sqlite3_bind_int64(s, 1, case_id);
    sqlite3_bind_int64(s, 2, now);
    sqlite3_bind_int(s, 3, (w->effects & GW_STORE_FX_APPLIED) != 0);
    return STEP_DONE(c, s, "prescriber_active");
}

static gw_rc
case_insert(void *cx, const struct gw_store_write *w, const char *refnr,
            long long *case_id, int64_t now)
{
    const struct gw_case_row *r = &w->row;
    struct conn *c = CONN(cx);
    sqlite3_stmt *s = gw_store_stmt(c, SQL_CASE_INSERT);
    gw_rc rc;

    *case_id = 0;
    if (s == NULL)
        return GW_ESTORE;
    bind_text(s, 1, refnr);
    bind_text(s, 2, r->status);
    bind_text(s, 3, r->licence_type);
    sqlite3_bind_int(s, 4, r->beredskap);
    bind_text(s, 5, r->prescriber_hsa);
    bind_text(s, 6, r->hospital_hsa);
    bind_text(s, 7, r->hospital_name);
    bind_text(s, 8, r->clinic_hsa);
    bind_text(s, 9, r->clinic_name);
    bind_text(s, 10, r->pharmacy_gln);
    bind_text(s, 11, r->drug_name);
    bind_text(s, 12, r->substances);
    bind_text(s, 13, r->patient_id);
    bind_text(s, 14, r->parent_refnr);
    sqlite3_bind_int64(s, 15, now);
    sqlite3_bind_int64(s, 16, now);
    if (w->effects & GW_STORE_FX_APPLIED)
        sqlite3_bind_int64(s, 17, now);
    else
        sqlite3_bind_null(s, 17);
    sqlite3_bind_null(s, 18);
    rc = STEP_DONE(c, s, "case_insert");
    if (rc == GW_OK && sqlite3_changes(c->db) == 1)
        *case_id = sqlite3_last_insert_rowid(c->db);
    return rc;
}

static gw_rc
case_update(void *cx, const struct gw_store_write *w, long long case_id,
            int64_t now)
{
    const struct gw_case_row *r = &w->row;
    struct conn *c = CONN(cx);
    sqlite3_stmt *s = gw_store_stmt(c, SQL_CASE_UPDATE);

    if (s == NULL)
        return GW_ESTORE;
    bind_text(s, 1, r->status);
    bind_text(s, 2, r->pharmacy_gln);
    bind_text(s, 3, r->drug_name);
    bind_text(s, 4, r->substances);
    sqlite3_bind_int64(s, 5, now);
    sqlite3_bind_int64(s, 6, case_id);
    sqlite3_bind_int(s, 7, (w->effects & GW_STORE_FX_APPLIED) != 0);
    sqlite3_bind_int(s, 8, (w->effects & GW_STORE_FX_DECIDED) != 0);
    return STEP_DONE(c, s, "case_update");
}

static gw_rc
document(void *cx, const struct gw_store_write *w, long long case_id,
         long version, int64_t now)
{
    struct conn *c = CONN(cx);
    sqlite3_stmt *s = gw_store_stmt(c, SQL_DOC);

    if (s == NULL)
        return GW_ESTORE;
    sqlite3_bind_int64(s, 1, case_id);
    sqlite3_bind_int64(s, 2, version);
    bind_text(s, 3, w->doc_kind ? w->doc_kind : "message");
    sqlite3_bind_blob(s, 4, w->doc_xml, (int)w->doc_len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, now);
    return STEP_DONE(c, s, "document");
}

static gw_rc
attachment(void *cx, const struct gw_store_attachment *a, long long case_id,
           long version)
{
    struct conn *c = CONN(cx);
    sqlite3_stmt *s = gw_store_stmt(c, SQL_ATTACH);

    if (s == NULL)
        return GW_ESTORE;
    sqlite3_bind_int64(s, 1, case_id);
    sqlite3_bind_int64(s, 2, version);
    bind_text(s, 3, a->description);
    bind_text(s, 4, a->content_type);
    sqlite3_bind_int(s, 5, a->hidden != 0);
    sqlite3_bind_int64(s, 6, (sqlite3_int64)a->size);
    sqlite3_bind_blob(s, 7, a->data ? a->data : "", (int)a->size,
                      SQLITE_STATIC);
    return STEP_DONE(c, s, "attachment");
}

static gw_rc
fanout(void *cx, const char *gln, struct gw_write_sub_id **ids, size_t *n)
{
    struct conn *c = CONN(cx);
    sqlite3_stmt *s = gw_store_stmt(c, SQL_FANOUT_SUBS);
    void *got = NULL;
    gw_rc rc;

    *ids = NULL;
    *n = 0;
    if (s == NULL)
        return GW_ESTORE;
    bind_text(s, 1, gln);
    rc = gw_store_collect_cells(c, s, sizeof(**ids), SIZE_MAX,
                                gw_rows_sub_id, NULL, "fanout_subs", &got,
                                n);
    sqlite3_reset(s);
    *ids = got;
    return rc;
}

static gw_rc
enqueue(void *cx, const struct gw_store_outbox_new *o, const char *message_id,
        const char *target, const char *refnr, int64_t now)
{
    struct conn *c = CONN(cx);
    sqlite3_stmt *s = gw_store_stmt(c, SQL_OUTBOX);

    if (s == NULL)
        return GW_ESTORE;
    bind_text(s, 1, message_id);
    bind_text(s, 2, o->peer);
    bind_text(s, 3, o->kind);
    bind_text(s, 4, refnr[0] ? refnr : NULL);
    sqlite3_bind_blob(s, 5, o->payload ? o->payload : "", (int)o->payload_len,
                      SQLITE_STATIC);
    sqlite3_bind_int64(s, 6, now);
    sqlite3_bind_int64(s, 7, now);
    sqlite3_bind_int64(s, 8, now);
    bind_text(s, 9, target);
    return STEP_DONE(c, s, "outbox");
}

static gw_rc
audit(void *cx, const struct gw_audit_entry *e, int64_t now)
{
    struct wctx *x = cx;

    return chain_append(x->c, &x->head, e, now);
}

static gw_rc
inbox_put(void *cx, const struct gw_store_write *w,
          const struct gw_store_result *res, const struct gw_buf *resp,
          int64_t now)
{
    struct conn *c = CONN(cx);
    sqlite3_stmt *s = gw_store_stmt(c, SQL_INBOX_PUT);

    if (s == NULL)
        return GW_ESTORE;
    bind_text(s, 1, w->message_id);
    bind_text(s, 2, w->sender ? w->sender : "?");
    bind_text(s, 3, w->content_hash ? w->content_hash : "");
    bind_text(s, 4, res->refnr[0] ? res->refnr : NULL);
    sqlite3_bind_int64(s, 5, res->version);
    sqlite3_bind_int(s, 6, w->response_status);
    sqlite3_bind_blob(s, 7, resp->data ? resp->data : "", (int)resp->len,
                      SQLITE_STATIC);
    sqlite3_bind_int64(s, 8, now);
    return STEP_DONE(c, s, "inbox_put");
}

static const struct gw_write_ops sqlite_ops = GW_WRITE_OPS_TABLE;

static const char SQL_SAVEPOINT[] = "SAVEPOINT req";
static const char SQL_RELEASE[] = "RELEASE req";
static const char SQL_ROLLBACK_TO[] = "ROLLBACK TO req";

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
            struct gw_store_result *res)
{
    struct chain before = x->head;
    gw_rc rc;

    if (step_once(x->c, SQL_SAVEPOINT) != GW_OK)
        return GW_ESTORE;
    rc = gw_write_apply(&sqlite_ops, x, w, res);
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
           struct gw_store_result *res, int *undo)
{
    sqlite3_int64 before = sqlite3_total_changes64(x->c->db);
    struct chain head = x->head;
    gw_rc rc = gw_write_apply(&sqlite_ops, x, w, res);

    if (rc != GW_OK) {
        x->head = head;
        *undo = sqlite3_total_changes64(x->c->db) != before;
    }
    return rc;
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
    gw_rc rc, full;

again:
    rc = gw_store_exec(c, "BEGIN IMMEDIATE");
    full = GW_OK;
    begun = rc == GW_OK;
    outbox = writes = 0;
    memset(&x, 0, sizeof(x));
    x.c = c;
    for (struct gw_wreq *r = batch; rc == GW_OK && !undo && r != NULL;
         r = r->next) {
        if (r->w == NULL) {
            /* An audited read: no one waits; a failure is logged. */
            if (chain_append(c, &x.head, &r->audit, gw_clock_now_ms()) !=
                GW_OK)
                gw_log_err("event=audit_append_failed");
        } else {
            writes = 1;
            r->res->rc = audit_only(r->w) ? apply_audit_only(&x, r->w, r->res)
                         : safe           ? apply_alone(&x, r->w, r->res)
                                : apply_bare(&x, r->w, r->res, &undo);
            if (r->res->rc == GW_ESTORAGEFULL)
                full = GW_ESTORAGEFULL;
            if (r->res->rc != GW_OK) {
                free(r->res->response);
                r->res->response = NULL;
                r->res->response_len = 0;
                if (r->res->err.rc == GW_OK)
                    r->res->err.rc = r->res->rc;
            } else if (r->w->noutbox > 0 && !r->res->replayed) {
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
        rc = gw_store_exec(c, "ROLLBACK");
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
    if (rc == GW_OK)
        rc = gw_store_exec(c, "COMMIT");
    if (begun && rc != GW_OK) {
        if (!sqlite3_get_autocommit(c->db))
            (void)gw_store_exec(c, "ROLLBACK");
        /* A full disk is told as such (507); anything else is ESTORE. */
        if (rc != GW_ESTORAGEFULL)
            rc = GW_ESTORE;
    }
    if (rc != GW_OK)
        gw_wq_fail(batch, rc);
    pthread_mutex_lock(&st->mu);
    /* Readiness (health.c): whether this batch could be written. A batch
     * of audit records alone may fit in log space a failed commit left
     * behind, so only one with a request in it says the store is well. */
    if (rc != GW_OK || full != GW_OK)
        st->commit_rc = rc != GW_OK ? rc : full;
    else if (writes)
        st->commit_rc = GW_OK;
    gw_write_record_batch(&st->stats, n);
    if (outbox) {
        st->outbox_generation++;
        pthread_cond_broadcast(&st->outbox_cv);
    }
    pthread_mutex_unlock(&st->mu);
    gw_wq_answer(batch);
    gw_store_wal_catch_up(st);
}

void *
gw_store_writer_main(void *arg)
{
    struct gw_store *st = arg;
    struct gw_wreq *batch;
    int n;

    while ((batch = gw_wq_take(&st->wq, &n)) != NULL)
        run_batch(st, batch, n);
    return NULL;
}

gw_rc
gw_sqlite_write(struct gw_store *st, const struct gw_store_write *w,
                struct gw_store_result *res)
{
    return gw_wq_write(&st->wq, w, res, NULL);
}

gw_rc
gw_sqlite_write_async(struct gw_store *st, const struct gw_store_write *w,
                      struct gw_store_result *res, gw_store_done_fn done,
                      void *arg)
{
    return gw_wq_write_async(&st->wq, w, res, NULL, done, arg);
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
    return gw_wq_audit(&st->wq, e);
}

void
gw_sqlite_stats(struct gw_store *st, struct gw_store_stats *out)
{
    pthread_mutex_lock(&st->mu);
    *out = st->stats;
    pthread_mutex_unlock(&st->mu);
}
