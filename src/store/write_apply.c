/*
 * write_apply.c - one write applied inside its transaction, for both
 * writers (writer.c, pg_write.c): the order of the steps, and what is
 * decided from the rows read there (a repeated message id, a dispensing
 * against its licence, a change against the case's status and version, a
 * referensnummer taken), and every statement of it, in both dialects
 * (struct gw_sql: one text where SQLite and PostgreSQL read it alike,
 * parameters $N numbered in the order they first appear, as SQLite counts
 * them), with its parameters as a struct gw_args. A backend gives only
 * how to run them (struct gw_write_ops); rows come back as struct
 * gw_cells (rows.h); the refusals are worded here once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/random.h"
#include "klas/ident.h"
#include "store/licence.h"
#include "store/read.h"
#include "store/store.h"
#include "store/write.h"
#include "store/write_apply.h"

#define TEXT(col) c->ops->text(c->res, c->row, (col))
#define I64(col) c->ops->i64(c->res, c->row, (col))
#define F64(col) c->ops->f64(c->res, c->row, (col))

#define BOTH(text)                                                             \
    {                                                                          \
        text, text                                                             \
    }

/* A statement's parameters as rows, $1 first: text (NULL: SQL NULL), an
 * integer, a real, bytes. */
#define P_TEXT(x)                                                              \
    {                                                                          \
        .kind = GW_ARG_TEXT, .s = (x)                                          \
    }
#define P_NULL P_TEXT(NULL)
/* Text, or SQL NULL when it is empty. */
#define P_TEXT_OPT(x) P_TEXT((x)[0] ? (x) : NULL)
#define P_I64(x)                                                               \
    {                                                                          \
        .kind = GW_ARG_I64, .i = (x)                                           \
    }
#define P_F64(x)                                                               \
    {                                                                          \
        .kind = GW_ARG_F64, .f = (x)                                           \
    }
#define P_BLOB(d, n)                                                           \
    {                                                                          \
        .kind = GW_ARG_BLOB, .s = (const char *)(d), .len = (n)                \
    }
#define NROWS(p) (sizeof(p) / sizeof((p)[0]))

/* The rows a write reads, each by one key: the inbox's by message id;
 * the case a change or a dispensing is checked against (struct
 * case_now), for a dispensing with its licence and the amount dispensed
 * so far. PostgreSQL, with more than one writer, locks the case row until
 * commit: a change or a dispensing on another node waits, then sees this
 * one's status, version and amounts. */
static const struct gw_sql SQL_INBOX_GET =
    BOTH("SELECT " GW_INBOX_COLUMNS " FROM inbox WHERE message_id = $1");
#define CASE_NOW "SELECT c.id, c.status, c.version, c.purged_ms, "
#define CASE_ROW CASE_NOW "NULL, NULL, 0, 0 FROM cases c WHERE c.refnr = $1"
static const struct gw_sql SQL_CASE_NOW = {CASE_ROW, CASE_ROW " FOR UPDATE"};
#define LICENCE_ROW                                                            \
    CASE_NOW "l.valid_from, l.valid_to, l.total_amount, (SELECT "              \
             "coalesce(sum(amount), 0) FROM dispensings d WHERE d.case_id = "  \
             "c.id) FROM cases c LEFT JOIN licences l ON l.case_id = c.id "    \
             "WHERE c.refnr = $1"
static const struct gw_sql SQL_LICENCE_NOW = {LICENCE_ROW,
                                              LICENCE_ROW " FOR UPDATE OF c"};
#define LICENCE_COLUMNS                                                        \
    "nplid, product_name, substances, form, strength, holder, country, atc, "  \
    "general_level, total_amount, amount_unit"
#define PRODUCT_ADD                                                            \
    "INTO products (name, substances, holder, country, nplid, form, "          \
    "strength, atc, first_seen_ms) SELECT coalesce(product_name, '?'), "       \
    "substances, holder, country, nplid, form, strength, atc, $1 FROM "        \
    "licences WHERE case_id = $2"

/* The parameter rows p[0..n) as the backends take them. */
static const struct gw_args *
args_of(struct gw_args *a, const struct gw_arg *p, size_t n)
{
    a->n = 0;
    for (size_t i = 0; i < n && i < GW_ARGS_MAX; i++)
        a->v[a->n++] = p[i];
    return a;
}

