/*
 * read.h - reading cases (read.c): a case, its documents, searches and counts,
 * its history, and the inbox (what an earlier message id was answered).
 */
#ifndef GW_STORE_READ_H
#define GW_STORE_READ_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "klas/state.h"

struct gw_store;
struct gw_store_result; /* write.h */

/* The searchable columns of a case. Strings may be NULL (unknown). */
struct gw_case_row {
    char *refnr;        /* 10 digits; create: NULL = generate */
    char *status;       /* "M", "A", ... */
    char *licence_type; /* "EH" or "GH" */
    int beredskap;
    char *prescriber_hsa;
    char *hospital_hsa, *hospital_name;
    char *clinic_hsa, *clinic_name;
    char *pharmacy_gln;
    char *drug_name, *substances;
    char *patient_id;   /* personnummer, samordningsnummer or birth date */
    char *parent_refnr; /* re-application: the granted licence */
    long version;       /* bumped by every change */
    int64_t created_ms, updated_ms, applied_ms, decided_ms, purged_ms;
    int64_t rowid; /* read only: the paging key's tie-break */
};

/* Frees the strings of a row read by the store. */
void gw_case_row_release(struct gw_case_row *row);

/* The case by referensnummer; GW_ENOTFOUND if none (purged cases are
 * found, with purged_ms set). */
gw_rc gw_store_case_get(struct gw_store *st, const char *refnr,
                        struct gw_case_row *out) GW_WARN_UNUSED;

/* The document of a case at `version` (0: latest); caller frees *xml. */
gw_rc gw_store_document_get(struct gw_store *st, const char *refnr,
                            long version, char **kind, char **xml, size_t *len,
                            long *got_version) GW_WARN_UNUSED;

struct gw_case_query {
    const char *prescriber_hsa; /* own cases only when set */
    const char *pharmacy_gln;   /* that pharmacy's cases only when set */
    const char *refnr;
    const char *patient_id;
    /* any of these; NULL-terminated: room for every status (state.h) */
    const char *statuses[GW_CASE_NSTATUS + 1];
    const char *licence_type;
    const char *drug; /* substring of drug name or substances */
    int64_t changed_from_ms, changed_to_ms; /* 0: open */
    int limit; /* at most (<= 120 for Mina ärenden) */
    /* Keyset paging on the search order (updated_ms, rowid): 0 from the
     * start; +1 the rows after (older than) the key; -1 the rows before
     * (newer than) it, still answered newest first. The count ignores it. */
    int page_dir;
    int64_t page_ms, page_rowid;
};

/* Matching cases, newest change first (ties: the later row first); a
 * page from q's key on. Caller frees with gw_case_rows_free. */
gw_rc gw_store_case_search(struct gw_store *st, const struct gw_case_query *q,
                           struct gw_case_row **rows, size_t *n) GW_WARN_UNUSED;
void gw_case_rows_free(struct gw_case_row *rows, size_t n);
/* The SQLite statement a first page of q runs (parameters ?1 to ?13):
 * for a look at its plan (EXPLAIN QUERY PLAN; test_store does). */
const char *gw_store_case_search_sqlite(const struct gw_case_query *q);
/* The SQLite statement gw_store_audit_each runs for refnr (NULL: all;
 * parameters ?1 to ?3): for a look at its plan, as above. */
const char *gw_store_audit_each_sqlite(const char *refnr);
/* How many cases match q, beyond its limit. */
gw_rc gw_store_case_count(struct gw_store *st, const struct gw_case_query *q,
                          long long *total) GW_WARN_UNUSED;

/* One change of a case, oldest first; version = position (1-based). */
struct gw_history_row {
    long version;
    char from_status[8], to_status[8], event[32];
    int64_t at_ms;
};
/* The status history of a case. Caller frees *rows with free(). */
gw_rc gw_store_case_history(struct gw_store *st, const char *refnr,
                            struct gw_history_row **rows,
                            size_t *n) GW_WARN_UNUSED;

/* The answer stored for message_id, if any (GW_ENOTFOUND): res gets the
 * refnr, version, status and response (caller releases), and the first
 * message's content hash and receive time. */
gw_rc gw_store_inbox_get(struct gw_store *st, const char *message_id,
                         struct gw_store_result *res) GW_WARN_UNUSED;

#endif
