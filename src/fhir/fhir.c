/*
 * fhir.c - the document object and the format dispatch (see fhir.h).
 */
#include "fhir/fhir_xml.h"

#include <libxml/parser.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "fhir/model.h"
#include "fhir/out.h"

void
gw_fhir_init(void)
{
    xmlInitParser();
}

/*
 * The model's names, interned once per process in one dictionary that is
 * the parent of every FHIR tree's own (gw_fhir_dict_new): a tree's element
 * and attribute names are then pointers into it, neither copied nor freed
 * per node (libxml2 frees a name only when the tree's dictionary does not
 * own it), and the walks can compare a node's name with an element's by
 * pointer. The parent is only read once built (a child's look-ups look
 * into it, its insertions go into the child), so threads share it.
 */
static xmlDictPtr names;
static const xmlChar **elem_names, **type_names;
static pthread_once_t names_once = PTHREAD_ONCE_INIT;

static void
names_build(void)
{
    xmlDictPtr d = xmlDictCreate();
    const xmlChar **e = calloc(gw_fhir_nelems, sizeof(*e));
    const xmlChar **t = calloc(gw_fhir_ntypes, sizeof(*t));
    int ok = d != NULL && e != NULL && t != NULL;

    for (unsigned i = 0; ok && i < gw_fhir_nelems; i++)
        ok = (e[i] = xmlDictLookup(d, (const xmlChar *)gw_fhir_elems[i].name,
                                   -1)) != NULL;
    for (unsigned i = 0; ok && i < gw_fhir_ntypes; i++)
        ok = (t[i] = xmlDictLookup(d, (const xmlChar *)gw_fhir_types[i].name,
                                   -1)) != NULL;
    /* The attribute names a tree has besides the model's elements. */
    ok = ok && xmlDictLookup(d, (const xmlChar *)"value", -1) != NULL;
    if (!ok) { /* out of memory: trees get dictionaries of their own */
        xmlDictFree(d);
        free(e);
        free(t);
        return;
    }
    names = d;
    elem_names = e;
    type_names = t;
}

xmlDictPtr
gw_fhir_dict_new(void)
{
    pthread_once(&names_once, names_build);
    return names != NULL ? xmlDictCreateSub(names) : xmlDictCreate();
}

const xmlChar *
gw_fhir_xname(xmlDictPtr dict, const char *name)
{
    const xmlChar *n = NULL;

    pthread_once(&names_once, names_build);
    if (names != NULL)
        n = xmlDictExists(names, (const xmlChar *)name, -1);
    return n != NULL ? n : xmlDictLookup(dict, (const xmlChar *)name, -1);
}

const xmlChar *const *
gw_fhir_elem_xnames(void)
{
    pthread_once(&names_once, names_build);
    return elem_names;
}

const xmlChar *
gw_fhir_type_xname(xmlDictPtr dict, const struct gw_fhir_type *t)
{
    pthread_once(&names_once, names_build);
    if (type_names != NULL)
        return type_names[t - gw_fhir_types];
    return xmlDictLookup(dict, (const xmlChar *)t->name, -1);
}

enum gw_fhir_format
gw_fhir_sniff(const char *bytes, size_t len)
{
    size_t i = 0;

    if (len >= 3 && (unsigned char)bytes[0] == 0xEF &&
        (unsigned char)bytes[1] == 0xBB && (unsigned char)bytes[2] == 0xBF)
        i = 3;
    while (i < len && (bytes[i] == ' ' || bytes[i] == '\t' ||
                       bytes[i] == '\r' || bytes[i] == '\n'))
        i++;
    if (i < len && bytes[i] == '{')
        return GW_FHIR_JSON;
    if (i < len && bytes[i] == '<')
        return GW_FHIR_XML;
    return GW_FHIR_SNIFF;
}

/* A struct gw_fhir_doc is libxml2's document, checked against the model:
 * the type never leaves fhir/ (gw_fhir_doc_xml). */
static gw_rc
wrap(xmlDocPtr xml, struct gw_fhir_doc **out)
{
    *out = (struct gw_fhir_doc *)(void *)xml;
    return GW_OK;
}

/* The first resource in n's tree whose type the gateway only publishes
 * (OperationDefinition, ...: in the model to be written, never taken in),
 * or NULL. Only resource elements start with a capital in FHIR XML. The
 * depth is bounded: the tree passed the limits' check. */
static const char *
published_only(xmlNodePtr n)
{
    for (; n != NULL; n = n->next) {
        const struct gw_fhir_type *t;
        const char *sub;
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (n->name[0] >= 'A' && n->name[0] <= 'Z' &&
            (t = gw_fhir_resource_find((const char *)n->name)) != NULL &&
            t->out_only)
            return t->name;
        if ((sub = published_only(n->children)) != NULL)
            return sub;
    }
    return NULL;
}