/* sql run once by run on conn with the parameter rows p[0..n). */
static gw_rc
run_rows(gw_sql_run run, void *conn, const struct gw_sql *sql,
         const struct gw_arg *p, size_t n, const char *what)
{
    struct gw_args a;

    return run(conn, sql, args_of(&a, p, n), what);
}

/* One write as its steps see it (gw_write_apply): how its statements run
 * and on what, the write and its result, the case it changes (0 until a
 * step has one) and the time it is stored at. */
struct apply_ctx {
    const struct gw_write_ops *ops;
    void *conn;
    const struct gw_store_write *w;
    struct gw_store_result *res;
    long long case_id;
    int64_t now;
};

/* sql run once on the write's connection with the parameter rows p[0..n). */
static gw_rc
step_run(const struct apply_ctx *x, const struct gw_sql *sql,
         const struct gw_arg *p, size_t n, const char *what)
{
    return run_rows(x->ops->sql->run, x->conn, sql, p, n, what);
}

/* The one row of sql by key, handed to fill. */
static gw_rc
read_row(const struct apply_ctx *x, const struct gw_sql *sql, const char *key,
         gw_cells_fill fill, void *elem, const char *what)
{
    struct gw_args a = {0};

    gw_args_str(&a, key);
    return x->ops->sql->first(x->conn, sql, &a, fill, elem, what);
}

/* The inbox row of the message id (gw_rows_inbox) against the write:
 * GW_OK for the same message again (res replays its answer),
 * GW_EDUPLICATE for another one under a used id. */
