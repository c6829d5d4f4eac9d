/*
 * pg_read.c - the PostgreSQL backend's reads and small maintenance
 * writes, each one statement (or one short transaction) on a pool
 * connection: cases, documents, searches, history, inbox, audit records,
 * HSA cache, licences, consent, products, pharmacies, subscriptions, and
 * the daily purge (one node at a time: pg_try_advisory_lock).
 *
 * The same contracts as read.c, licence.c, subscription.c, hsa_cache.c,
 * audit_log.c and purge.c; text search folds case the Swedish way on
 * both sides (klasgw_fold: lower() and Å Ä Ö É Ü, whatever the server's
 * locale).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "klas/state.h"
#include "store/licence.h"
#include "store/pg_int.h"
#include "store/purge.h"
#include "store/read.h"
#include "store/write.h"

#define CASE_COLUMNS GW_CASE_COLUMNS

gw_rc
gw_pg_case_get(struct gw_store *st, const char *refnr, struct gw_case_row *out)
{
    struct gw_pg_params p = {0};

    memset(out, 0, sizeof(*out));
    gw_pg_p_str(&p, refnr);
    return gw_pg_one(st, "SELECT " CASE_COLUMNS " FROM cases WHERE refnr = $1",
                     &p, "case_get", gw_rows_case, out);
}

gw_rc
gw_pg_document_get(struct gw_store *st, const char *refnr, long version,
                   char **kind, char **xml, size_t *len, long *got_version)
{
    struct gw_document_out d = {kind, xml, len, got_version};
    struct gw_pg_params p = {0};

    *kind = NULL;
    *xml = NULL;
    *len = 0;
    gw_pg_p_str(&p, refnr);
    gw_pg_p_i64(&p, version);
    return gw_pg_one(
        st,
        "SELECT d.kind, d.xml, d.version FROM documents d JOIN cases c "
        "ON c.id = d.case_id WHERE c.refnr = $1 AND ($2::bigint = 0 OR "
        "d.version = $2) ORDER BY d.version DESC LIMIT 1",
        &p, "doc_get", gw_rows_document, &d);
}

/* The filters of read.c's SEARCH_WHERE; a NULL parameter switches its
 * filter off. */
#define SEARCH_WHERE                                                          \
    "WHERE purged_ms IS NULL"                                                 \
    " AND ($1::text IS NULL OR prescriber_hsa = $1)"                          \
    " AND ($2::text IS NULL OR refnr = $2)"                                   \
    " AND ($3::text IS NULL OR patient_id = $3)"                              \
    " AND ($4::text IS NULL OR strpos($4, ',' || status || ',') > 0)"         \
    " AND ($5::text IS NULL OR licence_type = $5)"                            \
    " AND ($6::text IS NULL OR strpos(klasgw_fold(drug_name),"                \
    "      klasgw_fold($6)) > 0"                                              \
    "      OR strpos(klasgw_fold(substances), klasgw_fold($6)) > 0)"          \
    " AND ($7::bigint = 0 OR updated_ms >= $7)"                               \
    " AND ($8::bigint = 0 OR updated_ms <= $8)"                               \
    " AND ($9::text IS NULL OR pharmacy_gln = $9)"

static gw_rc
search_params(struct gw_pg_params *p, const struct gw_case_query *q,
              char *statuses, size_t size)
{
    gw_rc rc = gw_rows_statuses(q, statuses, size);

    if (rc != GW_OK)
        return rc;
    gw_pg_p_str(p, q->prescriber_hsa);
    gw_pg_p_str(p, q->refnr);
    gw_pg_p_str(p, q->patient_id);
    gw_pg_p_str(p, statuses[0] ? statuses : NULL);
    gw_pg_p_str(p, q->licence_type);
    gw_pg_p_str(p, q->drug);
    gw_pg_p_i64(p, q->changed_from_ms);
    gw_pg_p_i64(p, q->changed_to_ms);
    gw_pg_p_str(p, q->pharmacy_gln);
    return GW_OK;
}

