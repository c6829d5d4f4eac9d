/*
 * shared_reads.c - the reads (and the small writes outside the group
 * commit) whose logic is the same on both backends, written once: each
 * names its statement in both dialects (struct gw_sql: SQLite ?N,
 * PostgreSQL $N with its casts, the same parameters in the same order),
 * gives its parameters as a struct gw_args and hands both to the
 * backend's each, first, list or update (backend.h: on a reader
 * connection and the maintenance one for SQLite, on a pool connection
 * for PostgreSQL), with its row fill from rows.h. The table first: the
 * reads whose SQL both dialects word alike (the outbox's counts for
 * /metrics, the operator console's small reads and the audit chain's
 * head); then cases, documents and the inbox (read.h), the audit log
 * (audit_log.h), the HSA cache (hsa_cache.h), licences, consent and the
 * searches of products and pharmacies (licence.h), the console's cases
 * by day (console.h) and subscriptions (subscription.h), their notes
 * and event numbers each one short transaction (the backend's txn).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "klas/state.h"
#include "store/audit_log.h"
#include "store/backend.h"
#include "store/console.h"
#include "store/hsa_cache.h"
#include "store/licence.h"
#include "store/outbox.h"
#include "store/read.h"
#include "store/rows.h"
#include "store/shared_reads_rows.h"
#include "store/subscription.h"
#include "store/write.h"

#define BOTH(text) {text, text}

/* The reads whose SQL both dialects word alike: the rows of
 * shared_reads.tsv, X(id, add, what, sql) (GW_SHARED_READS, made by the
 * build). */
enum read_id {
#define READ_ID(id, add, what, sql) id,
    GW_SHARED_READS(READ_ID)
#undef READ_ID
};

static const struct {
    const char *sql;
    gw_cells_add add;
    const char *what;
} reads[] = {
#define READ_ROW(id, add_, what_, sql_) [id] = {sql_, add_, what_},
    GW_SHARED_READS(READ_ROW)
#undef READ_ROW
};

static gw_rc
shared_read(struct gw_store *st, enum read_id id, const int64_t *arg, void *out,
            size_t max, size_t *n)
{
    struct gw_sql sql = {reads[id].sql, reads[id].sql};
    struct gw_args a = {0};
    size_t one = 0;

    if (arg != NULL)
        gw_args_i64(&a, *arg);
    return gw_store_be(st)->each(st, &sql, &a, reads[id].add, out, max,
                                 n != NULL ? n : &one, reads[id].what);
}

/* A list read: its statement, what each row fills (elem_size bytes;
 * release frees what an element owns, NULL: nothing), at most max rows,
 * and its name in errors; handed to the backend's list. */
struct list_read {
    struct gw_sql sql;
    size_t elem_size, max;
    gw_cells_fill fill;
    void (*release)(void *elem);
    const char *what;
};

static gw_rc
list_rows(struct gw_store *st, const struct list_read *r,
          const struct gw_args *a, void *out, size_t *n)
{
    return gw_store_be(st)->list(st, &r->sql, a, r->elem_size, r->max,
                                 r->fill, r->release, r->what, (void **)out,
                                 n);
}

gw_rc
gw_outbox_counts(struct gw_store *st, long long counts[4])
{
    memset(counts, 0, 4 * sizeof(counts[0]));
    return shared_read(st, OUTBOX_COUNTS, NULL, counts, 4, NULL);
}

gw_rc
gw_outbox_peer_counts(struct gw_store *st, struct gw_outbox_peer_count *out,
                      size_t max, size_t *n)
{
    return shared_read(st, PEER_COUNTS, NULL, out, max, n);
}

gw_rc
gw_outbox_peer_oldest(struct gw_store *st, struct gw_outbox_peer_oldest *out,
                      size_t max, size_t *n)
{
    return shared_read(st, PEER_OLDEST, NULL, out, max, n);
}

gw_rc
gw_console_dead_letters(struct gw_store *st, struct gw_console_dead *out,
                        size_t max, size_t *n)
{
    int64_t limit;

    if (max > GW_CONSOLE_MAX_DEAD)
        max = GW_CONSOLE_MAX_DEAD;
    limit = (int64_t)max;
    return shared_read(st, CONSOLE_DEAD, &limit, out, max, n);
}

gw_rc
gw_console_cases_by_status(struct gw_store *st, struct gw_console_count *out,
                           size_t max, size_t *n)
{
    return shared_read(st, CASES_BY_STATUS, NULL, out, max, n);
}

gw_rc
gw_console_audit_head(struct gw_store *st, struct gw_console_audit *out)
{
    memset(out, 0, sizeof(*out));
    return shared_read(st, AUDIT_HEAD, NULL, out, 1, NULL);
}

gw_rc
gw_console_hsa_last_answer(struct gw_store *st, int64_t *out)
{
    *out = 0;
    return shared_read(st, HSA_LAST, NULL, out, 1, NULL);
}

gw_rc
gw_store_audit_head(struct gw_store *st, int64_t *seq,
                    char hash[GW_AUDIT_HASH_HEX])
{
    struct gw_console_audit h = {0};
    size_t n = 0;
    gw_rc rc = shared_read(st, CHAIN_HEAD, NULL, &h, 1, &n);

    if (rc == GW_OK && n != 1)
        rc = GW_ESTORE; /* the head row is made with the schema */
    if (rc == GW_OK) {
        *seq = h.seq;
        memcpy(hash, h.hash, GW_AUDIT_HASH_HEX);
    }
    return rc;
}

