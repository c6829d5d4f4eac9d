/*
 * build.c - FHIR trees element by element (build.h). A struct
 * gw_fhir_el is an xmlNode: the type never leaves fhir/.
 */
#include "fhir/build.h"

#include <stdlib.h>
#include <string.h>

#include "fhir/fhir_xml.h"

struct gw_fhir_build {
    xmlDocPtr doc;
    xmlNsPtr ns;
    gw_rc rc; /* the first failure */
};

gw_rc
gw_fhir_build_new(const char *resource_type, struct gw_fhir_build **out)
{
    struct gw_fhir_build *b = calloc(1, sizeof(*b));
    struct gw_xml *d = NULL;

    *out = NULL;
    if (b == NULL ||
        gw_xml_new(GW_FHIR_NS, NULL, resource_type, &d) != GW_OK) {
        free(b);
        return GW_ENOMEM;
    }
    b->doc = gw_xml_tree(d);
    b->ns = xmlDocGetRootElement(b->doc)->ns;
    *out = b;
    return GW_OK;
}

void
gw_fhir_build_free(struct gw_fhir_build *b)
{
    if (b != NULL)
        xmlFreeDoc(b->doc);
    free(b);
}

xmlDocPtr
gw_fhir_build_xml(struct gw_fhir_build *b)
{
    return b->doc;
}

struct gw_fhir_el *
gw_fhir_build_root(struct gw_fhir_build *b)
{
    return (struct gw_fhir_el *)xmlDocGetRootElement(b->doc);
}

struct gw_fhir_el *
gw_fhir_el_add(struct gw_fhir_build *b, struct gw_fhir_el *parent,
               const char *name)
{
    xmlNodePtr n;

    if (b->rc != GW_OK || parent == NULL)
        return NULL;
    n = xmlNewChild((xmlNodePtr)parent, b->ns, (const xmlChar *)name, NULL);
    if (n == NULL)
        b->rc = GW_ENOMEM;
    return (struct gw_fhir_el *)n;
}

static int
xml_cannot_carry(unsigned char ch)
{
    return ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r';
}

/* attribute name="value" on el, value as the builder's rule says. */
static void
set_attr(struct gw_fhir_build *b, struct gw_fhir_el *el, const char *name,
         const char *value)
{
    char *copy = NULL;
    const char *v = value;

    if (el == NULL)
        return;
    for (const char *s = value; *s; s++)
        if (xml_cannot_carry((unsigned char)*s)) {
            copy = strdup(value);
            if (copy == NULL) {
                b->rc = GW_ENOMEM;
                return;
            }
            for (char *t = copy; *t; t++)
                if (xml_cannot_carry((unsigned char)*t))
                    *t = ' ';
            v = copy;
            break;
        }
    if (xmlNewProp((xmlNodePtr)el, (const xmlChar *)name,
                   (const xmlChar *)v) == NULL)
        b->rc = GW_ENOMEM;
    free(copy);
}

struct gw_fhir_el *
gw_fhir_el_value(struct gw_fhir_build *b, struct gw_fhir_el *parent,
                 const char *name, const char *value)
{
    struct gw_fhir_el *el;

    if (value == NULL || value[0] == '\0')
        return NULL;
    el = gw_fhir_el_add(b, parent, name);
    set_attr(b, el, "value", value);
    return b->rc == GW_OK ? el : NULL;
}

/* n and its descendants in ns; the copy's own declaration of the same
 * default namespace dropped, so the tree stays in one namespace. */
static void
into_ns(xmlNodePtr n, xmlNsPtr ns)
{
    for (xmlNodePtr c = n->children; c != NULL; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            into_ns(c, ns);
    if (n->ns != NULL && xmlStrEqual(n->ns->href, ns->href))
        n->ns = ns;
}

struct gw_fhir_el *
gw_fhir_el_copy(struct gw_fhir_build *b, struct gw_fhir_el *parent,
                const struct gw_fhir_doc *doc)
{
    xmlNodePtr r = xmlDocGetRootElement(gw_fhir_doc_xml(doc)), copy;
    xmlNsPtr d;

    if (b->rc != GW_OK || parent == NULL)
        return NULL;
    copy = r != NULL ? xmlDocCopyNode(r, b->doc, 1) : NULL;
    if (copy == NULL || xmlAddChild((xmlNodePtr)parent, copy) == NULL) {
        xmlFreeNode(copy);
        b->rc = GW_ENOMEM;
        return NULL;
    }
    into_ns(copy, b->ns);
    d = copy->nsDef;
    if (d != NULL && d->next == NULL && d->prefix == NULL &&
        xmlStrEqual(d->href, b->ns->href)) {
        copy->nsDef = NULL;
        xmlFreeNs(d);
    }
    return (struct gw_fhir_el *)copy;
}

struct gw_fhir_el *
gw_fhir_el_extension(struct gw_fhir_build *b, struct gw_fhir_el *parent,
                     const char *url)
{
    struct gw_fhir_el *el = gw_fhir_el_add(b, parent, "extension");

    set_attr(b, el, "url", url);
    return b->rc == GW_OK ? el : NULL;
}

gw_rc
gw_fhir_build_take(struct gw_fhir_build *b, const struct gw_fhir_limits *lim,
                   struct gw_fhir_doc **out, struct gw_err *err)
{
    gw_rc rc = b->rc;
    xmlDocPtr doc = b->doc;

    *out = NULL;
    b->doc = NULL;
    gw_fhir_build_free(b);
    if (rc != GW_OK) {
        xmlFreeDoc(doc);
        return rc;
    }
    return gw_fhir_doc_from_xml(doc, lim, out, err); /* takes doc */
}