/* lim, or the default limits in *def. */
static const struct gw_fhir_limits *
or_default(const struct gw_fhir_limits *lim, struct gw_fhir_limits *def)
{
    if (lim != NULL)
        return lim;
    gw_fhir_limits_default(def);
    return def;
}

/* gw_fhir_parse; published: the types the gateway only publishes too. */
static gw_rc
parse(const char *bytes, size_t len, enum gw_fhir_format fmt,
      const struct gw_fhir_limits *lim, int published, struct gw_fhir_doc **out,
      struct gw_err *err)
{
    struct gw_fhir_limits def;
    xmlDocPtr xml = NULL;
    gw_rc rc;

    *out = NULL;
    lim = or_default(lim, &def);
    if (len > lim->max_bytes)
        return gw_err_set(err, GW_ETOOLARGE, NULL,
                          "the document is larger than %zu bytes",
                          lim->max_bytes);
    if (fmt == GW_FHIR_SNIFF)
        fmt = gw_fhir_sniff(bytes, len);
    if (fmt == GW_FHIR_JSON) {
        rc = gw_fhir_json_to_xml(bytes, len, lim, &xml, err);
    } else if (fmt == GW_FHIR_XML) {
        rc = gw_fhir_xml_read(bytes, len, lim, &xml, err);
        if (rc == GW_OK) {
            rc = gw_fhir_xml_check(xml, lim, err);
            if (rc != GW_OK) {
                xmlFreeDoc(xml);
                xml = NULL;
            }
        }
    } else {
        return gw_err_set(err, GW_EPARSE, NULL,
                          "neither FHIR JSON (an object) nor FHIR XML");
    }
    if (rc != GW_OK)
        return rc;
    if (!published) {
        const char *type = published_only(xmlDocGetRootElement(xml));
        if (type != NULL) {
            xmlFreeDoc(xml);
            return gw_err_set(err, GW_EVALIDATION, NULL,
                              "%s is published by this gateway, not "
                              "accepted", type);
        }
    }
    return wrap(xml, out);
}

gw_rc
gw_fhir_parse(const char *bytes, size_t len, enum gw_fhir_format fmt,
              const struct gw_fhir_limits *lim, struct gw_fhir_doc **out,
              struct gw_err *err)
{
    return parse(bytes, len, fmt, lim, 0, out, err);
}

gw_rc
gw_fhir_parse_published(const char *bytes, size_t len,
                        const struct gw_fhir_limits *lim,
                        struct gw_fhir_doc **out, struct gw_err *err)
{
    return parse(bytes, len, GW_FHIR_JSON, lim, 1, out, err);
}

gw_rc
gw_fhir_doc_from_xml(xmlDocPtr xml, const struct gw_fhir_limits *lim,
                     struct gw_fhir_doc **out, struct gw_err *err)
{
    struct gw_fhir_limits def;
    gw_rc rc = gw_fhir_xml_check(xml, or_default(lim, &def), err);

    *out = NULL;
    if (rc != GW_OK) {
        xmlFreeDoc(xml);
        return rc;
    }
    return wrap(xml, out);
}

gw_rc
gw_fhir_doc_check(const struct gw_fhir_doc *doc,
                  const struct gw_fhir_limits *lim, struct gw_err *err)
{
    struct gw_fhir_limits def;

    return gw_fhir_xml_check(gw_fhir_doc_xml(doc), or_default(lim, &def), err);
}

void
gw_fhir_doc_free(struct gw_fhir_doc *doc)
{
    xmlFreeDoc(gw_fhir_doc_xml(doc));
}

xmlDocPtr
gw_fhir_doc_xml(const struct gw_fhir_doc *doc)
{
    return (xmlDocPtr)(void *)doc;
}

const char *
gw_fhir_doc_type(const struct gw_fhir_doc *doc)
{
    xmlNodePtr root = xmlDocGetRootElement(gw_fhir_doc_xml(doc));

    return root ? (const char *)root->name : "";
}

/* Removes blank text nodes and comments outside the narrative, so that
 * the serialised form is the same however the input was laid out. */
static void
normalise(xmlNodePtr n)
{
    xmlNodePtr c = n->children, next;

    for (; c != NULL; c = next) {
        next = c->next;
        if (c->type == XML_COMMENT_NODE ||
            (c->type == XML_TEXT_NODE && xmlIsBlankNode(c))) {
            xmlUnlinkNode(c);
            xmlFreeNode(c);
        } else if (c->type == XML_ELEMENT_NODE && c->ns != NULL &&
                   strcmp((const char *)c->ns->href, GW_FHIR_NS) == 0) {
            normalise(c);
        }
    }
}

