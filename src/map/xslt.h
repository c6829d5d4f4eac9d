/*
 * xslt.h - the stylesheets of xslt/: compiled once at start-up, then
 * applied by any number of threads (a compiled stylesheet is read-only
 * while applied), always under one set of security preferences that
 * forbids every file and network access, whatever a stylesheet or its
 * input asks for. Used by map/ (case views), soap/ and outbound/lv.c.
 */
#ifndef GW_MAP_XSLT_H
#define GW_MAP_XSLT_H

#include <libxml/tree.h>

#include "core/err.h"

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
xmlDocPtr gw_xslt_apply(const struct gw_xslt *x, xmlDocPtr in,
                        const char **params);
/* A result of x serialised as x's xsl:output says (method, encoding).
 * GW_OK with *out (caller frees with free()) and *len; GW_EINTERNAL or
 * GW_ENOMEM. */
gw_rc gw_xslt_save(const struct gw_xslt *x, xmlDocPtr res, char **out,
                   size_t *len) GW_WARN_UNUSED;

#endif