gw_rc
gw_pg_case_count(struct gw_store *st, const struct gw_case_query *q,
                 long long *total)
{
    struct gw_pg_params p = {0};
    char statuses[128];
    PGresult *r;
    int64_t count = 0;
    size_t k = 0;
    gw_rc rc;

    *total = 0;
    if ((rc = search_params(&p, q, statuses, sizeof(statuses))) != GW_OK)
        return rc;
    rc = gw_pg_run(st, "SELECT count(*) FROM cases " SEARCH_WHERE, &p, &r,
                   "case_count");
    if (rc == GW_OK)
        gw_pg_each_result(r, gw_rows_add_i64, &count, 1, &k);
    PQclear(r);
    *total = count;
    return rc;
}

#define PAGE_WHERE GW_CASE_PAGE_WHERE("$10::int", "$11", "$12")

gw_rc
gw_pg_case_search(struct gw_store *st, const struct gw_case_query *q,
                  struct gw_case_row **rows, size_t *n)
{
    static const char *const sql[2] =
        GW_CASE_PAGE_SQLS(SEARCH_WHERE, PAGE_WHERE, "$13");
    struct gw_pg_params p = {0};
    char statuses[128];
    gw_rc rc;

    *rows = NULL;
    *n = 0;
    if ((rc = search_params(&p, q, statuses, sizeof(statuses))) != GW_OK)
        return rc;
    gw_pg_p_i64(&p, q->page_dir);
    gw_pg_p_i64(&p, q->page_ms);
    gw_pg_p_i64(&p, q->page_rowid);
    gw_pg_p_i64(&p, q->limit > 0 ? q->limit : 120);
    rc = gw_pg_collect(st, sql[q->page_dir < 0], &p, "case_search",
                       sizeof(**rows), gw_rows_case, gw_rows_case_release,
                       (void **)rows, n);
    if (rc == GW_OK && q->page_dir < 0)
        gw_rows_case_reverse(*rows, *n);
    return rc;
}

gw_rc
gw_pg_case_history(struct gw_store *st, const char *refnr,
                   struct gw_history_row **rows, size_t *n)
{
    struct gw_pg_params p = {0};

    *rows = NULL;
    *n = 0;
    gw_pg_p_str(&p, refnr);
    return gw_pg_collect(
        st,
        "SELECT h.from_status, h.to_status, h.event, h.at_ms FROM "
        "status_history h JOIN cases c ON c.id = h.case_id WHERE "
        "c.refnr = $1 ORDER BY h.id",
        &p, "history", sizeof(**rows), gw_rows_history, NULL, (void **)rows, n);
}

gw_rc
gw_pg_inbox_get(struct gw_store *st, const char *message_id,
                struct gw_store_result *res)
{
    struct gw_pg_params p = {0};

    memset(res, 0, sizeof(*res));
    gw_pg_p_str(&p, message_id);
    return gw_pg_one(st,
                     "SELECT " GW_INBOX_COLUMNS " FROM inbox WHERE "
                     "message_id = $1",
                     &p, "inbox_get", gw_rows_inbox, res);
}

/* --- audit ----------------------------------------------------------- */

gw_rc
gw_pg_audit_each(struct gw_store *st, const char *refnr, int64_t since_ms,
                 gw_rc (*fn)(void *, const struct gw_audit_record *),
                 void *ctx)
{
    static const char sql[] =
        "SELECT seq, at_ms, system, user_id, action, refnr, outcome, detail,"
        " prev_hash, hash FROM audit WHERE ($1::text IS NULL OR refnr = $1)"
        " AND at_ms >= $2 AND seq > $3 ORDER BY seq LIMIT 5000";
    long long after = 0;
    gw_rc rc = GW_OK;

    /* In pages of 5000 by seq: memory stays bounded on a long chain. */
    for (;;) {
        struct gw_pg_params p = {0};
        PGresult *r;
        int n;

        gw_pg_p_str(&p, refnr);
        gw_pg_p_i64(&p, since_ms);
        gw_pg_p_i64(&p, after);
        if ((rc = gw_pg_run(st, sql, &p, &r, "audit_each")) != GW_OK)
            return rc;
        n = PQntuples(r);
        for (int i = 0; rc == GW_OK && i < n; i++) {
            struct gw_audit_record a;
            struct gw_cells cells;
            gw_pg_cells(r, i, &cells);
            gw_rows_audit(&cells, &a);
            after = a.seq;
            rc = fn(ctx, &a);
        }
        PQclear(r);
        if (rc != GW_OK || n < 5000)
            return rc;
    }
}

