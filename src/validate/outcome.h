/*
 * outcome.h - a list of validation issues and the one FHIR OperationOutcome
 * made from it: every issue with severity, FHIR issue code, the FHIRPath of
 * the element (expression), a stable rule id, and its message in Swedish
 * and English. Fronts (REST, SOAP, the CLI) answer with this.
 *
 * In the OperationOutcome, details.coding carries the rule id (system
 * http://klasgw.org/fhir/CodeSystem/klas-validation) with the English text
 * as display, details.text the Swedish text.
 */
#ifndef GW_VALIDATE_OUTCOME_H
#define GW_VALIDATE_OUTCOME_H

#include <stdio.h>

#include "core/err.h"
#include "fhir/fhir.h"

enum gw_severity { GW_SEV_ERROR, GW_SEV_WARNING, GW_SEV_INFORMATION };

struct gw_issue {
    enum gw_severity severity;
    char code[24];        /* FHIR issue type: required, value, ... */
    char rule[48];        /* klas-pnr-checksum, ... */
    char expression[200]; /* FHIRPath */
    char *sv, *en;
};

struct gw_outcome {
    struct gw_issue *issues;
    size_t n, cap;
};

void gw_outcome_init(struct gw_outcome *o);
void gw_outcome_release(struct gw_outcome *o);
gw_rc gw_outcome_add(struct gw_outcome *o, enum gw_severity sev,
                     const char *code, const char *rule,
                     const char *expression, const char *sv, const char *en)
    GW_WARN_UNUSED;
size_t gw_outcome_errors(const struct gw_outcome *o);
/* One technical issue from a gw_rc and its detail (parse errors etc.). */
gw_rc gw_outcome_add_rc(struct gw_outcome *o, gw_rc rc,
                        const struct gw_err *err) GW_WARN_UNUSED;
/* The OperationOutcome; caller frees with gw_fhir_doc_free. With no issue
 * it holds one "information: all ok" issue (R4 needs at least one). */
gw_rc gw_outcome_to_doc(const struct gw_outcome *o, struct gw_fhir_doc **out)
    GW_WARN_UNUSED;
/* One line per issue: severity, expression, rule, sv / en. */
void gw_outcome_print_text(const struct gw_outcome *o, FILE *out);

#endif