static gw_rc
inbox_get(const struct apply_ctx *x)
{
    const struct gw_store_write *w = x->w;
    struct gw_store_result *res = x->res;
    gw_rc rc = read_row(x, &SQL_INBOX_GET, w->message_id, gw_rows_inbox, res,
                        "inbox_get");

    if (rc != GW_OK ||
        strcmp(res->content_hash, w->content_hash ? w->content_hash : "") == 0)
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

/* What a change or a dispensing is checked against (SQL_CASE_NOW,
 * SQL_LICENCE_NOW): the case, and its licence's validity, total amount
 * and the amount dispensed ("", 0 for a change). */
struct case_now {
    long long id;
    char status[8];
    long version;
    int purged;
    char from[16], to[16];
    double total, used;
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
    gw_cell_copy(c, 4, o->from, sizeof(o->from));
    gw_cell_copy(c, 5, o->to, sizeof(o->to));
    o->total = F64(6);
    o->used = F64(7);
    return GW_OK;
}

static gw_rc
dispense(struct apply_ctx *x)
{
    static const struct gw_sql insert =
        BOTH("INSERT INTO dispensings (case_id, gln, amount, dispensed_on, "
             "kind, at_ms) VALUES ($1,$2,$3,$4,$5,$6)");
    const struct gw_store_write *w = x->w;
    struct gw_store_result *res = x->res;
    const struct gw_dispense *d = w->dispense;
    struct case_now l;
    gw_rc rc;

    if (d == NULL || w->row.refnr == NULL)
        return gw_err_set(&res->err, GW_EINVAL, NULL, "nothing to dispense");
    rc = read_row(x, &SQL_LICENCE_NOW, w->row.refnr, fill_case, &l,
                  "dispense_check");
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
    x->case_id = l.id;
    const struct gw_arg p[] = {P_I64(l.id),      P_TEXT(d->gln),
                               P_F64(d->amount), P_TEXT(d->dispensed_on),
                               P_TEXT(d->kind),  P_I64(x->now)};

    return step_run(x, &insert, p, NROWS(p), "dispense");
}

/* A status_history row of the case (from NULL: the case is new). */
static gw_rc
history(const struct apply_ctx *x, const char *from, const char *to)
{
    static const struct gw_sql sql =
        BOTH("INSERT INTO status_history (case_id, from_status, to_status, "
             "event, actor, at_ms) VALUES ($1,$2,$3,$4,$5,$6)");
    const struct gw_store_write *w = x->w;
    const struct gw_arg p[] = {
        P_I64(x->case_id),
        P_TEXT(from),
        P_TEXT(to),
        P_TEXT(w->event ? w->event : "change"),
        P_TEXT(w->actor ? w->actor : (w->sender ? w->sender : "?")),
        P_I64(x->now)};

    return step_run(x, &sql, p, NROWS(p), "history");
}

/* A change of the case, checked against the case as it stands (there,
 * not removed, in the status and at the version w expects): its row as w
 * says (status, pharmacy, drug, version + 1, applied/decided times by
 * w->effects), and its status history. */
static gw_rc
update(struct apply_ctx *x)
{
    static const struct gw_sql sql =
        BOTH("UPDATE cases SET status = coalesce($1, status), pharmacy_gln = "
             "coalesce($2, pharmacy_gln), drug_name = coalesce($3, drug_name), "
             "substances = coalesce($4, substances), version = version + 1, "
             "updated_ms = $5, applied_ms = CASE WHEN $6 <> 0 THEN $5 ELSE "
             "applied_ms END, decided_ms = CASE WHEN $7 <> 0 THEN $5 ELSE "
             "decided_ms END WHERE id = $8");
    const struct gw_store_write *w = x->w;
    struct gw_store_result *res = x->res;
    const struct gw_case_row *r = &w->row;
    struct case_now cur;
    gw_rc rc =
        read_row(x, &SQL_CASE_NOW, r->refnr, fill_case, &cur, "case_current");

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
    x->case_id = cur.id;
    const struct gw_arg p[] = {P_TEXT(r->status),
                               P_TEXT(r->pharmacy_gln),
                               P_TEXT(r->drug_name),
                               P_TEXT(r->substances),
                               P_I64(x->now),
                               P_I64((w->effects & GW_STORE_FX_APPLIED) != 0),
                               P_I64((w->effects & GW_STORE_FX_DECIDED) != 0),
                               P_I64(x->case_id)};

    if ((rc = step_run(x, &sql, p, NROWS(p), "case_update")) != GW_OK)
        return rc;
    snprintf(res->refnr, sizeof(res->refnr), "%s", r->refnr);
    res->version = cur.version + 1;
    if (r->status == NULL && w->event == NULL)
        return GW_OK;
    return history(x, cur.status, r->status ? r->status : cur.status);
}

/* The case row of the write under res->refnr: x->case_id its id, 0 when
 * the number is taken (nothing inserted). */
static gw_rc
case_insert(struct apply_ctx *x)
{
    /* ON CONFLICT DO NOTHING: no row when the number is taken. */
#define CASE_INSERT                                                            \
    "INSERT INTO cases (refnr, status, licence_type, beredskap, "              \
    "prescriber_hsa, hospital_hsa, hospital_name, clinic_hsa, "                \
    "clinic_name, pharmacy_gln, drug_name, substances, patient_id, "           \
    "parent_refnr, version, created_ms, updated_ms, applied_ms) VALUES "       \
    "($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,1,$15,$15,$16) ON "       \
    "CONFLICT (refnr) DO NOTHING"
    static const struct gw_sql sql = {CASE_INSERT,
                                      CASE_INSERT " RETURNING id"};
#undef CASE_INSERT
    static const struct gw_arg none = P_NULL;
    const struct gw_store_write *w = x->w;
    const struct gw_case_row *r = &w->row;
    const struct gw_arg at = P_I64(x->now);
    const struct gw_arg p[] = {P_TEXT(x->res->refnr),
                               P_TEXT(r->status),
                               P_TEXT(r->licence_type),
                               P_I64(r->beredskap),
                               P_TEXT(r->prescriber_hsa),
                               P_TEXT(r->hospital_hsa),
                               P_TEXT(r->hospital_name),
                               P_TEXT(r->clinic_hsa),
                               P_TEXT(r->clinic_name),
                               P_TEXT(r->pharmacy_gln),
                               P_TEXT(r->drug_name),
                               P_TEXT(r->substances),
                               P_TEXT(r->patient_id),
                               P_TEXT(r->parent_refnr),
                               at,
                               (w->effects & GW_STORE_FX_APPLIED) ? at : none};
    struct gw_args a;
    int64_t id = 0;
    gw_rc rc = x->ops->sql->insert(x->conn, &sql, args_of(&a, p, NROWS(p)), &id,
                                   "case_insert");

    x->case_id = id;
    return rc;
}

/* A new case under w's referensnummer or a new one. */
static gw_rc
create(struct apply_ctx *x)
{
    struct gw_store_result *res = x->res;
    const struct gw_case_row *r = &x->w->row;
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
        } else if (tries == 0 && x->w->refnr_first != NULL) {
            snprintf(res->refnr, sizeof(res->refnr), "%s", x->w->refnr_first);
        } else if ((rc = gw_refnr_new(res->refnr)) != GW_OK) {
            return rc;
        }
        rc = case_insert(x);
        if (rc != GW_OK)
            return rc;
        if (x->case_id != 0) {
            res->version = 1;
            return history(x, NULL, r->status);
        }
        if (r->refnr != NULL)
            return gw_err_set(&res->err, GW_ECONFLICT, NULL,
                              "a case with referensnummer %s exists", r->refnr);
    }
    return GW_ESTORE;
}

