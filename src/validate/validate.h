/*
 * validate.h - is this a valid KLAS message? The FHIR structure (codec),
 * the project's XML schema (compiled once, shared read-only by threads),
 * then the business rules of the domain (rules.c), all into one outcome.
 */
#ifndef GW_VALIDATE_VALIDATE_H
#define GW_VALIDATE_VALIDATE_H

#include "fhir/fhir.h"
#include "validate/facts.h"
#include "validate/outcome.h"

struct gw_validator;

/* Loads and compiles the schema at xsd_path. Free with gw_validator_free.
 * Thread-safe to use from many threads afterwards. */
gw_rc gw_validator_new(const char *xsd_path, struct gw_validator **out,
                       struct gw_err *err) GW_WARN_UNUSED;
void gw_validator_free(struct gw_validator *v);

/*
 * Validates a parsed message: schema, then rules. Issues go to out.
 * GW_OK when there is no error (warnings allowed), GW_EVALIDATION else.
 * `today` (YYYY-MM-DD) dates the age rules; NULL: the clock's today.
 */
gw_rc gw_validate_doc(const struct gw_validator *v, struct gw_fhir_doc *doc,
                      const char *today, struct gw_outcome *out)
    GW_WARN_UNUSED;
/* The same, and fills facts (may be NULL) with what the pipeline needs. */
gw_rc gw_validate_doc_facts(const struct gw_validator *v,
                            struct gw_fhir_doc *doc, const char *today,
                            struct gw_outcome *out, struct gw_msg_facts *facts)
    GW_WARN_UNUSED;

/*
 * Parses and validates bytes (JSON or XML, sniffed). A structural fault is
 * an issue like any other (GW_EVALIDATION); malformed or oversized input
 * returns its own code (GW_EPARSE, GW_ETOOLARGE) with one issue saying
 * why. *doc (may be NULL) gets the parsed document on GW_OK and
 * GW_EVALIDATION after parsing.
 */
gw_rc gw_validate_bytes(const struct gw_validator *v, const char *bytes,
                        size_t len, const struct gw_fhir_limits *lim,
                        const char *today, struct gw_outcome *out,
                        struct gw_fhir_doc **doc) GW_WARN_UNUSED;

#endif
