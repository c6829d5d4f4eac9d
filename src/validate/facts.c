/*
 * facts.c - the identity of a message's content for idempotency (the
 * table of message facts is klas/facts.c).
 *
 * The canonical form never changes the caller's document: the stored
 * message keeps its Bundle.id, meta and timestamp. A tree of FHIR
 * elements alone (what the JSON reader builds, and XML sent without
 * comments, narrative or namespace prefixes, indented or not) is written
 * in canonical form straight into the digest; one in normal form (no
 * comments, text or prefixes) is canonicalised by libxml2 as it is,
 * those three hidden by a visibility callback; any other is copied and
 * normalised first. All give the same bytes, so the digests stored by
 * earlier versions still match (test_idempotency pins them).
 */
#include "validate/facts.h"

#include <gnutls/crypto.h>
#include <libxml/c14n.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hex.h"
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

/* Whether a root child is one of the three a retry may regenerate. */
static int
volatile_child(xmlNodePtr root, xmlNodePtr c)
{
    return c->parent == root &&
           (fhir_element(c, "id") || fhir_element(c, "meta") ||
            fhir_element(c, "timestamp"));
}

/* Whether strip() would leave the tree under n as it is: no comments,
 * processing instructions or text between FHIR elements, every FHIR
 * element in the namespace fhir (the root's default). */
static int
normal(xmlNodePtr n, xmlNsPtr fhir)
{
    for (xmlNodePtr c = n->children; c != NULL; c = c->next) {
        if (c->type == XML_COMMENT_NODE || c->type == XML_PI_NODE ||
            c->type == XML_TEXT_NODE)
            return 0;
        if (fhir_element(c, NULL) && (c->ns != fhir || !normal(c, fhir)))
            return 0;
    }
    return 1;
}

/* C14N visibility: everything but the volatile children of a Bundle
 * root and what they hold. */
static int
visible(void *root, xmlNodePtr node, xmlNodePtr parent)
{
    xmlNodePtr e = node->type == XML_NAMESPACE_DECL ||
                           node->type == XML_ATTRIBUTE_NODE
                       ? parent
                       : node;

    for (; e != NULL && e != root; e = e->parent)
        if (e->type == XML_ELEMENT_NODE && volatile_child(root, e))
            return 0;
    return 1;
}

static int
to_digest(void *ctx, const char *buf, int len)
{
    return gnutls_hash(*(gnutls_hash_hd_t *)ctx, buf, (size_t)len) == 0
               ? len
               : -1;
}

/* --- exclusive C14N of a tree of FHIR elements alone ------------------
 *
 * libxml2's C14N was a sixth of a submission's instructions (its
 * namespace stacks and attribute lists, for a tree whose every element
 * is in one default namespace). A tree of FHIR elements with attributes
 * in no namespace and no other node but blank text between them (what
 * the JSON reader builds for a message without narrative, and the XML
 * reader for one sent compact or indented) has a short canonical form:
 * the root declares the namespace, every element is written
 * <name attrs></name>, attributes sorted by name, values escaped as C14N
 * escapes them, blank text left out as strip() drops it. The bytes are
 * the same as libxml2's (test_idempotency compares them over every
 * example, compact and pretty-printed, and pins earlier digests). */

struct cw {
    gnutls_hash_hd_t h;
    size_t n;
    int failed;
    char buf[4096];
};

static void put_full(struct cw *w, const char *s, size_t len);

/* Inline when the bytes fit (the buffer stays unfull), so that the
 * markup's constant pieces are copied without a call. */
static inline void
put(struct cw *w, const char *s, size_t len)
{
    if (len < sizeof(w->buf) - w->n) {
        memcpy(w->buf + w->n, s, len);
        w->n += len;
        return;
    }
    put_full(w, s, len);
}

/* The bytes that fill the buffer: hashed in buffer-sized pieces. */
static void
put_full(struct cw *w, const char *s, size_t len)
{
    while (len > 0) {
        size_t k = sizeof(w->buf) - w->n;
        if (k > len)
            k = len;
        memcpy(w->buf + w->n, s, k);
        w->n += k;
        s += k;
        len -= k;
        if (w->n == sizeof(w->buf)) {
            w->failed |= gnutls_hash(w->h, w->buf, w->n) != 0;
            w->n = 0;
        }
    }
}

static void
put_str(struct cw *w, const char *s)
{
    put(w, s, strlen(s));
}

/* An attribute value as C14N escapes it: runs without a character to
 * escape in one put each, found by strcspn (most values have none). */
static void
put_attr_value(struct cw *w, const char *v)
{
    for (;;) {
        size_t k = strcspn(v, "&<\"\t\n\r");
        const char *esc;
        put(w, v, k);
        switch (v[k]) {
        case '&':
            esc = "&amp;";
            break;
        case '<':
            esc = "&lt;";
            break;
        case '"':
            esc = "&quot;";
            break;
        case '\t':
            esc = "&#x9;";
            break;
        case '\n':
            esc = "&#xA;";
            break;
        case '\r':
            esc = "&#xD;";
            break;
        default: /* the end */
            return;
        }
        put_str(w, esc);
        v += k + 1;
    }
}

/* Whether c is blank text between FHIR elements, which strip() drops:
 * XML sent indented has it around every element, and the writer below
 * leaves it out as the copy-strip-C14N way does. */
static int
blank_text(xmlNodePtr c)
{
    return c->type == XML_TEXT_NODE && xmlIsBlankNode(c);
}

/* Whether n and everything under it, blank text aside, is a FHIR element
 * in namespace fhir with plain attributes (one text value each, no
 * namespace). */