/* --- cases, documents, history, inbox (read.h) ------------------------ */

gw_rc
gw_store_case_get(struct gw_store *st, const char *refnr,
                  struct gw_case_row *out)
{
    static const struct gw_sql sql = {
        "SELECT " GW_CASE_COLUMNS " FROM cases WHERE refnr = ?1",
        "SELECT " GW_CASE_COLUMNS " FROM cases WHERE refnr = $1"};
    struct gw_args a = {0};

    memset(out, 0, sizeof(*out));
    gw_args_str(&a, refnr);
    return gw_store_be(st)->first(st, &sql, &a, gw_rows_case, out, "case_get");
}

gw_rc
gw_store_document_get(struct gw_store *st, const char *refnr, long version,
                      char **kind, char **xml, size_t *len, long *got_version)
{
#define DOC_GET                                                                \
    "SELECT d.kind, d.xml, d.version FROM documents d JOIN cases c "           \
    "ON c.id = d.case_id WHERE c.refnr = "
    static const struct gw_sql sql = {
        DOC_GET "?1 AND (?2 = 0 OR d.version = ?2) "
                "ORDER BY d.version DESC LIMIT 1",
        DOC_GET "$1 AND ($2::bigint = 0 OR d.version = $2) "
                "ORDER BY d.version DESC LIMIT 1"};
#undef DOC_GET
    struct gw_document_out d = {kind, xml, len, got_version};
    struct gw_args a = {0};

    *kind = NULL;
    *xml = NULL;
    *len = 0;
    gw_args_str(&a, refnr);
    gw_args_i64(&a, version);
    return gw_store_be(st)->first(st, &sql, &a, gw_rows_document, &d,
                                  "doc_get");
}

/* The search's filters, parameters 1 to 9 (search_args); a NULL
 * parameter switches its filter off. Statuses come as a comma-framed
 * list ",M,A,".
 *
 * SQLite plans a statement once, not for the values bound, so it can use
 * no index for "?1 IS NULL OR prescriber_hsa = ?1": Mina ärenden walked
 * cases_updated over every case of every prescriber until it had a page.
 * So its text comes in variants that lead with the most selective filter
 * the query has, as a plain equality (search_lead): the referensnummer,
 * the prescriber (cases_prescriber, in the search's order), the patient
 * (cases_patient) or a pharmacy's own list (cases_pharmacy, partial: a
 * motivation has no pharmacy, and "=" implies IS NOT NULL to the
 * planner). PostgreSQL plans with the values: one text. */
enum {
    LEAD_NONE,
    LEAD_REFNR,
    LEAD_PRESCRIBER,
    LEAD_PATIENT,
    LEAD_PHARMACY,
    NLEAD
};
#define SEARCH_LEADS_SQLITE(X)                                                \
    X(""), X("refnr = ?2 AND "), X("prescriber_hsa = ?1 AND "),               \
        X("patient_id = ?3 AND "), X("pharmacy_gln = ?9 AND ")

static int
search_lead(const struct gw_case_query *q)
{
    return q->refnr          ? LEAD_REFNR
           : q->prescriber_hsa ? LEAD_PRESCRIBER
           : q->patient_id     ? LEAD_PATIENT
           : q->pharmacy_gln   ? LEAD_PHARMACY
                               : LEAD_NONE;
}

#define SEARCH_WHERE_SQLITE(lead)                                             \
    "WHERE " lead "purged_ms IS NULL"                                         \
    " AND (?1 IS NULL OR prescriber_hsa = ?1)"                                \
    " AND (?2 IS NULL OR refnr = ?2)"                                         \
    " AND (?3 IS NULL OR patient_id = ?3)"                                    \
    " AND (?4 IS NULL OR instr(?4, ',' || status || ',') > 0)"                \
    " AND (?5 IS NULL OR licence_type = ?5)"                                  \
    " AND (?6 IS NULL OR instr(klasgw_fold(drug_name), klasgw_fold(?6)) > 0" \
    "      OR instr(klasgw_fold(substances), klasgw_fold(?6)) > 0)"           \
    " AND (?7 = 0 OR updated_ms >= ?7)"                                       \
    " AND (?8 = 0 OR updated_ms <= ?8)"                                       \
    " AND (?9 IS NULL OR pharmacy_gln = ?9)"
#define SEARCH_WHERE_PG                                                       \
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
search_args(struct gw_args *a, const struct gw_case_query *q, char *statuses,
            size_t size)
{
    gw_rc rc = gw_rows_statuses(q, statuses, size);

    if (rc != GW_OK)
        return rc;
    gw_args_str(a, q->prescriber_hsa);
    gw_args_str(a, q->refnr);
    gw_args_str(a, q->patient_id);
    gw_args_str(a, statuses[0] ? statuses : NULL);
    gw_args_str(a, q->licence_type);
    gw_args_str(a, q->drug);
    gw_args_i64(a, q->changed_from_ms);
    gw_args_i64(a, q->changed_to_ms);
    gw_args_str(a, q->pharmacy_gln);
    return GW_OK;
}

