/*
 * xmldoc.c - the opaque XML document of xmldoc.h.
 *
 * A struct gw_xml is never defined: a pointer to one is a libxml2
 * xmlDoc, converted here and nowhere else, so handing a document between
 * floors costs nothing and cannot fail.
 */
#include "fhir/xmldoc.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "fhir/fhir_xml.h"

xmlDocPtr
gw_xml_tree(const struct gw_xml *d)
{
    return (xmlDocPtr)(void *)d;
}

struct gw_xml *
gw_xml_of(xmlDocPtr doc)
{
    return (struct gw_xml *)(void *)doc;
}

void
gw_xml_quiet(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

/* k's key, made on first use; 0 when there is none (then nothing is
 * kept: every document makes its context as before). */
static int
keep_key(struct gw_xml_keep *k)
{
    int state = __atomic_load_n(&k->state, __ATOMIC_ACQUIRE);

    if (state == 0) {
        pthread_mutex_lock(&k->lock);
        state = k->state;
        if (state == 0) {
            state = pthread_key_create(&k->key, k->free) == 0 ? 1 : -1;
            __atomic_store_n(&k->state, state, __ATOMIC_RELEASE);
        }
        pthread_mutex_unlock(&k->lock);
    }
    return state == 1;
}

void *
gw_xml_kept(struct gw_xml_keep *k)
{
    return keep_key(k) ? pthread_getspecific(k->key) : NULL;
}

void
gw_xml_keep(struct gw_xml_keep *k, void *ctx)
{
    void *old = gw_xml_kept(k);

    if (old == ctx)
        return;
    if (!keep_key(k) || pthread_setspecific(k->key, ctx) != 0) {
        k->free(ctx);
        return;
    }
    if (old != NULL)
        k->free(old);
}

void
gw_xml_free(struct gw_xml *d)
{
    xmlFreeDoc(gw_xml_tree(d));
}

static xmlNodePtr
root_of(const struct gw_xml *d)
{
    return d != NULL ? xmlDocGetRootElement(gw_xml_tree(d)) : NULL;
}

const char *
gw_xml_root_name(const struct gw_xml *d)
{
    xmlNodePtr r = root_of(d);

    return r != NULL ? (const char *)r->name : "";
}

const char *
gw_xml_root_ns(const struct gw_xml *d)
{
    xmlNodePtr r = root_of(d);

    return r != NULL && r->ns != NULL && r->ns->href != NULL
               ? (const char *)r->ns->href
               : "";
}

int
gw_xml_root_is(const struct gw_xml *d, const char *ns, const char *name)
{
    xmlNodePtr r = root_of(d);

    return r != NULL && strcmp((const char *)r->name, name) == 0 &&
           strcmp(gw_xml_root_ns(d), ns ? ns : "") == 0;
}

/* v (may be NULL: "") into buf, whole or GW_ETOOLARGE. Frees v. */
static gw_rc
copy_out(xmlChar *v, char *buf, size_t size)
{
    size_t l = v ? strlen((const char *)v) : 0;
    gw_rc rc = GW_OK;

    buf[0] = '\0';
    if (l < size)
        memcpy(buf, v ? (const char *)v : "", l + 1);
    else
        rc = GW_ETOOLARGE;
    xmlFree(v);
    return rc;
}

gw_rc
gw_xml_child_text(const struct gw_xml *d, const char *name, size_t nth,
                  char *buf, size_t size)
{
    xmlNodePtr r = root_of(d);

    buf[0] = '\0';
    for (xmlNodePtr c = r ? r->children : NULL; c != NULL; c = c->next)
        if (c->type == XML_ELEMENT_NODE &&
            strcmp((const char *)c->name, name) == 0 && nth-- == 0)
            return copy_out(xmlNodeGetContent(c), buf, size);
    return GW_ENOTFOUND;
}

gw_rc
gw_xml_root_attr(const struct gw_xml *d, const char *name, char *buf,
                 size_t size)
{
    xmlNodePtr r = root_of(d);
    xmlChar *v = r ? xmlGetNoNsProp(r, (const xmlChar *)name) : NULL;

    if (v == NULL) {
        buf[0] = '\0';
        return GW_ENOTFOUND;
    }
    return copy_out(v, buf, size);
}

gw_rc
gw_xml_root_text(const struct gw_xml *d, char *buf, size_t size)
{
    xmlNodePtr r = root_of(d);

    if (r == NULL) {
        buf[0] = '\0';
        return GW_ENOTFOUND;
    }
    return copy_out(xmlNodeGetContent(r), buf, size);
}

gw_rc
gw_xml_append_root(const struct gw_xml *d, struct gw_buf *b)
{
    xmlBufferPtr xb;
    gw_rc rc;

    if (root_of(d) == NULL)
        return GW_EINTERNAL;
    xb = xmlBufferCreate();
    if (xb == NULL)
        return GW_ENOMEM;
    if (xmlNodeDump(xb, gw_xml_tree(d), root_of(d), 0, 0) < 0)
        rc = GW_EINTERNAL;
    else
        rc = gw_buf_append(b, (const char *)xmlBufferContent(xb),
                           (size_t)xmlBufferLength(xb));
    xmlBufferFree(xb);
    return rc;
}

gw_rc
gw_xml_take_text(xmlChar *mem, int size, char **out, size_t *len)
{
    *out = mem != NULL && size >= 0 ? malloc((size_t)size + 1) : NULL;
    if (*out != NULL) {
        memcpy(*out, mem, (size_t)size);
        (*out)[size] = '\0';
        if (len != NULL)
            *len = (size_t)size;
    }
    xmlFree(mem);
    return *out != NULL ? GW_OK : GW_ENOMEM;
}

gw_rc
gw_xml_save(const struct gw_xml *d, char **out, size_t *len)
{
    xmlChar *mem = NULL;
    int size = 0;

    *out = NULL;
    *len = 0;
    if (root_of(d) == NULL)
        return GW_EINTERNAL;
    xmlDocDumpMemoryEnc(gw_xml_tree(d), &mem, &size, "UTF-8");
    return gw_xml_take_text(mem, size, out, len);
}

gw_rc
gw_xml_new(const char *ns, const char *prefix, const char *name,
           struct gw_xml **out)
{
    xmlDocPtr doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlNodePtr root = doc ? xmlNewNode(NULL, (const xmlChar *)name) : NULL;
    xmlNsPtr n = NULL;

    *out = NULL;
    if (root == NULL) {
        xmlFreeDoc(doc);
        return GW_ENOMEM;
    }
    xmlDocSetRootElement(doc, root);
    if (ns != NULL) {
        n = xmlNewNs(root, (const xmlChar *)ns, (const xmlChar *)prefix);
        if (n == NULL) {
            xmlFreeDoc(doc);
            return GW_ENOMEM;
        }
        xmlSetNs(root, n);
    }
    *out = gw_xml_of(doc);
    return GW_OK;
}

gw_rc
gw_xml_set_attr(struct gw_xml *d, const char *name, const char *value)
{
    xmlNodePtr r = root_of(d);

    if (r == NULL)
        return GW_EINTERNAL;
    return xmlSetProp(r, (const xmlChar *)name, (const xmlChar *)value)
               ? GW_OK
               : GW_ENOMEM;
}

gw_rc
gw_xml_add_fhir(struct gw_xml *d, const char *name, const char *xml, size_t len)
{
    xmlNodePtr r = root_of(d), n, copy;
    xmlDocPtr in = NULL;
    gw_rc rc;

    if (r == NULL)
        return GW_EINTERNAL;
    rc = gw_fhir_xml_read_stored(xml, len, &in);
    if (rc != GW_OK)
        return rc == GW_ENOMEM ? rc : GW_EPARSE;
    n = xmlNewChild(r, r->ns, (const xmlChar *)name, NULL);
    copy = n ? xmlDocCopyNode(xmlDocGetRootElement(in), r->doc, 1) : NULL;
    xmlFreeDoc(in);
    if (copy == NULL)
        return GW_ENOMEM;
    xmlAddChild(n, copy);
    return GW_OK;
}

gw_rc
gw_xml_to_fhir(struct gw_xml *d, const struct gw_fhir_limits *lim,
               struct gw_fhir_doc **out, struct gw_err *err)
{
    return gw_fhir_doc_from_xml(gw_xml_tree(d), lim, out, err);
}

int
gw_fhir_doc_bundle_has(const struct gw_fhir_doc *doc, const char *type)
{
    xmlNodePtr root = doc ? xmlDocGetRootElement(gw_fhir_doc_xml(doc)) : NULL;

    if (root == NULL || strcmp((const char *)root->name, "Bundle") != 0)
        return 0;
    for (xmlNodePtr e = root->children; e; e = e->next)
        for (xmlNodePtr r = e->children; r; r = r->next)
            if (r->type == XML_ELEMENT_NODE &&
                strcmp((const char *)r->name, "resource") == 0)
                for (xmlNodePtr t = r->children; t; t = t->next)
                    if (t->type == XML_ELEMENT_NODE &&
                        strcmp((const char *)t->name, type) == 0)
                        return 1;
    return 0;
}

xmlNodePtr
gw_xml_first_elem(xmlNodePtr n)
{
    for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            return c;
    return NULL;
}

xmlNodePtr
gw_xml_child(xmlNodePtr n, const char *name)
{
    for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE &&
            strcmp((const char *)c->name, name) == 0)
            return c;
    return NULL;
}

int
gw_xml_value_is(xmlNodePtr n, const char *v)
{
    xmlChar *a = n ? xmlGetProp(n, (const xmlChar *)"value") : NULL;
    int eq = a != NULL && strcmp((const char *)a, v) == 0;

    xmlFree(a);
    return eq;
}