static gw_rc
change_case(struct apply_ctx *x)
{
    switch (x->w->op) {
    case GW_STORE_OP_NONE:
        break;
    case GW_STORE_OP_CREATE:
        return create(x);
    case GW_STORE_OP_DISPENSE:
        return dispense(x);
    case GW_STORE_OP_UPDATE:
        return update(x);
    }
    return GW_OK;
}

/* The licence's part of a change: a new case's licence, copied from its
 * parent's or as w has it; the validity period an update grants. */
static gw_rc
licence_put(const struct apply_ctx *x)
{
    static const struct gw_sql copy =
        BOTH("INSERT INTO licences (case_id, " LICENCE_COLUMNS ") SELECT $1, "
             "l.nplid, l.product_name, l.substances, l.form, l.strength, "
             "l.holder, l.country, l.atc, l.general_level, l.total_amount, "
             "l.amount_unit FROM licences l JOIN cases c ON c.id = l.case_id "
             "WHERE c.refnr = $2");
    static const struct gw_sql insert =
        BOTH("INSERT INTO licences (case_id, " LICENCE_COLUMNS ") VALUES "
             "($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)");
    static const struct gw_sql validity =
        BOTH("UPDATE licences SET valid_from = $1, valid_to = $2 WHERE "
             "case_id = $3");
    static const struct gw_arg none = P_NULL;
    const struct gw_store_write *w = x->w;
    const struct gw_licence_info *l = w->licence;

    if (w->op == GW_STORE_OP_UPDATE && l != NULL && l->valid_from) {
        const struct gw_arg p[] = {P_TEXT(l->valid_from), P_TEXT(l->valid_to),
                                   P_I64(x->case_id)};

        return step_run(x, &validity, p, NROWS(p), "licence_validity");
    }
    if (w->op != GW_STORE_OP_CREATE)
        return GW_OK;
    if (w->row.parent_refnr != NULL) {
        const struct gw_arg p[] = {P_I64(x->case_id),
                                   P_TEXT(w->row.parent_refnr)};

        return step_run(x, &copy, p, NROWS(p), "licence_copy");
    }
    if (l == NULL)
        return GW_OK;
    const struct gw_arg total = P_F64(l->total_amount);
    const struct gw_arg p[] = {P_I64(x->case_id),
                               P_TEXT(l->nplid),
                               P_TEXT(l->product_name),
                               P_TEXT(l->substances),
                               P_TEXT(l->form),
                               P_TEXT(l->strength),
                               P_TEXT(l->holder),
                               P_TEXT(l->country),
                               P_TEXT(l->atc),
                               P_TEXT(l->general_level),
                               l->total_amount > 0 ? total : none,
                               P_TEXT(l->amount_unit)};

    return step_run(x, &insert, p, NROWS(p), "licence");
}

gw_rc
gw_write_pharmacy_put(gw_sql_run run, void *conn, const struct gw_pharmacy *ph)
{
    /* The pharmacy as it names itself in its application (Sök apotek). */
    static const struct gw_sql sql = BOTH(
        "INSERT INTO pharmacies (gln, name, actor, address, city, connected) "
        "VALUES ($1,$2,$3,$4,$5,1) "
        "ON CONFLICT (gln) DO UPDATE SET name = excluded.name, "
        "actor = coalesce(excluded.actor, pharmacies.actor), "
        "address = coalesce(excluded.address, pharmacies.address), "
        "city = coalesce(excluded.city, pharmacies.city), connected = 1");
    const struct gw_arg p[] = {P_TEXT(ph->gln), P_TEXT(ph->name),
                               P_TEXT_OPT(ph->actor), P_TEXT_OPT(ph->address),
                               P_TEXT_OPT(ph->city)};

    return run_rows(run, conn, &sql, p, NROWS(p), "pharmacy_put");
}

/* What a case change implies beside the case row: the licence, the
 * product registry, the pharmacy register, the prescriber's consent
 * clock. */
