/*
 * pipeline.h - the one way every message and every read of a case takes,
 * whatever the front (REST now, SOAP through the same calls):
 *
 *   receive -> normalise -> validate -> decide -> commit -> answer
 *   (front)    (fhir/)      (validate/) (klas/)   (store/)  (map/)
 *
 * The front authenticates the caller (struct gw_principal) and picks the
 * formats; everything else happens here. Answers are FHIR documents
 * (a response Bundle, a resource, a searchset, an OperationOutcome) plus
 * the HTTP status and headers that go with them; the front serialises.
 *
 * Invariants: nothing is stored unless the message is valid, allowed and
 * fits the case's status; an acknowledged message is durable; a message
 * id seen before is answered from the inbox (same content) or refused
 * (other content); every read and every refusal of a case is audited;
 * a pharmacy only ever receives the pharmacy view of a case.
 */
#ifndef GW_PIPELINE_PIPELINE_H
#define GW_PIPELINE_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "fhir/fhir.h"
#include "klas/access.h"
#include "klas/register.h"

struct gw_store;
struct gw_validator;
struct gw_views;

struct gw_msg_facts;
struct gw_net_policy;

/*
 * Checks the prescriber of a motivation or of a prescriber's supplement
 * (HSA: licensed physician or dentist, active "Vård och behandling"
 * commission at the stated care unit; beredskap only for the configured
 * organisations). GW_OK, GW_ENOTAUTHORISED (with the reason in err) or a
 * retryable GW_EUNAVAILABLE / GW_ETIMEOUT when HSA cannot answer and no
 * fresh cached answer exists. Called on request threads, before anything
 * is stored; must be thread-safe.
 */
typedef gw_rc (*gw_prescriber_check_fn)(void *ctx, const char *person_hsa,
                                        const char *unit_hsa, int beredskap,
                                        struct gw_err *err);

struct gw_pipeline_opts {
    struct gw_store *store;
    const struct gw_validator *validator;
    const struct gw_views *views;
    struct gw_fhir_limits limits;
    gw_prescriber_check_fn check_prescriber; /* NULL: no HSA check */
    /* Where Subscription endpoints may point (webhooks.*); borrowed. NULL:
     * https to public addresses only, and no host is allowed. */
    const struct gw_net_policy *webhooks;
    void *check_ctx;
    /* The shortest heartbeat period a Subscription may ask for (s);
     * 0: 60. */
    int heartbeat_min_s;
    /* 1: the audit record of a case read is queued for the writer's next
     * commit and the answer goes at once (audit.durable_reads = false);
     * 0: the answer waits until the record is on disk. */
    int reads_queued;
};

struct gw_pipeline;

gw_rc gw_pipeline_new(const struct gw_pipeline_opts *o,
                      struct gw_pipeline **out) GW_WARN_UNUSED;
void gw_pipeline_free(struct gw_pipeline *pl);
/* The cache of rendered case views: heap bytes it holds (bodies, keys,
 * entries) and entries now, and the bounds they stay under. */
struct gw_view_cache_stats {
    size_t bytes, entries;
    size_t max_bytes, max_entries;
};
void gw_pipeline_cache_stats(struct gw_pipeline *pl,
                             struct gw_view_cache_stats *s);

/* What to send back. */
struct gw_answer {
    int status;              /* HTTP status */
    gw_rc rc;                /* GW_OK or the refusal */
    struct gw_fhir_doc *doc; /* body; NULL: none */
    char *body;              /* or the body already in the call's format
                                (owned; from the view cache) */
    size_t body_len;
    char etag[32];           /* W/"3", or "" */
    char location[160];      /* relative: Task/2026123456/_history/3 */
    char last_modified[40];  /* RFC 1123 date, or "" */
    int replayed;            /* answered from the inbox */
    long total;              /* a search: the cases found */
    /* From the _deferred calls: the audit records that must be on disk
     * before the answer leaves (gw_answer_commit_audit); NULL: none. */
    struct gw_read_audit *audit;
};
void gw_answer_release(struct gw_answer *a);
/* Completion of gw_answer_commit_audit, on a store writer thread: rc
 * GW_OK when the records are on disk, else the refusal (err). Brief. */
typedef void (*gw_audit_done_fn)(void *arg, gw_rc rc, const struct gw_err *err);
/* Hands a->audit to the store's writer without waiting. GW_OK: queued,
 * a->audit is NULL now and done(arg, ...) runs once after the commit.
 * Otherwise nothing was queued, done never runs and err says why. */
gw_rc gw_answer_commit_audit(struct gw_pipeline *pl, struct gw_answer *a,
                             gw_audit_done_fn done, void *arg,
                             struct gw_err *err) GW_WARN_UNUSED;
/* Makes a an OperationOutcome for rc (and err's path and detail). */
void gw_answer_error(struct gw_answer *a, gw_rc rc, const struct gw_err *err);

