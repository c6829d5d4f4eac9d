/*
 * validate.c - the schema cache and the validation entry points (see
 * validate.h). The compiled schema (xsd.h) is shared by every thread;
 * each thread validates with its own context.
 */
#include "validate/validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "fhir/fhir_xml.h"
#include "validate/rules.h"
#include "validate/xsd.h"

/* A validator is the compiled schema itself: nothing else is kept. */
static const struct gw_xsd *
xsd_of(const struct gw_validator *v)
{
    return (const struct gw_xsd *)(const void *)v;
}

gw_rc
gw_validator_new(const char *xsd_path, struct gw_validator **out,
                 struct gw_err *err)
{
    struct gw_xsd *x;

    *out = NULL;
    gw_fhir_init();
    x = gw_xsd_load(xsd_path, err);
    if (x == NULL)
        return gw_err_set(err, GW_ECONFIG, NULL,
                          "cannot load the schema %s", xsd_path);
    *out = (struct gw_validator *)(void *)x;
    return GW_OK;
}

void
gw_validator_free(struct gw_validator *v)
{
    gw_xsd_free((struct gw_xsd *)(void *)v);
}

/* Schema errors into the outcome, each with the path of its node. */
static gw_rc
schema_check(const struct gw_validator *v, struct gw_fhir_doc *doc,
             struct gw_outcome *out)
{
    struct gw_xsd_errors xe;
    char en[GW_XSD_MESSAGE_MAX + 8];
    gw_rc rc = gw_xsd_validate(xsd_of(v), gw_fhir_doc_xml(doc), &xe);

    for (size_t i = 0; rc == GW_OK && i < xe.n; i++) {
        snprintf(en, sizeof(en), "Schema: %s", xe.e[i].message);
        rc =
            gw_outcome_add(out, GW_SEV_ERROR, "structure", "klas-schema",
                           xe.e[i].path, "Meddelandet följer inte schemat", en);
    }
    gw_xsd_errors_release(&xe);
    return rc;
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
    char day[16];
    gw_rc rc;

    rc = schema_check(v, doc, out);
    if (rc != GW_OK)
        return rc;
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
