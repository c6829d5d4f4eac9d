/*
 * envelope.c - strict reading of an inbound SOAP envelope.
 *
 * Accepted shape (SOAP 1.1 or 1.2, one namespace throughout):
 *
 *   Envelope
 *     Header?            at most one; LogicalAddress (RIV registry ns) at
 *                        most once; any other header block may be
 *                        ignored unless it says mustUnderstand
 *     Body               exactly one element child, nothing else but
 *                        whitespace
 *
 * Anything else (text between elements, a second Body, elements after the
 * Body, a Body without or with two elements) is refused as GW_EPARSE with
 * the part named. This module does not look inside the Body: the
 * interaction's XSD (soap/soap.c) does.
 */
#include "map/envelope.h"

#include <libxml/tree.h>
#include <string.h>

#include "fhir/fhir_xml.h"

static int
in_ns(const xmlNode *n, const char *ns)
{
    return n->ns != NULL && n->ns->href != NULL &&
           strcmp((const char *)n->ns->href, ns) == 0;
}

static int
named(const xmlNode *n, const char *ns, const char *name)
{
    return n->type == XML_ELEMENT_NODE && in_ns(n, ns) &&
           strcmp((const char *)n->name, name) == 0;
}

/* Only whitespace, comments and processing instructions between elements. */
static int
stray_text(const xmlNode *n)
{
    if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
        for (const xmlChar *p = n->content; p && *p; p++)
            if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
                return 1;
        return 0;
    }
    return n->type != XML_ELEMENT_NODE && n->type != XML_COMMENT_NODE &&
           n->type != XML_PI_NODE;
}

/* The element child of parent after *c (the first when *c is NULL) into
 * *c, NULL after the last; 0 (GW_EPARSE in err, at where) at text that is
 * not white space on the way. */
static int
next_child(xmlNodePtr parent, xmlNodePtr *c, const char *where,
           const char *text_msg, struct gw_err *err)
{
    xmlNodePtr n = *c != NULL ? (*c)->next : parent->children;

    for (; n != NULL; n = n->next) {
        if (stray_text(n)) {
            gw_err_set(err, GW_EPARSE, where, "%s", text_msg);
            return 0;
        }
        if (n->type == XML_ELEMENT_NODE)
            break;
    }
    *c = n;
    return 1;
}

static int
must_understand(const xmlNode *n, const char *envns)
{
    xmlChar *v = xmlGetNsProp(n, (const xmlChar *)"mustUnderstand",
                              (const xmlChar *)envns);
    int yes = v != NULL && (strcmp((const char *)v, "1") == 0 ||
                            strcmp((const char *)v, "true") == 0);

    xmlFree(v);
    return yes;
}

static gw_rc
read_header(const xmlNode *h, const char *envns, struct gw_soap_env *env,
            struct gw_err *err)
{
    int seen = 0;

    for (const xmlNode *c = h->children; c != NULL; c = c->next) {
        if (stray_text(c))
            return gw_err_set(err, GW_EPARSE, "Header",
                              "text is not allowed in the SOAP Header");
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (named(c, GW_RIV_REGISTRY_NS, "LogicalAddress")) {
            xmlChar *v;
            const char *s, *e;
            if (seen++)
                return gw_err_set(err, GW_EPARSE, "Header/LogicalAddress",
                                  "LogicalAddress is given twice");
            for (const xmlNode *k = c->children; k; k = k->next)
                if (k->type == XML_ELEMENT_NODE)
                    return gw_err_set(err, GW_EPARSE, "Header/LogicalAddress",
                                      "LogicalAddress must be text");
            v = xmlNodeGetContent(c);
            s = v ? (const char *)v : "";
            while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
                s++;
            e = s + strlen(s);
            while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
                             e[-1] == '\n'))
                e--;
            if ((size_t)(e - s) >= sizeof(env->logical_address)) {
                xmlFree(v);
                return gw_err_set(err, GW_EPARSE, "Header/LogicalAddress",
                                  "LogicalAddress is longer than %zu "
                                  "characters",
                                  sizeof(env->logical_address) - 1);
            }
            memcpy(env->logical_address, s, (size_t)(e - s));
            env->logical_address[e - s] = '\0';
            xmlFree(v);
        } else if (must_understand(c, envns)) {
            return gw_err_set(err, GW_EINVAL, "Header",
                              "header block '%.60s' is marked "
                              "mustUnderstand and is not understood",
                              (const char *)c->name);
        }
    }
    return GW_OK;
}