gw_rc
gw_store_case_count(struct gw_store *st, const struct gw_case_query *q,
                    long long *total)
{
#define COUNT(lead)                                                            \
    {"SELECT count(*) FROM cases " SEARCH_WHERE_SQLITE(lead),                  \
     "SELECT count(*) FROM cases " SEARCH_WHERE_PG}
    static const struct gw_sql sql[NLEAD] = {SEARCH_LEADS_SQLITE(COUNT)};
#undef COUNT
    struct gw_args a = {0};
    char statuses[128];
    int64_t count = 0;
    size_t k = 0;
    gw_rc rc;

    *total = 0;
    if ((rc = search_args(&a, q, statuses, sizeof(statuses))) != GW_OK)
        return rc;
    rc = gw_store_be(st)->each(st, &sql[search_lead(q)], &a, gw_rows_add_i64,
                               &count, 1, &k, "case_count");
    *total = rc == GW_OK ? count : 0;
    return rc;
}

/* A page after or before the key: parameters 10 to 13 (direction, the
 * key's updated_ms and id, the limit). */
#define PAGE_SQLITE GW_CASE_PAGE_WHERE("?10", "?11", "?12")
#define PAGE_PG GW_CASE_PAGE_WHERE("$10::int", "$11", "$12")

gw_rc
gw_store_case_search(struct gw_store *st, const struct gw_case_query *q,
                     struct gw_case_row **rows, size_t *n)
{
    /* By the leading filter (search_lead) and by whether the page is
     * before the key (q->page_dir < 0). */
#define PAGE(lead, order)                                                      \
    {{GW_CASE_PAGE_SQL(SEARCH_WHERE_SQLITE(lead), PAGE_SQLITE, order, "?13"),  \
      GW_CASE_PAGE_SQL(SEARCH_WHERE_PG, PAGE_PG, order, "$13")},               \
     sizeof(struct gw_case_row), SIZE_MAX, gw_rows_case,                       \
     gw_rows_case_release, "case_search"}
#define PAGES(lead) {PAGE(lead, "DESC"), PAGE(lead, "ASC")}
    static const struct list_read pages[NLEAD][2] = {
        SEARCH_LEADS_SQLITE(PAGES)};
#undef PAGES
#undef PAGE
    struct gw_args a = {0};
    char statuses[128];
    gw_rc rc;

    *rows = NULL;
    *n = 0;
    if ((rc = search_args(&a, q, statuses, sizeof(statuses))) != GW_OK)
        return rc;
    gw_args_i64(&a, q->page_dir);
    gw_args_i64(&a, q->page_ms);
    gw_args_i64(&a, q->page_rowid);
    gw_args_i64(&a, q->limit > 0 ? q->limit : 120);
    rc = list_rows(st, &pages[search_lead(q)][q->page_dir < 0], &a, rows, n);
    if (rc == GW_OK && q->page_dir < 0)
        gw_rows_case_reverse(*rows, *n);
    return rc;
}

const char *
gw_store_case_search_sqlite(const struct gw_case_query *q)
{
#define FIRST(lead)                                                            \
    GW_CASE_PAGE_SQL(SEARCH_WHERE_SQLITE(lead), PAGE_SQLITE, "DESC", "?13")
    static const char *const sql[NLEAD] = {SEARCH_LEADS_SQLITE(FIRST)};
#undef FIRST

    return sql[search_lead(q)];
}

/* History rows are written by the writers with every change; here they
 * are only read. */
gw_rc
gw_store_case_history(struct gw_store *st, const char *refnr,
                      struct gw_history_row **rows, size_t *n)
{
#define HISTORY                                                                \
    "SELECT h.from_status, h.to_status, h.event, h.at_ms FROM "                \
    "status_history h JOIN cases c ON c.id = h.case_id WHERE c.refnr = "
    static const struct list_read read = {
        {HISTORY "?1 ORDER BY h.id", HISTORY "$1 ORDER BY h.id"},
        sizeof(struct gw_history_row), SIZE_MAX, gw_rows_history, NULL,
        "history"};
#undef HISTORY
    struct gw_args a = {0};

    gw_args_str(&a, refnr);
    return list_rows(st, &read, &a, rows, n);
}

const char gw_store_sql_inbox_get[] =
    "SELECT " GW_INBOX_COLUMNS " FROM inbox WHERE message_id = ?1";

gw_rc
gw_store_inbox_get(struct gw_store *st, const char *message_id,
                   struct gw_store_result *res)
{
    static const struct gw_sql sql = {
        gw_store_sql_inbox_get,
        "SELECT " GW_INBOX_COLUMNS " FROM inbox WHERE message_id = $1"};
    struct gw_args a = {0};

    memset(res, 0, sizeof(*res));
    gw_args_str(&a, message_id);
    return gw_store_be(st)->first(st, &sql, &a, gw_rows_inbox, res,
                                  "inbox_get");
}

/* --- the audit log (audit_log.h) --------------------------------------- */

/* The walk of gw_store_audit_each: each row handed to fn, until it fails. */
struct audit_walk {
    gw_rc (*fn)(void *, const struct gw_audit_record *);
    void *ctx;
    gw_rc rc;
    int64_t after; /* the last seq handed over */
};

static void
audit_add(const struct gw_cells *c, void *out, size_t max, size_t *n)
{
    struct audit_walk *w = out;
    struct gw_audit_record r;

    (void)max;
    (*n)++;
    if (w->rc != GW_OK)
        return;
    gw_rows_audit(c, &r);
    w->after = r.seq;
    w->rc = w->fn(w->ctx, &r);
}

