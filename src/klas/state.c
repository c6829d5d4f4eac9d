/*
 * state.c - the statuses and roles of a licence case, and the rules about
 * a case that are not a transition (motivation lock, re-application
 * window, supplement rights). The transitions themselves are the rows of
 * the event table in event.c (gw_case_transition is there).
 */
#include "klas/state.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *code, *sv;
} statuses[GW_CASE_NSTATUS] = {
    [GW_CASE_NONE] = {"", "(inget ärende)"},
    [GW_CASE_M] = {"M", "Motiverad"},
    [GW_CASE_A] = {"A", "Ansökt"},
    [GW_CASE_H] = {"H", "Handläggs"},
    [GW_CASE_KB] = {"KB", "Komplettering begärd"},
    [GW_CASE_K] = {"K", "Kompletterad"},
    [GW_CASE_BEV] = {"Bev", "Beviljad"},
    [GW_CASE_AVS] = {"Avs", "Avslag"},
    [GW_CASE_AVI] = {"Avi", "Avvisad"},
};

static const char *const roles[GW_ROLE_NROLE] = {
    [GW_ROLE_PRESCRIBER] = "prescriber",
    [GW_ROLE_PHARMACY] = "pharmacy",
    [GW_ROLE_LV] = "lv",
    [GW_ROLE_GATEWAY] = "gateway",
};

const char *
gw_case_status_code(enum gw_case_status s)
{
    return (unsigned)s < GW_CASE_NSTATUS ? statuses[s].code : "?";
}

const char *
gw_case_status_name_sv(enum gw_case_status s)
{
    return (unsigned)s < GW_CASE_NSTATUS ? statuses[s].sv : "?";
}

gw_rc
gw_case_status_parse(const char *code, enum gw_case_status *out)
{
    for (int s = GW_CASE_M; code != NULL && s < GW_CASE_NSTATUS; s++)
        if (strcmp(code, statuses[s].code) == 0) {
            *out = (enum gw_case_status)s;
            return GW_OK;
        }
    return GW_EINVAL;
}

const char *
gw_role_name(enum gw_role r)
{
    return (unsigned)r < GW_ROLE_NROLE ? roles[r] : "?";
}

gw_rc
gw_role_parse(const char *name, enum gw_role *out)
{
    for (int r = 0; name != NULL && r < GW_ROLE_NROLE; r++)
        if (strcmp(name, roles[r]) == 0) {
            *out = (enum gw_role)r;
            return GW_OK;
        }
    return GW_EINVAL;
}

int
gw_case_motivation_locked(enum gw_case_status s)
{
    return s == GW_CASE_A || s == GW_CASE_H || s == GW_CASE_KB ||
           s == GW_CASE_K;
}

int
gw_case_is_decided(enum gw_case_status s)
{
    return s == GW_CASE_BEV || s == GW_CASE_AVS || s == GW_CASE_AVI;
}

int
gw_case_reapply_open(int dy, int dm, int dd, int ty, int tm, int td)
{
    long decided = (long)dy * 10000 + dm * 100 + dd;
    long today = (long)ty * 10000 + tm * 100 + td;
    long closes = (long)(dy + GW_REAPPLY_MONTHS / 12) * 10000 + dm * 100 + dd;

    return today >= decided && today < closes;
}

static int
same(const char *a, const char *b)
{
    return a != NULL && b != NULL && a[0] != '\0' && strcmp(a, b) == 0;
}

gw_rc
gw_case_may_supplement(enum gw_role role, const char *case_prescriber,
                       const char *case_clinic, const char *case_gln,
                       const char *caller_id, const char *caller_clinic,
                       struct gw_err *err)
{
    switch (role) {
    case GW_ROLE_PRESCRIBER:
        if (same(case_prescriber, caller_id) || same(case_clinic, caller_clinic))
            return GW_OK;
        return gw_err_set(err, GW_EFORBIDDEN, NULL,
                          "only the prescriber of the case or a colleague at "
                          "the same clinic may supplement it");
    case GW_ROLE_PHARMACY:
        if (same(case_gln, caller_id))
            return GW_OK;
        return gw_err_set(err, GW_EFORBIDDEN, NULL,
                          "only the pharmacy that applied may supplement the "
                          "case");
    default:
        return gw_err_set(err, GW_EFORBIDDEN, NULL,
                          "role %s may not supplement a case",
                          gw_role_name(role));
    }
}