/* The body element as a document of its own (namespaces reconciled). */
static xmlDocPtr
body_doc(xmlNodePtr body)
{
    xmlDocPtr d = xmlNewDoc((const xmlChar *)"1.0");
    xmlNodePtr copy;

    if (d == NULL)
        return NULL;
    copy = xmlDocCopyNode(body, d, 1);
    if (copy == NULL) {
        xmlFreeDoc(d);
        return NULL;
    }
    xmlDocSetRootElement(d, copy);
    xmlReconciliateNs(d, copy);
    return d;
}

gw_rc
gw_soap_envelope_parse(const char *bytes, size_t len,
                       const struct gw_fhir_limits *lim,
                       struct gw_soap_env *out, struct gw_err *err)
{
    struct gw_fhir_limits def;
    xmlDocPtr doc = NULL;
    xmlNodePtr root, c, body = NULL, elem = NULL;
    static const struct {
        const char *ns;
        enum gw_soap_version version;
    } versions[] = {{GW_SOAP11_NS, GW_SOAP_11}, {GW_SOAP12_NS, GW_SOAP_12}};
    const char *envns;
    int headers = 0, ok;
    size_t k;
    gw_rc rc;

    memset(out, 0, sizeof(*out));
    if (lim == NULL) {
        gw_fhir_limits_default(&def);
        lim = &def;
    }
    rc = gw_fhir_xml_read(bytes, len, lim, &doc, err);
    if (rc != GW_OK)
        goto out;
    root = xmlDocGetRootElement(doc);
    rc = GW_EPARSE;
    if (root == NULL) {
        gw_err_set(err, rc, "Envelope", "no root element");
        goto out;
    }
    for (k = 0; k < 2 && !named(root, versions[k].ns, "Envelope"); k++)
        ;
    if (k == 2) {
        gw_err_set(err, rc, "Envelope",
                   "not a SOAP 1.1 or 1.2 Envelope (root '%.60s')",
                   (const char *)root->name);
        goto out;
    }
    out->version = versions[k].version;
    envns = versions[k].ns;
    for (c = NULL; (ok = next_child(root, &c, "Envelope",
                                    "text is not allowed here", err)) &&
                   c != NULL;) {
        if (named(c, envns, "Header") && body == NULL && headers == 0) {
            headers++;
            rc = read_header(c, envns, out, err);
            if (rc != GW_OK)
                goto out;
            rc = GW_EPARSE;
        } else if (named(c, envns, "Body") && body == NULL) {
            body = c;
        } else {
            gw_err_set(err, rc, "Envelope",
                       "unexpected element '%.60s' (only Header? Body)",
                       (const char *)c->name);
            goto out;
        }
    }
    if (!ok)
        goto out;
    if (body == NULL) {
        gw_err_set(err, rc, "Body", "the Envelope has no Body");
        goto out;
    }
    for (c = NULL; (ok = next_child(body, &c, "Body",
                                    "text is not allowed in the Body", err)) &&
                   c != NULL;) {
        if (elem != NULL) {
            gw_err_set(err, rc, "Body",
                       "the Body holds more than one "
                       "element");
            goto out;
        }
        elem = c;
    }
    if (!ok)
        goto out;
    if (elem == NULL) {
        gw_err_set(err, rc, "Body", "the Body is empty");
        goto out;
    }
    out->body = gw_xml_of(body_doc(elem));
    if (out->body == NULL) {
        rc = GW_ENOMEM;
        goto out;
    }
    rc = GW_OK;
out:
    xmlFreeDoc(doc);
    if (rc != GW_OK)
        memset(out, 0, sizeof(*out));
    return rc;
}

void
gw_soap_envelope_release(struct gw_soap_env *env)
{
    gw_xml_free(env->body);
    memset(env, 0, sizeof(*env));
}
