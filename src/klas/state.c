/*
 * state.c - the statuses and roles of a licence case, and the rules about
 * a case that are not a transition (motivation lock, re-application
 * window, supplement rights). The transitions themselves are the rows of
 * the event table in event.c (gw_case_transition is there).
 */
#include "klas/state.h"

#include <stdio.h>
#include <string.h>

#include "core/names.h"

#define GW_CASE_ROW_(id, code, sv, en, task, flags)                          \
    [GW_CASE_##id] = {code, sv, task, flags},
static const struct status_row {
    const char *code, *sv, *task;
    unsigned flags;
} statuses[GW_CASE_NSTATUS] = {
    [GW_CASE_NONE] = {"", "(inget ärende)", "draft", 0},
    GW_CASE_STATUS_ROWS(GW_CASE_ROW_)
};

#define GW_ROLE_NAME_(id, name) name,
static const char *const roles[GW_ROLE_NROLE] = {
    GW_ROLE_ROWS(GW_ROLE_NAME_)
};

const char *
gw_case_status_code(enum gw_case_status s)
{
    return (unsigned)s < GW_CASE_NSTATUS ? statuses[s].code : "?";
}

const char *
gw_case_status_list(char *buf, size_t size)
{
    size_t n = 0;

    if (size > 0)
        buf[0] = '\0';
    for (int s = GW_CASE_NONE + 1; s < GW_CASE_NSTATUS && n < size; s++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s",
                              s == GW_CASE_NONE + 1 ? "" : ", ",
                              statuses[s].code);
    return buf;
}

const char *
gw_case_status_name_sv(enum gw_case_status s)
{
    return (unsigned)s < GW_CASE_NSTATUS ? statuses[s].sv : "?";
}

gw_rc
gw_case_status_parse(const char *code, enum gw_case_status *out)
{
    /* From the first status on: GW_CASE_NONE's code "" is no status. */
    const struct status_row *row =
        gw_name_find(&statuses[GW_CASE_M], GW_CASE_NSTATUS - GW_CASE_M,
                     sizeof(statuses[0]), code);

    if (row == NULL)
        return GW_EINVAL;
    *out = (enum gw_case_status)(row - statuses);
    return GW_OK;
}

const char *
gw_role_name(enum gw_role r)
{
    return gw_name_of(roles, GW_ROLE_NROLE, (int)r, "?");
}

int
gw_case_status_has(enum gw_case_status s, unsigned flag)
{
    return (unsigned)s < GW_CASE_NSTATUS && (statuses[s].flags & flag) != 0;
}

int
gw_case_motivation_locked(enum gw_case_status s)
{
    return gw_case_status_has(s, GW_ST_LOCKED);
}

int
gw_case_is_decided(enum gw_case_status s)
{
    return gw_case_status_has(s, GW_ST_DECIDED);
}

enum gw_case_status
gw_case_status_in_force(void)
{
    for (int s = GW_CASE_NONE + 1; s < GW_CASE_NSTATUS; s++)
        if (statuses[s].flags & GW_ST_IN_FORCE)
            return (enum gw_case_status)s;
    return GW_CASE_NONE;
}

const char *
gw_case_status_in_force_code(void)
{
    return gw_case_status_code(gw_case_status_in_force());
}

const char *
gw_case_status_task(enum gw_case_status s)
{
    return (unsigned)s < GW_CASE_NSTATUS ? statuses[s].task : "draft";
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
