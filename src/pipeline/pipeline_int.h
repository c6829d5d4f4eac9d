/*
 * pipeline_int.h - shared by the files of src/pipeline/: messages
 * (pipeline.c) and the pharmacy's and prescriber's other operations
 * (operations.c).
 */
#ifndef GW_PIPELINE_INT_H
#define GW_PIPELINE_INT_H

#include "core/buf.h"
#include "pipeline/pipeline.h"
#include "store/audit_log.h"
#include "store/licence.h"
#include "store/read.h"

#include <pthread.h>
#include <stdint.h>

/*
 * Rendered resources of case views, by case version: a version never
 * changes, so an entry never goes stale; a new version has a new key.
 * Small bodies only, at most GW_VIEW_CACHE_ENTRIES of them and
 * GW_VIEW_CACHE_BUDGET bytes in all (each entry counted whole: body, key
 * and the entry itself); past either the least recently read goes. Keys
 * are found through a hash table of chains, so two keys never push each
 * other out while the cache has room (a direct-mapped table did: a tenth
 * of the reads of 120 cases rendered the view again).
 * The bounds are small enough to be reached early: a view is about 1 KiB,
 * and under the R5 soak's load (tests/reliability/r5_soak.py, ~5 new
 * views a second) 1,024 of them fill the cache in about 4 minutes; with
 * 4,096 it took 14 minutes, so the process grew for half of the soak.
 */
#define GW_VIEW_CACHE_BUCKETS 1024
#define GW_VIEW_CACHE_ENTRIES 1024
#define GW_VIEW_CACHE_MAX_BODY (32 * 1024)
#define GW_VIEW_CACHE_BUDGET (1024 * 1024)
struct gw_view_cache_entry {
    struct gw_view_cache_entry *chain;      /* same bucket */
    struct gw_view_cache_entry *newer, *older; /* recency list */
    unsigned hash;
    char *key, *body;
    size_t len;  /* of body */
    size_t cost; /* bytes it holds: body, key, entry */
};

/*
 * Digests of the inbox keys of the messages this process stored lately,
 * in a table where each may stand in two slots and newer ones overwrite
 * older (0: empty; pipeline.c: recent_slots): a
 * resend of one, the usual retry to the same node, is answered from the
 * inbox before the case look-up and HSA (pipeline.c: recently_stored).
 * Any other message goes on without a look-up; the writer answers a
 * resend the table has forgotten.
 */
#define GW_RECENT_KEYS 4096

struct gw_pipeline {
    struct gw_pipeline_opts o;
    uint64_t recent[GW_RECENT_KEYS]; /* read and written atomically */
    pthread_mutex_t cache_mu;
    /* Under cache_mu: */
    struct gw_view_cache_entry *cache[GW_VIEW_CACHE_BUCKETS];
    struct gw_view_cache_entry *newest, *oldest;
    size_t cache_bytes, cache_entries; /* entries' cost, entries */
    unsigned long renders;             /* views rendered for a miss */
};

/* Queues an audit record of this call (committed with the next batch). */
void gw_pl_audit(struct gw_pipeline *pl, const struct gw_call *c,
                 const char *action, const char *refnr, gw_rc rc,
                 const char *detail);
/* The end of an operation: a is the error rc (with err, may be NULL) or
 * 200, and the call is audited as action on refnr (NULL: none). */
void gw_pl_answer(struct gw_pipeline *pl, const struct gw_call *c,
                  struct gw_answer *a, gw_rc rc, const struct gw_err *err,
                  const char *action, const char *refnr);
/* The case row, if the caller may read it; on refusal a is the error. */
gw_rc gw_pl_case_for_read(struct gw_pipeline *pl, const struct gw_call *c,
                          const char *refnr, int found_by_lookup,
                          struct gw_case_row *row, int *redact,
                          struct gw_answer *a);
/* The case view (map/view.h) of row at the given status and version;
 * with later, also what the later messages of the case add (LV's
 * requests, supplements, the decision letter; a grant's validity). */
gw_rc gw_pl_case_view(struct gw_pipeline *pl, const struct gw_call *c,
                      const struct gw_case_row *row, const char *status,
                      long version, int64_t updated_ms, int redact, int later,
                      struct gw_fhir_doc **view);

#endif
