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
#include <libxslt/xsltInternals.h>

#include "core/err.h"

/* Compiles dir/name; NULL on failure with err naming the file. Free with
 * xsltFreeStylesheet. */
xsltStylesheetPtr gw_xslt_load(const char *dir, const char *name,
                               struct gw_err *err);

/* Applies ss to in. params: NULL-terminated name/value pairs, values as
 * XPath expressions (quote strings), or NULL. Returns the result, or NULL
 * when the transform failed or produced no root element. Caller frees
 * with xmlFreeDoc. */
xmlDocPtr gw_xslt_apply(xsltStylesheetPtr ss, xmlDocPtr in,
                        const char **params);

#endif