/* By whether a refnr is given: SQLite plans once, not for the values
 * bound, so "?1 IS NULL OR refnr = ?1" used no index and one case's
 * records (klasgw audit export --case) walked the whole chain by seq. Its
 * own text leads with the refnr: audit_refnr, whose entries keep seq (the
 * rowid) in order after it. PostgreSQL plans with the values: one text. */
#define AUDIT_SQLITE(lead)                                                     \
    "SELECT seq, at_ms, system, user_id, action, refnr, outcome, detail,"      \
    " prev_hash, hash FROM audit WHERE " lead "at_ms >= ?2 AND seq > ?3"       \
    " ORDER BY seq LIMIT 5000"
#define AUDIT_PG                                                               \
    "SELECT seq, at_ms, system, user_id, action, refnr, outcome, detail,"      \
    " prev_hash, hash FROM audit WHERE ($1::text IS NULL OR refnr = $1)"       \
    " AND at_ms >= $2 AND seq > $3 ORDER BY seq LIMIT 5000"
static const struct gw_sql audit_sql[2] = {
    {AUDIT_SQLITE("?1 IS NULL AND "), AUDIT_PG},
    {AUDIT_SQLITE("refnr = ?1 AND "), AUDIT_PG}};
#undef AUDIT_PG
#undef AUDIT_SQLITE

gw_rc
gw_store_audit_each(struct gw_store *st, const char *refnr, int64_t since_ms,
                    gw_rc (*fn)(void *, const struct gw_audit_record *),
                    void *ctx)
{
    const struct gw_sql *sql = &audit_sql[refnr != NULL];
    struct audit_walk w = {fn, ctx, GW_OK, 0};

    /* In pages of 5000 by seq: memory stays bounded on a long chain. */
    for (;;) {
        struct gw_args a = {0};
        size_t k = 0;
        gw_rc rc;

        gw_args_str(&a, refnr);
        gw_args_i64(&a, since_ms);
        gw_args_i64(&a, w.after);
        rc = gw_store_be(st)->each(st, sql, &a, audit_add, &w, SIZE_MAX, &k,
                                   "audit_each");
        if (rc != GW_OK || w.rc != GW_OK)
            return rc != GW_OK ? rc : w.rc;
        if (k < 5000)
            return GW_OK;
    }
}

const char *
gw_store_audit_each_sqlite(const char *refnr)
{
    return audit_sql[refnr != NULL].sqlite;
}

/* --- the HSA cache (hsa_cache.h) --------------------------------------- */

/* Stored by the writer (gw_write_hsa_put, write_apply.c). */
gw_rc
gw_store_hsa_get(struct gw_store *st, const char *person_hsa, int64_t now_ms,
                 char **answer, size_t *len)
{
    static const struct gw_sql sql = {
        "SELECT answer FROM hsa_cache WHERE person_hsa = ?1 AND "
        "expires_ms > ?2",
        "SELECT answer FROM hsa_cache WHERE person_hsa = $1 AND "
        "expires_ms > $2"};
    struct gw_bytes_out out = {answer, len};
    struct gw_args a = {0};

    *answer = NULL;
    *len = 0;
    gw_args_str(&a, person_hsa);
    gw_args_i64(&a, now_ms);
    return gw_store_be(st)->first(st, &sql, &a, gw_rows_bytes, &out,
                                  "hsa_get");
}

/* --- licences and consent (licence.h) ---------------------------------- */

/* Licences count while their case is granted: the status comes from klas/
 * (bound as a parameter), the SQL names none. */
#define GRANTED gw_case_status_in_force_code()

gw_rc
gw_store_licences(struct gw_store *st, const char *refnr, const char *day,
                  const char *product, struct gw_licence_hit **out, size_t *n)
{
#define LICENCES(by_refnr, by_product)                                         \
    "SELECT c.refnr, c.licence_type, c.beredskap, coalesce(l.valid_from,''), " \
    "coalesce(l.valid_to,''), coalesce(l.total_amount, 0), "                   \
    "coalesce(l.amount_unit, ''), (SELECT coalesce(sum(d.amount), 0) FROM "    \
    "dispensings d WHERE d.case_id = c.id), coalesce(l.general_level, ''), "   \
    "coalesce(c.patient_id, ''), coalesce(c.clinic_hsa, ''), "                 \
    "coalesce(c.hospital_hsa, ''), c.status "                                  \
    "FROM cases c JOIN licences l ON l.case_id = c.id "                        \
    "WHERE c.purged_ms IS NULL AND (" by_refnr " OR " by_product ") "          \
    "ORDER BY c.licence_type = 'EH' DESC, c.beredskap, l.valid_to DESC "       \
    "LIMIT 200"
    /* By referensnummer, whatever its state; or granted for the product
     * and valid on the day. */
    static const struct list_read read = {
        {LICENCES("(?1 IS NOT NULL AND c.refnr = ?1)",
                 "(?1 IS NULL AND c.status = ?4 AND l.valid_from <= ?2 AND "
                 "l.valid_to >= ?2 AND (l.nplid = ?3 OR "
                 "klasgw_fold(l.product_name) = klasgw_fold(?3)))"),
        LICENCES("($1::text IS NOT NULL AND c.refnr = $1)",
                 "($1::text IS NULL AND c.status = $4 AND l.valid_from <= $2 "
                 "AND l.valid_to >= $2 AND (l.nplid = $3 OR "
                 "klasgw_fold(l.product_name) = klasgw_fold($3)))")},
        sizeof(struct gw_licence_hit), 200, gw_rows_licence, NULL, "licences"};
#undef LICENCES
    struct gw_args a = {0};

    gw_args_str(&a, refnr);
    gw_args_str(&a, day);
    gw_args_str(&a, product);
    gw_args_str(&a, GRANTED);
    return list_rows(st, &read, &a, out, n);
}

