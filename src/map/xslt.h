/*
 * xslt.h - the stylesheets of xslt/: compiled once at start-up, then
 * applied by any number of threads (a compiled stylesheet is read-only
 * while applied), always under one set of security preferences that
 * forbids every file and network access, whatever a stylesheet or its
 * input asks for. Used by map/ (case views), soap/ and outbound/lv.c.
 */
#ifndef GW_MAP_XSLT_H
#define GW_MAP_XSLT_H

#include "core/err.h"
#include "fhir/fhir.h"
#include "fhir/xmldoc.h"

/* libxml2's document, for map/ and validate/ (which include libxml2). */
struct _xmlDoc;

/* A compiled stylesheet; libxslt's type stays inside xslt.c. */
struct gw_xslt;

/* Compiles dir/name; NULL on failure with err naming the file. Free with
 * gw_xslt_free. */
struct gw_xslt *gw_xslt_load(const char *dir, const char *name,
                             struct gw_err *err);
/* NULL ok. */
void gw_xslt_free(struct gw_xslt *x);

/* Applies ss to in. params: NULL-terminated name/value pairs, values as
 * XPath expressions (quote strings), or NULL. Returns the result, or NULL
 * when the transform failed or produced no root element. Caller frees
 * with xmlFreeDoc. */
struct _xmlDoc *gw_xslt_apply(const struct gw_xslt *x, struct _xmlDoc *in,
                              const char **params);
/* A result of x serialised as x's xsl:output says (method, encoding).
 * GW_OK with *out (caller frees with free()) and *len; GW_EINTERNAL or
 * GW_ENOMEM. */
gw_rc gw_xslt_save(const struct gw_xslt *x, struct _xmlDoc *res, char **out,
                   size_t *len) GW_WARN_UNUSED;

/* gw_xslt_apply for the floors that hold documents opaquely (soap/,
 * outbound/): in is borrowed; the result is the caller's (gw_xml_free),
 * NULL as above. */
struct gw_xml *gw_xslt_run(const struct gw_xslt *x, const struct gw_xml *in,
                           const char **params);
struct gw_xml *gw_xslt_run_fhir(const struct gw_xslt *x,
                                const struct gw_fhir_doc *in,
                                const char **params);

#endif
