/*
 * fuzz_message.c - libFuzzer target for everything a message meets after
 * the codec: the schema, the business rules and the facts the pipeline
 * reads (validate/), then the case view, the pharmacy's redacted view,
 * the printable copy and copy-to-new (map/, the stylesheets of xslt/).
 *
 * Invariants: validation ends in OK or a list of issues (never a crash or
 * another code); a refusal has at least one issue; every mapping of a
 * parsed message yields a document the codec accepts; the redacted view
 * never holds a MedicationRequest indication or motivation, and holds only
 * what the allow-list of xslt/pharmacy-view.xsl names (read from the
 * stylesheet itself, so the fuzzer checks the list that is in force): every
 * resource type, element path and extension url, nothing labelled
 * hidden-from-pharmacy, no attribute but value and url.
 */
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/fhir.h"
#include "fhir/fhir_xml.h"
#include "map/view.h"
#include "validate/validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gw_validator *validator;
static struct gw_views *views;

/* " row row ... ": the allow-table of pharmacy-view.xsl, one space
 * between rows. */
static char *allow;

static char *
load_allow(void)
{
    static const char start[] = "<xsl:variable name=\"allow-table\">";
    FILE *f = fopen(GW_SOURCE_DIR "/xslt/pharmacy-view.xsl", "rb");
    char *text, *a, *b, *out, *o;
    long n;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0)
        abort();
    rewind(f);
    text = malloc((size_t)n + 1);
    if (text == NULL || fread(text, 1, (size_t)n, f) != (size_t)n)
        abort();
    fclose(f);
    text[n] = '\0';
    a = strstr(text, start);
    b = a ? strstr(a, "</xsl:variable>") : NULL;
    if (b == NULL)
        abort();
    a += sizeof(start) - 1;
    out = o = malloc((size_t)(b - a) + 3);
    if (out == NULL)
        abort();
    *o++ = ' ';
    for (; a < b; a++)
        if (*a != ' ' && *a != '\n' && *a != '\r' && *a != '\t')
            *o++ = *a;
        else if (o[-1] != ' ')
            *o++ = ' ';
    if (o[-1] != ' ')
        *o++ = ' ';
    *o = '\0';
    free(text);
    return out;
}

static int
listed(const char *path)
{
    char key[1100];

    if ((size_t)snprintf(key, sizeof(key), " %s ", path) >= sizeof(key))
        return 0;
    return strstr(allow, key) != NULL;
}

static int
hidden(xmlNodePtr r)
{
    for (xmlNodePtr m = r->children; m; m = m->next)
        if (m->type == XML_ELEMENT_NODE &&
            strcmp((const char *)m->name, "meta") == 0)
            for (xmlNodePtr s = m->children; s; s = s->next) {
                xmlChar *v;
                int h;
                if (s->type != XML_ELEMENT_NODE ||
                    strcmp((const char *)s->name, "security") != 0)
                    continue;
                for (xmlNodePtr c = s->children; c; c = c->next) {
                    if (c->type != XML_ELEMENT_NODE ||
                        strcmp((const char *)c->name, "code") != 0)
                        continue;
                    v = xmlGetProp(c, (const xmlChar *)"value");
                    h = v &&
                        strcmp((const char *)v, "hidden-from-pharmacy") == 0;
                    xmlFree(v);
                    if (h)
                        return 1;
                }
            }
    return 0;
}

/* Every element under n (a resource's content at path) is listed. */
static int
only_listed(xmlNodePtr n, const char *path)
{
    for (xmlNodePtr k = n->children; k; k = k->next) {
        char p[1024];
        xmlChar *url = NULL;
        int ok, len;
        if (k->type != XML_ELEMENT_NODE)
            continue;
        for (xmlAttrPtr a = k->properties; a; a = a->next)
            if (strcmp((const char *)a->name, "value") != 0 &&
                strcmp((const char *)a->name, "url") != 0)
                return 0;
        if (strcmp((const char *)k->name, "contained") == 0) {
            xmlNodePtr r = k->children;
            while (r && r->type != XML_ELEMENT_NODE)
                r = r->next;
            len = snprintf(p, sizeof(p), "%s.contained", path);
            if (r == NULL || len >= (int)sizeof(p) || !listed(p) ||
                !listed((const char *)r->name) || hidden(r) ||
                !only_listed(r, (const char *)r->name))
                return 0;
            continue;
        }
        if (strcmp((const char *)k->name, "extension") == 0 ||
            strcmp((const char *)k->name, "modifierExtension") == 0)
            url = xmlGetProp(k, (const xmlChar *)"url");
        len = url ? snprintf(p, sizeof(p), "%s.%s(%s)", path, k->name, url)
                  : snprintf(p, sizeof(p), "%s.%s", path, k->name);
        xmlFree(url);
        if (len >= (int)sizeof(p))
            return 0;
        /* The one thing the view adds: its REDACTED label. */
        ok = strcmp(p, "MedicationRequest.meta.security") == 0 || listed(p);
        if (!ok || (strcmp(p, "MedicationRequest.meta.security") != 0 &&
                    !only_listed(k, p)))
            return 0;
    }
    return 1;
}

