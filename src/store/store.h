/*
 * store.h - the durable store: cases, documents, attachments, history,
 * inbox (idempotency), outbox, audit, HSA cache, subscriptions, products
 * and pharmacies, in one SQLite database (WAL, synchronous=FULL, foreign
 * keys on).
 *
 * Writes: every change that a message causes is ONE struct gw_store_write,
 * handed to the single writer thread with gw_store_write(). The writer
 * takes up to store.batch_max waiting requests, applies each inside its own
 * SAVEPOINT (a failing request rolls back alone), commits the batch in one
 * transaction, and only after that commit returns to each caller (group
 * commit). Nothing is acknowledged before it is durable.
 *
 * Reads: readers use their own connections from a small pool; reads never
 * wait for the writer.
 *
 * Lifecycle, as `klasgw serve` does it:
 *   gw_store_open(path, &opts, &st)   open, migrate, start the writer
 *   gw_outbox_worker_start(st, peers) deliver the outbox (optional)
 *   gw_sched_start(st, ...)           daily purge, cache expiry (sched.h)
 *   ... serve ...
 *   gw_sched_stop, gw_outbox_worker_stop, gw_store_close (finishes the
 *   batch in progress, then closes)
 */
#ifndef GW_STORE_STORE_H
#define GW_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "core/buf.h"
#include "core/err.h"
#include "outbound/client.h"

struct gw_store;

/* Latest schema version the code knows. */
#define GW_STORE_SCHEMA_VERSION 3

struct gw_store_opts {
    int readers;            /* reader connections (default 8) */
    int batch_max;          /* most requests in one commit (default 256) */
    int busy_timeout_ms;    /* default 5000 */
    int start_writer;       /* 0: open for reading/maintenance only */
    int read_only;          /* 1: SQLite refuses every write; no migration
                               (an older schema is an error), no writer */
};

/*
 * Opens (creating the file and its folder if missing) and migrates the
 * database, and starts the writer thread unless opts->start_writer is 0.
 * opts may be NULL for defaults. Free with gw_store_close.
 */
gw_rc gw_store_open(const char *path, const struct gw_store_opts *opts,
                    struct gw_store **out, struct gw_err *err) GW_WARN_UNUSED;
/* Stops the writer after the batch in progress, closes every connection. */
void gw_store_close(struct gw_store *st);
/* Schema version of the open database. */
int gw_store_schema_version(struct gw_store *st);

/* The searchable columns of a case. Strings may be NULL (unknown). */
struct gw_case_row {
    char *refnr;          /* 10 digits; create: NULL = generate */
    char *status;         /* "M", "A", ... */
    char *licence_type;   /* "EH" or "GH" */
    int beredskap;
    char *prescriber_hsa;
    char *hospital_hsa, *hospital_name;
    char *clinic_hsa, *clinic_name;
    char *pharmacy_gln;
    char *drug_name, *substances;
    char *patient_id;     /* personnummer, samordningsnummer or birth date */
    char *parent_refnr;   /* re-application: the granted licence */
    long version;         /* bumped by every change */
    int64_t created_ms, updated_ms, applied_ms, decided_ms, purged_ms;
};

/* Frees the strings of a row read by the store. */
void gw_case_row_release(struct gw_case_row *row);

struct gw_store_attachment {
    const char *description;
    const char *content_type;
    int hidden; /* dold för apotek */
    const void *data;
    size_t size;
};

struct gw_store_outbox_new {
    const char *message_id; /* unique; the peer deduplicates by it */
    const char *peer;
    const char *kind;
    const void *payload;
    size_t payload_len;
    /* A GLN: instead of one item, one per active Subscription of that
     * pharmacy at commit time (target = the subscription id, message id
     * "<message_id>:<subscription id>"), each delivered, retried and dead
     * on its own; none when it has none (the pharmacy polls). */
    const char *fanout_gln;
};

enum gw_store_op {
    GW_STORE_OP_NONE = 0, /* nothing but inbox/audit (e.g. a refusal) */
    GW_STORE_OP_CREATE,   /* a new case */
    GW_STORE_OP_UPDATE,   /* change the case named by row.refnr */
    GW_STORE_OP_DISPENSE  /* record w.dispense against licence row.refnr */
};