/*
 * The serialised form of a plain tree, written here: libxml2's
 * serialiser (xmlDocDumpFormatMemoryEnc) was a tenth of a submission's
 * instructions, twice per message (the message and its receipt), mostly
 * its output buffer's bookkeeping per attribute and per byte. A plain
 * tree is the XML declaration's document holding one root, every element
 * in the FHIR default namespace declared on the root alone, attributes in
 * no namespace of one text each, no other node (no narrative, comment or
 * text): what the JSON reader and fhir/build.c make. Its bytes are
 * exactly libxml2's for UTF-8 output without formatting (test_fhir
 * compares both over every example and fixture); any other tree goes to
 * libxml2.
 */
/* The document and its root as a plain tree needs them (the root's
 * subtree aside: put_element checks it as it writes it). */
static int
plain_head(xmlDocPtr xml, xmlNodePtr root)
{
    return root != NULL && xml->children == root && root->next == NULL &&
           root->prev == NULL && xml->version != NULL &&
           strcmp((const char *)xml->version, "1.0") == 0 &&
           xml->standalone < 0 && root->ns != NULL && root->nsDef == root->ns &&
           root->ns->next == NULL && root->ns->prefix == NULL &&
           root->ns->href != NULL &&
           strcmp((const char *)root->ns->href, GW_FHIR_NS) == 0;
}

/* The block writer of out.h (put_plain's and xml.c's JSON writer's). */
void
gw_fhir_out_flush(struct gw_fhir_out *o)
{
    if (o->rc == GW_OK && o->n > 0)
        o->rc = gw_buf_append(o->b, o->buf, o->n);
    o->n = 0;
}

void
gw_fhir_out_put_full(struct gw_fhir_out *o, const void *p, size_t n)
{
    gw_fhir_out_flush(o);
    if (n > sizeof(o->buf)) {
        if (o->rc == GW_OK)
            o->rc = gw_buf_append(o->b, p, n);
        return;
    }
    memcpy(o->buf, p, n);
    o->n = n;
}

/*
 * What XML written as text holds for a byte of a value (NULL: the byte
 * itself): the characters markup gives a meaning as their entities, a
 * space for the control characters XML 1.0 cannot carry (below 0x20 but
 * tab, LF and CR). An attribute value, as libxml2 writes it
 * (xmlBufAttrSerializeTxtContent with an encoding set: bytes from 0x80
 * as they are), has tab, LF and CR as character references too, which a
 * reader would make spaces of; text has them as they are.
 */
#define XML_C0(tab, lf, cr)                                                    \
    " ", " ", " ", " ", " ", " ", " ", " ", " ", tab, lf, " ", " ", cr, " ",   \
        " ", " ", " ", " ", " ", " ", " ", " ", " ", " ", " ", " ", " ", " ",  \
        " ", " ", " "
