/*
 * rows.h - a result row as either backend reads it, and the row-to-struct
 * copies both backends share: where SQLite (read.c, licence.c, outbox.c,
 * console.c) and PostgreSQL (pg_read.c, pg_outbox.c, pg_console.c) select
 * the same columns into the same struct, one function here fills it, from
 * a struct gw_cells the backend makes over its own result (db.c: an
 * sqlite3_stmt; pg_rows.c: a PGresult row). The retention walk both
 * purges share is here too (the end of the file). Nothing outside store/
 * includes it.
 *
 * Each fill below names the columns it reads, in order: the SELECTs of
 * both backends list them so (CASE_COLUMNS is shared for that reason).
 */
#ifndef GW_STORE_ROWS_H
#define GW_STORE_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "store/read.h"

struct gw_cells_ops {
    /* The cell as text; NULL for SQL NULL. Valid until the row moves. */
    const char *(*text)(const void *res, int row, int col);
    int64_t (*i64)(const void *res, int row, int col); /* NULL: 0 */
    double (*f64)(const void *res, int row, int col);  /* NULL: 0 */
    /* The cell's bytes, malloc'd with a NUL after them (*len without
     * it; NULL: empty); NULL on ENOMEM. */
    char *(*bytes)(const void *res, int row, int col, size_t *len);
};

struct gw_cells {
    const struct gw_cells_ops *ops;
    const void *res;
    int row;
};

/* Fills element i (zeroed) from row c; GW_OK or an error that ends the
 * read (what the element owns is then already freed). The fills below are
 * declared by this type. */
typedef gw_rc gw_cells_fill_fn(const struct gw_cells *c, void *elem, size_t i);
typedef gw_cells_fill_fn *gw_cells_fill;

/* Cell helpers: text copied into a fixed field ("" for NULL), or
 * duplicated (NULL stays NULL). */
void gw_cell_copy(const struct gw_cells *c, int col, char *dst, size_t size);
char *gw_cell_dup(const struct gw_cells *c, int col);

/* The columns of a case, in gw_rows_case's order. */
#define GW_CASE_COLUMNS                                                        \
    "refnr, status, licence_type, beredskap, prescriber_hsa, hospital_hsa, "   \
    "hospital_name, clinic_hsa, clinic_name, pharmacy_gln, drug_name, "        \
    "substances, patient_id, parent_refnr, version, created_ms, updated_ms, "  \
    "applied_ms, decided_ms, purged_ms, id"

/*
 * The case search's pages, in either dialect: the SELECT of a page after
 * the key (down: newest first) and of one before it (up: oldest first,
 * turned round with gw_rows_case_reverse), given the search's WHERE and
 * the placeholders of the direction (0: none, > 0: after, < 0: before),
 * the key's updated_ms and id, and the limit. New and changed cases get
 * a newer key, so a page never shifts.
 */
#define GW_CASE_PAGE_WHERE(dir, ms, id)                                        \
    " AND (" dir " = 0"                                                        \
    " OR (" dir " > 0 AND (updated_ms < " ms " OR (updated_ms = " ms           \
    " AND id < " id ")))"                                                      \
    " OR (" dir " < 0 AND (updated_ms > " ms " OR (updated_ms = " ms           \
    " AND id > " id "))))"
#define GW_CASE_PAGE_SQL(where, page, order, limit)                            \
    "SELECT " GW_CASE_COLUMNS " FROM cases " where page                        \
    " ORDER BY updated_ms " order ", id " order " LIMIT " limit
/* struct gw_case_row from GW_CASE_COLUMNS (GW_ENOMEM: nothing kept). */
gw_cells_fill_fn gw_rows_case;
void gw_rows_case_release(void *elem);
/* The search's statuses as the comma-framed list both backends' filters
 * take (",M,A,"; "" for any); GW_EINVAL when they do not fit size. */