/* The licence a case is about. On CREATE: the product and amount from
 * the motivation (a re-application copies its parent's). On UPDATE: the
 * validity period of a grant (other fields ignored). Strings may be NULL. */
struct gw_licence_info {
    const char *nplid, *product_name, *substances, *form, *strength, *holder,
        *country, *atc;
    const char *general_level; /* unit, administration, region */
    double total_amount;       /* 0: unknown */
    const char *amount_unit;
    const char *valid_from, *valid_to; /* YYYY-MM-DD */
};

/* A dispensing (avräkning) against a granted licence. The writer refuses
 * it (GW_EDENIED, reason in res.err) unless the case is granted, the date
 * is within the validity period and the total stays within the granted
 * amount. */
struct gw_dispense {
    const char *gln;
    double amount;
    const char *dispensed_on; /* YYYY-MM-DD */
    const char *kind;         /* prescription | requisition */
};

/*
 * The response to store in the inbox, built inside the transaction once
 * the referensnummer and version are known (so a receipt can quote them).
 * Runs on the writer thread: pure formatting, no I/O, no locks.
 */
typedef gw_rc (*gw_store_respond_fn)(void *ctx, const char *refnr,
                                     long version, struct gw_buf *out);

struct gw_store_write {
    /* Idempotency: the same message_id again replays the first answer;
     * with another content_hash it is refused (GW_EDUPLICATE). */
    const char *message_id;
    const char *sender;       /* client label */
    const char *content_hash; /* hex digest of the message as received */

    enum gw_store_op op;
    struct gw_case_row row;   /* CREATE: all fields; UPDATE: refnr + the
                                 fields to change (NULL/0 keeps) */
    const char *expect_status; /* UPDATE: refuse (GW_ECONFLICT) unless the
                                  case is in this status; NULL: any */
    long expect_version;       /* UPDATE: refuse (GW_EPRECONDITION) unless
                                  equal; 0: any */
    const char *event, *actor; /* status history: what, and who */

    const char *doc_kind;      /* new document version, or NULL */
    const char *doc_xml;
    size_t doc_len;
    const struct gw_store_attachment *attachments;
    size_t nattachments;
    const struct gw_store_outbox_new *outbox;
    size_t noutbox;
    const struct gw_licence_info *licence; /* or NULL */
    const struct gw_dispense *dispense;    /* GW_STORE_OP_DISPENSE */
    const struct gw_audit_entry *audit; /* refnr filled in when NULL */
    size_t naudit;

    int response_status;       /* HTTP-like status stored with the answer */
    gw_store_respond_fn respond;
    void *respond_ctx;
};

struct gw_store_result {
    gw_rc rc;
    int replayed;          /* 1: an earlier identical message answered */
    char refnr[16];
    long version;
    int response_status;
    char *response;        /* caller frees */
    size_t response_len;
    struct gw_err err;     /* detail on refusal */
    /* Inbox look-ups (also on GW_EDUPLICATE): the first message's. */
    char content_hash[65];
    int64_t received_ms;
};

/*
 * Hands w to the writer and waits until its batch is durable. Returns
 * res->rc. Everything in w is borrowed until return. Thread-safe.
 */
gw_rc gw_store_write(struct gw_store *st, const struct gw_store_write *w,
                     struct gw_store_result *res) GW_WARN_UNUSED;
void gw_store_result_release(struct gw_store_result *res);

/* Appends audit entries for a read without waiting: they are committed
 * with the next batch. Copies e. */
gw_rc gw_store_audit_async(struct gw_store *st, const struct gw_audit_entry *e)
    GW_WARN_UNUSED;

/* --- reads ---------------------------------------------------------- */

/* The case by referensnummer; GW_ENOTFOUND if none (purged cases are
 * found, with purged_ms set). */
gw_rc gw_store_case_get(struct gw_store *st, const char *refnr,
                        struct gw_case_row *out) GW_WARN_UNUSED;

/* The document of a case at `version` (0: latest); caller frees *xml. */
gw_rc gw_store_document_get(struct gw_store *st, const char *refnr,
                            long version, char **kind, char **xml,
                            size_t *len, long *got_version) GW_WARN_UNUSED;