#define XML_MARKUP                                                             \
    ['"'] = "&quot;", ['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;"
static const char *const xml_text[256] = {XML_C0(NULL, NULL, NULL), XML_MARKUP};
static const char *const xml_attr[256] = {XML_C0("&#9;", "&#10;", "&#13;"),
                                          XML_MARKUP};
#undef XML_C0
#undef XML_MARKUP

/* An attribute value of a tree as libxml2 writes it (xml_attr): the
 * other control characters go as they are, as libxml2 has them. */
static void
put_attr(struct gw_fhir_out *w, const char *v)
{
    /* Runs without a character to escape in one piece each, found by
     * strcspn (most values have none). */
    for (;;) {
        size_t k = strcspn(v, "\n\r\t\"<>&");
        gw_fhir_out_put(w, v, k);
        if (v[k] == '\0')
            return;
        gw_fhir_out_put(w, xml_attr[(unsigned char)v[k]],
                        strlen(xml_attr[(unsigned char)v[k]]));
        v += k + 1;
    }
}

/* Writes n, checking on the way that its subtree is plain (every element
 * in ns, no namespace declared below the root, attributes in no namespace
 * of one text each): *is_plain = 0 as soon as it is not, what was
 * written then unused. */
static void
put_element(struct gw_fhir_out *w, xmlNodePtr n, xmlNsPtr ns, int root,
            int *is_plain)
{
    size_t nl;

    if (n->type != XML_ELEMENT_NODE || n->ns != ns ||
        (n->nsDef != NULL && (!root || n->nsDef != ns))) {
        *is_plain = 0;
        return;
    }
    nl = strlen((const char *)n->name);
    gw_fhir_out_put(w, "<", 1);
    gw_fhir_out_put(w, (const char *)n->name, nl);
    if (root)
        gw_fhir_out_put(w, " xmlns=\"" GW_FHIR_NS "\"",
                        sizeof(" xmlns=\"" GW_FHIR_NS "\"") - 1);
    for (xmlAttrPtr a = n->properties; a != NULL; a = a->next) {
        if (a->ns != NULL || a->children == NULL ||
            a->children->type != XML_TEXT_NODE || a->children->next != NULL ||
            a->children->content == NULL) {
            *is_plain = 0;
            return;
        }
        gw_fhir_out_put(w, " ", 1);
        gw_fhir_out_put(w, (const char *)a->name,
                        strlen((const char *)a->name));
        gw_fhir_out_put(w, "=\"", 2);
        put_attr(w, (const char *)a->children->content);
        gw_fhir_out_put(w, "\"", 1);
    }
    if (n->children == NULL) {
        gw_fhir_out_put(w, "/>", 2);
        return;
    }
    gw_fhir_out_put(w, ">", 1);
    for (xmlNodePtr c = n->children; c != NULL && *is_plain; c = c->next)
        put_element(w, c, ns, 0, is_plain);
    if (!*is_plain)
        return;
    gw_fhir_out_put(w, "</", 2);
    gw_fhir_out_put(w, (const char *)n->name, nl);
    gw_fhir_out_put(w, ">", 1);
}

/* The plain tree under root written (*out), or *out NULL when it is not
 * plain. */
static gw_rc
put_plain(xmlNodePtr root, char **out, size_t *len)
{
    static const char decl[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    struct gw_buf b;
    struct gw_fhir_out *w = malloc(sizeof(*w));
    int is_plain = 1;
    gw_rc rc;

    *out = NULL;
    if (w == NULL)
        return GW_ENOMEM;
    gw_buf_init(&b, (size_t)INT_MAX); /* libxml2's bound too */
    gw_fhir_out_init(w, &b);
    gw_fhir_out_put(w, decl, sizeof(decl) - 1);
    put_element(w, root, root->ns, 1, &is_plain);
    if (is_plain) {
        gw_fhir_out_put(w, "\n", 1);
        gw_fhir_out_flush(w);
    }
    rc = w->rc;
    if (rc == GW_OK && is_plain && (*out = gw_buf_take(&b, len)) == NULL)
        rc = GW_ENOMEM;
    gw_buf_release(&b);
    free(w);
    return rc;
}

gw_rc
gw_fhir_to_xml(const struct gw_fhir_doc *doc, char **out, size_t *len)
{
    xmlChar *mem = NULL;
    int size = 0;
    xmlNodePtr root = xmlDocGetRootElement(gw_fhir_doc_xml(doc));
    int head = plain_head(gw_fhir_doc_xml(doc), root);
    gw_rc rc;

    /* A plain tree has no comment or text for normalise() to drop: it is
     * written as it is, checked as it is written; any other is
     * normalised first, and may be plain then. */
    if (head && ((rc = put_plain(root, out, len)) != GW_OK || *out != NULL))
        return rc;
    normalise(root);
    if (head && ((rc = put_plain(root, out, len)) != GW_OK || *out != NULL))
        return rc;
    xmlDocDumpFormatMemoryEnc(gw_fhir_doc_xml(doc), &mem, &size, "UTF-8", 0);
    return gw_xml_take_text(mem, size, out, len);
}

gw_rc
gw_fhir_to_json(const struct gw_fhir_doc *doc, char **out, size_t *len)
{
    size_t n = 0;
    gw_rc rc = gw_fhir_xml_emit_json(gw_fhir_doc_xml(doc), out, &n);

    if (rc == GW_OK && len != NULL)
        *len = n;
    return rc;
}

/* s (NULL: nothing) appended to b, each byte as table has it (xml_text,
 * xml_attr); the runs of bytes it keeps in one append each, found by a
 * table look-up a byte (NUL has an entry, a space: it ends the run). */
static gw_rc
escape(struct gw_buf *b, const char *s, const char *const table[256])
{
    const unsigned char *p = (const unsigned char *)s, *run = p;
    gw_rc rc;

    if (s == NULL)
        return GW_OK;
    for (;;) {
        while (table[*p] == NULL)
            p++;
        rc = gw_buf_append(b, run, (size_t)(p - run));
        if (rc != GW_OK || *p == '\0')
            return rc;
        rc = gw_buf_append_str(b, table[*p]);
        if (rc != GW_OK)
            return rc;
        run = ++p;
    }
}

gw_rc
gw_xml_escape(struct gw_buf *b, const char *s)
{
    return escape(b, s, xml_text);
}

gw_rc
gw_xml_escape_attr(struct gw_buf *b, const char *s)
{
    return escape(b, s, xml_attr);
}
