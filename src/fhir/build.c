/*
 * build.c - FHIR trees element by element (build.h). A struct
 * gw_fhir_el is an xmlNode: the type never leaves fhir/.
 */
#include "fhir/build.h"

#include <stdlib.h>

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
    xmlNodePtr root = NULL;

    *out = NULL;
    if (b == NULL)
        return GW_ENOMEM;
    b->doc = xmlNewDoc((const xmlChar *)"1.0");
    if (b->doc != NULL)
        root = xmlNewDocNode(b->doc, NULL, (const xmlChar *)resource_type,
                             NULL);
    if (root != NULL) {
        xmlDocSetRootElement(b->doc, root);
        b->ns = xmlNewNs(root, (const xmlChar *)GW_FHIR_NS, NULL);
        xmlSetNs(root, b->ns);
    }
    if (b->ns == NULL) {
        gw_fhir_build_free(b);
        return GW_ENOMEM;
    }
    *out = b;
    return GW_OK;
}

void
gw_fhir_build_free(struct gw_fhir_build *b)
{
    if (b == NULL)
        return;
    xmlFreeDoc(b->doc);
    free(b);
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

void
gw_fhir_el_value(struct gw_fhir_build *b, struct gw_fhir_el *parent,
                 const char *name, const char *value)
{
    struct gw_fhir_el *el;

    if (value == NULL || value[0] == '\0')
        return;
    el = gw_fhir_el_add(b, parent, name);
    if (el != NULL &&
        xmlNewProp((xmlNodePtr)el, (const xmlChar *)"value",
                   (const xmlChar *)value) == NULL)
        b->rc = GW_ENOMEM;
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