struct gw_case_query {
    const char *prescriber_hsa;  /* own cases only when set */
    const char *pharmacy_gln;    /* that pharmacy's cases only when set */
    const char *refnr;
    const char *patient_id;
    const char *statuses[8];     /* any of these; NULL-terminated */
    const char *licence_type;
    const char *drug;            /* substring of drug name or substances */
    int64_t changed_from_ms, changed_to_ms; /* 0: open */
    int limit;                   /* at most (<= 120 for Mina ärenden) */
};

/* Matching cases, newest change first. Caller frees with
 * gw_case_rows_free. */
gw_rc gw_store_case_search(struct gw_store *st, const struct gw_case_query *q,
                           struct gw_case_row **rows, size_t *n) GW_WARN_UNUSED;
void gw_case_rows_free(struct gw_case_row *rows, size_t n);
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
                            struct gw_history_row **rows, size_t *n)
    GW_WARN_UNUSED;

/* The answer stored for message_id, if any (GW_ENOTFOUND): res gets the
 * refnr, version, status and response (caller releases), and the first
 * message's content hash and receive time. */
gw_rc gw_store_inbox_get(struct gw_store *st, const char *message_id,
                         struct gw_store_result *res) GW_WARN_UNUSED;

/* --- licences at dispensing, products, pharmacies, consent ---------- */

struct gw_licence_hit {
    char refnr[16], licence_type[4], general_level[16], status[8];
    int beredskap;
    char valid_from[16], valid_to[16], amount_unit[32];
    double total_amount, dispensed;
    char patient_id[16], clinic_hsa[40], hospital_hsa[40];
};
/* Licences: the one named refnr (any status), or (refnr NULL) those granted
 * for product (NPL id or name) and valid on day, enskild first, at most
 * 200. Whether one covers a dispensing is klas/licence.h's decision.
 * Caller frees *out with free(). patient_id is personal data. */
gw_rc gw_store_licences(struct gw_store *st, const char *refnr,
                        const char *day, const char *product,
                        struct gw_licence_hit **out, size_t *n) GW_WARN_UNUSED;

struct gw_consent {
    int known;
    int64_t consented_ms, last_applied_ms, last_active_ms;
};
gw_rc gw_store_consent_get(struct gw_store *st, const char *hsa,
                           struct gw_consent *out) GW_WARN_UNUSED;
gw_rc gw_store_consent_renew(struct gw_store *st, const char *hsa,
                             int64_t now_ms) GW_WARN_UNUSED;

/* Sök produkt: products on granted licences. Query fields "" = any. */
struct gw_product {
    char name[160], substances[256], holder[128], country[64], nplid[16],
        form[96], strength[64], atc[16];
};
gw_rc gw_store_product_search(struct gw_store *st, const struct gw_product *q,
                              struct gw_product **out, size_t *n)
    GW_WARN_UNUSED;

/* Sök apotek: pharmacies connected to the gateway. */
struct gw_pharmacy {
    char gln[16], name[128], actor[128], address[160], city[64];
};
gw_rc gw_store_pharmacy_put(struct gw_store *st, const struct gw_pharmacy *p)
    GW_WARN_UNUSED;
gw_rc gw_store_pharmacy_search(struct gw_store *st,
                               const struct gw_pharmacy *q,
                               struct gw_pharmacy **out, size_t *n)
    GW_WARN_UNUSED;

/* --- pharmacy subscriptions (rest-hook) ----------------------------- */
struct gw_subscription {
    char id[40];
    char gln[16];
    char endpoint[512];
    char criteria[128];
    char status[16]; /* "active", or "error" after failed notifications */
    int64_t created_ms;
    int failures;    /* failed notifications in a row */
    char error[200]; /* why it is in error ("" when active) */
};
gw_rc gw_store_sub_put(struct gw_store *st, const struct gw_subscription *sub)
    GW_WARN_UNUSED;
/* GW_ENOTFOUND unless a subscription `id` of `gln` existed. */
gw_rc gw_store_sub_delete(struct gw_store *st, const char *id, const char *gln)
    GW_WARN_UNUSED;
/* Subscriptions by id and/or GLN (NULL: any), at most 100. Caller frees
 * *subs with free(). */
gw_rc gw_store_sub_list(struct gw_store *st, const char *id, const char *gln,
                        struct gw_subscription **subs, size_t *n)
    GW_WARN_UNUSED;

