/*
 * build.h - FHIR documents built as trees: the gateway's own answers
 * (receipts, Parameters) are made element by element in the FHIR
 * namespace, never written as text and parsed back. Values go into
 * value="" attributes; libxml2 escapes them when the tree is written.
 *
 * Errors are sticky: the first failure is kept and returned by
 * gw_fhir_build_take, and every call after it does nothing, so building
 * code needs no check between elements. The finished tree is checked
 * against the R4 model like any parsed document.
 */
#ifndef GW_FHIR_BUILD_H
#define GW_FHIR_BUILD_H

#include "core/err.h"
#include "fhir/fhir.h"

struct gw_fhir_build;
struct gw_fhir_el; /* an element; borrowed, lives as long as the build */

/* A document whose root is a resource of this type. Free with
 * gw_fhir_build_free or finish with gw_fhir_build_take. */
gw_rc gw_fhir_build_new(const char *resource_type, struct gw_fhir_build **out)
    GW_WARN_UNUSED;
void gw_fhir_build_free(struct gw_fhir_build *b);

/* The root element. */
struct gw_fhir_el *gw_fhir_build_root(struct gw_fhir_build *b);
/* A new child element `name` of parent (NULL after an error). */
struct gw_fhir_el *gw_fhir_el_add(struct gw_fhir_build *b,
                                  struct gw_fhir_el *parent, const char *name);
/* <name value="value"/> under parent, returned (it may get children, as
 * an extension); nothing and NULL when value is NULL or "".
 * Every value goes through the same rule: control characters XML 1.0
 * cannot carry (all below 0x20 but tab, LF, CR) become a space, so the
 * XML and the JSON form of the document say the same thing. */
struct gw_fhir_el *gw_fhir_el_value(struct gw_fhir_build *b,
                                    struct gw_fhir_el *parent,
                                    const char *name, const char *value);
/* A copy of doc's resource (its root element) as a child of parent, such
 * as a Bundle entry's resource; NULL after an error. */
struct gw_fhir_el *gw_fhir_el_copy(struct gw_fhir_build *b,
                                   struct gw_fhir_el *parent,
                                   const struct gw_fhir_doc *doc);
/* <extension url="url"/> under parent (NULL after an error). */
struct gw_fhir_el *gw_fhir_el_extension(struct gw_fhir_build *b,
                                        struct gw_fhir_el *parent,
                                        const char *url);

/* The document, checked against the model (lim NULL: defaults); frees b
 * in every case. Caller frees *out with gw_fhir_doc_free. */
gw_rc gw_fhir_build_take(struct gw_fhir_build *b,
                         const struct gw_fhir_limits *lim,
                         struct gw_fhir_doc **out, struct gw_err *err)
    GW_WARN_UNUSED;

#endif
