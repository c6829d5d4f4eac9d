/*
 * fhir_xml.h - the libxml2 side of a FHIR document, for the modules that
 * may see libxml2 types (validate/, map/).
 */
#ifndef GW_FHIR_FHIR_XML_H
#define GW_FHIR_FHIR_XML_H

#include <libxml/tree.h>
#include <pthread.h>

#include "fhir/fhir.h"
#include "fhir/xmldoc.h"

#define GW_FHIR_NS "http://hl7.org/fhir"
#define GW_XHTML_NS "http://www.w3.org/1999/xhtml"

/* The tree; borrowed, valid while doc lives. */
xmlDocPtr gw_fhir_doc_xml(const struct gw_fhir_doc *doc);
/* The tree of a document being built (build.h), for map/'s Bundles;
 * borrowed, valid until the build is freed or taken. */
struct gw_fhir_build;
xmlDocPtr gw_fhir_build_xml(struct gw_fhir_build *b);

/*
 * Wraps a tree built elsewhere (a mapping's output), after checking it
 * against the model as gw_fhir_parse does. Takes ownership of xml, also on
 * failure.
 */
gw_rc gw_fhir_doc_from_xml(xmlDocPtr xml, const struct gw_fhir_limits *lim,
                           struct gw_fhir_doc **out, struct gw_err *err)
    GW_WARN_UNUSED;

/* A struct gw_xml (xmldoc.h) is a libxml2 document: these convert,
 * without copying; gw_xml_of takes doc (NULL gives NULL). */
xmlDocPtr gw_xml_tree(const struct gw_xml *d);
struct gw_xml *gw_xml_of(xmlDocPtr doc);

/* libxml2's and libxslt's generic error callback that drops the message:
 * for our own files, whose failure is named by the caller. */
void gw_xml_quiet(void *ctx, const char *msg, ...);

/*
 * A libxml2 context kept per thread for its next document (a parser's, a
 * schema validation's): a reset costs less than making and freeing one
 * for each. gw_xml_kept gives the calling thread's (NULL: none kept);
 * gw_xml_keep keeps ctx in its place, freeing the one kept before, and
 * frees ctx instead when it cannot be kept. What a thread keeps is freed
 * (k->free) when the thread ends. Define one with GW_XML_KEEP(free).
 */
struct gw_xml_keep {
    void (*free)(void *ctx);
    pthread_mutex_t lock; /* guards making the key */
    int state;            /* 0 no key yet, 1 key made, -1 none to be had */
    pthread_key_t key;
};
#define GW_XML_KEEP(free_fn)                                                   \
    {                                                                          \
        (free_fn), PTHREAD_MUTEX_INITIALIZER, 0, 0                             \
    }
void *gw_xml_kept(struct gw_xml_keep *k);
void gw_xml_keep(struct gw_xml_keep *k, void *ctx);

/* libxml2's text mem (size bytes; NULL when libxml2 ran out of memory)
 * copied into *out, NUL-terminated, caller frees with free(); *len (when
 * not NULL) its length. Frees mem in every case. */
gw_rc gw_xml_take_text(xmlChar *mem, int size, char **out,
                       size_t *len) GW_WARN_UNUSED;

/* Walking a tree (fhir/, validate/, map/): the first element child of n
 * (NULL: none, or n NULL), and the first one named name (any namespace). */
xmlNodePtr gw_xml_first_elem(xmlNodePtr n);
xmlNodePtr gw_xml_child(xmlNodePtr n, const char *name);
/* Whether n (may be NULL) has the attribute value="v". */
int gw_xml_value_is(xmlNodePtr n, const char *v);

/* Internal to fhir/: a new dictionary for a tree (xmlDoc's dict; NULL when
 * out of memory) whose look-ups of the model's names give the same
 * pointers in every tree; and those pointers: of name (NULL: out of
 * memory), of type t (dict: the tree's, used only when the shared names
 * could not be built), and of every element, indexed as gw_fhir_elems
 * (NULL when the shared names could not be built). */
struct gw_fhir_type;
xmlDictPtr gw_fhir_dict_new(void);
const xmlChar *gw_fhir_xname(xmlDictPtr dict, const char *name);
const xmlChar *gw_fhir_type_xname(xmlDictPtr dict,
                                  const struct gw_fhir_type *t);
const xmlChar *const *gw_fhir_elem_xnames(void);

/* Internal to fhir/: the structural walk and the two conversions. */
gw_rc gw_fhir_xml_check(xmlDocPtr xml, const struct gw_fhir_limits *lim,
                        struct gw_err *err);
gw_rc gw_fhir_xml_emit_json(xmlDocPtr xml, char **out, size_t *len);
gw_rc gw_fhir_json_to_xml(const char *bytes, size_t len,
                          const struct gw_fhir_limits *lim, xmlDocPtr *out,
                          struct gw_err *err);
/* Hardened parse of XML text (also used for narrative div). */
gw_rc gw_fhir_xml_read(const char *bytes, size_t len,
                       const struct gw_fhir_limits *lim, xmlDocPtr *out,
                       struct gw_err *err);
/* The same for XML the gateway stored itself: the default limits but for
 * the size; the reason of a fault is not kept. */
gw_rc gw_fhir_xml_read_stored(const char *bytes, size_t len, xmlDocPtr *out);

#endif