static int
plain_tree(xmlNodePtr n, xmlNsPtr fhir)
{
    if (n->type != XML_ELEMENT_NODE || n->ns != fhir || n->nsDef != NULL)
        return 0;
    for (xmlAttrPtr a = n->properties; a != NULL; a = a->next)
        if (a->ns != NULL || a->children == NULL ||
            a->children->type != XML_TEXT_NODE || a->children->next != NULL)
            return 0;
    for (xmlNodePtr c = n->children; c != NULL; c = c->next)
        if (!blank_text(c) && !plain_tree(c, fhir))
            return 0;
    return 1;
}

#define C14N_MAX_ATTRS 16

/* Writes n's canonical form, checking on the way what plain_tree checks
 * (the root's namespace declaration aside): 0 as soon as the tree is not
 * plain, the digest then unused. One walk, not a check and a write. */
static int
write_element(struct cw *w, xmlNodePtr n, xmlNodePtr root, xmlNsPtr fhir)
{
    xmlAttrPtr sorted[C14N_MAX_ATTRS];
    size_t na = 0, nl;

    if (n->type != XML_ELEMENT_NODE || n->ns != fhir ||
        (n->nsDef != NULL && n != root))
        return 0;
    for (xmlAttrPtr a = n->properties; a != NULL; a = a->next) {
        size_t j = na;
        if (na == C14N_MAX_ATTRS || a->ns != NULL || a->children == NULL ||
            a->children->type != XML_TEXT_NODE || a->children->next != NULL)
            return 0;
        while (j > 0 && strcmp((const char *)sorted[j - 1]->name,
                               (const char *)a->name) > 0) {
            sorted[j] = sorted[j - 1];
            j--;
        }
        sorted[j] = a;
        na++;
    }
    nl = strlen((const char *)n->name);
    put(w, "<", 1);
    put(w, (const char *)n->name, nl);
    if (n == root)
        put_str(w, " xmlns=\"" GW_FHIR_NS "\"");
    for (size_t i = 0; i < na; i++) {
        put(w, " ", 1);
        put_str(w, (const char *)sorted[i]->name);
        put(w, "=\"", 2);
        put_attr_value(w, (const char *)sorted[i]->children->content);
        put(w, "\"", 1);
    }
    put(w, ">", 1);
    for (xmlNodePtr c = n->children; c != NULL; c = c->next) {
        if (blank_text(c))
            continue;
        /* A volatile child is left out but must be plain all the same:
         * the whole tree is, or the digest is C14N's. */
        if (n == root && volatile_child(root, c) &&
            fhir_element(root, "Bundle")) {
            if (!plain_tree(c, fhir))
                return 0;
            continue;
        }
        if (!write_element(w, c, root, fhir))
            return 0;
    }
    put(w, "</", 2);
    put(w, (const char *)n->name, nl);
    put(w, ">", 1);
    return 1;
}

/* 1 when done (d set), 0 when the tree is not plain (a plain tree's
 * bytes are those of its stripped copy: normal() need not look). */
static int
hash_plain(xmlDocPtr xml, xmlNodePtr root, unsigned char d[32])
{
    struct cw *w;
    int ok;

    if (xml->children != root || root->next != NULL ||
        root->nsDef != root->ns || root->ns->next != NULL ||
        root->properties != NULL || (w = malloc(sizeof(*w))) == NULL)
        return 0;
    w->n = 0;
    w->failed = 0;
    if (gnutls_hash_init(&w->h, GNUTLS_DIG_SHA256) != 0) {
        free(w);
        return 0;
    }
    ok = write_element(w, root, root, root->ns);
    if (ok && w->n > 0)
        w->failed |= gnutls_hash(w->h, w->buf, w->n) != 0;
    gnutls_hash_deinit(w->h, d);
    ok = ok && !w->failed;
    free(w);
    return ok;
}

/* The fast way: no copy, no buffer, the canonical bytes hashed as they
 * come. 1 when done (d set), 0 when the tree is not in normal form, -1
 * on failure. */
static int
hash_in_place(xmlDocPtr xml, unsigned char d[32])
{
    xmlNodePtr root = xmlDocGetRootElement(xml);
    xmlOutputBufferPtr ob;
    gnutls_hash_hd_t h;
    int n;

    if (root == NULL || !fhir_element(root, NULL) || root->ns->prefix != NULL ||
        root->nsDef != root->ns || root->ns->next != NULL)
        return 0;
    if (hash_plain(xml, root, d))
        return 1;
    if (!normal(root, root->ns))
        return 0;
    if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) != 0)
        return -1;
    ob = xmlOutputBufferCreateIO(to_digest, NULL, &h, NULL);
    if (ob == NULL) {
        gnutls_hash_deinit(h, NULL);
        return -1;
    }
    n = xmlC14NExecute(xml,
                       fhir_element(root, "Bundle") ? visible : NULL, root,
                       XML_C14N_EXCLUSIVE_1_0, NULL, 0, ob);
    if (xmlOutputBufferClose(ob) < 0)
        n = -1;
    gnutls_hash_deinit(h, d);
    return n < 0 ? -1 : 1;
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
    switch (hash_in_place(gw_fhir_doc_xml(doc), d)) {
    case 1:
        rc = GW_OK;
        goto hex;
    case -1:
        rc = GW_EINTERNAL;
        goto out;
    default:
        break;
    }
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
    rc = GW_OK;
hex:
    gw_hex(d, sizeof(d), out);
out:
    xmlFree(mem);
    xmlFreeDoc(copy);
    return rc;
}
