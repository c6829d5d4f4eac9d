/*
 * facts.c - the identity of a message's content for idempotency (the
 * table of message facts is klas/facts.c).
 *
 * The canonical form is computed on a copy of the tree, never on the
 * caller's document: the stored message keeps its Bundle.id, meta and
 * timestamp.
 */
#include "validate/facts.h"

#include <gnutls/crypto.h>
#include <libxml/c14n.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <string.h>

#include "fhir/fhir_xml.h"

static int
fhir_element(xmlNodePtr n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && n->ns != NULL &&
           strcmp((const char *)n->ns->href, GW_FHIR_NS) == 0 &&
           (name == NULL || strcmp((const char *)n->name, name) == 0);
}

/* Drops comments and blank text between FHIR elements, and gives every
 * FHIR element the one default namespace of the root, so a prefix the
 * sender chose does not count. The narrative (xhtml) is kept as sent. */
static void
strip(xmlNodePtr n, xmlNsPtr fhir)
{
    xmlNodePtr c, next;

    for (c = n->children; c != NULL; c = next) {
        next = c->next;
        if (c->type == XML_COMMENT_NODE || c->type == XML_PI_NODE ||
            (c->type == XML_TEXT_NODE && xmlIsBlankNode(c))) {
            xmlUnlinkNode(c);
            xmlFreeNode(c);
        } else if (fhir_element(c, NULL)) {
            c->ns = fhir;
            strip(c, fhir);
        }
    }
}

gw_rc
gw_msg_content_hash(const struct gw_fhir_doc *doc, char out[65])
{
    xmlDocPtr copy = NULL;
    xmlNodePtr root, c, next;
    xmlNsPtr fhir, found;
    xmlChar *mem = NULL;
    unsigned char d[32];
    int n;
    gw_rc rc = GW_ENOMEM;

    out[0] = '\0';
    copy = xmlCopyDoc(gw_fhir_doc_xml(doc), 1);
    root = copy ? xmlDocGetRootElement(copy) : NULL;
    if (root == NULL)
        goto out;
    /* A retry library may regenerate these three: not the content. */
    if (fhir_element(root, "Bundle")) {
        for (c = root->children; c != NULL; c = next) {
            next = c->next;
            if (fhir_element(c, "id") || fhir_element(c, "meta") ||
                fhir_element(c, "timestamp")) {
                xmlUnlinkNode(c);
                xmlFreeNode(c);
            }
        }
    }
    found = xmlSearchNsByHref(copy, root, (const xmlChar *)GW_FHIR_NS);
    fhir = found != NULL && found->prefix == NULL
               ? found
               : xmlNewNs(root, (const xmlChar *)GW_FHIR_NS, NULL);
    if (fhir == NULL)
        fhir = found; /* the root declares another default: keep prefixes */
    if (fhir == NULL) {
        rc = GW_EINVAL; /* not a FHIR document */
        goto out;
    }
    if (fhir_element(root, NULL))
        root->ns = fhir;
    strip(root, fhir);
    n = xmlC14NDocDumpMemory(copy, NULL, XML_C14N_EXCLUSIVE_1_0, NULL, 0,
                             &mem);
    if (n < 0 || mem == NULL)
        goto out;
    if (gnutls_hash_fast(GNUTLS_DIG_SHA256, mem, (size_t)n, d) != 0) {
        rc = GW_EINTERNAL;
        goto out;
    }
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    rc = GW_OK;
out:
    xmlFree(mem);
    xmlFreeDoc(copy);
    return rc;
}