/* Records the outcome of one notification to subscription `id`: a success
 * clears its failures; a failure counts one, and a permanent one
 * (`permanent`) or the `max_failures`-th in a row puts the subscription in
 * status "error" with `why`, and its items still waiting become dead
 * letters. *in_error (may be NULL) is 1 when it is in error now.
 * GW_ENOTFOUND when the subscription is gone. */
gw_rc gw_store_sub_note(struct gw_store *st, const char *id, int ok,
                        int permanent, int max_failures, const char *why,
                        int *in_error) GW_WARN_UNUSED;

/* --- outbox (delivery side) ----------------------------------------- */

/* Claims up to one item of `peer` for `owner` (a worker's unique id) with
 * a lease until now + lease_ms, marking it in flight: a pending item that
 * is due, or one in flight whose lease has expired (its holder died).
 * With `probe` set, the pending item due first is taken even if it is not
 * due yet (a probe of a peer that is down). *out is NULL when there is
 * nothing to take. Free with gw_outbox_item_free. */
gw_rc gw_outbox_claim(struct gw_store *st, const char *peer, const char *owner,
                      int64_t lease_ms, int probe,
                      struct gw_outbox_item **out) GW_WARN_UNUSED;
void gw_outbox_item_free(struct gw_outbox_item *item);
/* Records a delivery outcome of an item `owner` holds: done, retry at
 * next_ms, or dead. GW_ENOTFOUND when owner no longer holds it (its lease
 * expired and another worker took it over). */
gw_rc gw_outbox_done(struct gw_store *st, long long id,
                     const char *owner) GW_WARN_UNUSED;
gw_rc gw_outbox_fail(struct gw_store *st, long long id, const char *owner,
                     int dead, int64_t next_ms, const char *why) GW_WARN_UNUSED;
/* A probe that did not get through, tried before the item was due: back
 * to pending as it was (the attempt is not counted, the backoff stays),
 * with why as its last error. */
gw_rc gw_outbox_release(struct gw_store *st, long long id, const char *owner,
                        const char *why) GW_WARN_UNUSED;
/* The peer answers again: every pending item of peer is due now. *n gets
 * how many were moved forward. */
gw_rc gw_outbox_due_now(struct gw_store *st, const char *peer,
                        long long *n) GW_WARN_UNUSED;
/* Every item in flight back to pending now, whatever its lease; *n gets
 * how many. Only for the one process that holds the store exclusively
 * (serve, with its lock), which knows every lease holder is dead. */
gw_rc gw_outbox_reclaim_all(struct gw_store *st, long long *n) GW_WARN_UNUSED;
/* Operators: put a dead or pending item back for delivery now. */
gw_rc gw_outbox_retry(struct gw_store *st, long long id) GW_WARN_UNUSED;
/* Waits until new outbox work may exist (a commit with outbox items, a
 * retry, gw_outbox_wake) or timeout_ms passes (GW_ETIMEOUT). *seen is the
 * generation the caller last saw; updated on return. */
gw_rc gw_outbox_wait(struct gw_store *st, long long *seen, int64_t timeout_ms);
/* Wakes every waiter (used to stop workers). */
void gw_outbox_wake(struct gw_store *st);
/* Earliest next_attempt of a pending item, or the expiry of a lease in
 * flight, or -1. */
int64_t gw_outbox_next_due(struct gw_store *st);
/* Counts per state for metrics: pending, inflight, done, dead. */
gw_rc gw_outbox_counts(struct gw_store *st, long long counts[4])
    GW_WARN_UNUSED;

/* Per peer: items waiting or in flight (queue depth), and dead letters. */
struct gw_outbox_peer_count {
    char peer[32];
    long long queued, dead;
};
gw_rc gw_outbox_peer_counts(struct gw_store *st,
                            struct gw_outbox_peer_count *out, size_t max,
                            size_t *n) GW_WARN_UNUSED;

struct gw_outbox_info {
    long long id;
    char message_id[160], peer[32], kind[48], refnr[16], state[12];
    int attempts;
    int64_t next_attempt_ms, created_ms, updated_ms;
    char last_error[200];
    size_t payload_len;
    char claimed_by[96]; /* in flight: the worker holding the lease */
    int64_t claimed_until;
    char target[40]; /* notification: the subscription id */
};
/* Lists items (state NULL: all), newest first, at most limit. */
gw_rc gw_outbox_list(struct gw_store *st, const char *state, int limit,
                     struct gw_outbox_info **items, size_t *n) GW_WARN_UNUSED;