/* instr and strpos, not LIKE: the pharmacist's text may hold % or _. */
gw_rc
gw_store_licence_name_contains(struct gw_store *st, const char *day,
                               const char *text, int *found)
{
#define NAME_CONTAINS(day, granted, contains)                                  \
    "SELECT 1 FROM cases c JOIN licences l ON l.case_id = c.id "               \
    "WHERE c.purged_ms IS NULL AND c.status = " granted " AND "                \
    "l.valid_from <= " day " AND l.valid_to >= " day " AND " contains          \
    " > 0 LIMIT 1"
    static const struct gw_sql sql = {
        NAME_CONTAINS("?1", "?3",
                      "instr(klasgw_fold(l.product_name), klasgw_fold(?2))"),
        NAME_CONTAINS("$1", "$3",
                      "strpos(klasgw_fold(l.product_name), klasgw_fold($2))")};
#undef NAME_CONTAINS
    struct gw_args a = {0};
    int64_t one = 0;
    size_t k = 0;
    gw_rc rc;

    *found = 0;
    if (text == NULL || text[0] == '\0')
        return GW_OK;
    gw_args_str(&a, day);
    gw_args_str(&a, text);
    gw_args_str(&a, GRANTED);
    rc = gw_store_be(st)->each(st, &sql, &a, gw_rows_add_i64, &one, 1, &k,
                               "licence names");
    *found = rc == GW_OK && k > 0;
    return rc;
}

gw_rc
gw_store_consent_get(struct gw_store *st, const char *hsa,
                     struct gw_consent *out)
{
#define CONSENT                                                                \
    "SELECT coalesce(consented_ms, 0), coalesce(last_applied_ms, 0), "         \
    "coalesce(last_active_ms, 0) FROM prescribers WHERE hsa = "
    static const struct gw_sql sql = {CONSENT "?1", CONSENT "$1"};
#undef CONSENT
    struct gw_args a = {0};
    gw_rc rc;

    memset(out, 0, sizeof(*out));
    gw_args_str(&a, hsa);
    rc = gw_store_be(st)->first(st, &sql, &a, gw_rows_consent, out,
                                "consent_get");
    return rc == GW_ENOTFOUND ? GW_OK : rc; /* never seen: known 0 */
}

gw_rc
gw_store_consent_renew(struct gw_store *st, const char *hsa, int64_t now_ms)
{
#define RENEW(a, b)                                                            \
    "INSERT INTO prescribers (hsa, consented_ms) VALUES (" a ", " b ") "       \
    "ON CONFLICT (hsa) DO UPDATE SET consented_ms = " b
    static const struct gw_sql sql = {RENEW("?1", "?2"), RENEW("$1", "$2")};
#undef RENEW
    struct gw_args a = {0};

    gw_args_str(&a, hsa);
    gw_args_i64(&a, now_ms);
    return gw_store_be(st)->update(st, &sql, &a, 0, "consent_renew");
}

/* --- the console's cases by day (console.h) ---------------------------- */

gw_rc
gw_console_cases_by_day(struct gw_store *st, int64_t since_ms,
                        struct gw_console_count *out, size_t max, size_t *n)
{
    /* The day in UTC, whatever the session's time zone. */
    static const struct gw_sql sql = {
        "SELECT strftime('%Y-%m-%d', created_ms / 1000, 'unixepoch') AS day,"
        " count(*) FROM cases WHERE updated_ms >= ?1 AND created_ms >= ?1"
        " GROUP BY day ORDER BY day",
        "SELECT to_char(to_timestamp(created_ms / 1000) AT TIME ZONE 'UTC',"
        " 'YYYY-MM-DD') AS day, count(*) FROM cases WHERE updated_ms >= $1"
        " AND created_ms >= $1 GROUP BY day ORDER BY day"};
    struct gw_args a = {0};

    gw_args_i64(&a, since_ms < 0 ? 0 : since_ms);
    return gw_store_be(st)->each(st, &sql, &a, gw_rows_add_console_count, out,
                                 max, n, "console_by_day");
}

/* --- Sök produkt, Sök apotek (licence.h) ------------------------------- */

/* "%text%" (prefix_only: "text%") for LIKE with the user's %, _ and \ as
 * letters; "" (any) is "%", which LIKE_* takes as "any" without looking
 * at the column: an empty column (NULL) matches it too. */
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

/* Every given field narrows (AND), case-insensitively: parameter n, made
 * by like_arg, against the column. */
#define LIKE_SQLITE(col, n)                                                    \
    "(?" #n " = '%' OR klasgw_fold(" col ") LIKE klasgw_fold(?" #n ")"         \
    " ESCAPE '\\')"
#define LIKE_PG(col, n)                                                        \
    "($" #n "::text = '%' OR klasgw_fold(" col ") LIKE klasgw_fold($" #n ")"   \
    " ESCAPE '\\')"

/* The registers an operator searches (licence.h), each a list read whose
 * parameters are its query's fields (a struct of the kind of its rows),
 * in order: where each is in the query, and which are matched by their
 * start (bit i of prefix for field i; the others anywhere). */
