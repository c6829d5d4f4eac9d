/*
 * access.h - who may do and see what (DESIGN.md, security model), in one
 * place and without I/O. The fronts ask here; nothing else decides.
 *
 *   client role   may send                           may read a case
 *   ehr           motivation-submit,                 its user's own cases
 *                 motivation-supplement              (prescriber HSA-id)
 *   pharmacy      application-create, -reapply,      cases naming its GLN, or
 *                 motivation-supplement              found by referensnummer
 *                                                    + patient id; REDACTED
 *   lv            application-registered,            every case once applied
 *                 supplement-request, decision       (not M)
 *   operator      nothing                            nothing (health, metrics)
 *
 * A case a caller may not read is, to that caller, a case that does not
 * exist (404, the same words): "403 for yours-not, 404 for unknown" would
 * tell anyone with a client certificate which referensnummer exist.
 *
 * Redaction itself (what a pharmacy never receives) is done by
 * xslt/pharmacy-view.xsl; gw_access_read says when it must be applied.
 */
#ifndef GW_KLAS_ACCESS_H
#define GW_KLAS_ACCESS_H

#include <stdint.h>

#include "core/err.h"
#include "klas/state.h"

/* The client roles, each with its name ([clients] role in the
 * configuration, logs): the enum and gw_client_role_name's table. */
#define GW_CLIENT_ROLE_ROWS(X)                                               \
    X(EHR, "ehr")                                                            \
    X(PHARMACY, "pharmacy")                                                  \
    X(LV, "lv")                                                              \
    X(OPERATOR, "operator")

#define GW_CLIENT_ENUM_(id, name) GW_CLIENT_##id,
enum gw_client_role {
    GW_CLIENT_ROLE_ROWS(GW_CLIENT_ENUM_)
    GW_CLIENT_NROLE
};

/* The authenticated caller: a client system, and the end user it asserts. */
struct gw_principal {
    const char *label;        /* client label from [clients] */
    enum gw_client_role role;
    const char *gln;          /* pharmacy: its GLN */
    const char *user;         /* asserted end user (HSA-id), or NULL */
};

const char *gw_client_role_name(enum gw_client_role r); /* "ehr", ... */
gw_rc gw_client_role_parse(const char *s, enum gw_client_role *out)
    GW_WARN_UNUSED;

/*
 * The case event a message means. `code` is the klas-event code; `current`
 * the case's status (NONE for a new case); `decision` the status a decision
 * message names (Bev, Avs, Avi). GW_EINVAL for an unknown code or a
 * decision without a known outcome.
 */
gw_rc gw_access_event(const char *code, enum gw_case_status current,
                      const char *decision, enum gw_case_event *out,
                      struct gw_err *err) GW_WARN_UNUSED;

/*
 * Whether the principal may send `event` on a case in `from`: the client
 * role must be one whose events these are (GW_EFORBIDDEN), and the state
 * machine must allow it (GW_ESTATE, GW_EFORBIDDEN). *to gets the status
 * after it.
 */
gw_rc gw_access_send(const struct gw_principal *p, enum gw_case_status from,
                     enum gw_case_event event, enum gw_case_status *to,
                     struct gw_err *err) GW_WARN_UNUSED;

/* The facts of a case that reading depends on. */
struct gw_case_access {
    enum gw_case_status status;
    const char *prescriber_hsa;
    const char *pharmacy_gln;
};

/* The words of every "no such case" answer to a read, whether the case
 * does not exist or the caller may not see it. */
#define GW_ACCESS_NO_SUCH_CASE "no such case"

/*
 * Whether the principal may read cases at all, before any case is looked
 * up: GW_EUNAUTH when an ehr asserts no user, GW_EFORBIDDEN for an
 * operator. These refusals depend on the caller only, so they reveal
 * nothing about a case.
 */
gw_rc gw_access_read_any(const struct gw_principal *p,
                         struct gw_err *err) GW_WARN_UNUSED;

/*
 * Whether the principal may read the case. found_by_lookup: a pharmacy
 * gave the referensnummer and the patient's id (or the referensnummer of a
 * general licence) and they matched. On GW_OK *redact says whether the
 * pharmacy view must be applied. First the refusals of gw_access_read_any;
 * a case the caller may not see is GW_ENOTFOUND with
 * GW_ACCESS_NO_SUCH_CASE, exactly what a referensnummer that does not
 * exist gets, so that a refusal does not reveal that a case exists.
 */
gw_rc gw_access_read(const struct gw_principal *p,
                     const struct gw_case_access *c, int found_by_lookup,
                     int *redact, struct gw_err *err) GW_WARN_UNUSED;

/* How a search of cases is narrowed for the caller, in SQL where it can
 * be, so that a page counts visible cases only. Strings borrowed from the
 * principal. */
struct gw_search_scope {
    const char *prescriber_hsa; /* only this prescriber's (Mina ärenden) */
    const char *pharmacy_gln;   /* only cases naming this pharmacy */
    int lookup;        /* a pharmacy's look-up by referensnummer: each row
                          must match the patient (or be general) */
    unsigned statuses; /* GW_STATUS_BIT of the statuses it may see */
};

/*
 * The scope of a search by principal p; by_refnr: it names a
 * referensnummer. The refusals of gw_access_read_any.
 */
gw_rc gw_access_search(const struct gw_principal *p, int by_refnr,
                       struct gw_search_scope *out,
                       struct gw_err *err) GW_WARN_UNUSED;

/* What a caller may do besides sending case messages and reading cases:
 * one row each in access.c (the client roles, and the words of the
 * refusal). */
enum gw_operation {
    GW_OP_CHECK_LICENCE = 0, /* $check-licence */
    GW_OP_RECORD_DISPENSING, /* $record-dispensing */
    GW_OP_REGISTER_SEARCH,   /* Sök produkt, Sök apotek */
    GW_OP_COPY,              /* Task/$copy */
    GW_OP_CONSENT,           /* $renew-consent */
    GW_OP_SUBSCRIPTION,      /* Subscription create, read, delete */
    GW_OP_MY_CASES,          /* SOAP GetLicenseCases: Mina ärenden */
    GW_OP_CASE_LOOKUP,       /* SOAP GetLicenseMotivation: the look-up */
    GW_OP_NOPS
};

/* GW_OK, or GW_EFORBIDDEN with the row's reason. */
gw_rc gw_access_operation(const struct gw_principal *p, enum gw_operation op,
                          struct gw_err *err) GW_WARN_UNUSED;

/*
 * Consent to processing (DOMAIN.md, privacy; handbook: "Nytt godkännande
 * krävs om ingen motivering lett till en ansökan på 12 månader och även om
 * inget aktivt ärende finns efter 36 månader"). Times in ms, 0 = never.
 * GW_OK when no renewal is due, GW_ECONSENT with the reason otherwise.
 */
gw_rc gw_access_consent(int64_t consented_ms, int64_t last_applied_ms,
                        int64_t last_active_ms, int64_t now_ms,
                        struct gw_err *err) GW_WARN_UNUSED;

#endif
