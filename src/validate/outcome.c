/*
 * outcome.c - issue lists and their OperationOutcome (see outcome.h). The
 * OperationOutcome is written as FHIR JSON and read back through the codec,
 * so what leaves the gateway passed the same checks as what comes in.
 */
#include "validate/outcome.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"

static const char *const sev_names[] = {"error", "warning", "information"};

void
gw_outcome_init(struct gw_outcome *o)
{
    memset(o, 0, sizeof(*o));
}

void
gw_outcome_release(struct gw_outcome *o)
{
    for (size_t i = 0; i < o->n; i++) {
        free(o->issues[i].sv);
        free(o->issues[i].en);
    }
    free(o->issues);
    gw_outcome_init(o);
}

gw_rc
gw_outcome_add(struct gw_outcome *o, enum gw_severity sev, const char *code,
               const char *rule, const char *expression, const char *sv,
               const char *en)
{
    struct gw_issue *i = gw_array_grow(o->issues, &o->cap, o->n,
                                       sizeof(*i), 8);

    if (i == NULL)
        return GW_ENOMEM;
    o->issues = i;
    i = &o->issues[o->n];
    memset(i, 0, sizeof(*i));
    i->severity = sev;
    snprintf(i->code, sizeof(i->code), "%s", code);
    snprintf(i->rule, sizeof(i->rule), "%s", rule);
    snprintf(i->expression, sizeof(i->expression), "%s",
             expression ? expression : "");
    i->sv = strdup(sv);
    i->en = strdup(en);
    if (i->sv == NULL || i->en == NULL) {
        free(i->sv);
        free(i->en);
        return GW_ENOMEM;
    }
    o->n++;
    return GW_OK;
}

size_t
gw_outcome_errors(const struct gw_outcome *o)
{
    size_t n = 0;

    for (size_t i = 0; i < o->n; i++)
        n += o->issues[i].severity == GW_SEV_ERROR;
    return n;
}

gw_rc
gw_outcome_add_rc(struct gw_outcome *o, gw_rc rc, const struct gw_err *err)
{
    char en[400], sv[400];

    snprintf(en, sizeof(en), "%s%s%s", gw_rc_message(rc),
             err && err->detail[0] ? ": " : "", err ? err->detail : "");
    /* The Swedish states the same reason when the error gives it. */
    snprintf(sv, sizeof(sv), "%s%s%s", gw_rc_message_sv(rc),
             err && err->detail_sv[0] ? ": " : "", err ? err->detail_sv : "");
    return gw_outcome_add(
        o, gw_rc_is_retryable(rc) ? GW_SEV_ERROR : GW_SEV_ERROR,
        gw_rc_fhir_code(rc), gw_rc_name(rc), err ? err->path : NULL, sv, en);
}

gw_rc
gw_outcome_to_doc(const struct gw_outcome *o, struct gw_fhir_doc **out)
{
    json_t *root = json_pack("{s:s}", "resourceType", "OperationOutcome");
    json_t *issues = json_array();
    struct gw_err err;
    char *text = NULL;
    gw_rc rc = GW_ENOMEM;

    *out = NULL;
    if (root == NULL || issues == NULL)
        goto out;
    for (size_t k = 0; k < o->n; k++) {
        const struct gw_issue *i = &o->issues[k];
        json_t *issue = json_pack(
            "{s:s,s:s,s:{s:[{s:s,s:s,s:s}],s:s}}", "severity",
            sev_names[i->severity], "code", i->code, "details", "coding",
            "system", "http://klasgw.org/fhir/CodeSystem/klas-validation",
            "code", i->rule, "display", i->en, "text", i->sv);
        if (issue == NULL)
            goto out;
        if (i->expression[0] != '\0')
            json_object_set_new(issue, "expression",
                                json_pack("[s]", i->expression));
        json_array_append_new(issues, issue);
    }
    if (o->n == 0)
        json_array_append_new(
            issues,
            json_pack("{s:s,s:s,s:{s:s}}", "severity", "information", "code",
                      "informational", "details", "text",
                      "Meddelandet är giltigt / The message is valid"));
    json_object_set_new(root, "issue", issues);
    issues = NULL;
    text = json_dumps(root, JSON_COMPACT);
    if (text == NULL)
        goto out;
    gw_err_clear(&err);
    rc = gw_fhir_parse(text, strlen(text), GW_FHIR_JSON, NULL, out, &err);
out:
    json_decref(issues);
    json_decref(root);
    free(text);
    return rc;
}

void
gw_outcome_print_text(const struct gw_outcome *o, FILE *out)
{
    if (o->n == 0)
        fprintf(out, "valid: no issues\n");
    for (size_t k = 0; k < o->n; k++) {
        const struct gw_issue *i = &o->issues[k];
        fprintf(out, "%-7s %s  [%s]\n        %s\n        %s\n",
                sev_names[i->severity],
                i->expression[0] ? i->expression : "(message)", i->rule, i->sv,
                i->en);
    }
}