/* --- HSA cache --------------------------------------------------------- */

gw_rc
gw_pg_hsa_put(struct gw_store *st, const char *person_hsa, const char *answer,
              size_t len, int64_t expires_ms)
{
    struct gw_pg_params p = {0};

    gw_pg_p_str(&p, person_hsa);
    gw_pg_p_bin(&p, answer, len);
    gw_pg_p_i64(&p, gw_clock_now_ms());
    gw_pg_p_i64(&p, expires_ms);
    return gw_pg_run(
        st,
        "INSERT INTO hsa_cache (person_hsa, answer, fetched_ms, "
        "expires_ms) VALUES ($1,$2,$3,$4) ON CONFLICT (person_hsa) DO "
        "UPDATE SET answer = $2, fetched_ms = $3, expires_ms = $4",
        &p, NULL, "hsa_put");
}

gw_rc
gw_pg_hsa_get(struct gw_store *st, const char *person_hsa, int64_t now_ms,
              char **answer, size_t *len)
{
    struct gw_bytes_out out = {answer, len};
    struct gw_pg_params p = {0};

    *answer = NULL;
    *len = 0;
    gw_pg_p_str(&p, person_hsa);
    gw_pg_p_i64(&p, now_ms);
    return gw_pg_one(st,
                     "SELECT answer FROM hsa_cache WHERE person_hsa = $1 AND "
                     "expires_ms > $2",
                     &p, "hsa_get", gw_rows_bytes, &out);
}

/* --- licences, consent ------------------------------------------------- */

gw_rc
gw_pg_licences(struct gw_store *st, const char *refnr, const char *day,
               const char *product, struct gw_licence_hit **out, size_t *n)
{
    struct gw_pg_params p = {0};

    *out = NULL;
    *n = 0;
    gw_pg_p_str(&p, refnr);
    gw_pg_p_str(&p, day);
    gw_pg_p_str(&p, product);
    gw_pg_p_str(&p, gw_case_status_in_force_code());
    return gw_pg_collect(
        st,
        "SELECT c.refnr, c.licence_type, c.beredskap, "
        "coalesce(l.valid_from,''), coalesce(l.valid_to,''), "
        "coalesce(l.total_amount, 0), coalesce(l.amount_unit, ''), "
        "(SELECT coalesce(sum(d.amount), 0) FROM dispensings d WHERE "
        "d.case_id = c.id), coalesce(l.general_level, ''), "
        "coalesce(c.patient_id, ''), coalesce(c.clinic_hsa, ''), "
        "coalesce(c.hospital_hsa, ''), c.status FROM cases c JOIN "
        "licences l ON l.case_id = c.id WHERE c.purged_ms IS NULL AND "
        "(($1::text IS NOT NULL AND c.refnr = $1) OR ($1::text IS NULL "
        "AND c.status = $4 AND l.valid_from <= $2 AND l.valid_to >= $2 "
        "AND (l.nplid = $3 OR klasgw_fold(l.product_name) = "
        "klasgw_fold($3)))) ORDER BY c.licence_type = 'EH' DESC, "
        "c.beredskap, l.valid_to DESC LIMIT 200",
        &p, "licences", sizeof(**out), gw_rows_licence, NULL, (void **)out, n);
}

