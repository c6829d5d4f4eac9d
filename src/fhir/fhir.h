/*
 * fhir.h - FHIR R4 documents: parsing JSON or XML into one canonical form
 * (a FHIR XML tree), and writing it back as JSON or XML.
 *
 * Parsing is strict and hostile-input safe: size, depth, attribute and
 * string caps; XML without DOCTYPE, entities, XInclude or network; JSON
 * without duplicate keys, nulls, empty strings/objects/arrays. Every
 * resource and element is checked against the R4 model table (model.h):
 * unknown elements, wrong JSON types, element order in XML, repeats of
 * single elements, missing required elements, two choices of one [x] and
 * primitive lexical forms are refused with the path of the fault, e.g.
 * "Bundle.entry[1].resource.birthDate".
 *
 * Output is canonical, so conversions are lossless and byte-stable: JSON
 * with two-space indentation and elements in definition order, decimals
 * exactly as written; XML in UTF-8 without added whitespace.
 */
#ifndef GW_FHIR_FHIR_H
#define GW_FHIR_FHIR_H

#include <stddef.h>

#include "core/err.h"

enum gw_fhir_format { GW_FHIR_SNIFF = 0, GW_FHIR_JSON, GW_FHIR_XML };

struct gw_fhir_limits {
    size_t max_bytes;   /* whole input (server.max_body_bytes) */
    int max_depth;      /* element / object nesting (xml.max_depth) */
    int max_attributes; /* per XML element (xml.max_attributes) */
    size_t max_string;  /* one string or attribute (xml.max_string_bytes) */
};

/* The defaults of the configuration keys above. */
void gw_fhir_limits_default(struct gw_fhir_limits *lim);

struct gw_fhir_doc;

/* Call once at start-up, before threads parse (initialises libxml2). */
void gw_fhir_init(void);

/*
 * Parses bytes as FHIR JSON or XML (SNIFF: by the first non-blank
 * character). GW_ETOOLARGE past a cap, GW_EPARSE for broken syntax,
 * GW_EVALIDATION for FHIR structure faults; err->path and err->detail say
 * where and what. Caller frees *out with gw_fhir_doc_free.
 */
gw_rc gw_fhir_parse(const char *bytes, size_t len, enum gw_fhir_format fmt,
                    const struct gw_fhir_limits *lim, struct gw_fhir_doc **out,
                    struct gw_err *err) GW_WARN_UNUSED;
/* gw_fhir_parse of JSON for the gateway's own conformance files
 * (fhir-profiles/): the types it only publishes (model.h, out_only) are
 * taken too. Never for what comes from outside. */
gw_rc gw_fhir_parse_published(const char *bytes, size_t len,
                              const struct gw_fhir_limits *lim,
                              struct gw_fhir_doc **out,
                              struct gw_err *err) GW_WARN_UNUSED;
void gw_fhir_doc_free(struct gw_fhir_doc *doc);
/* Checks doc's tree against the model as gw_fhir_parse checks what it
 * reads (structure, order, required elements; lim NULL: the defaults),
 * without writing it out and reading it back: for a tree changed in
 * place, such as an _elements or _summary subset. */
gw_rc gw_fhir_doc_check(const struct gw_fhir_doc *doc,
                        const struct gw_fhir_limits *lim,
                        struct gw_err *err) GW_WARN_UNUSED;

/* Canonical XML / JSON text, NUL-terminated; caller frees with free(). */
gw_rc gw_fhir_to_xml(const struct gw_fhir_doc *doc, char **out, size_t *len)
    GW_WARN_UNUSED;
gw_rc gw_fhir_to_json(const struct gw_fhir_doc *doc, char **out, size_t *len)
    GW_WARN_UNUSED;

/* "Bundle", "Patient", ...: the type of the root resource. Borrowed. */
const char *gw_fhir_doc_type(const struct gw_fhir_doc *doc);

/* JSON if the first non-blank byte is '{', XML if '<', else SNIFF. */
enum gw_fhir_format gw_fhir_sniff(const char *bytes, size_t len);

struct gw_buf;
/* Appends s (NULL: nothing) as XML text or attribute value: & < > "
 * escaped; control characters XML 1.0 does not allow (below 0x20 but tab,
 * newline, carriage return) become a space. The one escaper for XML built
 * as text, with gw_xml_escape_attr. */
gw_rc gw_xml_escape(struct gw_buf *b, const char *s) GW_WARN_UNUSED;
/* The same for an attribute value as gw_fhir_to_xml writes it (as libxml2
 * does): tab, newline and carriage return as character references, so
 * that a reader gets them back, not spaces. */
gw_rc gw_xml_escape_attr(struct gw_buf *b, const char *s) GW_WARN_UNUSED;

#endif