static gw_rc
extras(const struct apply_ctx *x)
{
    /* A granted product becomes searchable (Sök produkt). */
    static const struct gw_sql product = {"INSERT OR IGNORE " PRODUCT_ADD,
                                          "INSERT " PRODUCT_ADD
                                          " ON CONFLICT DO NOTHING"};
    static const struct gw_sql submit = BOTH(
        "INSERT INTO prescribers (hsa, consented_ms, last_active_ms) VALUES "
        "($1, $2, $2) ON CONFLICT (hsa) DO UPDATE SET last_active_ms = $2, "
        "consented_ms = coalesce(prescribers.consented_ms, $2)");
    static const struct gw_sql active = BOTH(
        "UPDATE prescribers SET last_active_ms = $1, last_applied_ms = CASE "
        "WHEN $2 <> 0 THEN $1 ELSE last_applied_ms END WHERE hsa = (SELECT "
        "prescriber_hsa FROM cases WHERE id = $3)");
    const struct gw_store_write *w = x->w;
    gw_rc rc;

    if (x->case_id == 0 || w->op == GW_STORE_OP_DISPENSE)
        return GW_OK;
    rc = licence_put(x);
    if (rc == GW_OK && (w->effects & GW_STORE_FX_PRODUCT)) {
        const struct gw_arg p[] = {P_I64(x->now), P_I64(x->case_id)};

        rc = step_run(x, &product, p, NROWS(p), "product");
    }
    if (rc == GW_OK && w->pharmacy != NULL)
        rc = gw_write_pharmacy_put(x->ops->sql->run, x->conn, w->pharmacy);
    if (rc != GW_OK)
        return rc;
    if (w->op == GW_STORE_OP_CREATE && w->row.parent_refnr == NULL &&
        w->row.prescriber_hsa != NULL) {
        const struct gw_arg p[] = {P_TEXT(w->row.prescriber_hsa),
                                   P_I64(x->now)};

        return step_run(x, &submit, p, NROWS(p), "prescriber");
    }
    const struct gw_arg p[] = {P_I64(x->now),
                               P_I64((w->effects & GW_STORE_FX_APPLIED) != 0),
                               P_I64(x->case_id)};

    return step_run(x, &active, p, NROWS(p), "prescriber_active");
}

/* The message's document and its attachments, under the case's version
 * as the change left it; none without a case. */
static gw_rc
documents(const struct apply_ctx *x)
{
    static const struct gw_sql doc =
        BOTH("INSERT INTO documents (case_id, version, kind, xml, created_ms) "
             "VALUES ($1,$2,$3,$4,$5)");
    static const struct gw_sql attachment =
        BOTH("INSERT INTO attachments (case_id, doc_version, description, "
             "content_type, hidden, size, data) VALUES ($1,$2,$3,$4,$5,$6,"
             "$7)");
    const struct gw_store_write *w = x->w;
    gw_rc rc = GW_OK;

    if (x->case_id == 0)
        return GW_OK;
    if (w->doc_xml != NULL) {
        const struct gw_arg p[] = {
            P_I64(x->case_id), P_I64(x->res->version),
            P_TEXT(w->doc_kind ? w->doc_kind : "message"),
            P_BLOB(w->doc_xml, w->doc_len), P_I64(x->now)};

        rc = step_run(x, &doc, p, NROWS(p), "document");
    }
    for (size_t i = 0; rc == GW_OK && i < w->nattachments; i++) {
        const struct gw_store_attachment *at = &w->attachments[i];
        const struct gw_arg p[] = {P_I64(x->case_id),
                                   P_I64(x->res->version),
                                   P_TEXT(at->description),
                                   P_TEXT(at->content_type),
                                   P_I64(at->hidden != 0),
                                   P_I64((int64_t)at->size),
                                   P_BLOB(at->data ? at->data : "", at->size)};

        rc = step_run(x, &attachment, p, NROWS(p), "attachment");
    }
    return rc;
}

/* One outbox row; target names the subscription of a notification (NULL:
 * none); the case's referensnummer, if the write has one. */