gw_rc gw_outbox_show(struct gw_store *st, long long id,
                     struct gw_outbox_info *out) GW_WARN_UNUSED;

/* --- audit ---------------------------------------------------------- */

/* Walks the whole chain and the head. GW_OK, or GW_ECONFLICT naming the
 * first broken record in err; *count gets the records checked. */
gw_rc gw_store_audit_verify(struct gw_store *st, long long *count,
                            struct gw_err *err) GW_WARN_UNUSED;
/*
 * The same, and: every checkpoint's record must be there with the hash it
 * had (cps: ncps, already signature-checked; a cut tail fails here); with
 * a key loaded, at least one record must be keyed unless the log is empty.
 * On success the head's seq and hash go to *head_seq and head (either may
 * be NULL) and *keyed_from gets the first keyed seq (0: none).
 */
gw_rc gw_store_audit_verify_at(struct gw_store *st,
                               const struct gw_audit_checkpoint *cps,
                               size_t ncps, long long *count,
                               long long *keyed_from, int64_t *head_seq,
                               char head[GW_AUDIT_HASH_HEX],
                               struct gw_err *err) GW_WARN_UNUSED;
/* The head row: last seq and hash, as written (not verified). */
gw_rc gw_store_audit_head(struct gw_store *st, int64_t *seq,
                          char hash[GW_AUDIT_HASH_HEX]) GW_WARN_UNUSED;
/* Calls fn for each record (refnr NULL: all) from since_ms on. */
gw_rc gw_store_audit_each(struct gw_store *st, const char *refnr,
                          int64_t since_ms,
                          gw_rc (*fn)(void *, const struct gw_audit_record *),
                          void *ctx) GW_WARN_UNUSED;

/* --- retention ------------------------------------------------------ */

struct gw_purge_counts {
    long long motivations; /* M without application, past retention */
    long long decided;     /* Bev/Avs/Avi past retention */
};
/*
 * Purges personal data: motivations (status M) created before
 * now - motivation_months, and decided cases decided before
 * now - decided_months. Documents, attachments, patient identity and
 * stored answers go; the case row stays as a counted tombstone (refnr,
 * type, status, dates). Audited. dry_run only counts.
 */
gw_rc gw_store_purge(struct gw_store *st, int64_t now_ms, int motivation_months,
                     int decided_months, int dry_run,
                     struct gw_purge_counts *out) GW_WARN_UNUSED;

/* --- HSA cache ------------------------------------------------------ */
gw_rc gw_store_hsa_put(struct gw_store *st, const char *person_hsa,
                       const char *answer, size_t len, int64_t expires_ms)
    GW_WARN_UNUSED;
/* GW_ENOTFOUND when absent or expired at now_ms. Caller frees *answer. */
gw_rc gw_store_hsa_get(struct gw_store *st, const char *person_hsa,
                       int64_t now_ms, char **answer, size_t *len)
    GW_WARN_UNUSED;

/* --- statistics for metrics ----------------------------------------- */
struct gw_store_stats {
    long long batches, requests, max_batch;
    long long batch_hist[8]; /* sizes 1, 2-3, 4-7, 8-15, 16-31, 32-63,
                                64-127, 128+ */
};
void gw_store_stats(struct gw_store *st, struct gw_store_stats *out);
/* Bytes SQLite holds now (page caches, statements, schema), all stores. */
long long gw_store_memory_used(void);

/*
 * Readiness (/healthz/ready): GW_OK while the store can commit. After a
 * batch that could not be written (GW_ESTORAGEFULL: the disk is full;
 * GW_ESTORE) it is ready again, without a restart, once the database's
 * file system has 1 MiB free and a one-page probe commit succeeds
 * (probed at most once a second). err says why not.
 */
gw_rc gw_store_ready(struct gw_store *st, struct gw_err *err) GW_WARN_UNUSED;

/* Runs PRAGMA integrity_check; GW_OK when "ok". */
gw_rc gw_store_integrity_check(struct gw_store *st) GW_WARN_UNUSED;

#endif