struct gw_case_query;
gw_rc gw_rows_statuses(const struct gw_case_query *q, char *buf, size_t size);
/* A page before the paging key is read oldest first: turns it round. */
struct gw_case_row;
void gw_rows_case_reverse(struct gw_case_row *rows, size_t n);
/* Where a document read goes (read.h's gw_store_document_get): kind, xml
 * (malloc'd, NUL after it), len and version (may be NULL), set by
 * gw_rows_document from kind, xml, version; GW_ENOMEM sets nothing. */
struct gw_document_out {
    char **kind, **xml;
    size_t *len;
    long *version;
};
gw_cells_fill_fn gw_rows_document;
/* A cached answer (hsa_cache.h's gw_store_hsa_get): data (malloc'd, NUL
 * after it) and len, from the first column's bytes. */
struct gw_bytes_out {
    char **data;
    size_t *len;
};
gw_cells_fill_fn gw_rows_bytes;
/* The columns of an inbox row, in gw_rows_inbox's order. */
#define GW_INBOX_COLUMNS                                                       \
    "content_hash, refnr, version, response_status, response, received_ms"
/* struct gw_store_result, an earlier message's answer (replayed set,
 * response malloc'd): content_hash, refnr, version, response_status,
 * response, received_ms. */
gw_cells_fill_fn gw_rows_inbox;
/* int64_t: the first column. */
gw_cells_fill_fn gw_rows_i64;
/* struct gw_write_sub_id (write_apply.h): id. */
gw_cells_fill_fn gw_rows_sub_id;
/* struct gw_audit_record: seq, at_ms, system, user_id, action, refnr,
 * outcome, detail, prev_hash, hash (the texts point into the row: valid
 * until it moves). */
struct gw_audit_record;
void gw_rows_audit(const struct gw_cells *c, struct gw_audit_record *o);
/* struct gw_consent: consented_ms, last_applied_ms, last_active_ms
 * (known set: there is a row). */
gw_cells_fill_fn gw_rows_consent;
/* struct gw_history_row: from_status, to_status, event, at_ms (version
 * is the row's place, from 1). */
gw_cells_fill_fn gw_rows_history;
/* struct gw_licence_hit: refnr, licence_type, beredskap, valid_from,
 * valid_to, total_amount, amount_unit, dispensed, general_level,
 * patient_id, clinic_hsa, hospital_hsa, status. */
gw_cells_fill_fn gw_rows_licence;
/* struct gw_product: name, substances, holder, country, nplid, form,
 * strength, atc. */
gw_cells_fill_fn gw_rows_product;
/* struct gw_pharmacy: gln, name, actor, address, city. */
gw_cells_fill_fn gw_rows_pharmacy;
/* struct gw_outbox_info: id, message_id, peer, kind, refnr, state,
 * attempts, next_attempt_ms, created_ms, updated_ms, last_error,
 * length(payload), claimed_by, claimed_until, target. */
gw_cells_fill_fn gw_rows_outbox_info;

/* The columns a claim returns, in gw_rows_outbox_item's order. */
#define GW_CLAIM_COLUMNS                                                       \
    "id, message_id, peer, kind, coalesce(refnr, ''), payload, attempts, "     \
    "coalesce(target, ''), next_attempt_ms"
/* struct gw_outbox_item from GW_CLAIM_COLUMNS (payload malloc'd;
 * GW_ENOMEM: nothing kept). */
gw_cells_fill_fn gw_rows_outbox_item;
/* The claimed item got (filled by gw_rows_outbox_item) handed over in a
 * new *out, one block with its payload (gw_outbox_item_free frees it);
 * what got owns is freed either way. */
struct gw_outbox_item;
gw_rc gw_rows_outbox_item_keep(struct gw_outbox_item *got,
                               struct gw_outbox_item **out);

/* The columns of a subscription, in gw_rows_subscription's order. */
#define GW_SUB_COLUMNS                                                         \
    "id, gln, endpoint, criteria, status, created_ms, failures, error, "       \
    "filter_criteria, header, heartbeat_s, events, sent_ms"