gw_rc
gw_pg_licence_name_contains(struct gw_store *st, const char *day,
                            const char *text, int *found)
{
    struct gw_pg_params p = {0};
    PGresult *r;
    gw_rc rc;

    *found = 0;
    gw_pg_p_str(&p, day);
    gw_pg_p_str(&p, text);
    gw_pg_p_str(&p, gw_case_status_in_force_code());
    rc = gw_pg_run(
        st,
        "SELECT 1 FROM cases c JOIN licences l ON l.case_id = c.id "
        "WHERE c.purged_ms IS NULL AND c.status = $3 AND l.valid_from "
        "<= $1 AND l.valid_to >= $1 AND strpos(klasgw_fold("
        "l.product_name), klasgw_fold($2)) > 0 LIMIT 1",
        &p, &r, "licence names");
    if (rc == GW_OK)
        *found = PQntuples(r) > 0;
    PQclear(r);
    return rc;
}

gw_rc
gw_pg_consent_get(struct gw_store *st, const char *hsa, struct gw_consent *out)
{
    struct gw_pg_params p = {0};
    gw_rc rc;

    memset(out, 0, sizeof(*out));
    gw_pg_p_str(&p, hsa);
    rc =
        gw_pg_one(st,
                  "SELECT coalesce(consented_ms, 0), coalesce(last_applied_ms, "
                  "0), coalesce(last_active_ms, 0) FROM prescribers WHERE "
                  "hsa = $1",
                  &p, "consent_get", gw_rows_consent, out);
    return rc == GW_ENOTFOUND ? GW_OK : rc; /* never seen: known 0 */
}

gw_rc
gw_pg_consent_renew(struct gw_store *st, const char *hsa, int64_t now_ms)
{
    struct gw_pg_params p = {0};

    gw_pg_p_str(&p, hsa);
    gw_pg_p_i64(&p, now_ms);
    return gw_pg_run(
        st,
        "INSERT INTO prescribers (hsa, consented_ms) VALUES ($1, $2) "
        "ON CONFLICT (hsa) DO UPDATE SET consented_ms = $2",
        &p, NULL, "consent_renew");
}

/* --- Sök produkt, Sök apotek ------------------------------------------ */

/* "%text%" for LIKE with the user's %, _ and \ as letters; "" (any) is
 * "%", which LIKE(...) takes as "any" without looking at the column: an
 * empty column (NULL) must match it too, as in SQLite's searches. */
static void
like_arg(char *esc, size_t size, const char *text, int prefix_only)
{
    size_t o = 0;

    if (!prefix_only && text[0] != '\0')
        esc[o++] = '%';
    for (const char *p = text; *p && o + 3 < size; p++) {
        if (*p == '%' || *p == '_' || *p == '\\')
            esc[o++] = '\\';
        esc[o++] = *p;
    }
    esc[o++] = '%';
    esc[o] = '\0';
}

#define LIKE(col, n)                                                          \
    "($" #n "::text = '%' OR klasgw_fold(" col ") LIKE klasgw_fold($" #n ")" \
    " ESCAPE '\\')"

gw_rc
gw_pg_product_search(struct gw_store *st, const struct gw_product *q,
                     struct gw_product **out, size_t *n)
{
    const char *f[7] = {q->name,  q->substances, q->holder, q->country,
                        q->nplid, q->form,       q->atc};
    char esc[7][520];
    struct gw_pg_params p = {0};

    *out = NULL;
    *n = 0;
    for (int i = 0; i < 7; i++) {
        like_arg(esc[i], sizeof(esc[i]), f[i], i == 4 || i == 6);
        gw_pg_p_str(&p, esc[i]);
    }
    return gw_pg_collect(
        st,
        "SELECT name, coalesce(substances,''), coalesce(holder,''), "
        "coalesce(country,''), coalesce(nplid,''), coalesce(form,''), "
        "coalesce(strength,''), coalesce(atc,'') FROM products WHERE "
        /* clang-format off */
        LIKE("name", 1) " AND " LIKE("substances", 2)
        " AND " LIKE("holder", 3) " AND " LIKE("country", 4)
        " AND " LIKE("nplid", 5) " AND " LIKE("form", 6)
        " AND " LIKE("atc", 7) " ORDER BY name, strength LIMIT 120",
        /* clang-format on */
        &p, "product_search", sizeof(**out), gw_rows_product, NULL,
        (void **)out, n);
}