#define PRODUCTS(LIKE)                                                         \
    "SELECT name, coalesce(substances,''), coalesce(holder,''), "              \
    "coalesce(country,''), coalesce(nplid,''), coalesce(form,''), "            \
    "coalesce(strength,''), coalesce(atc,'') FROM products WHERE "             \
    LIKE("name", 1) " AND " LIKE("substances", 2) " AND "                      \
    LIKE("holder", 3) " AND " LIKE("country", 4) " AND "                       \
    LIKE("nplid", 5) " AND " LIKE("form", 6) " AND " LIKE("atc", 7)            \
    " ORDER BY name, strength LIMIT 120"
#define PHARMACIES(LIKE)                                                       \
    "SELECT gln, name, coalesce(actor,''), coalesce(address,''), "             \
    "coalesce(city,'') FROM pharmacies WHERE connected = 1 AND "               \
    LIKE("name", 1) " AND " LIKE("actor", 2) " AND " LIKE("address", 3)        \
    " AND " LIKE("city", 4) " AND " LIKE("gln", 5) " ORDER BY name LIMIT 120"
#define PRODUCT(m) offsetof(struct gw_product, m)
#define PHARMACY(m) offsetof(struct gw_pharmacy, m)
static const struct {
    struct list_read read;
    size_t field[GW_REGISTER_FIELDS], nf;
    unsigned prefix;
} registers[] = {
    [GW_REGISTER_PRODUCTS] =
        {{{PRODUCTS(LIKE_SQLITE), PRODUCTS(LIKE_PG)}, sizeof(struct gw_product),
          120, gw_rows_product, NULL, "product_search"},
         {PRODUCT(name), PRODUCT(substances), PRODUCT(holder),
          PRODUCT(country), PRODUCT(nplid), PRODUCT(form), PRODUCT(atc)},
         7,
         1u << 4 | 1u << 6}, /* NPL id and ATC code: by their start */
    [GW_REGISTER_PHARMACIES] =
        {{{PHARMACIES(LIKE_SQLITE), PHARMACIES(LIKE_PG)},
          sizeof(struct gw_pharmacy), 120, gw_rows_pharmacy, NULL,
          "pharmacy_search"},
         {PHARMACY(name), PHARMACY(actor), PHARMACY(address), PHARMACY(city),
          PHARMACY(gln)},
         5,
         1u << 4}, /* GLN: by its start */
};
#undef PRODUCTS
#undef PHARMACIES
#undef PRODUCT
#undef PHARMACY

size_t
gw_store_register_fields(enum gw_register r, const void *q,
                         const char *f[GW_REGISTER_FIELDS])
{
    for (size_t i = 0; i < registers[r].nf; i++)
        f[i] = (const char *)q + registers[r].field[i];
    return registers[r].nf;
}

gw_rc
gw_store_register_search(struct gw_store *st, enum gw_register r, const void *q,
                         void **out, size_t *n)
{
    const char *f[GW_REGISTER_FIELDS];
    char esc[GW_REGISTER_FIELDS][520];
    struct gw_args a = {0};
    size_t nf = gw_store_register_fields(r, q, f);

    for (size_t i = 0; i < nf; i++) {
        like_arg(esc[i], sizeof(esc[i]), f[i], (registers[r].prefix >> i) & 1u);
        gw_args_str(&a, esc[i]);
    }
    return list_rows(st, &registers[r].read, &a, out, n);
}

gw_rc
gw_store_product_search(struct gw_store *st, const struct gw_product *q,
                        struct gw_product **out, size_t *n)
{
    return gw_store_register_search(st, GW_REGISTER_PRODUCTS, q, (void **)out,
                                    n);
}

gw_rc
gw_store_pharmacy_search(struct gw_store *st, const struct gw_pharmacy *q,
                         struct gw_pharmacy **out, size_t *n)
{
    return gw_store_register_search(st, GW_REGISTER_PHARMACIES, q, (void **)out,
                                    n);
}

/* --- subscriptions (subscription.h) ------------------------------------ */

/* Subscriptions are few and change rarely: they are written outside the
 * group commit (SQLite: on the maintenance connection, like the HSA
 * cache). */
gw_rc
gw_store_sub_put(struct gw_store *st, const struct gw_subscription *sub)
{
#define SUB_PUT(values)                                                        \
    "INSERT INTO subscriptions (id, gln, endpoint, criteria, status, "         \
    "created_ms, filter_criteria, header, heartbeat_s) VALUES (" values ")"
    static const struct gw_sql sql = {
        SUB_PUT("?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9"),
        SUB_PUT("$1, $2, $3, $4, $5, $6, $7, $8, $9")};
#undef SUB_PUT
    struct gw_args a = {0};

    gw_args_str(&a, sub->id);
    gw_args_str(&a, sub->gln);
    gw_args_str(&a, sub->endpoint);
    gw_args_str(&a, sub->criteria);
    gw_args_str(&a, sub->status);
    gw_args_i64(&a, sub->created_ms);
    gw_args_str(&a, sub->filter[0] ? sub->filter : NULL);
    gw_args_str(&a, sub->header[0] ? sub->header : NULL);
    gw_args_i64(&a, sub->heartbeat_s);
    return gw_store_be(st)->update(st, &sql, &a, 0, "sub_put");
}

