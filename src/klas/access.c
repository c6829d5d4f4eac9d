/*
 * access.c - the authorization rules of access.h. Deliberately small: the
 * event table (event.c) says which case role may send which event, and
 * implements gw_access_event and gw_access_send on it; this file names
 * the client roles and decides reads.
 */
#include "klas/access.h"

#include <string.h>

#include "core/names.h"

#define GW_CLIENT_NAME_(id, name) name,
static const char *const role_names[GW_CLIENT_NROLE] = {
    GW_CLIENT_ROLE_ROWS(GW_CLIENT_NAME_)
};

const char *
gw_client_role_name(enum gw_client_role r)
{
    return gw_name_of(role_names, GW_CLIENT_NROLE, (int)r, "?");
}

gw_rc
gw_client_role_parse(const char *s, enum gw_client_role *out)
{
    int i;
    gw_rc rc = gw_name_parse(role_names, GW_CLIENT_NROLE, s, &i);

    if (rc == GW_OK)
        *out = (enum gw_client_role)i;
    return rc;
}

static int
same(const char *a, const char *b)
{
    return a != NULL && b != NULL && a[0] != '\0' && strcmp(a, b) == 0;
}

gw_rc
gw_access_read_any(const struct gw_principal *p, struct gw_err *err)
{
    switch (p->role) {
    case GW_CLIENT_EHR:
        if (p->user == NULL || p->user[0] == '\0')
            return gw_err_set(err, GW_EUNAUTH, NULL,
                              "the EHR must name its user (X-Klasgw-User)");
        return GW_OK;
    case GW_CLIENT_PHARMACY:
    case GW_CLIENT_LV:
        return GW_OK;
    default:
        return gw_err_set(err, GW_EFORBIDDEN, NULL,
                          "an operator reads no cases");
    }
}

/* A case the caller may not see is answered as one that does not exist:
 * the same code, the same words, no path. */
static gw_rc
no_such_case(struct gw_err *err)
{
    return gw_err_set(err, GW_ENOTFOUND, NULL, "%s", GW_ACCESS_NO_SUCH_CASE);
}

gw_rc
gw_access_read(const struct gw_principal *p, const struct gw_case_access *c,
               int found_by_lookup, int *redact, struct gw_err *err)
{
    gw_rc rc;

    *redact = 1;
    rc = gw_access_read_any(p, err);
    if (rc != GW_OK)
        return rc;
    switch (p->role) {
    case GW_CLIENT_EHR:
        if (!same(p->user, c->prescriber_hsa))
            return no_such_case(err); /* a prescriber's own cases only */
        *redact = 0;
        return GW_OK;
    case GW_CLIENT_PHARMACY:
        /* Found by referensnummer and patient identity, or naming it. */
        if (found_by_lookup || same(p->gln, c->pharmacy_gln))
            return GW_OK; /* redacted */
        return no_such_case(err);
    default: /* GW_CLIENT_LV */
        if (c->status == GW_CASE_M || c->status == GW_CASE_NONE)
            return no_such_case(err); /* not applied for yet */
        *redact = 0;
        return GW_OK;
    }
}

gw_rc
gw_access_search(const struct gw_principal *p, int by_refnr,
                 struct gw_search_scope *out, struct gw_err *err)
{
    unsigned all = 0;
    gw_rc rc;

    memset(out, 0, sizeof(*out));
    for (int s = GW_CASE_M; s < GW_CASE_NSTATUS; s++)
        all |= GW_STATUS_BIT(s);
    out->statuses = all;
    rc = gw_access_read_any(p, err);
    if (rc != GW_OK)
        return rc;
    switch (p->role) {
    case GW_CLIENT_EHR:
        out->prescriber_hsa = p->user; /* Mina ärenden */
        break;
    case GW_CLIENT_PHARMACY:
        /* The look-up: referensnummer + patient (enskild), or the
         * referensnummer alone (generell); decided per row. */
        if (by_refnr)
            out->lookup = 1;
        else
            out->pharmacy_gln = p->gln ? p->gln : "-";
        break;
    default: /* LV never sees a motivation without application (M). */
        out->statuses = all & ~GW_STATUS_BIT(GW_CASE_M);
        break;
    }
    return GW_OK;
}

#define C(r) (1u << (r))

static const struct {
    unsigned roles;  /* client roles, C(enum gw_client_role) */
    int needs_gln;   /* the caller must be a pharmacy with its GLN */
    const char *why; /* the refusal */
} operations[GW_OP_NOPS] = {
    [GW_OP_CHECK_LICENCE] = {C(GW_CLIENT_PHARMACY), 0,
                             "the licence check is for pharmacies"},
    [GW_OP_RECORD_DISPENSING] = {C(GW_CLIENT_PHARMACY), 0,
                                 "dispensing is recorded by pharmacies"},
    [GW_OP_REGISTER_SEARCH] = {C(GW_CLIENT_EHR) | C(GW_CLIENT_PHARMACY) |
                                   C(GW_CLIENT_LV),
                               0, "an operator searches no registers"},
    [GW_OP_COPY] = {C(GW_CLIENT_EHR), 0,
                    "only the prescriber copies a motivation"},
    [GW_OP_CONSENT] = {C(GW_CLIENT_EHR), 0,
                       "consent is given by the prescriber's EHR"},
    [GW_OP_SUBSCRIPTION] = {C(GW_CLIENT_PHARMACY), 1,
                            "subscriptions are for pharmacies"},
    [GW_OP_MY_CASES] = {C(GW_CLIENT_EHR), 0,
                        "GetLicenseCases (Mina ärenden) is for the "
                        "prescriber's EHR"},
    [GW_OP_CASE_LOOKUP] = {C(GW_CLIENT_PHARMACY), 0,
                           "GetLicenseMotivation (the look-up) is for "
                           "pharmacies"},
};

gw_rc
gw_access_operation(const struct gw_principal *p, enum gw_operation op,
                    struct gw_err *err)
{
    if ((unsigned)op >= GW_OP_NOPS || (unsigned)p->role >= GW_CLIENT_NROLE)
        return gw_err_set(err, GW_EFORBIDDEN, NULL, "unknown operation");
    if (!(operations[op].roles & C(p->role)) ||
        (operations[op].needs_gln && p->gln == NULL))
        return gw_err_set(err, GW_EFORBIDDEN, NULL, "%s", operations[op].why);
    return GW_OK;
}

/* Calendar months are approximated by 30.44 days: the rule is about
 * inactivity, not about a date the law names. */
#define MONTH_MS (int64_t)(30.44 * 24 * 3600 * 1000)

static int64_t
later(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

gw_rc
gw_access_consent(int64_t consented_ms, int64_t last_applied_ms,
                  int64_t last_active_ms, int64_t now_ms, struct gw_err *err)
{
    if (now_ms - later(consented_ms, last_applied_ms) > 12 * MONTH_MS)
        return gw_err_set(err, GW_ECONSENT, NULL,
                          "no motivation has led to an application in 12 "
                          "months: renew consent ($renew-consent)");
    if (now_ms - later(consented_ms, last_active_ms) > 36 * MONTH_MS)
        return gw_err_set(err, GW_ECONSENT, NULL,
                          "no case has been active in 36 months: renew "
                          "consent ($renew-consent)");
    return GW_OK;
}