/* struct gw_subscription from GW_SUB_COLUMNS. */
gw_cells_fill_fn gw_rows_subscription;
/* struct gw_sub_event: event_number, at_ms, code, refnr. */
gw_cells_fill_fn gw_rows_sub_event;

/*
 * Reads into the caller's fixed array (at most max, *n filled): each row
 * of the result is handed to an add function, which places it (a new
 * element, or one keyed by its peer) or drops it when the array is full.
 * The adds below are declared by this type.
 */
typedef void gw_cells_add_fn(const struct gw_cells *c, void *out, size_t max,
                             size_t *n);
typedef gw_cells_add_fn *gw_cells_add;
/* The element of out[0..*n) whose first member, a char[key_size], holds
 * key; added (zeroed, key copied) when new and there is room; SIZE_MAX
 * when full. */
size_t gw_rows_slot(void *out, size_t elem_size, size_t key_size, size_t max,
                    size_t *n, const char *key);
/* struct gw_outbox_peer_count, keyed by peer: peer, state, count. */
gw_cells_add_fn gw_rows_add_peer_count;
/* struct gw_console_peer, keyed by peer: peer, state, count, the oldest
 * pending item's created_ms, the last failure's updated_ms. */
gw_cells_add_fn gw_rows_add_console_peer;
/* struct gw_console_dead: id, peer, kind, attempts, created_ms,
 * updated_ms, last_error. */
gw_cells_add_fn gw_rows_add_console_dead;
/* struct gw_console_count: key, count. */
gw_cells_add_fn gw_rows_add_console_count;

/* struct gw_outbox_peer_oldest: peer, min(created_ms). */
gw_cells_add_fn gw_rows_add_peer_oldest;
/* struct gw_console_audit (max 1): seq, hash, at_ms. */
gw_cells_add_fn gw_rows_add_console_audit;
/* int64_t (max 1): the first column. */
gw_cells_add_fn gw_rows_add_i64;
/* long long[4] (max 4), the outbox's items by state: pending, inflight,
 * done, dead; from state, count (*n stays). */
gw_cells_add_fn gw_rows_add_outbox_count;

/*
 * Retention (purge.c, pg_read.c): the walk both purges share, inside the
 * transaction the backend holds. Every status klas/ lets the gateway
 * purge has its victims found first (the steps change the rows being
 * walked), past the decision's cut for a decided status, the
 * motivation's otherwise; then each is counted in *out and, unless
 * dry_run, purged with its audit record. The statements are the walk's,
 * in both dialects (rows.c); a backend gives only how to run them.
 */
struct gw_purge_victim {
    long long id;
    char refnr[16];
    int decided; /* past retention since the decision, not the motivation */
};
/* struct gw_purge_victim: id, refnr (decided set by the walk). */
gw_cells_fill_fn gw_rows_purge_victim;
struct gw_purge_counts;
struct gw_audit_entry;
struct gw_sql;
struct gw_args;
struct gw_purge_ops {
    /* The rows of sql (its dialect's text, with a) collected with fill
     * into *out (*n; NULL without), on the backend's connection conn. */
    gw_rc (*list)(void *conn, const struct gw_sql *sql,
                  const struct gw_args *a, size_t elem_size,
                  gw_cells_fill fill, void **out, size_t *n,
                  const char *what);
    /* sql run once on conn. */
    gw_rc (*run)(void *conn, const struct gw_sql *sql, const struct gw_args *a,
                 const char *what);
    /* An audit record appended on conn. */
    gw_rc (*audit)(void *conn, const struct gw_audit_entry *e, int64_t now_ms);
};
/* The walk on the backend's connection conn, for purge.h's mode (a dry
 * run only counts); the cuts are now less the months of each
 * (gw_clock_minus_months). A run that purged is logged, and the daily
 * run always (purge.h). */
gw_rc gw_rows_purge_walk(const struct gw_purge_ops *ops, void *conn,
                         int64_t now_ms, int motivation_months,
                         int decided_months, int mode,
                         struct gw_purge_counts *out);

#endif