gw_rc
gw_store_sub_delete(struct gw_store *st, const char *id, const char *gln)
{
    static const struct gw_sql sub = {
        "DELETE FROM subscriptions WHERE id = ?1 AND gln = ?2",
        "DELETE FROM subscriptions WHERE id = $1 AND gln = $2"};
    static const struct gw_sql events = {
        "DELETE FROM subscription_events WHERE sub_id = ?1",
        "DELETE FROM subscription_events WHERE sub_id = $1"};
    struct gw_args a = {0}, e = {0};
    gw_rc rc;

    gw_args_str(&a, id);
    gw_args_str(&a, gln);
    gw_args_str(&e, id);
    rc = gw_store_be(st)->update(st, &sub, &a, 1, "sub_delete");
    /* Its events go with it (nobody may ask for them any more). */
    if (rc == GW_OK)
        rc = gw_store_be(st)->update(st, &events, &e, 0, "sub_events_delete");
    return rc;
}

gw_rc
gw_store_sub_list(struct gw_store *st, const char *id, const char *gln,
                  struct gw_subscription **subs, size_t *n)
{
#define SUBS "SELECT " GW_SUB_COLUMNS " FROM subscriptions WHERE "
    static const struct list_read read = {
        {SUBS "(?1 IS NULL OR id = ?1) AND (?2 IS NULL OR gln = ?2)"
              " ORDER BY created_ms, id LIMIT 100",
         SUBS "($1::text IS NULL OR id = $1) AND ($2::text IS NULL OR"
              " gln = $2) ORDER BY created_ms, id LIMIT 100"},
        sizeof(struct gw_subscription), 100, gw_rows_subscription, NULL,
        "sub_list"};
#undef SUBS
    struct gw_args a = {0};

    gw_args_str(&a, id);
    gw_args_str(&a, gln);
    return list_rows(st, &read, &a, subs, n);
}

gw_rc
gw_store_sub_events(struct gw_store *st, const char *id, int64_t since,
                    int64_t until, size_t max, struct gw_sub_event **out,
                    size_t *n)
{
#define EVENTS(id, since, until, limit)                                        \
    "SELECT event_number, at_ms, code, refnr FROM subscription_events "        \
    "WHERE sub_id = " id " AND event_number >= " since " AND "                 \
    "event_number <= " until " ORDER BY event_number LIMIT " limit
    /* At most max rows: the LIMIT. */
    static const struct list_read read = {
        {EVENTS("?1", "?2", "?3", "?4"), EVENTS("$1", "$2", "$3", "$4")},
        sizeof(struct gw_sub_event), GW_SUB_EVENTS_MAX, gw_rows_sub_event,
        NULL, "sub_events"};
#undef EVENTS
    struct gw_args a = {0};

    *out = NULL;
    *n = 0;
    if (max > GW_SUB_EVENTS_MAX)
        max = GW_SUB_EVENTS_MAX;
    if (max == 0)
        return GW_OK;
    gw_args_str(&a, id);
    gw_args_i64(&a, since);
    gw_args_i64(&a, until);
    gw_args_i64(&a, (int64_t)max);
    return list_rows(st, &read, &a, out, n);
}

gw_rc
gw_store_sub_mark(struct gw_store *st, const char *id, const char *status,
                  const char *why, int64_t sent_ms)
{
    static const struct gw_sql sql = {
        "UPDATE subscriptions SET status = COALESCE(?2, status),"
        " error = CASE WHEN ?2 IS NULL THEN error ELSE ?3 END,"
        " sent_ms = CASE WHEN ?4 > 0 THEN ?4 ELSE sent_ms END WHERE id = ?1",
        "UPDATE subscriptions SET status = COALESCE($2::text, status),"
        " error = CASE WHEN $2::text IS NULL THEN error ELSE $3::text END,"
        " sent_ms = CASE WHEN $4::bigint > 0 THEN $4::bigint ELSE sent_ms END"
        " WHERE id = $1"};
    struct gw_args a = {0};

    gw_args_str(&a, id);
    gw_args_str(&a, status);
    gw_args_str(&a, why);
    gw_args_i64(&a, sent_ms);
    return gw_store_be(st)->update(st, &sql, &a, 1, "sub_mark");
}

/*
 * A subscription is "active" or "error": gw_store_sub_note counts the
 * failed notifications in a row and puts it in error after a permanent
 * refusal or outbox.subscription_max_failures of them; its waiting items
 * then become due at once, in the same transaction (each is numbered for
 * $events and becomes a dead letter: outbound/pharmacy.c, not_active), and
 * it gets nothing more until the pharmacy creates it again. Subscriptions
 * are few and change rarely, so they are not written through the
 * group-commit writer.
 */
struct sub_note {
    const char *id, *why;
    int permanent, max_failures, in_error;
};