/* The redacted view is the allow-list's and nothing else. */
static int
allow_list_holds(const struct gw_fhir_doc *view)
{
    xmlNodePtr root = xmlDocGetRootElement(gw_fhir_doc_xml(view));

    for (xmlNodePtr e = root ? root->children : NULL; e; e = e->next) {
        if (e->type != XML_ELEMENT_NODE ||
            strcmp((const char *)e->name, "entry") != 0)
            continue;
        for (xmlNodePtr w = e->children; w; w = w->next) {
            if (w->type != XML_ELEMENT_NODE ||
                strcmp((const char *)w->name, "resource") != 0)
                continue;
            for (xmlNodePtr r = w->children; r; r = r->next)
                if (r->type == XML_ELEMENT_NODE &&
                    (!listed((const char *)r->name) || hidden(r) ||
                     !only_listed(r, (const char *)r->name)))
                    return 0;
        }
    }
    return 1;
}

static int
redaction_holds(const struct gw_fhir_doc *view)
{
    xmlXPathContextPtr xp = xmlXPathNewContext(gw_fhir_doc_xml(view));
    xmlXPathObjectPtr r;
    int n;

    if (xp == NULL)
        return 1;
    xmlXPathRegisterNs(xp, (const xmlChar *)"f", (const xmlChar *)GW_FHIR_NS);
    r = xmlXPathEvalExpression(
        (const xmlChar *)"//f:MedicationRequest/f:reasonCode | "
                         "//f:MedicationRequest/f:extension[@url='http://"
                         "klasgw.org/fhir/StructureDefinition/"
                         "klas-motivation'] | //f:MedicationRequest/f:note",
        xp);
    n = r && r->nodesetval ? r->nodesetval->nodeNr : 0;
    xmlXPathFreeObject(r);
    xmlXPathFreeContext(xp);
    return n == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gw_fhir_doc *doc = NULL, *view = NULL, *red = NULL, *copy = NULL;
    struct gw_case_stamp stamp = {
        "http://fuzz/fhir", "2026123456", "A",  2,    1767225600000,
        1767312000000,      NULL,         NULL, NULL, "7350000000016"};
    struct gw_msg_facts facts;
    struct gw_outcome o;
    struct gw_err err;
    char *xml = NULL, *html = NULL;
    size_t xn = 0, hn = 0;
    gw_rc rc;

    if (validator == NULL) {
        struct gw_err e;
        gw_fhir_init();
        gw_err_clear(&e);
        if (gw_validator_new(GW_SOURCE_DIR "/fhir-profiles/xsd/fhir-klas.xsd",
                             &validator, &e) != GW_OK ||
            gw_views_new(GW_SOURCE_DIR "/xslt", &views, &e) != GW_OK)
            abort();
        allow = load_allow();
    }
    gw_err_clear(&err);
    if (gw_fhir_parse((const char *)data, size, GW_FHIR_SNIFF, NULL, &doc,
                      &err) != GW_OK)
        return 0;
    gw_outcome_init(&o);
    rc = gw_validate_doc_facts(validator, doc, "2026-11-24", &o, &facts);
    if (rc != GW_OK && rc != GW_EVALIDATION && rc != GW_ENOMEM)
        abort();
    if (rc == GW_EVALIDATION && gw_outcome_errors(&o) == 0)
        abort(); /* a refusal says why */
    if (facts.event[sizeof(facts.event) - 1] != '\0')
        abort();
    gw_outcome_release(&o);
    if (strcmp(gw_fhir_doc_type(doc), "Bundle") != 0 ||
        gw_fhir_to_xml(doc, &xml, &xn) != GW_OK)
        goto out;
    /* Stylesheet results are checked by the codec inside view.c: a
     * refusal there is a clean error, a crash is a bug. */
    if (gw_view_case(views, xml, xn, &stamp, 0, &view) == GW_OK &&
        gw_view_print(views, view, size & 1, &html, &hn) == GW_OK)
        free(html);
    if (gw_view_case(views, xml, xn, &stamp, 1, &red) == GW_OK &&
        (!redaction_holds(red) || !allow_list_holds(red)))
        abort();
    if (gw_view_copy(views, xml, xn, &copy) != GW_OK)
        copy = NULL;
out:
    free(xml);
    gw_fhir_doc_free(copy);
    gw_fhir_doc_free(red);
    gw_fhir_doc_free(view);
    gw_fhir_doc_free(doc);
    return 0;
}
