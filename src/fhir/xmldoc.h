/*
 * xmldoc.h - an XML document that is not (or not yet) FHIR, handled as an
 * opaque tree by the floors that may not see libxml2 (soap/, outbound/):
 * a SOAP request's Body element, a mapping's input or output, an answer
 * element. It is read, built and written here; the floors above pass it
 * on whole to map/ (XSLT) and validate/ (XSD), never as text parsed again.
 */
#ifndef GW_FHIR_XMLDOC_H
#define GW_FHIR_XMLDOC_H

#include <stddef.h>

#include "core/err.h"
#include "fhir/fhir.h"

struct gw_buf;
struct gw_xml;

/* NULL ok. */
void gw_xml_free(struct gw_xml *d);

/* 1 if the root element has local name `name` and namespace ns (NULL:
 * none), else 0. */
int gw_xml_root_is(const struct gw_xml *d, const char *ns, const char *name);
/* The root element's local name and namespace ("" when none); borrowed. */
const char *gw_xml_root_name(const struct gw_xml *d);
const char *gw_xml_root_ns(const struct gw_xml *d);

/*
 * The text of the nth (0-based) child element `name` of the root into
 * buf. GW_ENOTFOUND when there is no such child; GW_ETOOLARGE when the
 * text does not fit size - 1 bytes (never cut: buf is "" then).
 */
gw_rc gw_xml_child_text(const struct gw_xml *d, const char *name, size_t nth,
                        char *buf, size_t size) GW_WARN_UNUSED;
/* The root element's attribute `name` (no namespace) or its whole text,
 * as gw_xml_child_text. */
gw_rc gw_xml_root_attr(const struct gw_xml *d, const char *name, char *buf,
                       size_t size) GW_WARN_UNUSED;
gw_rc gw_xml_root_text(const struct gw_xml *d, char *buf,
                       size_t size) GW_WARN_UNUSED;

/* Appends the root element, namespaces declared on it, as XML text (no
 * declaration): what goes into a SOAP Body. */
gw_rc gw_xml_append_root(const struct gw_xml *d,
                         struct gw_buf *b) GW_WARN_UNUSED;
/* The whole document as UTF-8 text with its XML declaration; caller frees
 * *out with free(). */
gw_rc gw_xml_save(const struct gw_xml *d, char **out,
                  size_t *len) GW_WARN_UNUSED;

/* Building a mapping's input: a document whose root is {ns}prefix:name
 * (ns NULL: none). */
gw_rc gw_xml_new(const char *ns, const char *prefix, const char *name,
                 struct gw_xml **out) GW_WARN_UNUSED;
/* Sets an attribute (no namespace) of the root. */
gw_rc gw_xml_set_attr(struct gw_xml *d, const char *name,
                      const char *value) GW_WARN_UNUSED;
/* Adds a child element `name` in the root's namespace holding the root of
 * xml, FHIR XML as the gateway wrote it (read with the hardened reader,
 * sized to the text). GW_EPARSE when xml is not XML. */
gw_rc gw_xml_add_fhir(struct gw_xml *d, const char *name, const char *xml,
                      size_t len) GW_WARN_UNUSED;

/*
 * The FHIR document d is, checked against the model as gw_fhir_parse
 * does (GW_EVALIDATION with err naming the path). Takes d, also on
 * failure.
 */
gw_rc gw_xml_to_fhir(struct gw_xml *d, const struct gw_fhir_limits *lim,
                     struct gw_fhir_doc **out,
                     struct gw_err *err) GW_WARN_UNUSED;

/* 1 if doc is a Bundle with a Task among its entries' resources. */
int gw_fhir_doc_bundle_has(const struct gw_fhir_doc *doc, const char *type);

#endif