static gw_rc
sub_failed(const struct gw_conn_ops *ops, void *conn, void *arg)
{
    static const struct gw_sql failed = BOTH(
        "UPDATE subscriptions SET failures = failures + 1, status = CASE WHEN "
        "$1 <> 0 OR failures + 1 >= $2 THEN 'error' ELSE status END, error = "
        "CASE WHEN $1 <> 0 OR failures + 1 >= $2 THEN $3 ELSE error END WHERE "
        "id = $4 RETURNING CASE WHEN status = 'error' THEN 1 ELSE 0 END");
    static const struct gw_sql items_due = BOTH(
        "UPDATE outbox SET next_attempt_ms = $1, updated_ms = $1, last_error "
        "= 'subscription in error: ' || $2 WHERE target = $3 AND state = "
        "'pending'");
    struct sub_note *note = arg;
    struct gw_args a = {0};
    int64_t in_error = 0;
    gw_rc rc;

    gw_args_i64(&a, note->permanent != 0);
    gw_args_i64(&a, note->max_failures > 0 ? note->max_failures : 1);
    gw_args_str(&a, note->why);
    gw_args_str(&a, note->id);
    rc = ops->first(conn, &failed, &a, gw_rows_i64, &in_error, "sub_failed");
    if (rc != GW_OK || !in_error)
        return rc;
    note->in_error = 1;
    a.n = 0;
    gw_args_i64(&a, gw_clock_now_ms());
    gw_args_str(&a, note->why);
    gw_args_str(&a, note->id);
    return ops->run(conn, &items_due, &a, "sub_items_due");
}

gw_rc
gw_store_sub_note(struct gw_store *st, const char *id, int ok, int permanent,
                  int max_failures, const char *why, int *in_error)
{
    static const struct gw_sql sub_ok = BOTH(
        "UPDATE subscriptions SET failures = 0 WHERE id = $1 AND failures <> 0");
    struct sub_note note = {id, why ? why : "notification failed", permanent,
                            max_failures, 0};
    struct gw_args a = {0};
    gw_rc rc;

    if (in_error != NULL)
        *in_error = 0;
    if (ok) {
        gw_args_str(&a, id);
        return gw_store_be(st)->update(st, &sub_ok, &a, 0, "sub_ok");
    }
    /* GW_ENOTFOUND changed nothing: rolled back. */
    rc = gw_store_be(st)->txn(st, sub_failed, &note);
    if (rc == GW_OK && in_error != NULL)
        *in_error = note.in_error;
    return rc;
}

/*
 * Each event a subscription is to be told of is numbered when its
 * notification is first tried, in one transaction with the
 * subscription's count (its row locked first: PostgreSQL's nodes take
 * turns), so the numbers have no gaps and a retry keeps its number; the
 * last GW_SUB_EVENTS_KEPT are kept for $events.
 */
struct sub_numbering {
    const char *id, *message_id, *code, *refnr;
    struct gw_sub_event *ev;
};

static gw_rc
fill_numbered(const struct gw_cells *c, void *elem, size_t i)
{
    struct gw_sub_event *ev = elem;

    (void)i;
    ev->number = c->ops->i64(c->res, c->row, 0);
    ev->at_ms = c->ops->i64(c->res, c->row, 1);
    return GW_OK;
}

static gw_rc
sub_number(const struct gw_conn_ops *ops, void *conn, void *arg)
{
#define LOCK "SELECT events FROM subscriptions WHERE id = $1"
    static const struct gw_sql lock = {LOCK, LOCK " FOR UPDATE"};
#undef LOCK
    static const struct gw_sql find =
        BOTH("SELECT event_number, at_ms FROM subscription_events WHERE "
             "sub_id = $1 AND message_id = $2");
    static const struct gw_sql next = BOTH(
        "UPDATE subscriptions SET events = events + 1 WHERE id = $1 RETURNING "
        "events");
    static const struct gw_sql put = BOTH(
        "INSERT INTO subscription_events (sub_id, event_number, message_id, "
        "code, refnr, at_ms) VALUES ($1, $2, $3, $4, $5, $6)");
    static const struct gw_sql trim =
        BOTH("DELETE FROM subscription_events WHERE sub_id = $1 AND "
             "event_number <= $2");
    struct sub_numbering *sn = arg;
    struct gw_sub_event *ev = sn->ev;
    struct gw_args a = {0};
    int64_t events;
    gw_rc rc;

    gw_args_str(&a, sn->id);
    rc = ops->first(conn, &lock, &a, gw_rows_i64, &events, "sub_event_lock");
    if (rc != GW_OK)
        return rc;
    gw_args_str(&a, sn->message_id);
    rc = ops->first(conn, &find, &a, fill_numbered, ev, "sub_event_find");
    if (rc != GW_ENOTFOUND) /* a retry: the number it had */
        return rc;
    a.n = 1;
    rc = ops->first(conn, &next, &a, gw_rows_i64, &ev->number,
                    "sub_event_next");
    if (rc != GW_OK)
        return rc;
    ev->at_ms = gw_clock_now_ms();
    gw_args_i64(&a, ev->number);
    gw_args_str(&a, sn->message_id);
    gw_args_str(&a, sn->code);
    gw_args_str(&a, sn->refnr);
    gw_args_i64(&a, ev->at_ms);
    rc = ops->run(conn, &put, &a, "sub_event_put");
    if (rc != GW_OK || ev->number <= GW_SUB_EVENTS_KEPT)
        return rc;
    a.n = 1;
    gw_args_i64(&a, ev->number - GW_SUB_EVENTS_KEPT);
    return ops->run(conn, &trim, &a, "sub_event_trim");
}

gw_rc
gw_store_sub_event(struct gw_store *st, const char *id,
                   const char *message_id, const char *code,
                   const char *refnr, struct gw_sub_event *ev)
{
    struct sub_numbering sn = {id, message_id, code, refnr, ev};

    memset(ev, 0, sizeof(*ev));
    snprintf(ev->code, sizeof(ev->code), "%s", code);
    snprintf(ev->refnr, sizeof(ev->refnr), "%s", refnr ? refnr : "");
    return gw_store_be(st)->txn(st, sub_number, &sn);
}
