/*
 * validate.c - the schema cache and the validation entry points (see
 * validate.h). libxml2's compiled xmlSchemaPtr is read-only during
 * validation, so one is shared; each call makes its own validation
 * context, which is not.
 */
#include "validate/validate.h"

#include <libxml/xmlschemas.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "fhir/fhir_xml.h"
#include "validate/rules.h"

struct gw_validator {
    xmlSchemaPtr schema;
};

gw_rc
gw_validator_new(const char *xsd_path, struct gw_validator **out,
                 struct gw_err *err)
{
    struct gw_validator *v;
    xmlSchemaParserCtxtPtr pc;

    *out = NULL;
    gw_fhir_init();
    pc = xmlSchemaNewParserCtxt(xsd_path);
    if (pc == NULL)
        return GW_ENOMEM;
    v = calloc(1, sizeof(*v));
    if (v == NULL) {
        xmlSchemaFreeParserCtxt(pc);
        return GW_ENOMEM;
    }
    v->schema = xmlSchemaParse(pc);
    xmlSchemaFreeParserCtxt(pc);
    if (v->schema == NULL) {
        free(v);
        return gw_err_set(err, GW_ECONFIG, NULL,
                          "cannot load the schema %s", xsd_path);
    }
    *out = v;
    return GW_OK;
}

void
gw_validator_free(struct gw_validator *v)
{
    if (v == NULL)
        return;
    xmlSchemaFree(v->schema);
    free(v);
}

struct schema_errors {
    struct gw_outcome *out;
    gw_rc rc;
    int count;
};

static void
on_schema_error(void *ud, xmlErrorPtr e)
{
    struct schema_errors *s = ud;
    char path[200] = "", en[400];

    if (s->count++ >= 50 || s->rc != GW_OK)
        return; /* one broken document, not a flood */
    if (e->node != NULL)
        gw_rules_node_path((xmlNodePtr)e->node, path, sizeof(path));
    snprintf(en, sizeof(en), "Schema: %s", e->message ? e->message : "");
    en[strcspn(en, "\n")] = '\0';
    s->rc = gw_outcome_add(s->out, GW_SEV_ERROR, "structure", "klas-schema",
                           path, "Meddelandet följer inte schemat", en);
}

gw_rc
gw_validate_doc(const struct gw_validator *v, struct gw_fhir_doc *doc,
                const char *today, struct gw_outcome *out)
{
    return gw_validate_doc_facts(v, doc, today, out, NULL);
}

gw_rc
gw_validate_doc_facts(const struct gw_validator *v, struct gw_fhir_doc *doc,
                      const char *today, struct gw_outcome *out,
                      struct gw_msg_facts *facts)
{
    struct schema_errors se = {out, GW_OK, 0};
    xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(v->schema);
    char day[16];
    gw_rc rc;

    if (vc == NULL)
        return GW_ENOMEM;
    xmlSchemaSetValidStructuredErrors(vc, on_schema_error, &se);
    xmlSchemaValidateDoc(vc, gw_fhir_doc_xml(doc));
    xmlSchemaFreeValidCtxt(vc);
    if (se.rc != GW_OK)
        return se.rc;
    if (today == NULL) {
        gw_clock_format(gw_clock_now_ms(), day, sizeof(day));
        day[10] = '\0';
        today = day;
    }
    rc = gw_rules_run(gw_fhir_doc_xml(doc), today, out, facts);
    if (rc != GW_OK)
        return rc;
    return gw_outcome_errors(out) > 0 ? GW_EVALIDATION : GW_OK;
}

gw_rc
gw_validate_bytes(const struct gw_validator *v, const char *bytes, size_t len,
                  const struct gw_fhir_limits *lim, const char *today,
                  struct gw_outcome *out, struct gw_fhir_doc **doc)
{
    struct gw_fhir_doc *d = NULL;
    struct gw_err err;
    gw_rc rc;

    if (doc != NULL)
        *doc = NULL;
    gw_err_clear(&err);
    rc = gw_fhir_parse(bytes, len, GW_FHIR_SNIFF, lim, &d, &err);
    if (rc != GW_OK) {
        gw_rc r2 = gw_outcome_add_rc(out, rc, &err);
        return r2 != GW_OK ? r2 : rc;
    }
    rc = gw_validate_doc(v, d, today, out);
    if (doc != NULL && (rc == GW_OK || rc == GW_EVALIDATION))
        *doc = d;
    else
        gw_fhir_doc_free(d);
    return rc;
}
