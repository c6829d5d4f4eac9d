/*
 * state.c - the licence case state machine.
 *
 *                    gw_case_transition(..., GW_EV_SUBMIT, prescriber)
 *   (none) ───────────────────────────────────────────────► M
 *   M ──── APPLY (pharmacy) ──────────────────────────────► A
 *   A ──── REGISTER (LV) ─────────────────────────────────► H
 *   H ──── REQUEST_SUPPLEMENT (LV) ───────────────────────► KB
 *   KB ─── SUPPLEMENT (prescriber, pharmacy) ─────────────► K
 *   K ──── SUPPLEMENT_RECEIVED (LV, gateway) ─────────────► H
 *   H, KB, K ── GRANT / REJECT / DISMISS (LV) ────────────► Bev / Avs / Avi
 *   Bev ── REAPPLY (pharmacy) ────────────────────────────► A  (a new case)
 *   M, Bev, Avs, Avi ── PURGE (gateway) ──────────────────► (none)
 *
 * Choices made where the sources are silent, so that they are made once:
 * - LV may decide from KB and K as well as H: it can reject or dismiss a
 *   case whose supplement never comes, and decides when it has what it
 *   needs.
 * - A supplement answers a request: only KB takes one (the handbook's
 *   "Komplettera" is for cases where LV asked). Spontaneous additions go to
 *   LV outside KLAS.
 * - K becomes H when LV says it has the supplement, or when the gateway
 *   has LV's delivery receipt for it (role gateway).
 * - Open cases (A, H, KB, K) are never purged; retention applies to M and
 *   to decided cases.
 * Every transition not in the table is refused. The motivation is locked
 * from A until a decision; that one application per motivation holds
 * follows from APPLY being allowed only from M.
 */
#include "klas/state.h"

#include <stdio.h>
#include <string.h>

#define R(role) (1u << (role))

static const struct transition {
    enum gw_case_status from;
    enum gw_case_event event;
    unsigned roles;
    enum gw_case_status to;
} table[] = {
    {GW_CASE_NONE, GW_EV_SUBMIT, R(GW_ROLE_PRESCRIBER), GW_CASE_M},
    {GW_CASE_M, GW_EV_APPLY, R(GW_ROLE_PHARMACY), GW_CASE_A},
    {GW_CASE_A, GW_EV_REGISTER, R(GW_ROLE_LV), GW_CASE_H},
    {GW_CASE_H, GW_EV_REQUEST_SUPPLEMENT, R(GW_ROLE_LV), GW_CASE_KB},
    {GW_CASE_KB, GW_EV_SUPPLEMENT, R(GW_ROLE_PRESCRIBER) | R(GW_ROLE_PHARMACY),
     GW_CASE_K},
    {GW_CASE_K, GW_EV_SUPPLEMENT_RECEIVED, R(GW_ROLE_LV) | R(GW_ROLE_GATEWAY),
     GW_CASE_H},
    {GW_CASE_H, GW_EV_GRANT, R(GW_ROLE_LV), GW_CASE_BEV},
    {GW_CASE_H, GW_EV_REJECT, R(GW_ROLE_LV), GW_CASE_AVS},
    {GW_CASE_H, GW_EV_DISMISS, R(GW_ROLE_LV), GW_CASE_AVI},
    {GW_CASE_KB, GW_EV_GRANT, R(GW_ROLE_LV), GW_CASE_BEV},
    {GW_CASE_KB, GW_EV_REJECT, R(GW_ROLE_LV), GW_CASE_AVS},
    {GW_CASE_KB, GW_EV_DISMISS, R(GW_ROLE_LV), GW_CASE_AVI},
    {GW_CASE_K, GW_EV_GRANT, R(GW_ROLE_LV), GW_CASE_BEV},
    {GW_CASE_K, GW_EV_REJECT, R(GW_ROLE_LV), GW_CASE_AVS},
    {GW_CASE_K, GW_EV_DISMISS, R(GW_ROLE_LV), GW_CASE_AVI},
    {GW_CASE_BEV, GW_EV_REAPPLY, R(GW_ROLE_PHARMACY), GW_CASE_A},
    {GW_CASE_M, GW_EV_PURGE, R(GW_ROLE_GATEWAY), GW_CASE_NONE},
    {GW_CASE_BEV, GW_EV_PURGE, R(GW_ROLE_GATEWAY), GW_CASE_NONE},
    {GW_CASE_AVS, GW_EV_PURGE, R(GW_ROLE_GATEWAY), GW_CASE_NONE},
    {GW_CASE_AVI, GW_EV_PURGE, R(GW_ROLE_GATEWAY), GW_CASE_NONE},
};

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

static const char *const events[GW_EV_NEVENT] = {
    [GW_EV_SUBMIT] = "submit",
    [GW_EV_APPLY] = "apply",
    [GW_EV_REAPPLY] = "reapply",
    [GW_EV_REGISTER] = "register",
    [GW_EV_REQUEST_SUPPLEMENT] = "request-supplement",
    [GW_EV_SUPPLEMENT] = "supplement",
    [GW_EV_SUPPLEMENT_RECEIVED] = "supplement-received",
    [GW_EV_GRANT] = "grant",
    [GW_EV_REJECT] = "reject",
    [GW_EV_DISMISS] = "dismiss",
    [GW_EV_PURGE] = "purge",
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
gw_case_event_name(enum gw_case_event e)
{
    return (unsigned)e < GW_EV_NEVENT ? events[e] : "?";
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

static const char *
status_label(enum gw_case_status s)
{
    return s == GW_CASE_NONE ? "(no case)" : gw_case_status_code(s);
}

gw_rc
gw_case_transition(enum gw_case_status from, enum gw_case_event event,
                   enum gw_role role, enum gw_case_status *to,
                   struct gw_err *err)
{
    const struct transition *fits = NULL;

    if ((unsigned)from >= GW_CASE_NSTATUS || (unsigned)event >= GW_EV_NEVENT ||
        (unsigned)role >= GW_ROLE_NROLE)
        return gw_err_set(err, GW_EINVAL, NULL, "unknown status, event or role");
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (table[i].from == from && table[i].event == event) {
            fits = &table[i];
            break;
        }
    if (fits == NULL) {
        if (event == GW_EV_APPLY && from != GW_CASE_NONE)
            return gw_err_set(err, GW_ESTATE, NULL,
                              "the motivation already has an application "
                              "(status %s); one motivation leads to at most "
                              "one application",
                              status_label(from));
        if (event == GW_EV_SUBMIT)
            return gw_err_set(err, GW_ESTATE, NULL,
                              "a case with this referensnummer already "
                              "exists (status %s)",
                              status_label(from));
        return gw_err_set(err, GW_ESTATE, NULL,
                          "event %s is not allowed in status %s",
                          gw_case_event_name(event), status_label(from));
    }
    if (!(fits->roles & R(role)))
        return gw_err_set(err, GW_EFORBIDDEN, NULL,
                          "role %s may not trigger event %s (status %s)",
                          gw_role_name(role), gw_case_event_name(event),
                          status_label(from));
    if (to != NULL)
        *to = fits->to;
    return GW_OK;
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