gw_rc
gw_pg_pharmacy_put(struct gw_store *st, const struct gw_pharmacy *ph)
{
    PGconn *c;
    gw_rc rc = gw_pg_take(PG(st), &c);

    if (rc != GW_OK)
        return rc;
    rc = gw_pg_pharmacy_upsert(c, ph);
    gw_pg_give(PG(st), c);
    return rc;
}

gw_rc
gw_pg_pharmacy_search(struct gw_store *st, const struct gw_pharmacy *q,
                      struct gw_pharmacy **out, size_t *n)
{
    const char *f[5] = {q->name, q->actor, q->address, q->city, q->gln};
    char esc[5][520];
    struct gw_pg_params p = {0};

    *out = NULL;
    *n = 0;
    for (int i = 0; i < 5; i++) {
        like_arg(esc[i], sizeof(esc[i]), f[i], i == 4);
        gw_pg_p_str(&p, esc[i]);
    }
    return gw_pg_collect(
        st,
        "SELECT gln, name, coalesce(actor,''), coalesce(address,''), "
        "coalesce(city,'') FROM pharmacies WHERE connected = 1"
        /* clang-format off */
        " AND " LIKE("name", 1) " AND " LIKE("actor", 2)
        " AND " LIKE("address", 3) " AND " LIKE("city", 4)
        " AND " LIKE("gln", 5) " ORDER BY name LIMIT 120",
        /* clang-format on */
        &p, "pharmacy_search", sizeof(**out), gw_rows_pharmacy, NULL,
        (void **)out, n);
}

/* --- subscriptions: pg_subscription.c ------------------------------- */

/* --- retention ---------------------------------------------------------- */

/* What purging one case does; each step's parameters: its id ($1), its
 * referensnummer ($1), or its id and the time ($1, $2). */
enum purge_arg { BY_ID, BY_REFNR, BY_ID_NOW };
static const struct {
    const char *sql;
    enum purge_arg arg;
} purge_steps[] = {
    {"DELETE FROM documents WHERE case_id = $1", BY_ID},
    {"DELETE FROM attachments WHERE case_id = $1", BY_ID},
    {"UPDATE status_history SET actor = '(purged)' WHERE case_id = $1", BY_ID},
    {"UPDATE inbox SET response = NULL WHERE refnr = $1", BY_REFNR},
    {"UPDATE outbox SET payload = ''::bytea WHERE refnr = $1"
     " AND state IN ('done', 'dead')",
     BY_REFNR},
    {"UPDATE cases SET patient_id = NULL, prescriber_hsa = NULL,"
     " purged_ms = $2 WHERE id = $1",
     BY_ID_NOW},
};

static gw_rc
purge_find(void *conn, const char *status, int decided, int64_t cut,
           struct gw_purge_victim **part, size_t *k)
{
    struct gw_pg_params p = {0};
    PGresult *r = NULL;
    gw_rc rc;

    gw_pg_p_str(&p, status);
    gw_pg_p_i64(&p, cut);
    rc = gw_pg_q(conn,
                 decided ? "SELECT id, refnr FROM cases WHERE purged_ms "
                           "IS NULL AND status = $1 AND decided_ms < $2 "
                           "ORDER BY id FOR UPDATE"
                         : "SELECT id, refnr FROM cases WHERE purged_ms "
                           "IS NULL AND status = $1 AND created_ms < $2 "
                           "ORDER BY id FOR UPDATE",
                 &p, &r, "purge_find");
    if (rc == GW_OK)
        rc = gw_pg_collect_result(r, sizeof(**part), gw_rows_purge_victim, NULL,
                                  (void **)part, k);
    PQclear(r);
    return rc;
}