/* Request context shared by every call. */
struct gw_call {
    const struct gw_principal *who;
    const char *base;        /* FHIR base URL for fullUrl and links */
    const char *request_id;  /* for the audit detail */
    enum gw_fhir_format fmt; /* the answer's format (JSON or XML) */
};

/*
 * $process-message: one KLAS event as a FHIR message Bundle (JSON or XML).
 * if_match: the case version the caller expects (0: any).
 */
void gw_pipeline_process(struct gw_pipeline *pl, const struct gw_call *c,
                         const char *body, size_t len, long if_match,
                         struct gw_answer *a);

/* The same for a front that sends the answer's body as it is (a->body,
 * in c->fmt): the receipt of a message just stored comes as text, never
 * made a tree. The REST front does this without waiting
 * (gw_pipeline_process_async); this form waits, for callers that may. */
void gw_pipeline_process_text(struct gw_pipeline *pl, const struct gw_call *c,
                              const char *body, size_t len, long if_match,
                              struct gw_answer *a);

/*
 * The same as _text without holding the caller's thread while the write
 * waits for its group commit. 0: a is the answer now (a refusal, a
 * resend answered from the inbox). 1: the write is queued and *out holds
 * the message: done(arg) then runs once, on the store's writer thread
 * (brief: wake the caller), after which the caller ends it with
 * gw_pipeline_process_end on a thread of its own. body and c (and the
 * strings c points to) must stay until then.
 */
struct gw_submit;
typedef void (*gw_pipeline_done_fn)(void *arg);
int gw_pipeline_process_async(struct gw_pipeline *pl, const struct gw_call *c,
                              const char *body, size_t len, long if_match,
                              struct gw_answer *a, gw_pipeline_done_fn done,
                              void *arg, struct gw_submit **out);
/* The same for a message a front has parsed already (SOAP; see
 * gw_pipeline_process_doc): takes doc. */
int gw_pipeline_process_doc_async(struct gw_pipeline *pl,
                                  const struct gw_call *c,
                                  struct gw_fhir_doc *doc,
                                  const struct gw_err *parse_err, long if_match,
                                  struct gw_answer *a, gw_pipeline_done_fn done,
                                  void *arg, struct gw_submit **out);
/* The answer of a message whose write is done (done has run); frees s. */
void gw_pipeline_process_end(struct gw_submit *s, struct gw_answer *a);

/* The same for a message a front has parsed already (SOAP: the mapped
 * Bundle, never written out as text and parsed again). Takes doc, also
 * on refusal. doc NULL: the front could not make one; parse_err says why
 * and the message is refused (answered and audited) as unparsable. */
void gw_pipeline_process_doc(struct gw_pipeline *pl, const struct gw_call *c,
                             struct gw_fhir_doc *doc,
                             const struct gw_err *parse_err, long if_match,
                             struct gw_answer *a);

struct gw_outcome;

/*
 * The one way a call is refused, for messages, reads, searches,
 * operations and subscriptions alike: a becomes the answer (the issues in
 * o when there are any, else rc with err's path and detail; a SOAP front
 * makes its fault from the same answer), one log line that names no
 * content, one audit record (action on refnr, NULL: none; detail: for
 * the audit only, no patient data) and one count by rule id (refusals.h).
 * rc is not GW_OK. err and o may be NULL.
 */
void gw_pipeline_refuse(struct gw_pipeline *pl, const struct gw_call *c,
                        struct gw_answer *a, gw_rc rc, const struct gw_err *err,
                        struct gw_outcome *o, const char *action,
                        const char *refnr, const char *detail);

/* One audit row (outcome ok) for what a front learnt about a call besides
 * its message, e.g. SOAP's original consumer behind a service platform.
 * detail: no patient data. */
void gw_pipeline_audit_note(struct gw_pipeline *pl, const struct gw_call *c,
                            const char *action, const char *detail);

/* Bundle/$validate: the OperationOutcome, nothing stored. */
void gw_pipeline_validate(struct gw_pipeline *pl, const struct gw_call *c,
                          const char *body, size_t len, struct gw_answer *a);

/* GET [type]/[id] (version 0) or [type]/[id]/_history/[version] (Task). */
void gw_pipeline_read(struct gw_pipeline *pl, const struct gw_call *c,
                      const char *type, const char *id, long version,
                      struct gw_answer *a);
/* The same, but with audit.durable_reads the answer's audit records are
 * left in a->audit for the caller to commit (gw_answer_commit_audit)
 * before it sends the answer, instead of waiting for them here (the HTTP
 * front does so without holding a thread). Also for the search. */
void gw_pipeline_read_deferred(struct gw_pipeline *pl, const struct gw_call *c,
                               const char *type, const char *id, long version,
                               struct gw_answer *a);

/* GET Task/[id]/_history */
void gw_pipeline_history(struct gw_pipeline *pl, const struct gw_call *c,
                         const char *refnr, struct gw_answer *a);