static gw_rc
enqueue(const struct apply_ctx *x, const struct gw_store_outbox_new *o,
        const char *message_id, const char *target)
{
    static const struct gw_sql sql = BOTH(
        "INSERT INTO outbox (message_id, peer, kind, refnr, payload, state, "
        "attempts, next_attempt_ms, created_ms, updated_ms, target) VALUES "
        "($1,$2,$3,$4,$5,'pending',0,$6,$6,$6,$7)");
    const struct gw_arg p[] = {
        P_TEXT(message_id),
        P_TEXT(o->peer),
        P_TEXT(o->kind),
        P_TEXT_OPT(x->res->refnr),
        P_BLOB(o->payload ? o->payload : "", o->payload_len),
        P_I64(x->now),
        P_TEXT(target)};

    return step_run(x, &sql, p, NROWS(p), "outbox");
}

/* The inbox row of w->message_id with the answer resp. */
static gw_rc
inbox_put(const struct apply_ctx *x, const struct gw_buf *resp)
{
    static const struct gw_sql sql =
        BOTH("INSERT INTO inbox (message_id, sender, content_hash, refnr, "
             "version, response_status, response, received_ms) VALUES ($1,"
             "$2,$3,$4,$5,$6,$7,$8)");
    const struct gw_store_write *w = x->w;
    const struct gw_store_result *res = x->res;
    const struct gw_arg p[] = {P_TEXT(w->message_id),
                               P_TEXT(w->sender ? w->sender : "?"),
                               P_TEXT(w->content_hash ? w->content_hash : ""),
                               P_TEXT_OPT(res->refnr),
                               P_I64(res->version),
                               P_I64(w->response_status),
                               P_BLOB(resp->data ? resp->data : "", resp->len),
                               P_I64(x->now)};

    return step_run(x, &sql, p, NROWS(p), "inbox_put");
}

/* An item, or for a notification one per subscription of the GLN,
 * so that every endpoint has its own attempts, backoff and dead letter:
 * one failing endpoint neither holds up nor repeats the others. */
static gw_rc
outbox_put(const struct apply_ctx *x, const struct gw_store_outbox_new *o,
           size_t *queued)
{
    static const struct gw_sql SQL_FANOUT = BOTH(
        "SELECT id FROM subscriptions WHERE gln = $1 ORDER BY created_ms, id");
    struct gw_write_sub_id *ids = NULL;
    struct gw_args a = {0};
    void *got = NULL;
    char mid[128];
    size_t n = 0;
    gw_rc rc;

    if (o->fanout_gln == NULL) {
        rc = enqueue(x, o, o->message_id, NULL);
        *queued += rc == GW_OK;
        return rc;
    }
    /* Every subscription gets its item, whatever its status: none is
     * dropped, and one in error still counts the event (outbound/
     * pharmacy.c). */
    gw_args_str(&a, o->fanout_gln);
    rc = x->ops->sql->list(x->conn, &SQL_FANOUT, &a, sizeof(*ids),
                           gw_rows_sub_id, &got, &n, "fanout_subs");
    ids = got;
    for (size_t i = 0; rc == GW_OK && i < n; i++) {
        snprintf(mid, sizeof(mid), "%.86s:%.39s", o->message_id, ids[i].id);
        rc = enqueue(x, o, mid, ids[i].id);
        *queued += rc == GW_OK;
    }
    free(ids);
    return rc;
}

gw_rc
gw_write_apply(const struct gw_write_ops *ops, void *conn, void *cx,
               const struct gw_store_write *w, struct gw_store_result *res,
               size_t *queued)
{
    struct apply_ctx x = {
        .ops = ops, .conn = conn, .w = w, .res = res, .now = gw_clock_now_ms()};
    struct gw_buf resp;
    gw_rc rc;

    *queued = 0;
    gw_buf_init(&resp, 16 * 1024 * 1024);
    if (w->message_id != NULL) {
        rc = inbox_get(&x);
        if (rc != GW_ENOTFOUND)
            goto out; /* replayed, refused as a duplicate, or failed */
    }
    rc = change_case(&x);
    if (rc == GW_OK)
        rc = extras(&x);
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
        again = inbox_get(&x);
        if (again == GW_ENOTFOUND)
            res->err = why;
        else
            rc = again;
        goto out;
    }
    if (rc != GW_OK)
        goto out;
    if ((rc = documents(&x)) != GW_OK)
        goto out;
    for (size_t i = 0; i < w->noutbox; i++)
        if ((rc = outbox_put(&x, &w->outbox[i], queued)) != GW_OK)
            goto out;
    for (size_t i = 0; i < w->naudit; i++) {
        struct gw_audit_entry e = w->audit[i];
        if (e.refnr == NULL && res->refnr[0])
            e.refnr = res->refnr;
        if ((rc = ops->audit(cx, &e, x.now)) != GW_OK)
            goto out;
    }
    if (w->respond != NULL && (rc = w->respond(w->respond_ctx, res->refnr,
                                               res->version, &resp)) != GW_OK)
        goto out;
    if (w->message_id != NULL && (rc = inbox_put(&x, &resp)) != GW_OK)
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

