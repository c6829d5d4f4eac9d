/*
 * fuzz_message.c - libFuzzer target for everything a message meets after
 * the codec: the schema, the business rules and the facts the pipeline
 * reads (validate/), then the case view, the pharmacy's redacted view,
 * the printable copy and copy-to-new (map/, the stylesheets of xslt/).
 *
 * Invariants: validation ends in OK or a list of issues (never a crash or
 * another code); a refusal has at least one issue; every mapping of a
 * parsed message yields a document the codec accepts; the redacted view
 * never holds a MedicationRequest indication or motivation.
 */
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/fhir.h"
#include "fhir/fhir_xml.h"
#include "map/view.h"
#include "validate/validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gw_validator *validator;
static struct gw_views *views;

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
    struct gw_case_stamp stamp = {"http://fuzz/fhir", "2026123456", "A", 2,
                                  1767225600000, 1767312000000, NULL, NULL, NULL,
                                  "7350000000016"};
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
        !redaction_holds(red))
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