/* GET Task?... Strings NULL when absent. */
struct gw_task_search {
    const char *identifier;        /* referensnummer (system| allowed) */
    const char *patient;           /* patient identifier (pharmacy look-up) */
    const char *statuses;          /* comma-separated KLAS codes */
    const char *licence_type;      /* EH | GH */
    const char *drug;              /* drug name or substance, partial */
    int64_t changed_from_ms, changed_to_ms; /* 0: open */
    int count;                     /* _count, 0: default (120) */
    int include;                   /* _include: the case's resources too */
    int summary_count;             /* _summary=count: total only */
    /* A page of the search (REST): the key of the row the page starts
     * after (page_dir +1) or ends before (-1), see gw_case_query; 0: the
     * first page. link_query: the search's own parameters, URL-encoded,
     * without _cursor, for the self/next/previous links (NULL: none). */
    int page_dir;
    int64_t page_ms, page_rowid;
    const char *link_query;
};
void gw_pipeline_search(struct gw_pipeline *pl, const struct gw_call *c,
                        const struct gw_task_search *q, struct gw_answer *a);
void gw_pipeline_search_deferred(struct gw_pipeline *pl,
                                 const struct gw_call *c,
                                 const struct gw_task_search *q,
                                 struct gw_answer *a);

/* Subscription create / read / delete (pharmacies, own GLN). */
void gw_pipeline_sub_create(struct gw_pipeline *pl, const struct gw_call *c,
                            const char *body, size_t len, struct gw_answer *a);
void gw_pipeline_sub_read(struct gw_pipeline *pl, const struct gw_call *c,
                          const char *id, struct gw_answer *a);
void gw_pipeline_sub_delete(struct gw_pipeline *pl, const struct gw_call *c,
                            const char *id, struct gw_answer *a);
/* Subscription/{id}/$status and $events (Subscriptions Backport IG,
 * subs.c): the status as a notification Bundle (query-status), and the
 * kept events numbered since..until (NULL: from the first / to the
 * last; without since the last GW_SUB_EVENTS_MAX), id-only
 * (query-event). */
void gw_pipeline_sub_status(struct gw_pipeline *pl, const struct gw_call *c,
                            const char *id, struct gw_answer *a);
void gw_pipeline_sub_events(struct gw_pipeline *pl, const struct gw_call *c,
                            const char *id, const char *since,
                            const char *until, struct gw_answer *a);

/* --- the pharmacy at dispensing (operations.c) ------------------------ */

/* $check-licence: does a granted licence cover this dispensing today?
 * Prescription: patient + product; requisition: unit (+ its
 * administration) + product. Answers a Parameters resource. */
struct gw_licence_check {
    const char *product;        /* NPL id or product name */
    const char *patient;        /* prescription */
    const char *unit;           /* requisition: care unit HSA-id */
    const char *administration; /* requisition: its administration */
    const char *on;             /* YYYY-MM-DD; NULL: today */
};
void gw_pipeline_check_licence(struct gw_pipeline *pl, const struct gw_call *c,
                               const struct gw_licence_check *q,
                               struct gw_answer *a);
/* $record-dispensing: a Parameters body (identifier, licence, amount,
 * dispensed-on, kind, patient or unit). */
void gw_pipeline_record_dispensing(struct gw_pipeline *pl,
                                   const struct gw_call *c, const char *body,
                                   size_t len, struct gw_answer *a);

/* The same from Parameters a front built as a tree (SOAP
 * RecordDispensing). Takes doc; NULL: parse_err says why there is none. */
void gw_pipeline_record_dispensing_doc(struct gw_pipeline *pl,
                                       const struct gw_call *c,
                                       struct gw_fhir_doc *doc,
                                       const struct gw_err *parse_err,
                                       struct gw_answer *a);

/* Sök produkt (GET Medication?...) and Sök apotek (GET Organization?...):
 * at least 3 characters in some field. */
void gw_pipeline_product_search(struct gw_pipeline *pl,
                                const struct gw_call *c,
                                const struct gw_product *q,
                                struct gw_answer *a);
void gw_pipeline_pharmacy_search(struct gw_pipeline *pl,
                                 const struct gw_call *c,
                                 const struct gw_pharmacy *q,
                                 struct gw_answer *a);

/* Task/{id}/$print: printable HTML (or PDF) into *out (caller frees); on
 * refusal *out is NULL and a holds the OperationOutcome. */
void gw_pipeline_print(struct gw_pipeline *pl, const struct gw_call *c,
                       const char *refnr, int pdf, char **out, size_t *len,
                       struct gw_answer *a);
/* Task/{id}/$copy: a new motivation-submit message, pre-filled. */
void gw_pipeline_copy(struct gw_pipeline *pl, const struct gw_call *c,
                      const char *refnr, struct gw_answer *a);
/* $renew-consent: the EHR's user consents again. */
void gw_pipeline_renew_consent(struct gw_pipeline *pl,
                               const struct gw_call *c, struct gw_answer *a);

#endif