const long long gw_store_dur_le_us[GW_STORE_DUR_N] = {
    250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000};

void
gw_store_dur_record(long long *hist, long long *sum_us, int64_t us)
{
    int k = 0;

    while (k < GW_STORE_DUR_N && us > gw_store_dur_le_us[k])
        k++;
    hist[k]++;
    *sum_us += us;
}

void
gw_write_record_batch(struct gw_store_stats *stats, int n, int64_t batch_us,
                      int64_t commit_us)
{
    int b = 0;

    while (b < 7 && (1 << (b + 1)) <= n)
        b++;
    stats->batches++;
    stats->requests += n;
    stats->batch_hist[b]++;
    if (n > stats->max_batch)
        stats->max_batch = n;
    gw_store_dur_record(stats->batch_us_hist, &stats->batch_us_sum, batch_us);
    gw_store_dur_record(stats->commit_us_hist, &stats->commit_us_sum,
                        commit_us);
}

gw_rc
gw_write_audit_append(gw_sql_run run, void *conn, struct gw_write_head *h,
                      const struct gw_audit_entry *e, int64_t now_ms)
{
    static const struct gw_sql sql = BOTH(
        "INSERT INTO audit (seq, at_ms, system, user_id, action, refnr, "
        "outcome, detail, prev_hash, hash) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,"
        "$9,$10)");
    struct gw_audit_record r;
    gw_rc rc;

    memset(&r, 0, sizeof(r));
    r.seq = h->seq + 1;
    /* A hash is a string within its array, which is the same here. */
    _Static_assert(sizeof(r.prev_hash) == sizeof(h->hash), "hash sizes");
    memcpy(r.prev_hash, h->hash, sizeof(r.prev_hash));
    r.at_ms = now_ms;
    r.e = *e;
    if (r.e.system == NULL)
        r.e.system = "gateway";
    if (r.e.outcome == NULL)
        r.e.outcome = "ok";
    if (r.e.action == NULL)
        r.e.action = "unknown";
    if ((rc = gw_audit_hash(&r, r.hash)) != GW_OK)
        return rc;
    const struct gw_arg p[] = {P_I64(r.seq),        P_I64(r.at_ms),
                               P_TEXT(r.e.system),  P_TEXT(r.e.user),
                               P_TEXT(r.e.action),  P_TEXT(r.e.refnr),
                               P_TEXT(r.e.outcome), P_TEXT(r.e.detail),
                               P_TEXT(r.prev_hash), P_TEXT(r.hash)};

    if ((rc = run_rows(run, conn, &sql, p, NROWS(p), "audit_insert")) != GW_OK)
        return rc;
    h->seq = r.seq;
    memcpy(h->hash, r.hash, sizeof(h->hash));
    return GW_OK;
}

gw_rc
gw_write_head_store(gw_sql_run run, void *conn, const struct gw_write_head *h)
{
    static const struct gw_sql sql =
        BOTH("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1");
    const struct gw_arg p[] = {P_I64(h->seq), P_TEXT(h->hash)};

    return run_rows(run, conn, &sql, p, NROWS(p), "audit_head");
}

gw_rc
gw_write_hsa_put(gw_sql_run run, void *conn, const struct gw_hsa_entry *e)
{
    static const struct gw_sql sql =
        BOTH("INSERT INTO hsa_cache (person_hsa, answer, fetched_ms, "
             "expires_ms) VALUES ($1,$2,$3,$4) ON CONFLICT (person_hsa) "
             "DO UPDATE SET answer = excluded.answer, "
             "fetched_ms = excluded.fetched_ms, "
             "expires_ms = excluded.expires_ms");
    const struct gw_arg p[] = {P_TEXT(e->person_hsa), P_BLOB(e->answer, e->len),
                               P_I64(e->fetched_ms), P_I64(e->expires_ms)};

    return run_rows(run, conn, &sql, p, NROWS(p), "hsa_put");
}
