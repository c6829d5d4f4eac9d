/*
 * view.h - what callers get to see of a case: the stored message mapped
 * by xslt/case-view.xsl to the case's resources (stable ids, server
 * references, the Task stamped with referensnummer, status and version),
 * redacted for pharmacies by xslt/pharmacy-view.xsl, and the Bundles that
 * searches and histories answer with.
 *
 * Stylesheets are compiled once (gw_views_new) with libxslt's security
 * preferences forbidding every file and network access, and are then
 * shared read-only by all request threads.
 */
#ifndef GW_MAP_VIEW_H
#define GW_MAP_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "fhir/fhir.h"

/* What the view stamps on the case. */
struct gw_case_stamp {
    const char *base;   /* FHIR base URL, e.g. "http://host:8080/fhir" */
    const char *refnr;
    const char *status; /* KLAS code */
    long version;
    int64_t created_ms, updated_ms;
    /* A later message of the case (prefix "<refnr>-v<version>"): only
     * what it adds. NULL for the message that created the case. */
    const char *later_prefix;
    /* A grant's validity period (YYYY-MM-DD), or NULL. */
    const char *valid_from, *valid_to;
    /* Redacted views: the GLN of the pharmacy that reads (it sees LV's
     * requests to it and its own supplements, no other pharmacy's and no
     * prescriber's). NULL or "": none of them. */
    const char *viewer_gln;
};

struct gw_views;

/* Compiles the stylesheets of xslt_dir. Free with gw_views_free. */
gw_rc gw_views_new(const char *xslt_dir, struct gw_views **out,
                   struct gw_err *err) GW_WARN_UNUSED;
void gw_views_free(struct gw_views *v);

/* The FHIR Task.status that goes with a KLAS status. Static string. */
const char *gw_view_task_status(const char *klas_status);

/*
 * The case's resources as a collection Bundle, built from the stored
 * message that created the case (canonical XML). redact: apply the
 * pharmacy view (xslt/pharmacy-view.xsl, an allow-list), for the pharmacy
 * s->viewer_gln. Caller frees *out with gw_fhir_doc_free.
 */
gw_rc gw_view_case(const struct gw_views *v, const char *doc_xml, size_t len,
                   const struct gw_case_stamp *s, int redact,
                   struct gw_fhir_doc **out) GW_WARN_UNUSED;

/* Appends the entries of extra (a view of a later message) to view. */
gw_rc gw_view_merge(struct gw_fhir_doc *view, const struct gw_fhir_doc *extra)
    GW_WARN_UNUSED;

/* Whether the view holds resource type/id (1) or not (0). */
int gw_view_has(const struct gw_fhir_doc *view, const char *type,
                const char *id);

/* A copy of resource type/id of a view as a document of its own;
 * GW_ENOTFOUND if absent. Caller frees *out. */
gw_rc gw_view_pick(const struct gw_fhir_doc *view, const char *type,
                   const char *id, struct gw_fhir_doc **out) GW_WARN_UNUSED;

/* _elements: keeps of doc's resource only id, meta, its mandatory
 * elements and the top-level elements named in the comma-separated list,
 * and tags meta SUBSETTED. */
gw_rc gw_view_subset(struct gw_fhir_doc *doc, const char *elements)
    GW_WARN_UNUSED;
/* _summary=true: keeps of doc's resource (of each entry's, for a Bundle)
 * what R4 marks isSummary (the model table's summary column), id, meta
 * and mandatory elements, at every level of backbone elements and nested
 * resources, and tags each one SUBSETTED. */
gw_rc gw_view_summary(struct gw_fhir_doc *doc) GW_WARN_UNUSED;

/* The values of _summary that change an answer (false changes nothing). */
enum gw_view_summary_mode {
    GW_VIEW_SUMMARY_TRUE,  /* as gw_view_summary */
    GW_VIEW_SUMMARY_TEXT,  /* id, meta, text and top-level mandatory elements */
    GW_VIEW_SUMMARY_DATA,  /* all but the top-level text */
    GW_VIEW_SUMMARY_COUNT, /* a search Bundle without its entries */
};

/* _summary=mode on doc's resource, or on each entry's of a Bundle (a
 * search); each resource changed is tagged SUBSETTED (R4 3.1.0.1.7). */
gw_rc gw_view_summary_as(struct gw_fhir_doc *doc,
                         enum gw_view_summary_mode mode) GW_WARN_UNUSED;

/* --- Bundles for search and history ---------------------------------- */

struct gw_bundle;

/* type: "searchset" or "history". Free with gw_bundle_free. */
gw_rc gw_bundle_new(const char *type, struct gw_bundle **out) GW_WARN_UNUSED;
void gw_bundle_free(struct gw_bundle *b);

/*
 * Appends resources of a view: the one named type/id (id NULL: every
 * resource of that type; type NULL: every resource but the Task) with
 * their fullUrl from the view. search_mode ("match", "include") and
 * method ("GET", ...; for history entries, with request_url, and then
 * with entry.response: "201 Created" for POST, else "200 OK") may be
 * NULL.
 */
gw_rc gw_bundle_add(struct gw_bundle *b, const struct gw_fhir_doc *view,
                    const char *type, const char *id, const char *search_mode,
                    const char *method, const char *request_url)
    GW_WARN_UNUSED;

/* Adds a Bundle.link (relation, url), after those added before. */
gw_rc gw_bundle_link(struct gw_bundle *b, const char *relation,
                     const char *url) GW_WARN_UNUSED;

/* Finishes the Bundle (total, self link may be NULL) into a document and
 * frees b. Caller frees *out. */
gw_rc gw_bundle_take(struct gw_bundle *b, long total, const char *self_link,
                     struct gw_fhir_doc **out) GW_WARN_UNUSED;

/* The value attribute at a '/'-separated path of child names below the
 * root resource ("channel/endpoint"), copied into buf; 1 if found and
 * non-empty. */
int gw_view_value(const struct gw_fhir_doc *doc, const char *path, char *buf,
                  size_t size);

/* The value of Parameters.parameter `name` (any value[x]; the value of a
 * Quantity or Identifier); 1 if found and non-empty. */
int gw_view_param(const struct gw_fhir_doc *doc, const char *name, char *buf,
                  size_t size);

/* Every field of a case view as printable HTML (xslt/print-html.xsl), or
 * that page laid out as an A4 PDF (pdf = 1): the prescriber's receipt
 * and archive copy. Caller frees *out. */
gw_rc gw_view_print(const struct gw_views *v, const struct gw_fhir_doc *view,
                    int pdf, char **out, size_t *len) GW_WARN_UNUSED;

/* The instant iso (FHIR dateTime with its offset) in Swedish local time
 * with the zone named, "2026-01-15 16:34 CET" / "... CEST", into out;
 * 0 (out "") when iso is not an instant with a zone. */
int gw_print_local_time(const char *iso, char *out, size_t size);
/* Registers gw:stockholm-time() for the print stylesheet; once, before
 * it is loaded. */
void gw_print_register(void);

/* "Copy to a new motivation": the stored motivation as a new, pre-filled
 * motivation-submit message without identifiers
 * (xslt/copy-motivation.xsl). Caller frees *out. */
gw_rc gw_view_copy(const struct gw_views *v, const char *doc_xml, size_t len,
                   struct gw_fhir_doc **out) GW_WARN_UNUSED;
#endif
