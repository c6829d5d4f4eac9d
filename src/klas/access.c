/*
 * access.c - the authorization rules of access.h. Deliberately small: the
 * state machine (state.c) says which case role may trigger which event;
 * this file maps client systems onto those roles and decides reads.
 */
#include "klas/access.h"

#include <string.h>

static const char *const role_names[GW_CLIENT_NROLE] = {
    [GW_CLIENT_EHR] = "ehr",
    [GW_CLIENT_PHARMACY] = "pharmacy",
    [GW_CLIENT_LV] = "lv",
    [GW_CLIENT_OPERATOR] = "operator",
};

const char *
gw_client_role_name(enum gw_client_role r)
{
    return (unsigned)r < GW_CLIENT_NROLE ? role_names[r] : "?";
}

gw_rc
gw_client_role_parse(const char *s, enum gw_client_role *out)
{
    for (int i = 0; s != NULL && i < GW_CLIENT_NROLE; i++)
        if (strcmp(s, role_names[i]) == 0) {
            *out = (enum gw_client_role)i;
            return GW_OK;
        }
    return GW_EINVAL;
}

gw_rc
gw_access_event(const char *code, enum gw_case_status current,
                const char *decision, enum gw_case_event *out,
                struct gw_err *err)
{
    static const struct {
        const char *code;
        enum gw_case_event ev;
    } simple[] = {
        {"motivation-submit", GW_EV_SUBMIT},
        {"motivation-supplement", GW_EV_SUPPLEMENT},
        {"application-create", GW_EV_APPLY},
        {"application-reapply", GW_EV_REAPPLY},
        {"supplement-request", GW_EV_REQUEST_SUPPLEMENT},
    };

    for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++)
        if (strcmp(code, simple[i].code) == 0) {
            *out = simple[i].ev;
            return GW_OK;
        }
    if (strcmp(code, "application-registered") == 0) {
        /* LV confirms what it has: the application (A) or, later, a
         * supplement (K). */
        *out = current == GW_CASE_K ? GW_EV_SUPPLEMENT_RECEIVED
                                    : GW_EV_REGISTER;
        return GW_OK;
    }
    if (strcmp(code, "decision") == 0 && decision != NULL) {
        if (strcmp(decision, "Bev") == 0)
            *out = GW_EV_GRANT;
        else if (strcmp(decision, "Avs") == 0)
            *out = GW_EV_REJECT;
        else if (strcmp(decision, "Avi") == 0)
            *out = GW_EV_DISMISS;
        else
            return gw_err_set(err, GW_EINVAL, "Task.businessStatus",
                              "a decision is Bev, Avs or Avi");
        return GW_OK;
    }
    return gw_err_set(err, GW_EINVAL, "MessageHeader.eventCoding",
                      "unknown event");
}

/* The case role a client system acts in for an event. */
static int
case_role(enum gw_client_role r, enum gw_role *out)
{
    switch (r) {
    case GW_CLIENT_EHR:
        *out = GW_ROLE_PRESCRIBER;
        return 1;
    case GW_CLIENT_PHARMACY:
        *out = GW_ROLE_PHARMACY;
        return 1;
    case GW_CLIENT_LV:
        *out = GW_ROLE_LV;
        return 1;
    default:
        return 0;
    }
}

gw_rc
gw_access_send(const struct gw_principal *p, enum gw_case_status from,
               enum gw_case_event event, enum gw_case_status *to,
               struct gw_err *err)
{
    enum gw_role role;

    if (!case_role(p->role, &role))
        return gw_err_set(err, GW_EFORBIDDEN, NULL,
                          "a %s client sends no case messages",
                          gw_client_role_name(p->role));
    return gw_case_transition(from, event, role, to, err);
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