static gw_rc
purge_step(void *conn, size_t k, const struct gw_purge_victim *v,
           int64_t now_ms)
{
    struct gw_pg_params q = {0};

    if (purge_steps[k].arg == BY_REFNR)
        gw_pg_p_str(&q, v->refnr);
    else
        gw_pg_p_i64(&q, v->id);
    if (purge_steps[k].arg == BY_ID_NOW)
        gw_pg_p_i64(&q, now_ms);
    return gw_pg_q(conn, purge_steps[k].sql, &q, NULL, "purge_step");
}

static gw_rc
purge_audit(void *conn, const struct gw_audit_entry *e, int64_t now_ms)
{
    return gw_pg_audit_append(conn, e, now_ms);
}

static gw_rc
purge_log(void *conn, int64_t now_ms, const struct gw_purge_counts *counts)
{
    struct gw_pg_params p = {0};

    gw_pg_p_i64(&p, now_ms);
    gw_pg_p_i64(&p, counts->motivations);
    gw_pg_p_i64(&p, counts->decided);
    return gw_pg_q(conn,
                   "INSERT INTO purge_log (at_ms, motivations, decided) "
                   "VALUES ($1, $2, $3)",
                   &p, NULL, "purge_log");
}

static const struct gw_purge_ops purge_ops = {
    purge_find, sizeof(purge_steps) / sizeof(purge_steps[0]), purge_step,
    purge_audit, purge_log};

gw_rc
gw_pg_purge(struct gw_store *st, int64_t now_ms, int motivation_months,
            int decided_months, int mode, struct gw_purge_counts *out)
{
    PGconn *c;
    PGresult *r = NULL;
    int locked = 0;
    int dry_run = mode == GW_PURGE_DRY_RUN, daily = mode == GW_PURGE_DAILY;
    gw_rc rc;

    memset(out, 0, sizeof(*out));
    if ((rc = gw_pg_take(PG(st), &c)) != GW_OK)
        return rc;
    /* One node purges; another that finds the lock taken leaves it (the
     * transaction-scoped lock ends with the transaction). */
    rc = gw_pg_q(c, "BEGIN", NULL, NULL, "purge_begin");
    if (rc == GW_OK)
        rc = gw_pg_q(c, "SELECT pg_try_advisory_xact_lock(1801678196)", NULL,
                     &r, "purge_lock");
    if (rc == GW_OK)
        locked = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    r = NULL;
    if (rc == GW_OK && !locked) {
        gw_log_info("event=purge_skipped detail=\"another node is purging\"");
        gw_pg_give(PG(st), c);
        return GW_OK;
    }
    /* The scheduler's run: once a UTC day for all nodes (purge.h). A node
     * that comes after the day's run committed finds it logged. */
    if (rc == GW_OK && daily) {
        struct gw_pg_params p = {0};
        gw_pg_p_i64(&p, now_ms - now_ms % 86400000);
        rc = gw_pg_q(c, "SELECT 1 FROM purge_log WHERE at_ms >= $1 LIMIT 1",
                     &p, &r, "purge_today");
        if (rc == GW_OK && PQntuples(r) > 0) {
            PQclear(r);
            gw_log_info("event=purge_skipped detail=\"purged today already\"");
            gw_pg_give(PG(st), c);
            return GW_OK;
        }
        PQclear(r);
        r = NULL;
    }
    /* Every victim locked first (FOR UPDATE), the chain's head only
     * after, at the first audit record: as the writers do (pg_write.c),
     * so neither waits for the other while holding the head. */
    if (rc == GW_OK)
        rc = gw_rows_purge_walk(&purge_ops, c, now_ms, motivation_months,
                                decided_months, mode, out);
    if (rc == GW_OK && !dry_run)
        rc = gw_pg_q(c, "COMMIT", NULL, NULL, "purge_commit");
    gw_pg_give(PG(st), c); /* a dry run (or a failure) rolls back here */
    if (rc == GW_OK)
        gw_log_info("event=purge backend=postgresql dry_run=%d motivations=%lld "
                    "decided=%lld",
                    dry_run, out->motivations, out->decided);
    return rc;
}
